"""What column and table names say about keys: words, singular forms and a small lexicon.

Names are split into lower-case words at underscores, spaces, dashes and camelCase
boundaries (``SupportRepId`` -> support, rep, id; ``patient_id`` -> patient, id), and each
word is also taken in its singular form (categories -> category), so the rules below work
for CamelCase and snake_case schemas, singular and plural table names alike.
"""

from __future__ import annotations

import re


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


KEY_WORDS = ("id", "key", "code", "uuid", "guid", "no", "num", "nr", "number", "ref")
GENERIC_KEYS = frozenset(KEY_WORDS) | {"pk"}  # names that say "a key" but not whose
# Role words: a column so named refers to a person, mostly one of the staff.
ROLE_WORDS = _set(
    "rep representative agent manager supervisor owner assignee author creator approver "
    "reviewer boss lead head mentor sponsor handler clerk seller salesperson staff "
    "employee user person operator editor modifier reporter"
)
ROLE_PHRASES = (("created", "by"), ("updated", "by"), ("modified", "by"), ("assigned", "to"))
# Hierarchy words: a column so named refers to another row of its own table; the people
# ones (manager, reports to) only in a table of people: a department's manager is a person.
HIERARCHY_WORDS = _set("manager supervisor parent boss superior predecessor")
ANY_TABLE_HIERARCHY = _set("parent predecessor")
HIERARCHY_PHRASES = (("report", "to"), ("parent",), ("managed", "by"))  # words are singular
PERSON_TABLE_WORDS = _set(
    "person people employee staff user member agent worker personnel operator author"
)
UNIQUE_KEY_WORDS = _set(
    "email mail code key uuid guid sku isbn iban ssn username login slug handle barcode "
    "ean upc serial"
)
# Words that make a "code" or "number" something other than a key (postal code, phone no).
NOT_KEY_WORDS = _set(
    "postal zip post postcode phone fax mobile telephone tel cell house street building area"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def singular(word: str) -> str:
    """A plain English singular: categories -> category, addresses -> address, users -> user."""
    w = word.lower()
    if len(w) > 3 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes", "zes", "uses")):
        return w[:-2]
    if w == "people":
        return "person"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def raw_words(name: str) -> list[str]:
    """Lower-case words of a name as written: ``ReportsTo`` -> [reports, to]."""
    return [p.lower() for p in re.split(r"[^0-9A-Za-z]+", _CAMEL.sub("_", name)) if p]


def words(name: str) -> list[str]:
    """Lower-case words of a name, each in singular form: ``LabEvents`` -> [lab, event]."""
    return [singular(p) for p in raw_words(name)]


def compact(name: str) -> str:
    """The name without separators or case: ``Support_Rep-ID`` -> ``supportrepid``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def table_forms(table: str) -> set[str]:
    """Ways a column can spell a table's name: ``lab_events`` -> labevents, labevent."""
    ws = words(table)
    return {compact(table), "".join(ws)} - {""}


def named_as_key_of(column: str, table: str) -> bool:
    """``AlbumId``, ``album_id``, ``albums_key`` ... for table ``Album`` / ``albums``."""
    c = compact(column)
    return any(c == f + k for f in table_forms(table) for k in KEY_WORDS)


def is_generic_key(column: str) -> bool:
    """``id``, ``ID``, ``key``: a key's name that does not say which table it belongs to."""
    return compact(column) in GENERIC_KEYS


def ends_like_key(column: str) -> bool:
    """The last word says "key" (``CustomerId``, ``order_no``), and no word says "phone" or
    "postal" (``PostalCode`` and ``phone_no`` are not keys)."""
    ws = words(column)
    return bool(ws) and ws[-1] in KEY_WORDS and not NOT_KEY_WORDS & set(ws)


def ends_with_role(column: str) -> bool:
    """The name ends in a role or hierarchy word or phrase (``ReportsTo``, ``owner``,
    ``created_by``): it names whom the row points to, not a measure about them."""
    ws = words(column)
    phrases = ROLE_PHRASES + HIERARCHY_PHRASES
    return bool(ws) and (
        ws[-1] in ROLE_WORDS | HIERARCHY_WORDS or any(tuple(ws[-len(p) :]) == p for p in phrases)
    )


def contains_table(column: str, table: str) -> bool:
    """The table's words appear, in order, among the column's: ``billing_customer_id`` holds
    ``Customer``. A one-word column equal to the table (``customer``) counts too."""
    cw, tw = words(column), words(table)
    if not tw or len(tw) > len(cw):
        return False
    return any(cw[i : i + len(tw)] == tw for i in range(len(cw) - len(tw) + 1))


def _find(column: str, phrases: tuple[tuple[str, ...], ...], singles: frozenset[str]) -> str | None:
    """The first phrase, else single word, of ``column`` among these, as the column spells it."""
    ws, raw = words(column), raw_words(column)
    for phrase in phrases:
        n = len(phrase)
        for i in range(len(ws) - n + 1):
            if tuple(ws[i : i + n]) == phrase:
                return " ".join(raw[i : i + n])
    return next((r for w, r in zip(ws, raw, strict=True) if w in singles), None)


def role_word(column: str) -> str | None:
    """The word that makes ``column`` a reference to a person (``rep`` in SupportRepId)."""
    return _find(column, ROLE_PHRASES + HIERARCHY_PHRASES, ROLE_WORDS | HIERARCHY_WORDS)


def hierarchy_word(column: str, table: str) -> str | None:
    """The word that makes ``column`` a reference to another row of ``table``: ``parent``
    in any table, ``reports to`` or ``manager`` in a table of people."""
    if is_person_table(table):
        return _find(column, HIERARCHY_PHRASES, HIERARCHY_WORDS)
    return _find(column, (("parent",),), ANY_TABLE_HIERARCHY)


def is_person_table(table: str) -> bool:
    return any(w in PERSON_TABLE_WORDS for w in words(table))


def unique_key_word(column: str) -> str | None:
    """The word that makes a unique column look like a key (``email``, ``sku``...)."""
    ws = words(column)
    if NOT_KEY_WORDS & set(ws):
        return None
    return next((w for w in ws if w in UNIQUE_KEY_WORDS or w in KEY_WORDS), None)
