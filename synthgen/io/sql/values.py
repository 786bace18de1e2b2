"""Values between pandas and a database, column by column, by the column's kind.

Reading: integers stay integers (pandas' nullable ``Int64`` where the column may be empty,
``int64`` where it is NOT NULL), decimals become floats, dates and timestamps datetimes
(``TIMESTAMPTZ`` in UTC), booleans ``bool`` / ``boolean``, text, UUID and JSON ``str``.
Writing: Python values the driver binds as they are (``None`` for a missing value), with
what SQLite cannot hold (dates, decimals, UUIDs) as text or floats.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError

_TRUE = {"1", "t", "true", "y", "yes"}
_FALSE = {"0", "f", "false", "n", "no"}


def _bad(where: str, what: str, hint: str) -> DataError:
    return DataError(f"column {where} {what}", hint=hint)


# ---- reading ------------------------------------------------------------------------------
def to_series(values: Sequence[Any], kind: str, nullable: bool, where: str) -> pd.Series:
    """A column read from a database as a Series of the kind's dtype."""
    if kind == "int":
        return _int_series(values, nullable, where)
    if kind in ("float", "decimal"):
        return pd.Series(_floats(values, where), dtype="float64")
    if kind == "bool":
        return _bool_series(values, nullable, where)
    if kind in ("date", "timestamp", "timestamptz"):
        return _datetime_series(values, kind == "timestamptz", where)
    if kind == "time":
        return pd.Series([_time(v, where) for v in values], dtype=object)
    if kind == "json":
        out = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        return pd.Series(out, dtype=object)
    if kind == "uuid":
        return pd.Series([None if v is None else str(v) for v in values], dtype=object)
    if kind == "blob":
        return pd.Series([None if v is None else bytes(v) for v in values], dtype=object)
    return pd.Series(list(values), dtype=object)


def _int_series(values: Sequence[Any], nullable: bool, where: str) -> pd.Series:
    try:
        arr = pd.array(list(values), dtype="Int64")
    except (TypeError, ValueError):
        floats = _floats(values, where)
        whole = np.isnan(floats) | (np.mod(floats, 1) == 0)
        if not whole.all():
            raise _bad(
                where,
                "is an integer column but holds values with a fraction",
                "fix the values, or declare the column NUMERIC / REAL",
            ) from None
        arr = pd.array(floats, dtype="Float64").astype("Int64")
    s = pd.Series(arr)
    if not nullable and not s.isna().any():
        return s.astype("int64")
    return s


def _floats(values: Sequence[Any], where: str) -> np.ndarray:
    try:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    except (TypeError, ValueError):
        try:
            return pd.to_numeric(pd.Series(list(values), dtype=object)).to_numpy("float64")
        except (TypeError, ValueError):
            raise _bad(
                where,
                "is a numeric column but holds values that are not numbers",
                "fix the values, or declare the column TEXT",
            ) from None


def _bool(v: Any, where: str) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int | np.integer) and v in (0, 1):
        return bool(v)
    text = str(v).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _bad(where, f"is a boolean column but holds {v!r}", "use true/false or 1/0")


def _bool_series(values: Sequence[Any], nullable: bool, where: str) -> pd.Series:
    out = [_bool(v, where) for v in values]
    s = pd.Series(pd.array(out, dtype="boolean"))
    return s.astype(bool) if not nullable and not s.isna().any() else s


def _datetime_series(values: Sequence[Any], utc: bool, where: str) -> pd.Series:
    vals = list(values)
    try:
        if utc:
            return pd.Series(pd.to_datetime(vals, utc=True, format="ISO8601"))
        if any(isinstance(v, str) for v in vals):
            return pd.Series(pd.to_datetime(vals, format="ISO8601"))
        arr = np.array(
            [np.datetime64("NaT") if v is None else _naive(v) for v in vals], dtype="datetime64[us]"
        )
        s = pd.Series(arr)
        ok = s.isna() | ((s >= pd.Timestamp.min) & (s <= pd.Timestamp.max))
        return s.astype("datetime64[ns]") if bool(ok.all()) else s
    except (ValueError, TypeError, OverflowError) as err:
        raise _bad(
            where,
            f"is a date/time column but holds a value that is not one ({err})",
            "fix the values (ISO 8601, e.g. 2024-01-31 12:00:00), or declare the column TEXT",
        ) from None


def _naive(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v


def _time(v: Any, where: str) -> dt.time | None:
    if v is None or isinstance(v, dt.time):
        return v
    try:
        return dt.time.fromisoformat(str(v))
    except ValueError:
        raise _bad(where, f"is a TIME column but holds {v!r}", "write times as HH:MM:SS") from None


# ---- writing ------------------------------------------------------------------------------
def put_nones(values: list[Any], missing: np.ndarray) -> list[Any]:
    for i in np.flatnonzero(missing):
        values[i] = None
    return values


def db_values(s: pd.Series, kind: str, dialect: str, where: str) -> list[Any]:
    """A column's values, ready for the driver (``None`` where missing)."""
    missing = s.isna().to_numpy(dtype=bool)
    sqlite = dialect == "sqlite"
    if kind == "int":
        return put_nones(_ints(s, where).tolist(), missing)
    if kind in ("float", "decimal"):
        f = _to_float(s, where)
        out = np.where(missing, 0.0, f).tolist()
        if kind == "decimal" and not sqlite:
            out = [Decimal(repr(x)) for x in out]
        return put_nones(out, missing)
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):  # bool / boolean: Python bools as they are
            return list(s.to_numpy(dtype=object, na_value=None).tolist())
        return [None if m else _bool(v, where) for v, m in zip(s.tolist(), missing, strict=True)]
    if kind in ("date", "timestamp", "timestamptz"):
        return _datetimes(s, kind, sqlite, where)
    if kind == "time":
        out_t = [None if m else _time(v, where) for v, m in zip(s.tolist(), missing, strict=True)]
        return [t.isoformat() if sqlite and t is not None else t for t in out_t]
    if kind == "uuid":
        return [None if m else _uuid(v, sqlite, where) for v, m in zip(s, missing, strict=True)]
    if kind == "json":
        return [
            None if m else v if isinstance(v, str) else json.dumps(v)
            for v, m in zip(s.tolist(), missing, strict=True)
        ]
    if kind == "blob":
        return [None if m else bytes(v) for v, m in zip(s.tolist(), missing, strict=True)]
    return _texts(s, missing)


def _ints(s: pd.Series, where: str) -> np.ndarray:
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Int64").to_numpy(dtype="int64", na_value=0)
    f = _to_float(s, where)
    ok = np.isnan(f) | (np.mod(f, 1) == 0)
    if not ok.all():
        bad = s[~ok].iloc[0]
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise _bad(
            where,
            f"goes to an integer column but holds {bad!r}",
            "round the values, or give the column a NUMERIC / REAL type",
        )
    return np.where(np.isnan(f), 0, f).astype("int64")


def _to_float(s: pd.Series, where: str) -> np.ndarray:
    try:
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            return pd.to_numeric(s.astype(object)).to_numpy(dtype="float64", na_value=np.nan)
        return s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        raise _bad(
            where,
            "goes to a numeric column but holds values that are not numbers",
            "fix the values, or give the column a TEXT type",
        ) from None


def _datetimes(s: pd.Series, kind: str, sqlite: bool, where: str) -> list[Any]:
    arr = _datetime_array(s, where)
    if kind == "date":
        days = arr.astype("datetime64[D]")
        return _iso(days, "D") if sqlite else days.astype(object).tolist()
    if sqlite:
        unit = "s" if bool((arr.astype("datetime64[s]") == arr)[~np.isnat(arr)].all()) else "us"
        text = _iso(arr, unit)
        return [t if t is None or kind == "timestamp" else t + "+00:00" for t in text]
    out = arr.astype(object).tolist()
    if kind == "timestamptz":
        utc = dt.timezone.utc
        out = [None if v is None else v.replace(tzinfo=utc) for v in out]
    return out


def _datetime_array(s: pd.Series, where: str) -> np.ndarray:
    """Date/time values as naive ``datetime64[us]`` (an aware value in UTC), NaT if missing."""
    if not (pd.api.types.is_datetime64_any_dtype(s.dtype)):
        try:
            s = pd.to_datetime(s, format="ISO8601")
        except (ValueError, TypeError) as err:
            raise _bad(
                where,
                f"goes to a date/time column but holds a value that is not one ({err})",
                "write dates as ISO 8601 (2024-01-31 or 2024-01-31 12:00:00)",
            ) from None
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[us]")


def _iso(arr: np.ndarray, unit: str) -> list[Any]:
    """ISO text as SQLite keeps it (``2024-01-31 12:00:00``), None where missing."""
    text = np.datetime_as_string(arr, unit=unit)  # type: ignore[call-overload]
    if unit != "D" and len(text):  # the T at position 10 becomes a space, in place
        codes = text.view(np.uint32).reshape(len(text), -1)
        codes[:, 10] = ord(" ")
    return put_nones(text.tolist(), np.isnat(arr))


def _uuid(v: Any, sqlite: bool, where: str) -> Any:
    try:
        u = v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))
    except ValueError:
        raise _bad(where, f"is a UUID column but holds {v!r}", "fix the values") from None
    return str(u) if sqlite else u


def _texts(s: pd.Series, missing: np.ndarray) -> list[Any]:
    values = s.astype(object).tolist()
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        values = [v if isinstance(v, str) else str(v) for v in values]
    return put_nones(values, missing)


# ---- writing as Arrow (PostgreSQL's CSV COPY) ---------------------------------------------
CSV_KINDS: tuple[str, ...] = ("int", "float", "decimal", "bool", "date", "timestamp")
CSV_KINDS += ("timestamptz", "text", "uuid", "json", "time")


def arrow_values(s: pd.Series, kind: str, where: str, empty: np.ndarray | None = None) -> Any:
    """A column as an Arrow array whose CSV form PostgreSQL reads back as the same values
    (strings always quoted, so an empty string stays one; a null is an unquoted empty field).
    ``empty``: rows to write as NULL whatever they hold."""
    import pyarrow as pa

    missing = s.isna().to_numpy(dtype=bool)
    if empty is not None:
        missing = missing | empty
    if kind == "int":
        return pa.array(_ints(s, where), type=pa.int64(), mask=missing)
    if kind in ("float", "decimal"):
        return pa.array(np.where(missing, 0.0, _to_float(s, where)), pa.float64(), mask=missing)
    if kind == "bool":
        vals = db_values(s, kind, "postgresql", where)
        return pa.array([None if m else v for v, m in zip(vals, missing, strict=True)], pa.bool_())
    if kind in ("date", "timestamp", "timestamptz"):
        arr = _datetime_array(s, where)
        missing = missing | np.isnat(arr)
        if kind == "date":
            return pa.array(arr.astype("datetime64[D]"), type=pa.date32(), mask=missing)
        tz = "UTC" if kind == "timestamptz" else None
        return pa.array(arr, type=pa.timestamp("us", tz=tz), mask=missing)
    if kind == "time":
        vals = db_values(s, kind, "postgresql", where)
        out = [
            None if m or v is None else v.isoformat() for v, m in zip(vals, missing, strict=True)
        ]
        return pa.array(out, type=pa.string())
    if kind == "uuid":
        vals = db_values(s, kind, "postgresql", where)
        return pa.array([None if m else str(v) for v, m in zip(vals, missing, strict=True)])
    vals = db_values(s, kind, "postgresql", where)  # text, json
    return pa.array(put_nones(vals, missing), type=pa.string())
