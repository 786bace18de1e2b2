"""Which rows break a rule. Rules that only hold relative to the real data (the combinations
seen, the value each key determines) learn that from a reference frame (the training rows).
Rows with a missing value in a rule's columns are not checked by it (``null_if_null`` is the
rule about missing values), except ``unique``, which ignores such rows too."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.constraints import expr
from synthgen.schema.spec import Schema

# A key is text: each part's value, parts joined by _SEP, a missing part written _NULL. No
# key may hold a NUL character: pandas' hash tables (factorize, nunique, groupby, isin,
# map) compare object strings as C strings, so "\x00|France" and "\x00|Germany" would be
# one key (every combination with a missing part collapsed onto the first one seen).
_SEP, _NULL = "\x1f", "\x1e"
PART_SEP, NULL_PART = _SEP, _NULL
LEGACY_NULL = "\x00"  # what states before constraints.json format 2 wrote for _NULL
REL_TOL = 1e-9  # sums: float rounding, relative to the total's size


def as_number(df: pd.DataFrame, col: str, schema: Schema | None = None) -> np.ndarray:
    """A column as float64 (dates as seconds since 1970; missing or unreadable: NaN)."""
    s = df[col]
    spec = schema[col] if schema is not None and col in schema else None
    if pd.api.types.is_datetime64_any_dtype(s) or (spec is not None and spec.kind == "datetime"):
        fmt = spec.datetime_format if spec is not None else None
        dt = (
            s
            if pd.api.types.is_datetime64_any_dtype(s)
            else pd.to_datetime(s, format=fmt, errors="coerce")
        )
        if getattr(dt.dt, "tz", None) is not None:
            dt = dt.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = dt.to_numpy(dtype="datetime64[ns]")
        secs = (ns - np.datetime64("1970-01-01T00:00:00")) / np.timedelta64(1, "s")
        return np.where(dt.isna().to_numpy(), np.nan, secs)
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64").to_numpy()
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def key_of(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """One text key per row for the values of ``cols`` (1 and 1.0 give the same key)."""
    parts = []
    for c in cols:  # each distinct value written once, then spread by its code
        codes, uniq = pd.factorize(df[c], use_na_sentinel=True)
        texts = np.asarray([_text(v) for v in uniq] + [_NULL], dtype=object)
        parts.append(texts[codes])  # code -1 (missing) takes the last entry
    out = parts[0]
    for p in parts[1:]:
        out = out + _SEP + p
    return pd.Series(out, dtype=object)


def _text(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | float | np.integer | np.floating):
        x = float(v)
        return str(int(x)) if x == np.floor(x) and abs(x) < 2**53 else str(x)
    return str(v).replace("\x00", "\ufffd")  # no NUL in a key (see _NULL)


def present(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return df[cols].notna().all(axis=1).to_numpy()


class Checker:
    """Violation masks for ``rules`` on any frame, learning what it must from ``reference``."""

    def __init__(self, rules: list[Any], schema: Schema, reference: pd.DataFrame) -> None:
        self.rules, self.schema = rules, schema
        self.learned: dict[int, Any] = {}
        for i, r in enumerate(rules):
            if not len(reference.columns):
                break  # restored from a saved state instead
            if r.type == "fixed_combinations":
                self.learned[i] = set(key_of(reference, r.columns()))
            elif r.type == "determined_by":
                self.learned[i] = lookup(reference, r.by, r.column)

    def mask(self, i: int, df: pd.DataFrame) -> np.ndarray:
        r = self.rules[i]
        n = len(df)
        if n == 0:
            return np.zeros(0, bool)
        t = r.type
        if t in ("positive", "negative"):
            v = as_number(df, r.column, self.schema)
            with np.errstate(invalid="ignore"):
                if t == "positive":
                    bad = v <= 0 if r.strict else v < 0
                else:
                    bad = v >= 0 if r.strict else v > 0
            return bad & ~np.isnan(v)
        if t == "range":
            return self._range(r, df)
        if t == "inequality":
            lo, hi = as_number(df, r.low, self.schema), as_number(df, r.high, self.schema)
            with np.errstate(invalid="ignore"):
                bad = hi <= lo if r.strict else hi < lo
            return bad & ~np.isnan(lo) & ~np.isnan(hi)
        if t == "fixed_combinations":
            return ~key_of(df, r.columns()).isin(self.learned[i]).to_numpy()
        if t == "determined_by":
            return self._determined(i, r, df)
        if t == "unique":
            ok = present(df, r.columns())
            return df.duplicated(subset=r.columns(), keep="first").to_numpy() & ok
        if t == "format":
            s = df[r.column]
            text = s.astype(str).reset_index(drop=True)
            return (~text.str.fullmatch(r.regex)).to_numpy() & s.notna().to_numpy()
        if t == "sum":
            parts = sum(as_number(df, c, self.schema) for c in r.columns_)
            total = as_number(df, r.equals, self.schema)
            gap = np.abs(parts - total)
            allow = r.tolerance + REL_TOL * np.maximum(1.0, np.abs(total))
            with np.errstate(invalid="ignore"):
                return (gap > allow) & ~np.isnan(gap)
        if t == "null_if_null":
            return (df[r.if_null].isna() & df[r.column].notna()).to_numpy()
        if t == "expression":
            cols = r.columns()
            values = {c: pd.Series(as_number(df, c, self.schema)) for c in cols}
            ok = expr.evaluate(r.expr, values)
            checked = np.all([~np.isnan(v.to_numpy()) for v in values.values()], axis=0)
            return ~ok & checked
        raise ValueError(f"unknown rule type {t}")

    def _range(self, r: Any, df: pd.DataFrame) -> np.ndarray:
        v = as_number(df, r.column, self.schema)
        bad = np.zeros(len(df), bool)
        for bound, below in ((r.min, True), (r.max, False)):
            if bound is None:
                continue
            b = as_number(df, bound, self.schema) if isinstance(bound, str) else float(bound)
            with np.errstate(invalid="ignore"):
                if below:
                    out = v < b if r.inclusive else v <= b
                else:
                    out = v > b if r.inclusive else v >= b
            bad |= out & ~np.isnan(v) & ~np.isnan(np.broadcast_to(b, v.shape))
        return bad

    def _determined(self, i: int, r: Any, df: pd.DataFrame) -> np.ndarray:
        table: dict[str, str] = self.learned[i]
        keys = key_of(df, r.by)
        got = key_of(df, [r.column])
        want = keys.map(table)
        known = want.notna().to_numpy()
        bad = known & (want.to_numpy() != got.to_numpy())
        # keys the reference never saw: the rows must at least agree among themselves
        unseen = pd.DataFrame({"k": keys[~known], "v": got[~known]})
        if len(unseen):
            mode = unseen.groupby("k")["v"].agg(lambda s: s.value_counts().index[0])
            bad[~known] = unseen["v"].to_numpy() != unseen["k"].map(mode).to_numpy()
        return bad & present(df, r.by)

    def to_json(self) -> dict[str, Any]:
        return {str(i): sorted(v) if isinstance(v, set) else v for i, v in self.learned.items()}

    @classmethod
    def restore(cls, rules: list[Any], schema: Schema, learned: dict[str, Any]) -> Checker:
        out = cls(rules, schema, pd.DataFrame())
        for i, r in enumerate(rules):
            v = learned.get(str(i))
            if r.type == "fixed_combinations":
                out.learned[i] = set(v or [])
            elif r.type == "determined_by":
                out.learned[i] = dict(v or {})
        return out

    def counts(self, df: pd.DataFrame) -> list[int]:
        return [int(self.mask(i, df).sum()) for i in range(len(self.rules))]

    def any_bad(
        self, df: pd.DataFrame, skip: set[int] | frozenset[int] = frozenset()
    ) -> np.ndarray:
        """Rows breaking any rule but those in ``skip`` (rules met by construction)."""
        bad = np.zeros(len(df), bool)
        for i in range(len(self.rules)):
            if i not in skip:
                bad |= self.mask(i, df)
        return bad


def lookup(df: pd.DataFrame, by: list[str], column: str) -> dict[str, str]:
    """key of ``by`` -> key of ``column``: the most frequent value per key (a true functional
    dependency has one)."""
    frame = pd.DataFrame({"k": key_of(df, by), "v": key_of(df, [column])})
    frame = frame[present(df, by)]
    if not len(frame):
        return {}
    counts = frame.groupby(["k", "v"]).size().reset_index(name="n")
    best = counts.sort_values(["k", "n", "v"], ascending=[True, False, True]).drop_duplicates("k")
    return dict(zip(best["k"], best["v"], strict=True))
