"""Column-kind detection: what each column of a DataFrame is, and a short reason why."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from synthgen.errors import SchemaError
from synthgen.pii import find as pii
from synthgen.schema.spec import ColumnSpec, Schema

DATETIME_SHARE = 0.95
DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d-%b-%Y",
    "%Y-%m",
)
_BOOL_PAIRS = ({"0", "1"}, {"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"})
_ID_LAST = {"id", "ids", "uuid", "guid", "key", "pk", "no", "nr", "number"}
_ID_FIRST = {"id", "uuid", "guid", "pk"}
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)

Verdict = tuple[str, str | None, str | None, str]  # kind, pii_type, datetime_format, reason


def detect(df: pd.DataFrame, *, sample_rows: int = 5000, seed: int = 0) -> Schema:
    """Classify every column of ``df`` (in order); content checks use a seeded sample."""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"detect() needs a pandas DataFrame, got {type(df).__name__}")
    if sample_rows < 1:
        raise SchemaError(f"sample_rows must be at least 1, got {sample_rows}")
    names = [str(c) for c in df.columns]
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    if dupes:
        raise SchemaError(
            f"duplicate column names: {', '.join(map(repr, dupes))}",
            hint="rename the columns so that each name is unique",
        )
    cols = [_detect_column(df.iloc[:, i], names[i], sample_rows, seed) for i in range(len(names))]
    return Schema(columns=cols)


def _sample(nonnull: pd.Series, n: int, seed: int) -> pd.Series:
    """At most ``n`` of the non-null values, chosen with a seeded generator (order kept)."""
    if len(nonnull) <= n:
        return nonnull
    idx = np.sort(np.random.default_rng(seed).choice(len(nonnull), size=n, replace=False))
    return nonnull.iloc[idx]


def _cardinality(nonnull: pd.Series) -> int:
    try:
        return int(nonnull.nunique(dropna=False))
    except TypeError:  # unhashable cells such as lists
        return int(nonnull.astype(str).nunique())


def _plain(v: object) -> object:
    """A numpy scalar as its Python value, for readable reasons."""
    return v.item() if isinstance(v, np.generic) else v


def _detect_column(s: pd.Series, name: str, sample_rows: int, seed: int) -> ColumnSpec:
    mask = s.notna().to_numpy()
    nn = s[mask]
    n, nonnull = len(s), len(nn)
    card = _cardinality(nn) if nonnull else 0
    base: dict[str, Any] = {
        "name": name,
        "dtype": str(s.dtype),
        "cardinality": card,
        "null_fraction": 1 - nonnull / n if n else 0.0,
    }
    if nonnull == 0:
        kind = (
            "datetime"
            if pdt.is_datetime64_any_dtype(s.dtype)
            else "boolean"
            if pdt.is_bool_dtype(s.dtype)
            else "numeric"
            if pdt.is_numeric_dtype(s.dtype)
            else "categorical"
        )
        return ColumnSpec.model_validate({**base, "kind": kind, "reason": "all values missing"})
    sample = _sample(nn, sample_rows, seed)
    kind, ptype, fmt, reason = _classify(nn, sample, name, card)
    if card == 1:
        reason += f"; constant (every value is {_plain(sample.iloc[0])!r})"
    return ColumnSpec.model_validate(
        {**base, "kind": kind, "pii_type": ptype, "datetime_format": fmt, "reason": reason}
    )


def _classify(nn: pd.Series, sample: pd.Series, name: str, card: int) -> Verdict:
    """Dispatch on dtype (``nn``: the non-null values): booleans, dates, numbers, the rest."""
    why = _bool_reason(nn, card)
    if why:
        return "boolean", None, None, why
    if pdt.is_datetime64_any_dtype(nn.dtype):
        return _dates(name, None, f"{nn.dtype} dtype")
    if pdt.is_timedelta64_dtype(nn.dtype):
        return "numeric", None, None, f"durations, {card} distinct"
    if pdt.is_numeric_dtype(nn.dtype) and not pdt.is_complex_dtype(nn.dtype):
        return _classify_number(nn, sample, name, card)
    return _classify_object(sample, name, card, len(nn), nn.dtype)


def _dates(name: str, fmt: str | None, why: str) -> Verdict:
    if pii.name_hint(name) == "date_of_birth":
        return "pii", "date_of_birth", fmt, f"{why}, and name '{name}' suggests dates of birth"
    return "datetime", None, fmt, why


def _norm_bool(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, float, np.number)) and v in (0, 1):
        return str(int(v))
    return str(v).strip().lower()


def _bool_reason(nn: pd.Series, card: int) -> str | None:
    """bool dtype, or exactly two distinct values forming a yes/no pair."""
    if pdt.is_bool_dtype(nn.dtype):
        return f"{nn.dtype} dtype"
    if card != 2:
        return None
    values = sorted((_plain(v) for v in pd.unique(nn)), key=str)
    if {_norm_bool(v) for v in values} in _BOOL_PAIRS:
        return f"two values forming a yes/no pair ({values[0]!r}, {values[1]!r})"
    return None


def _id_reason(name: str, card: int, nonnull: int, values: pd.Series | None = None) -> str | None:
    """An id by name ('id', 'CustomerId', 'order_no', not PII-hinting) with ~unique values."""
    toks = pii.normalize_name(name).split("_")
    if not (toks[-1] in _ID_LAST or toks[0] in _ID_FIRST) or pii.name_hint(name) is not None:
        return None
    if card < 0.99 * nonnull:
        return None
    uniq = (
        "every value unique" if card == nonnull else f"{pii.pct(card / nonnull)} of values unique"
    )
    if (
        values is not None
        and card == nonnull > 1
        and int(values.max()) - int(values.min()) + 1 == card
    ):
        uniq += f", sequential {int(values.min())}..{int(values.max())}"
    return f"name '{name}' and {uniq}"


def _whole(vals: pd.Series) -> bool:
    a = vals.to_numpy(dtype=float)
    return bool(np.isfinite(a).all() and (np.abs(a) < 2**53).all() and (a == np.round(a)).all())


def _classify_number(nn: pd.Series, sample: pd.Series, name: str, card: int) -> Verdict:
    """integer / numeric, or an id or PII when the name says so and the values agree."""
    is_int_dtype = pdt.is_integer_dtype(nn.dtype)
    if not (is_int_dtype or _whole(nn)):
        return "numeric", None, None, f"decimal values, {card} distinct"
    hit = pii.pii_numeric(sample, name)
    if hit:
        return "pii", hit[0], None, hit[1]
    why = _id_reason(name, card, len(nn), nn)
    if why:
        return "id", None, None, why
    if re.fullmatch(r"(Unnamed: \d+|index|)", name) and card == len(nn) > 1:
        lo, hi = int(nn.min()), int(nn.max())
        if hi - lo + 1 == card:
            return "id", None, None, f"unnamed sequential index {lo}..{hi}"
    stored = "" if is_int_dtype else f" (stored as {nn.dtype})"
    return "integer", None, None, f"integer values{stored}, {card} distinct"


def _classify_object(sample: pd.Series, name: str, card: int, nonnull: int, dtype: Any) -> Verdict:
    """Strings and other objects: dates, PII, ids, mixed numbers, free text, categories."""
    try:
        vc = sample.astype(object).value_counts(sort=False)  # distinct values: cheap checks
    except TypeError:
        return "categorical", None, None, f"{card} distinct values (not hashable)"
    uniq, counts = pd.Series(vc.index, dtype=object), vc.to_numpy()
    is_str = uniq.map(type).eq(str).to_numpy()
    is_date = uniq.map(lambda v: isinstance(v, (dt.date, np.datetime64))).to_numpy()
    if counts[is_date].sum() >= DATETIME_SHARE * len(sample):
        return _dates(name, None, "date/time objects")
    texts = counts[is_str].sum() >= DATETIME_SHARE * len(sample)
    if texts:
        strs = pd.Series(np.repeat(uniq[is_str].str.strip().to_numpy(), counts[is_str]))
        found = _datetime_format(strs)
        if found:
            fmt, share = found
            return _dates(name, fmt, f"{pii.pct(share)} of sampled values are dates like {fmt}")
        verdict = _string_identity(strs, name, card, nonnull)
        if verdict:
            return verdict
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical", None, None, f"category dtype, {card} levels"
    why = _mixed_reason(uniq, counts, card, texts)
    if why:
        return "categorical", None, None, why
    why = _text_reason(uniq[is_str], counts[is_str]) if texts else None
    if why:
        return "text", None, None, why
    return "categorical", None, None, f"{card} distinct label{'s' if card != 1 else ''}"


def _string_identity(strs: pd.Series, name: str, card: int, nonnull: int) -> Verdict | None:
    """PII by content, id by name, PII by name, then id by a fixed pattern."""
    hit = pii.pii_by_content(strs)
    if hit:
        return "pii", hit[0], None, hit[1]
    why = _id_reason(name, card, nonnull)
    if why:
        return "id", None, None, why
    hit = pii.pii_by_name(strs, name)
    if hit:
        return "pii", hit[0], None, hit[1]
    why = _pattern_id(strs, card, nonnull)
    return ("id", None, None, why) if why else None


def _shape(v: str) -> str:
    return re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "A", v))


def _pattern_id(strs: pd.Series, card: int, nonnull: int) -> str | None:
    """Unique strings with one fixed shape ('AAA-999999') or UUIDs."""
    if nonnull < 10 or card < 0.99 * nonnull or strs.empty:
        return None
    if strs.map(lambda v: bool(_UUID.fullmatch(v))).mean() >= 0.99:
        return "every value unique and a UUID"
    shapes = strs.map(_shape).value_counts(normalize=True)
    top, share = shapes.index[0], float(shapes.iloc[0])
    if share >= 0.99 and "9" in top and len(top) >= 3:
        return f"every value unique with one fixed pattern {top!r}"
    hexy = strs.str.fullmatch(r"[0-9a-fA-F]{16,}").mean() >= 0.99 and strs.str.len().nunique() == 1
    return "every value unique and a fixed-length hex string" if hexy else None


def _datetime_format(strs: pd.Series) -> tuple[str, float] | None:
    """(format, share) of the format parsing most (>= 95%) of the sample; ties: list order."""
    vc = strs.value_counts()
    if vc.empty:
        return None
    head = [v for v in vc.index[:200] if 6 <= len(v) <= 40 and pii.has_digits(v)]
    if len(head) < 0.9 * min(len(vc), 200):
        return None
    best: tuple[str, float] | None = None
    for fmt in DATETIME_FORMATS:
        if not _parses(head[:8], fmt):
            continue
        share = _parse_share(vc, fmt)
        if share >= DATETIME_SHARE and (best is None or share > best[1]):
            best = (fmt, share)
    return best


def _parses(values: list[str], fmt: str) -> bool:
    """At least half of a few values parse with strptime (a cheap pre-filter)."""
    ok = 0
    for v in values:
        with contextlib.suppress(ValueError):
            ok += bool(dt.datetime.strptime(v, fmt))
    return ok * 2 >= len(values)


def _parse_share(vc: pd.Series, fmt: str) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(
                pd.Series(vc.index), format=fmt, errors="coerce", utc="%z" in fmt
            )
        except (ValueError, TypeError):
            return 0.0
    return float(vc.to_numpy()[parsed.notna().to_numpy()].sum() / vc.sum())


def _mixed_reason(uniq: pd.Series, counts: np.ndarray, card: int, texts: bool) -> str | None:
    """Mostly numbers with some text: say so and how to coerce."""
    try:
        ok = pd.to_numeric(uniq, errors="coerce").notna().to_numpy()
    except (TypeError, ValueError):
        return None
    share = float(counts[ok].sum() / counts.sum())
    if share == 1.0:
        stored = "text" if texts else "Python objects"
        return f"numbers stored as {stored}, {card} distinct; set kind: numeric to parse them"
    if share < 0.5:
        return None
    example = _plain(uniq[~ok].iloc[0])
    return (
        f"mixed: {pii.pct(share)} numeric, {pii.pct(1 - share)} text (e.g. {example!r}); "
        "set kind: numeric to coerce the rest to missing"
    )


def _text_reason(strs: pd.Series, counts: np.ndarray) -> str | None:
    """Free text: mostly distinct, long (>= 40 chars) and wordy (>= 6 words) on average."""
    total = counts.sum()
    if total == 0 or len(strs) <= 0.5 * total:
        return None
    head, w = strs.iloc[:1000], counts[:1000]  # distinct values in random-sample order
    chars = float((head.str.len().to_numpy() * w).sum() / w.sum())
    words = float((head.str.count(r"\S+").to_numpy() * w).sum() / w.sum())
    if chars >= 40 and words >= 6:
        return f"text: mean {chars:.0f} chars, {words:.0f} words"
    return None
