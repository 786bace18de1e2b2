"""A recipe's ``schema:`` overrides applied to a detected schema, each checked against the
column's values (a kind that reads too few of them is refused, naming the column)."""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import pandas as pd
from pandas.api import types as pdt

from synthgen.errors import SchemaError
from synthgen.schema.detect import _datetime_format, _parse_share, _plain
from synthgen.schema.spec import KINDS, PII_TYPES, ColumnSpec, Schema

_OVERRIDABLE = ("kind", "pii_type", "datetime_format")


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def apply_overrides(schema: Schema, overrides: dict[str, dict], df: pd.DataFrame) -> Schema:
    """Replace kind / pii_type / datetime_format per column; every problem in one SchemaError."""
    if not isinstance(overrides, dict):
        raise SchemaError(
            f"schema: expected a mapping of column names to fields, got {type(overrides).__name__}"
        )
    data_cols = {str(c): c for c in df.columns}
    problems: list[str] = []
    updates: dict[str, dict[str, Any]] = {}
    for key, fields in overrides.items():
        col, path = str(key), f"schema.{key}"
        if col not in schema:
            problems.append(f"{path}: no such column{_suggest(col, schema.names)}")
        elif col not in data_cols:
            problems.append(f"{path}: column is in the schema but not in the data")
        elif not isinstance(fields, dict):
            problems.append(
                f"{path}: expected fields such as {{kind: numeric}}, got {type(fields).__name__}"
            )
        else:
            upd, errs = _check_fields(path, fields, df[data_cols[col]])
            problems += errs
            updates[col] = upd
    if problems:
        err = SchemaError(
            f"schema overrides: {len(problems)} problem(s)\n"
            + "\n".join(f"  - {p}" for p in problems),
            hint="fix the entries under 'schema:' in the recipe",
        )
        err.problems = problems  # type: ignore[attr-defined]
        raise err
    return Schema(
        schema_version=schema.schema_version,
        columns=[
            _apply(c, updates[c.name], df[data_cols[c.name]]) if c.name in updates else c
            for c in schema.columns
        ],
    )


def _check_fields(path: str, fields: dict, s: pd.Series) -> tuple[dict, list[str]]:
    """Validate one column's override entries; return (clean updates, problems)."""
    upd: dict[str, Any] = {}
    errs: list[str] = []
    for key, val in fields.items():
        if key not in _OVERRIDABLE:
            errs.append(
                f"{path}.{key}: not a field you can set (use one of "
                f"{', '.join(_OVERRIDABLE)}){_suggest(str(key), _OVERRIDABLE)}"
            )
        elif key == "kind" and val not in KINDS:
            errs.append(
                f"{path}.kind: {val!r} is not one of {', '.join(KINDS)}{_suggest(str(val), KINDS)}"
            )
        elif key == "pii_type" and val is not None and val not in PII_TYPES:
            errs.append(
                f"{path}.pii_type: {val!r} is not one of {', '.join(PII_TYPES)}"
                f"{_suggest(str(val), PII_TYPES)}"
            )
        elif key == "datetime_format" and val is not None:
            err = _check_format(val, s)
            if err:
                errs.append(f"{path}.datetime_format: {err}")
            else:
                upd[key] = val
        else:
            upd[key] = val
    kind = upd.get("kind")
    if upd.get("pii_type") is not None and kind not in (None, "pii"):
        errs.append(f"{path}.pii_type: only allowed with kind: pii (kind is {kind!r})")
    bad_format = any(e.startswith(f"{path}.datetime_format") for e in errs)
    if kind in ("numeric", "integer", "datetime") and not bad_format:
        misfit = kind_misfit(kind, s, upd.get("datetime_format"))
        if misfit:
            errs.append(f"{path}.kind: {misfit}")
    return upd, errs


MIN_FIT_SHARE = 0.5  # an override must read at least half the values; the rest become missing


def kind_misfit(kind: str, s: pd.Series, fmt: str | None) -> str | None:
    """Why a number or date kind cannot hold this column (None when it can, or for any other
    kind): the column's values must mostly read as that kind, else the model would learn
    from next to nothing."""
    if kind not in ("numeric", "integer", "datetime"):
        return None
    present = s.dropna()
    if present.empty:
        return None
    if kind == "datetime":
        if pdt.is_datetime64_any_dtype(s):
            return None
        if pdt.is_numeric_dtype(s) or pdt.is_bool_dtype(s):
            return (
                f"datetime does not fit: the column holds numbers (e.g. {_plain(present.iloc[0])!r}), "
                "not dates; use kind: numeric, or give dates as text such as 2024-01-31"
            )
        sample = present.head(20_000).astype(str).str.strip()
        found = fmt or (_datetime_format(sample) or (None, 0.0))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(sample, format=found, errors="coerce", utc=True)
            except (ValueError, TypeError):
                parsed = pd.Series(pd.NaT, index=sample.index)
        what, ok = "dates", parsed.notna()
        fix = "set datetime_format to the values' strftime format, or use kind: categorical"
    else:
        if pdt.is_datetime64_any_dtype(s):
            return f"{kind} does not fit: the column holds dates; use kind: datetime"
        if pdt.is_numeric_dtype(s) or pdt.is_bool_dtype(s):
            return None
        ok = pd.to_numeric(present, errors="coerce").notna()
        what, fix = "numbers", "use kind: categorical (or text), or clean the column"
    if ok.mean() >= MIN_FIT_SHARE:
        return None
    bad = _plain(present[~ok.to_numpy()].iloc[0] if (~ok).any() else present.iloc[0])
    return (
        f"{kind} does not fit: only {int(ok.sum()):,} of {len(ok):,} values read as {what} "
        f"(e.g. {bad!r} does not); {fix}"
    )


def _check_format(fmt: object, s: pd.Series) -> str | None:
    """A problem with a datetime format, or None when it parses the column's text."""
    if not isinstance(fmt, str) or "%" not in fmt:
        return f"{fmt!r} is not a strftime format such as '%Y-%m-%d'"
    strs = s.dropna().head(200)
    strs = strs[strs.map(type).eq(str)].str.strip()
    if strs.empty or _parse_share(strs.value_counts(), fmt) > 0:
        return None
    return f"{fmt!r} parses none of the values (e.g. {strs.iloc[0]!r})"


def _apply(col: ColumnSpec, upd: dict[str, Any], s: pd.Series) -> ColumnSpec:
    """One column with its overrides: pii_type follows kind, reason is 'set by recipe'."""
    data = col.model_dump()
    data.update(upd)
    if "kind" not in upd and upd.get("pii_type"):
        data["kind"] = "pii"
    if data["kind"] == "pii":
        data["pii_type"] = (
            upd.get("pii_type") or (col.pii_type if col.kind == "pii" else None) or "other"
        )
    else:
        data["pii_type"] = None
    if data["kind"] == "datetime" and not data["datetime_format"]:
        s = s.dropna().head(20_000)
        strs = s[s.map(type).eq(str)].astype(object).str.strip()
        found = _datetime_format(strs) if len(strs) == len(s) and len(s) else None
        data["datetime_format"] = found[0] if found else None
    elif data["kind"] not in ("datetime", "pii"):
        data["datetime_format"] = None
    data["reason"] = "set by recipe"
    return ColumnSpec.model_validate(data)
