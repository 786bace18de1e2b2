"""Fresh values for columns no model learns: PII from Faker, ids, placeholder text.

Every value is made up; ``exclude`` holds source values a fake must never take (the pipeline
passes the real column so a common fake name can never be a real person's)."""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from faker import Faker

from synthgen.errors import UsageError

if TYPE_CHECKING:
    from synthgen.pii.unique import Interleaved


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


def fake_values(
    pii_type: str,
    n: int,
    f: Faker,
    *,
    exclude: set[str],
    start: int = 0,
    unique: tuple[int, int] | Interleaved | None = None,
    key: list[int] | None = None,
) -> list[Any]:
    """Fakes for rows ``start .. start + n - 1``, none in ``exclude``. ``unique``: (the
    column's rows, the shard size) of a unique column, or the rows of a root shard
    (``Interleaved``): then no two rows of the column share a value, whichever shard makes
    them (see ``pii.unique``; ``key`` keys its permutation)."""
    from synthgen.pii import unique as uq

    make = fake_maker(pii_type)
    if isinstance(unique, uq.Interleaved):
        return unique.fakes(pii_type, lambda: make(f), n, exclude, key or [0])
    if unique is not None:
        total, shard_rows = unique
        return uq.unique_fakes(
            pii_type,
            lambda: make(f),
            n,
            start=start,
            total=total,
            shard_rows=shard_rows,
            exclude=exclude,
            key=key or [0],
        )
    values = [make(f) for _ in range(n)]
    for i, v in enumerate(values):
        tries = 0
        while str(v) in exclude and tries < 20:
            v, tries = make(f), tries + 1
        values[i] = uq.disambiguate(v, start + i, exclude) if str(v) in exclude else v
    return values


def side_column(
    state: dict[str, Any],
    n: int,
    rng: np.random.Generator,
    *,
    locale: str,
    dtype: str,
    exclude: set[str],
    start: int = 0,
    unique: tuple[int, int] | Interleaved | None = None,
    key: list[int] | None = None,
) -> pd.Series:
    """One side column's rows ``start .. start + n - 1`` from its JSON state (see
    transforms.side). Sampling a column in shards, pass the same ``key`` (the permutation
    of row numbers of hex ids and unique fakes) and, for a unique PII column, ``unique``
    (the column's rows, the shard size) to every shard."""
    how = state["how"]
    if how == "null":
        return pd.Series(
            [np.nan] * n, dtype="float64" if dtype.startswith(("float", "int")) else object
        )
    if how.startswith("id_"):
        if unique is not None and not isinstance(unique, tuple):  # rows of a root shard
            rows = np.arange(n, dtype=np.int64) * unique.shards + unique.shard
        else:
            rows = np.arange(start, start + n, dtype=np.int64)
        values = pd.Series(_ids(state, rows, rng, key or [0]))
        if how == "id_int" and dtype.startswith(("int", "uint")) and not state.get("null_fraction"):
            values = values.astype(dtype)
    elif how == "pii":
        f = make_faker(locale, int(rng.integers(2**31)))
        if not state.get("unique", False):
            unique = None
        elif unique is None:  # one shard: this call's rows
            unique = (start + n, max(start + n, 1))
        raw = fake_values(
            state["pii_type"], n, f, exclude=exclude, start=start, unique=unique, key=key
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


def _ids(
    state: dict[str, Any], rows: np.ndarray, rng: np.random.Generator, key: list[int]
) -> list[Any] | np.ndarray:
    """Ids of the rows numbered ``rows``: from the row number, so unique without memory
    of earlier rows (uuids: 122 random bits)."""
    how = state["how"]
    if how == "id_int":
        return rows + int(state["start"])
    if how == "id_pattern":
        w = int(state["width"])
        return [f"{state['prefix']}{i:0{w}d}" if w else f"{state['prefix']}{i}" for i in rows + 1]
    if how == "id_uuid":
        raw = rng.integers(0, 256, size=(len(rows), 16), dtype=np.uint8)
        return [str(uuid.UUID(bytes=bytes(r), version=4)) for r in raw]
    if how == "id_shape":
        return _shaped_ids(rows, state["shape"], key)
    return _hex_ids(rows, max(4, int(state.get("length", 12))), rng, key)


def _shaped_ids(rows: np.ndarray, shape: list[str], key: list[int]) -> list[str]:
    """Ids in ``shape`` (see ``transforms.side.id_shape``): the slots spell a keyed
    permutation of the row number in mixed radix, so distinct rows never share one and the
    ids do not count up visibly. Past the shape's capacity the row number is appended."""
    from synthgen.transforms.side import SHAPE_SLOTS

    radices = [len(SHAPE_SLOTS[t]) for t in shape if t in SHAPE_SLOTS]
    capacity = int(np.prod(np.array(radices, dtype=object)))
    bits = max(1, min(62, (capacity - 1).bit_length()))
    mask = np.uint64((1 << bits) - 1)
    a1, a2, b = np.random.SeedSequence(key).generate_state(3, dtype=np.uint64)
    limit = min(capacity, 1 << bits)

    def permute(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # a bijection on [0, 2**bits)
            for a in (a1 | np.uint64(1), a2 | np.uint64(1)):
                x = (x * a + b) & mask
                x ^= x >> np.uint64(bits // 2 + 1)
        return x

    x = permute(rows.astype(np.uint64) & mask)
    while (over := x >= np.uint64(limit)).any():  # cycle-walk back into [0, limit)
        x[over] = permute(x[over])
    out = []
    for row, v in zip(rows.tolist(), x.tolist(), strict=True):
        v, chars = int(v), []
        for t in reversed(shape):
            if t in SHAPE_SLOTS:
                alphabet = SHAPE_SLOTS[t]
                v, d = divmod(v, len(alphabet))
                chars.append(alphabet[d])
            else:
                chars.append(t[1:])
        s = "".join(reversed(chars))
        out.append(s if row < limit else f"{s}{row}")
    return out


def _hex_ids(rows: np.ndarray, length: int, rng: np.random.Generator, key: list[int]) -> list[str]:
    """``length`` hex digits: the last (up to 16) a keyed permutation of the row number, so
    distinct rows never share one; longer ids start with random digits. Past 16**length
    rows (short ids), the row number is appended."""
    width = min(length, 16)
    bits = 4 * width
    mask = np.uint64((1 << bits) - 1)
    a1, a2, b = np.random.SeedSequence(key).generate_state(3, dtype=np.uint64)
    x = rows.astype(np.uint64) & mask
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64, then 2**bits: a bijection
        for a in (a1 | np.uint64(1), a2 | np.uint64(1)):
            x = (x * a + b) & mask
            x ^= x >> np.uint64(bits // 2 + 1)
    head = rng.integers(0, 16, size=(len(rows), length - width)) if length > width else None
    out = []
    for j, (row, v) in enumerate(zip(rows.tolist(), x.tolist(), strict=True)):
        s = f"{v:0{width}x}"
        if head is not None:
            s = "".join("0123456789abcdef"[d] for d in head[j]) + s
        out.append(s if row < (1 << bits) else f"{s}{row}")
    return out


def _pii_dtype(values: pd.Series, state: dict[str, Any], dtype: str) -> pd.Series:
    if state["pii_type"] != "date_of_birth":
        return values
    dt = pd.to_datetime(values)
    if dtype.startswith("datetime64"):
        return dt
    return dt.dt.strftime(state.get("format") or "%Y-%m-%d").astype(object)
