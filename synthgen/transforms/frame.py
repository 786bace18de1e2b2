"""Moving columns between the source's dtypes and a model's frame: numbers as float64
(datetimes as seconds since 1970), labels as Python objects, and back to the source's dtypes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import UsageError
from synthgen.schema.spec import ColumnSpec, Schema

_EPOCH = np.datetime64("1970-01-01T00:00:00")


def _to_datetime(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        out = pd.to_datetime(s, format=spec.datetime_format, errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def to_model_frame(data: pd.DataFrame, schema: Schema, modelled: list[str]) -> pd.DataFrame:
    """Numbers as float64 (datetimes as seconds since 1970), labels as Python objects (a
    generator may hand ``from_model_frame`` a ``pd.Categorical`` instead: NA = missing)."""
    cols: dict[str, pd.Series] = {}
    for name in modelled:
        spec, s = schema[name], data[name]
        if spec.kind in ("numeric", "integer"):
            cols[name] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif spec.kind == "datetime":
            dt = _to_datetime(s, spec)
            secs = (dt.to_numpy(dtype="datetime64[ns]") - _EPOCH) / np.timedelta64(1, "s")
            cols[name] = pd.Series(np.where(dt.isna(), np.nan, secs), index=s.index)
        else:
            obj = s.astype(object)
            cols[name] = obj.where(s.notna(), None)
    return pd.DataFrame(cols, index=data.index)


def from_model_frame(body: pd.DataFrame, schema: Schema, modelled: list[str]) -> pd.DataFrame:
    """Decode a model frame back to the source's dtypes (integers stay integers, ...)."""
    out = {}
    for name in modelled:
        spec, s = schema[name], body[name]
        if spec.kind == "integer":
            out[name] = _restore_int(np.round(s.astype("float64")), spec.dtype)
        elif spec.kind == "numeric":
            dtype = spec.dtype if spec.dtype.startswith("float") else "float64"
            out[name] = s.astype(dtype)
            if spec.decimals is not None:  # the source's precision, not 15 digits of noise
                out[name] = out[name].round(spec.decimals)
        elif spec.kind == "datetime":
            out[name] = _restore_datetime(s.astype("float64"), spec)
        else:
            out[name] = _restore_labels(s, spec)
    return pd.DataFrame(out, index=body.index)


def _restore_int(s: pd.Series, dtype: str) -> pd.Series:
    has_na = bool(s.isna().any())
    if dtype.lower().startswith(("int", "uint")):
        if has_na or dtype[0] == "I" or dtype[0] == "U":
            return s.astype(dtype if dtype[0] in "IU" else "Int64")
        return s.astype(dtype)
    return s.astype("float64")  # the source held whole numbers as floats (NaN present)


def _restore_datetime(secs: pd.Series, spec: ColumnSpec) -> pd.Series:
    whole = np.round(secs.to_numpy())
    dt = pd.Series(pd.to_datetime(whole, unit="s", errors="coerce"), index=secs.index)
    if spec.dtype.startswith("datetime64"):
        return dt
    fmt = spec.datetime_format or "%Y-%m-%d %H:%M:%S"
    text = dt.dt.strftime(fmt)
    return text.where(dt.notna(), None).astype(object)


def _restore_labels(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):  # a generator's fast path: NA = missing
        if spec.dtype == "category":
            return s.astype(object).astype("category")  # categories as the source's would be
        cats = s.cat.categories.to_numpy(dtype=object)
        codes = s.cat.codes.to_numpy()
        if (codes < 0).any():
            cats = np.append(cats, np.array([np.nan], dtype=object))
        s = pd.Series(cats[codes], index=s.index, copy=False)  # code -1 takes the NaN
        if spec.dtype in ("bool", "category") or spec.dtype.startswith(("int", "Int")):
            return _restore_labels(s, spec)
        return s
    if spec.dtype == "bool" and not s.isna().any():
        return s.astype(bool)
    if spec.dtype == "bool":
        return s.astype("boolean")
    if spec.dtype == "category":
        return s.astype("category")
    if spec.dtype.startswith(("int", "Int")) and not s.isna().any():
        return s.astype(spec.dtype if spec.dtype[0] == "i" else "Int64")
    return s.astype(object).where(s.notna(), np.nan)


@dataclass(frozen=True)
class Between:
    """A range condition: ``low <= value <= high`` (an open end is -inf or inf)."""

    low: float
    high: float


@dataclass(frozen=True)
class OneOf:
    """A set condition: the value is one of ``values`` (None stands for missing)."""

    values: tuple[Any, ...]


def condition_values(conditions: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Conditions as the model frame holds them: a value (numbers as floats, dates as seconds,
    labels as given, None for missing), a list of them (:class:`OneOf`), or a range
    ``{"min": a, "max": b}`` on a number or date column (:class:`Between`)."""
    out: dict[str, Any] = {}
    for col, val in conditions.items():
        spec = schema[col]
        if isinstance(val, Mapping):
            out[col] = _between(col, val, spec)
        elif isinstance(val, (list, tuple, set, frozenset)):
            if not val:
                raise UsageError(f"condition {col}: the list of values is empty")
            out[col] = OneOf(tuple(_one_value(col, v, spec) for v in val))
        else:
            out[col] = _one_value(col, val, spec)
    return out


def _one_value(col: str, val: Any, spec: ColumnSpec) -> Any:
    if val is None or (isinstance(val, float) and np.isnan(val)):
        return None
    if spec.kind in ("numeric", "integer"):
        try:
            return float(val)
        except (TypeError, ValueError):
            raise UsageError(f"condition {col}={val!r}: {col} holds numbers") from None
    if spec.kind == "datetime":
        try:
            stamp = pd.Timestamp(val)
        except (TypeError, ValueError):
            raise UsageError(f"condition {col}={val!r}: {col} holds dates") from None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return float((stamp.to_datetime64() - _EPOCH) / np.timedelta64(1, "s"))
    if spec.dtype == "bool" and isinstance(val, str):
        return val.strip().lower() in ("true", "1", "yes", "y", "t")
    if (
        spec.dtype.startswith(("int", "Int"))
        and isinstance(val, str)
        and val.strip().lstrip("-").isdigit()
    ):
        return int(val)
    return val


def _between(col: str, val: Mapping[str, Any], spec: ColumnSpec) -> Between:
    unknown = sorted(set(val) - {"min", "max"})
    if unknown or not val:
        raise UsageError(f"condition {col}: a range takes 'min' and / or 'max', got {dict(val)}")
    if spec.kind not in ("numeric", "integer", "datetime"):
        raise UsageError(f"condition {col}: a range needs a number or date column, not labels")
    low = _one_value(col, val.get("min"), spec)
    high = _one_value(col, val.get("max"), spec)
    low, high = (-np.inf if low is None else low), (np.inf if high is None else high)
    if low > high:
        raise UsageError(f"condition {col}: min {val.get('min')!r} is above max {val.get('max')!r}")
    return Between(float(low), float(high))


def condition_mask(frame: pd.DataFrame, conditions: dict[str, Any]) -> np.ndarray:
    """Which rows of a model frame meet every condition (as ``condition_values`` gives them)."""
    mask = np.ones(len(frame), dtype=bool)
    for col, cond in conditions.items():
        s = frame[col]
        if isinstance(cond, Between):
            x = s.to_numpy(np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                mask &= (x >= cond.low) & (x <= cond.high)
        else:
            values = cond.values if isinstance(cond, OneOf) else (cond,)
            hit = np.zeros(len(frame), dtype=bool)
            for v in values:
                hit |= s.isna().to_numpy() if v is None else (s == v).to_numpy()
            mask &= hit
    return mask


def with_decimals(schema: Schema, data: pd.DataFrame) -> Schema:
    """``schema`` with each numeric column's decimals: the fewest (0-6) that write every value
    of a sample of 5,000 exactly; None (no rounding) when more are needed."""
    cols = []
    for c in schema.columns:
        if c.kind == "numeric" and c.decimals is None and c.name in data:
            x = pd.to_numeric(data[c.name], errors="coerce").to_numpy(np.float64)
            x = x[np.isfinite(x)][:5000]
            if len(x):
                c = c.model_copy(update={"decimals": _fewest_decimals(x)})
        cols.append(c)
    return schema.model_copy(update={"columns": cols})


def _fewest_decimals(x: np.ndarray) -> int | None:
    with np.errstate(over="ignore", invalid="ignore"):
        for d in range(7):
            if np.allclose(np.round(x, d), x, rtol=0, atol=1e-9):
                return d
    return None


def with_text_dtypes(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Columns the source held as pandas 3's ``str`` dtype, given it back (decoding and
    the side columns make text as ``object``). Under pandas 2 nothing is recorded as
    ``str``, and a model saved under pandas 3 keeps ``object`` there."""
    target = _str_dtype()
    if target is None:
        return df
    names = [c.name for c in schema.columns if c.dtype == "str" and c.name in df.columns]
    for name in names:
        if df[name].dtype != target:
            df[name] = df[name].astype(target)
    return df


def _str_dtype() -> Any:
    dtype = pd.api.types.pandas_dtype("str")
    return dtype if isinstance(dtype, pd.StringDtype) else None
