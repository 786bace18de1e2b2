"""PII inside values: e-mails, phone numbers, SSNs, card numbers (Luhn), IP addresses, dates
of birth (a date next to 'born' / 'DOB' or next to a name), and known source values (names
from the table's own PII columns). Used on free text, labels and ids before a model sees them
and on the output after; found spans are replaced (with consistent fakes) or flagged."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from synthgen.pii.checks import faker_names, ip_valid, is_credit_card
from synthgen.pii.find import _name_tokens

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_PHONE = re.compile(
    r"(?<![\w/.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{3,4}(?![\w/.-])"
)
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{1,4}(?![\w:])", re.I)
_DATE = r"(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|[A-Z][a-z]{2,8}\.? \d{1,2},? \d{4}|\d{1,2} [A-Z][a-z]{2,8}\.? \d{4})"
_DOB = re.compile(
    rf"(?i:\b(?:dob|d\.o\.b\.?|born(?: on)?|date of birth|birth ?date)\b[\s:,-]*)(?P<d>{_DATE})"
)
_NAME_DATE = re.compile(rf"\b(?P<n>[A-Z][a-z]+(?: [A-Z][a-z]+)+)[\s,(]+(?P<d>{_DATE})")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    kind: str  # email | phone | ssn | credit_card | ip | date_of_birth | source_value
    value: str


def find_pii(text: str, known: frozenset[str] = frozenset()) -> list[Finding]:
    """Every PII span in ``text``, leftmost first, overlaps resolved by the earlier finder."""
    hits: list[Finding] = []
    hits += [Finding(m.start(), m.end(), "email", m.group()) for m in _EMAIL.finditer(text)]
    hits += [Finding(m.start(), m.end(), "ssn", m.group()) for m in _SSN.finditer(text)]
    hits += [
        Finding(m.start(), m.end(), "credit_card", m.group())
        for m in _CARD.finditer(text)
        if is_credit_card(m.group())
    ]
    hits += [
        Finding(m.start(), m.end(), "ip", m.group())
        for m in (*_IPV4.finditer(text), *_IPV6.finditer(text))
        if ip_valid(m.group())
    ]
    hits += [
        Finding(m.start(), m.end(), "phone", m.group())
        for m in _PHONE.finditer(text)
        if not _inside_number(text, m.start(), m.end())
    ]
    for rx in (_DOB, _NAME_DATE):
        for m in rx.finditer(text):
            if rx is _DOB or _is_name(m.group("n")):
                hits.append(Finding(m.start("d"), m.end("d"), "date_of_birth", m.group("d")))
    if known:
        hits += _known_values(text, known)
    return _no_overlaps(hits)


def _inside_number(text: str, a: int, b: int) -> bool:
    """A digit group right before or after (e.g. the middle of a card number)."""
    return bool(re.match(r"[ -]?\d", text[b : b + 2])) or bool(
        re.search(r"\d[ -]?$", text[max(0, a - 2) : a])
    )


def _is_name(s: str) -> bool:
    first, last = faker_names()
    parts = s.lower().split()
    return parts[0] in first and parts[-1] in (last | first)


def _known_values(text: str, known: frozenset[str]) -> list[Finding]:
    """Whole-word occurrences of source PII values (single words and multi-word names)."""
    out = []
    words = list(_WORD.finditer(text))
    for i, m in enumerate(words):
        for span in (1, 2, 3, 4, 5):
            if i + span > len(words):
                break
            a, b = m.start(), words[i + span - 1].end()
            if text[a:b].casefold() in known:
                out.append(Finding(a, b, "source_value", text[a:b]))
    return out


def _no_overlaps(hits: list[Finding]) -> list[Finding]:
    order = {"email": 0, "ssn": 1, "credit_card": 2, "ip": 3, "date_of_birth": 4}
    hits.sort(key=lambda f: (f.start, order.get(f.kind, 9), -(f.end - f.start)))
    out: list[Finding] = []
    for f in hits:
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out


def known_values(values: Iterable[object], min_len: int = 3) -> frozenset[str]:
    """Source PII values worth looking for in text: case-folded, long enough to be specific;
    for a name with a title or suffix ('Mrs. Ann Lee PhD') its core ('ann lee') too."""
    out = set()
    for v in values:
        s = str(v).strip()
        if len(s) >= min_len and not s.isdigit():
            out.add(s.casefold())
            core = _name_tokens(s)
            if core and len(core) >= 2:
                out.add(" ".join(core).casefold())
    return frozenset(out)


def scrub(text: str, findings: list[Finding], replace: Callable[[Finding], str]) -> str:
    """``text`` with every finding replaced by ``replace(finding)``."""
    parts, at = [], 0
    for f in findings:
        parts += [text[at : f.start], replace(f)]
        at = f.end
    parts.append(text[at:])
    return "".join(parts)


def scan_series(s: pd.Series, known: frozenset[str] = frozenset()) -> Counter[str]:
    """How many values of ``s`` hold PII, by kind (a value counts once per kind)."""
    counts: Counter[str] = Counter()
    for v in s.dropna().astype(str).unique():
        kinds = {f.kind for f in find_pii(v, known)}
        n = int((s == v).sum()) if kinds else 0
        for k in kinds:
            counts[k] += n
    return counts
