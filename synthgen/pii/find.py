"""PII detection: by content (patterns, checksums, Faker's name lists) and by column name."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from synthgen.pii.checks import (
    _DIGIT,
    _EMAIL,
    _URL,
    LOCALES,
    _plain_phone,
    faker_names,
    iban_valid,
    ip_valid,
    is_credit_card,
    phone_like,
    ssn_valid,
)

CONTENT_SHARE = 0.8  # share of sampled values that must match a pattern
LABELS = {
    "email": "e-mail addresses", "phone": "phone numbers", "ssn": "US social security numbers",
    "credit_card": "card numbers passing the Luhn check", "ip": "IP addresses", "url": "URLs",
    "iban": "IBANs passing the mod-97 check", "address": "street addresses",
    "person_name": "person names", "first_name": "given names", "last_name": "family names",
    "date_of_birth": "dates of birth", "postcode": "postcodes", "city": "city names",
    "username": "user names",
}  # fmt: skip


_ABBREVIATIONS = "St|Rd|Ave|Av|Blvd|Ln|Dr|Ct|Pl|Sq|Hwy|Pkwy|Ter|Cres|Cl|Cir|Trl|Way"
_COMPOUND = r"(?:stra(?:ß|ss)e|str\.|gasse|weg|platz|allee|ring|straat|laan|veien|vej|gatan|gade|plein|damm|ufer)"


@lru_cache(maxsize=1)
def _address_patterns() -> tuple[re.Pattern[str], ...]:
    """Street-address regexes built from Faker's street suffixes and prefixes."""
    suffixes: set[str] = set(_ABBREVIATIONS.split("|"))
    prefixes: set[str] = {"rue", "avenue", "boulevard", "chemin", "impasse", "allée", "quai"}
    for loc in LOCALES:
        prov = importlib.import_module(f"faker.providers.address.{loc}").Provider
        if loc.startswith("en"):
            suffixes |= {str(w) for w in getattr(prov, "street_suffixes", ())}
        prefixes |= {str(w) for w in getattr(prov, "street_prefixes", ()) if len(str(w)) > 2}
    suf = "|".join(sorted(map(re.escape, suffixes), key=len, reverse=True))
    pre = "|".join(sorted(map(re.escape, prefixes), key=len, reverse=True))
    return (
        # "0487 Hopkins Pines Suite 255", "825 8 Ave SW", "Nigel Harbor" (after "Flat 8")
        re.compile(
            rf"(?:\d+[A-Za-z]?\s+)?(?:\S+\s+){{1,4}}(?:{suf})\.?(?:\s+[NSEW]{{1,2}})?"
            r"(?:\s+(?:Apt\.?|Suite|Unit|#)\s*\S+)?"
        ),
        re.compile(rf"\S*{_COMPOUND}\s+\d+[a-zA-Z]?(?:[-/]\d+)?", re.I),  # "Hauptstraße 5"
        re.compile(rf"(?:\d+[a-zA-Z]?,?\s+)?(?:{pre})\s+\S.*"),  # "12, rue Dupont", "Calle Mayor 5"
    )


def address_like(s: str) -> bool:
    """A street address: number + name + street suffix, 'Xstraße 5', '12, rue Y', 'Calle Y 5'."""
    if len(s) > 150 or not has_digits(s):
        return False
    parts = [p.strip() for p in re.split(r"[\n,]", s) if p.strip()]
    return any(pat.fullmatch(p) for p in parts[:4] for pat in _address_patterns())


_TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "sir",
    "jr",
    "sr",
    "md",
    "phd",
    "dds",
    "dvm",
    "ii",
    "iii",
    "iv",
    "mba",
    "ing",
    "dipl",
}
_PARTICLES = {
    "von",
    "van",
    "de",
    "der",
    "den",
    "du",
    "la",
    "le",
    "di",
    "da",
    "del",
    "dos",
    "das",
    "zu",
    "y",
    "e",
    "ten",
    "ter",
    "bin",
    "al",
}


def _name_tokens(s: str) -> list[str] | None:
    """Lower-cased core tokens of a name-shaped value, or None when it is not name-shaped."""
    core: list[str] = []
    for raw in s.split():
        bare = raw.strip(",")
        low = bare.lower().rstrip(".")
        if low in _TITLES or "." in bare.rstrip(".") or (bare.endswith(".") and len(bare) <= 3):
            continue  # "Dr.", "B.Eng.", initials "F."
        if low in _PARTICLES:
            continue
        if not bare[:1].isupper() or not all(ch.isalpha() or ch in "-'’" for ch in bare):
            return None
        core.append(low)
    return core or None


def _known(token: str, names: frozenset[str]) -> bool:
    return token in names or ("-" in token and all(p in names for p in token.split("-") if p))


class _Counts:
    """Distinct string values of a sample with their counts; shares are of all sampled values."""

    def __init__(self, series: pd.Series) -> None:
        s = series.dropna()
        self.total = len(s)
        strs = s[s.map(type).eq(str)] if s.dtype == object else s.astype(str)
        vc = strs.str.strip().replace("", np.nan).dropna().value_counts()
        self.values: list[str] = vc.index.tolist()
        self.counts: list[int] = vc.tolist()

    def share(self, pred: Callable[[str], bool], need: float = CONTENT_SHARE) -> float:
        """Weighted share of values passing ``pred``; stops early once ``need`` is out of reach."""
        if not self.total:
            return 0.0
        budget, hit, miss = (1 - need) * self.total, 0, 0
        for v, w in zip(self.values, self.counts, strict=True):
            if pred(v):
                hit += w
            else:
                miss += w
                if miss > budget:
                    break
        return hit / self.total

    def enough_distinct(self) -> bool:
        """Varied enough to be personal data rather than a handful of labels."""
        return len(self.values) >= min(20, max(5, self.total // 2))


def _hint_label(ptype: str) -> str:
    return LABELS[ptype].split(" passing")[0]


def pct(x: float) -> str:
    """A share as a short percentage that never rounds 99.6% up to 100%."""
    if 0 < x < 0.01:
        return "<1%"
    if 0.99 < x < 1:
        return ">99%"
    return f"{round(x * 100)}%"


_CONTENT_CHECKS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("email", lambda v: bool(_EMAIL.fullmatch(v))), ("url", lambda v: bool(_URL.fullmatch(v))),
    ("ip", ip_valid), ("iban", iban_valid), ("ssn", ssn_valid), ("credit_card", is_credit_card),
    ("phone", lambda v: phone_like(v) or _plain_phone(v)), ("address", address_like),
)  # fmt: skip


def pii_by_content(series: pd.Series) -> tuple[str, str] | None:
    """(pii_type, reason) when >= 80% of the values match one PII pattern or name list."""
    c = _Counts(series)
    if not c.values:
        return None
    for ptype, pred in _CONTENT_CHECKS:
        share = c.share(pred)
        if share < CONTENT_SHARE:
            continue
        if ptype == "phone" and c.share(phone_like, need=0.3) < 0.3:
            continue  # bare digit runs count as phones only beside formatted ones
        return ptype, f"{pct(share)} of sampled values are {LABELS[ptype]}"
    return _names_by_content(c)


def _names_by_content(c: _Counts) -> tuple[str, str] | None:
    """Person / given / family names, by shape and Faker's name lists."""
    if not c.enough_distinct():
        return None
    first, last = faker_names()
    full = full_known = single = in_first = in_last = miss = 0
    for v, w in zip(c.values, c.counts, strict=True):
        toks = _name_tokens(v) if len(v) <= 60 else None
        if toks is None or len(toks) > 4:
            miss += w
            if miss > (1 - CONTENT_SHARE) * c.total:
                return None  # too few name-shaped values for any name type
            continue
        if len(toks) >= 2:
            full += w
            full_known += w if any(_known(t, first) or _known(t, last) for t in toks) else 0
        else:
            single += w
            in_first += w if _known(toks[0], first) else 0
            in_last += w if _known(toks[0], last) else 0
    n = c.total
    if full / n >= CONTENT_SHARE and full_known / n > 0.5:
        return "person_name", (
            f"{pct(full / n)} of sampled values look like person names, "
            f"{pct(full_known / n)} with a name from Faker's lists"
        )
    if single / n >= CONTENT_SHARE and max(in_first, in_last) / n >= 0.6:
        ptype, hit = ("first_name", in_first) if in_first >= in_last else ("last_name", in_last)
        return ptype, f"{pct(hit / n)} of sampled values are {LABELS[ptype]} from Faker's lists"
    return None


def normalize_name(name: object) -> str:
    """'urlDrugName' -> 'url_drug_name', 'IPAddress' -> 'ip_address', 'city-mpg' -> 'city_mpg'."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return "_".join(re.findall(r"[a-z0-9]+", s.lower()))


_HINTS: tuple[tuple[str, str], ...] = (
    ("date_of_birth", r"dob|birth|birth_?date|birthday|born|date_of_birth|geburtsdatum"),
    ("email", r"e_?mail|mail|e_?mail_?address"),
    ("ssn", r"ssn|social_security(?:_number|_no)?"),
    (
        "credit_card",
        r"credit_?card(?:_number|_no)?|card_?(?:number|no|num)|cc_?(?:number|num|no)|ccn|pan",
    ),
    ("iban", r"iban"),
    ("ip", r"ip|ipv4|ipv6|ip_?addr(?:ess)?"),
    ("url", r"url|uri|website|web_?site|home_?page|link"),
    ("phone", r"phone|telephone|tel|mobile|cell|cellphone|fax|msisdn|phone_?number"),
    ("username", r"user_?name|login|screen_?name|nickname"),
    ("first_name", r"first_?name|given_?name|forename|fname|vorname|prenom"),
    ("last_name", r"last_?name|surname|family_?name|lname|nachname|apellidos?"),
    ("address", r"address|street(?:_address)?|addr|address_?line_?\d*|adresse|direccion|strasse"),
    ("postcode", r"zip|zip_?code|postcode|post_?code|postal_?code|plz"),
)
_HINT_RES = tuple((t, re.compile(rf"(?:^|_)(?:{p})(?:_|$)")) for t, p in _HINTS)
_PERSON_ROLES = {
    "full",
    "person",
    "customer",
    "client",
    "patient",
    "employee",
    "contact",
    "member",
    "owner",
    "holder",
    "cardholder",
    "account",
    "student",
    "doctor",
    "physician",
    "nurse",
    "guest",
    "passenger",
    "applicant",
    "buyer",
    "seller",
    "recipient",
    "sender",
    "manager",
    "father",
    "mother",
    "parent",
    "spouse",
    "maiden",
    "legal",
    "real",
    "agent",
    "rep",
    "teacher",
    "driver",
}


def name_hint(name: object) -> str | None:
    """The PII type a column name suggests ('email' for 'E-Mail', 'city' for 'billing_city')."""
    norm = normalize_name(name)
    for ptype, rx in _HINT_RES:
        if rx.search(norm):
            return ptype
    toks = norm.split("_")
    if toks[-1] in ("name", "names", "fullname") and (len(toks) == 1 or toks[-2] in _PERSON_ROLES):
        return "person_name"
    if toks[-1] in ("city", "town"):
        return "city"
    return None


def has_digits(v: str) -> bool:
    return _DIGIT.search(v) is not None


_ALPHA: Callable[[str], bool] = lambda v: v[:1].isalpha() and not has_digits(v)  # noqa: E731
_LOOSE: dict[str, Callable[[str], bool]] = {
    **dict.fromkeys(("date_of_birth", "ssn", "credit_card", "iban", "postcode"), has_digits),
    **dict.fromkeys(("first_name", "last_name"), _ALPHA),
    "phone": lambda v: sum(ch.isdigit() for ch in v) >= 5,
    "ip": lambda v: "." in v or ":" in v,
    "url": lambda v: ("." in v or "/" in v) and " " not in v,
    "address": lambda v: " " in v.strip(),
    "username": lambda v: " " not in v.strip(),
    "person_name": lambda v: _ALPHA(v) and len(v.split()) <= 6,
    "city": lambda v: v[:1].isalpha(),
}


def pii_by_name(series: pd.Series, name: str) -> tuple[str, str] | None:
    """(pii_type, reason) when the name hints PII and the strings fit loosely (varied, plausible)."""
    hint = name_hint(name)
    c = _Counts(series) if hint else None
    if hint is None or c is None or not c.values or not c.enough_distinct():
        return None
    loose = _LOOSE.get(hint)
    if loose is not None and c.share(loose, need=0.5) < 0.5:
        return None
    if normalize_name(name) in ("name", "names"):  # bare 'name': titles, products... need a hint
        first, last = faker_names()
        known = c.share(
            lambda v: any(_known(t, first) or _known(t, last) for t in (_name_tokens(v) or ())),
            need=0.2,
        )
        if known < 0.2:
            return None
    return hint, (
        f"name '{name}' suggests {_hint_label(hint)} and the values are varied "
        f"({len(c.values)} distinct in the sample)"
    )


_NUMERIC_FITS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "phone": ("7-15 digit numbers", lambda d: 7 <= len(d) <= 15),
    "ssn": ("numbers of up to 9 digits", lambda d: 7 <= len(d) <= 9),
    "credit_card": ("numbers passing the Luhn check", is_credit_card),
    "postcode": ("3-5 digit numbers", lambda d: 3 <= len(d) <= 5),
}


def pii_numeric(series: pd.Series, name: str) -> tuple[str, str] | None:
    """Whole numbers are PII only when the name strongly hints it and the digits fit."""
    hint = name_hint(name)
    if hint not in _NUMERIC_FITS:
        return None
    vals = pd.to_numeric(series.dropna(), errors="coerce").dropna()
    if vals.empty or not np.all(np.mod(vals.to_numpy(dtype=float), 1) == 0):
        return None
    desc, fits = _NUMERIC_FITS[hint]
    vc = vals.abs().value_counts()
    hit = sum(w for v, w in vc.items() if fits(str(int(v))))
    if (share := hit / len(vals)) < CONTENT_SHARE:
        return None
    return hint, f"name '{name}' suggests {_hint_label(hint)} and {pct(share)} of values are {desc}"


def detect_pii(
    series: pd.Series, name: str, *, sample_rows: int = 5000, seed: int = 0
) -> tuple[str | None, str]:
    """(pii_type or None, reason) for one column: content first, then its name."""
    s = series.dropna()
    if s.empty:
        return None, "no values to check"
    if len(s) > sample_rows:
        s = s.sample(n=sample_rows, random_state=seed)
    if pdt.is_datetime64_any_dtype(s.dtype):
        if name_hint(name) == "date_of_birth":
            return "date_of_birth", f"dates, and name '{name}' suggests dates of birth"
        return None, "dates without a birth-date name"
    if pdt.is_bool_dtype(s.dtype):
        return None, "boolean values are not PII"
    if pdt.is_numeric_dtype(s.dtype):
        hit = pii_numeric(s, name)
        return hit if hit else (None, "numbers are PII only with a matching name and digit count")
    hit = pii_by_content(s) or pii_by_name(s, name)
    return hit if hit else (None, "no PII pattern in the values and no PII hint in the name")
