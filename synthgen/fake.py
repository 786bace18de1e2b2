"""Fresh values for columns no model learns: PII from Faker, ids, placeholder text.

Every value is made up; ``exclude`` holds source values a fake must never take (the pipeline
passes the real column so a common fake name can never be a real person's)."""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

from synthgen.errors import UsageError


def _address(f: Faker) -> str:
    return str(f.address()).replace("\n", ", ")


_PII_MAKERS: dict[str, Callable[[Faker], Any]] = {
    "email": lambda f: f.email(),
    "phone": lambda f: f.phone_number(),
    "person_name": lambda f: f.name(),
    "first_name": lambda f: f.first_name(),
    "last_name": lambda f: f.last_name(),
    "address": _address,
    "street_address": lambda f: f.street_address(),
    "city": lambda f: f.city(),
    "postcode": lambda f: f.postcode(),
    "ssn": lambda f: f.ssn(),
    "credit_card": lambda f: f.credit_card_number(),
    "iban": lambda f: f.iban(),
    "ip": lambda f: f.ipv4(),
    "date_of_birth": lambda f: f.date_of_birth(minimum_age=0, maximum_age=100),
    "url": lambda f: f.url(),
    "username": lambda f: f.user_name(),
    "other": lambda f: f.bothify("??######"),
}


def fake_maker(pii_type: str) -> Callable[[Faker], Any]:
    """The Faker call that makes one value of a PII subtype (``other``: a code)."""
    return _PII_MAKERS.get(pii_type, _PII_MAKERS["other"])


def check_locale(locale: str) -> str:
    """``locale`` if Faker has it (``en-GB`` reads as ``en_GB``); else a ValueError that
    lists the close ones (same language or country first, then similar spellings)."""
    from faker.config import AVAILABLE_LOCALES

    name = locale.replace("-", "_")
    if name in AVAILABLE_LOCALES:
        return name
    lang, _, country = name.partition("_")
    near = [
        x
        for x in sorted(AVAILABLE_LOCALES)
        if x.split("_")[0].lower() == lang.lower()
        or (country and x.partition("_")[2].lower() == country.lower())
    ]
    near = near or difflib.get_close_matches(name, AVAILABLE_LOCALES, n=5, cutoff=0.6)
    close = ", ".join(near[:8]) if near else "en_US, en_GB, de_DE, fr_FR, es_ES"
    raise ValueError(f"unknown Faker locale '{locale}'; close ones: {close}")


def make_faker(locale: str, seed: int) -> Faker:
    try:
        f = Faker(check_locale(locale))
    except ValueError as err:
        raise UsageError(str(err), hint="set pii.locale to a locale Faker knows") from None
    f.seed_instance(seed)
    return f


def fake_values(pii_type: str, n: int, f: Faker, *, unique: bool, exclude: set[str]) -> list[Any]:
    """``n`` fakes of one subtype, none in ``exclude``, all distinct when ``unique``."""
    make = fake_maker(pii_type)
    values = [make(f) for _ in range(n)]
    seen: set[str] = set()
    for i, v in enumerate(values):
        tries = 0
        while (str(v) in exclude or (unique and str(v) in seen)) and tries < 20:
            v, tries = make(f), tries + 1
        if str(v) in exclude or (unique and str(v) in seen):
            v = _disambiguate(v, i, exclude, seen)
        values[i] = v
        seen.add(str(v))
    return values


def _disambiguate(v: Any, i: int, exclude: set[str], seen: set[str]) -> str:
    k = i
    while True:
        cand = f"{v}-{k}"
        if cand not in exclude and cand not in seen:
            return cand
        k += 1


def side_column(
    state: dict[str, Any],
    n: int,
    rng: np.random.Generator,
    *,
    locale: str,
    dtype: str,
    exclude: set[str],
) -> pd.Series:
    """One side column of ``n`` rows from its JSON state (see generators.columns)."""
    how = state["how"]
    if how == "null":
        return pd.Series(
            [np.nan] * n, dtype="float64" if dtype.startswith(("float", "int")) else object
        )
    if how.startswith("id_"):
        values = pd.Series(_ids(state, n, rng))
        if how == "id_int" and dtype.startswith(("int", "uint")) and not state.get("null_fraction"):
            values = values.astype(dtype)
    elif how == "pii":
        f = make_faker(locale, int(rng.integers(2**31)))
        raw = fake_values(
            state["pii_type"], n, f, unique=state.get("unique", False), exclude=exclude
        )
        values = _pii_dtype(pd.Series(raw, dtype=object), state, dtype)
    elif how == "text":
        f = make_faker(locale, int(rng.integers(2**31)))
        qs = np.asarray(state["length_quantiles"], dtype=float)
        lengths = np.interp(rng.random(n), np.linspace(0, 1, len(qs)), qs)
        values = pd.Series([f.text(max_nb_chars=max(5, int(m))) for m in lengths], dtype=object)
    else:
        raise ValueError(f"unknown side column state {how!r}")
    nf = float(state.get("null_fraction", 0.0))
    if nf > 0:
        mask = rng.random(n) < nf
        values = values.astype(object) if values.dtype.kind in "iub" else values
        values[mask] = np.nan
    return values


def _ids(state: dict[str, Any], n: int, rng: np.random.Generator) -> list[Any] | np.ndarray:
    how = state["how"]
    if how == "id_int":
        return np.arange(n, dtype=np.int64) + int(state["start"])
    if how == "id_pattern":
        w = int(state["width"])
        return [
            f"{state['prefix']}{i:0{w}d}" if w else f"{state['prefix']}{i}" for i in range(1, n + 1)
        ]
    if how == "id_uuid":
        raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        return [str(uuid.UUID(bytes=bytes(r), version=4)) for r in raw]
    length = max(4, int(state.get("length", 12)))
    digits = rng.integers(0, 16, size=(n, length))
    out, seen = [], set()
    for i, row in enumerate(digits):
        v = "".join("0123456789abcdef"[d] for d in row)
        v = v if v not in seen else f"{v}{i}"
        seen.add(v)
        out.append(v)
    return out


def _pii_dtype(values: pd.Series, state: dict[str, Any], dtype: str) -> pd.Series:
    if state["pii_type"] != "date_of_birth":
        return values
    dt = pd.to_datetime(values)
    if dtype.startswith("datetime64"):
        return dt
    return dt.dt.strftime(state.get("format") or "%Y-%m-%d").astype(object)
