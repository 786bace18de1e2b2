"""Checks of single values for PII (checksums: Luhn, IBAN; shapes: SSN, phone, IP) and
Faker's name vocabularies; ``synthgen.pii.find`` combines them into column detection."""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES")


def _digits(s: str) -> str | None:
    t = re.sub(r"[ -]", "", s.strip())
    return t if t.isascii() and t.isdigit() else None


def _luhn_total(digits: str, doubled: int) -> int:
    """Luhn sum, doubling the digits whose position from the right has parity ``doubled``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == doubled else 1)
        total += n - 9 if n > 9 else n
    return total


def luhn_valid(s: str | int) -> bool:
    """True when the digits (spaces and dashes allowed) pass the Luhn checksum."""
    d = _digits(str(s))
    return d is not None and len(d) >= 2 and _luhn_total(d, 1) % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to ``payload``, makes it pass the Luhn check."""
    return str(-_luhn_total(payload, 0) % 10)


def is_credit_card(s: str | int) -> bool:
    """13-19 digits (spaces/dashes allowed), not all the same digit, passing Luhn."""
    d = _digits(str(s))
    return d is not None and 13 <= len(d) <= 19 and len(set(d)) > 1 and luhn_valid(d)


def iban_valid(s: str) -> bool:
    """Country code, two check digits and an account part passing the mod-97 check."""
    t = s.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", t):
        return False
    return int("".join(str(int(ch, 36)) for ch in t[4:] + t[:4])) % 97 == 1


def ip_valid(s: str) -> bool:
    """An IPv4 or IPv6 address."""
    s = s.strip()
    try:
        return 2 < len(s) <= 45 and ("." in s or ":" in s) and bool(ipaddress.ip_address(s))
    except ValueError:
        return False


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"(?:(?:https?|ftp)://[^\s/?#]+\.[^\s]+|www\.[^\s/]+\.[A-Za-z]{2,}\S*)", re.I)
_SSN = re.compile(r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}")
_PHONE = re.compile(r"\+?[\d\s().\-/]+?(?:\s*(?:x|ext\.?)\s*\d{1,6})?", re.I)
_DIGIT = re.compile(r"\d")
_NOT_PHONE = re.compile(  # decimals, dates, IPv4, hyphenated ISBN-13
    r"\d+[.,]\d+|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,3}(?:\.\d{1,3}){3}|97[89](?:-\d+){3}-\d"
)


def ssn_valid(s: str) -> bool:
    """US social security number written ###-##-#### with a possible area/group/serial."""
    return bool(_SSN.fullmatch(s.strip()))


def _phone_parts(s: str) -> tuple[int, bool] | None:
    s = s.strip()
    if not _PHONE.fullmatch(s) or _NOT_PHONE.fullmatch(s):
        return None
    main = re.split(r"\s*(?:x|ext\.?)\s*", s, maxsplit=1, flags=re.I)[0]
    n = sum(ch.isdigit() for ch in main)
    return n, bool(re.search(r"[\s().\-/+]", main))


def phone_like(s: str) -> bool:
    """7-15 digits with separators or a leading +, optional extension."""
    return (p := _phone_parts(s)) is not None and 7 <= p[0] <= 15 and p[1]


def _plain_phone(s: str) -> bool:
    return (p := _phone_parts(s)) is not None and 9 <= p[0] <= 15


def _words(obj: object) -> set[str]:
    """Lower-cased words from a Faker tuple/list or (ordered) dict of weights."""
    items = obj.keys() if isinstance(obj, dict) else obj
    return {str(w).casefold() for w in items} if isinstance(items, Iterable) else set()


@lru_cache(maxsize=1)
def faker_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), lower-cased, from Faker's person providers in LOCALES."""
    first: set[str] = set()
    last: set[str] = set()
    for loc in LOCALES:
        prov = importlib.import_module(f"faker.providers.person.{loc}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            first |= _words(getattr(prov, attr, ()))
        for attr in ("last_names", "last_names_male", "last_names_female"):
            last |= _words(getattr(prov, attr, ()))
    return frozenset(first), frozenset(last)
