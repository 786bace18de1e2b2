"""Rules a table always obeys, found by reading it, each with its evidence (rows checked,
exceptions: always 0, else it is not proposed).

* exact functional dependencies between two label columns (``education -> education-num``),
  when the determining column has few enough values to mean it (5+ rows per value on average);
* inequalities between two number or two date columns whose ranges overlap (so that the
  order is a relation, not just two ranges apart), without the ones implied by two others;
* sums ``a + b = c`` between number columns;
* formats of code-like labels and ids (letters and digits in a fixed shape, e.g.
  ``^[A-Z]{2}-\\d{5}$``; not PII columns, whose fakes keep their own format);
* conditional nulls: ``y`` is missing whenever ``x`` is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from synthgen.constraints.check import as_number
from synthgen.constraints.spec import (
    DeterminedBy,
    Format,
    Inequality,
    NullIfNull,
    Sum,
)
from synthgen.schema.spec import Schema

SEARCH_ROWS = 100_000  # larger tables: candidates from a sample, checked on all rows
MIN_ROWS = 20  # rows a rule must be checked on to be proposed
MIN_GROUP = 5.0  # average rows per value of a determining column
MAX_LABELS = 1000
MAX_NUMBER_COLUMNS = 30
MIN_NULLS = 5
_META = set(".^$*+?{}[]\\|()")
SHUFFLED_SHARE = 0.9
MIN_DISTINCT = 10  # values each column of an inequality or sum holds
MIN_FORMAT_DISTINCT = 20
LABEL_KINDS = ("categorical", "boolean", "integer")
NUMBER_KINDS = ("numeric", "integer")


@dataclass
class Found:
    rule: Any
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule.key(),
            "rule": self.rule.model_dump(mode="json", by_alias=True),
            "evidence": self.evidence,
        }


def detect_rules(df: pd.DataFrame, schema: Schema) -> list[Found]:
    """Every rule proposed for ``df``, in a stable order."""
    if len(df) < MIN_ROWS:
        return []
    if len(df) > SEARCH_ROWS:  # look on a sample, then check each candidate on every row
        from synthgen.constraints.check import Checker

        part = df.sample(SEARCH_ROWS, random_state=0).reset_index(drop=True)
        out = []
        for f in _search(part, schema):
            if not Checker([f.rule], schema, df).mask(0, df).any():
                rows = int(df[f.rule.columns()].notna().all(axis=1).sum())
                if f.rule.type == "null_if_null":
                    rows = len(df)
                out.append(Found(f.rule, {**f.evidence, "rows_checked": rows}))
        return out
    return _search(df, schema)


def _search(df: pd.DataFrame, schema: Schema) -> list[Found]:
    found = _dependencies(df, schema)
    found += _inequalities(df, schema)
    found += _sums(df, schema)
    found += _formats(df, schema)
    found += _null_rules(df, schema)
    return found


def _dependencies(df: pd.DataFrame, schema: Schema) -> list[Found]:
    n = len(df)
    cols = [c for c in schema.columns if c.kind in LABEL_KINDS and c.name in df.columns]
    codes, sizes = {}, {}
    for c in cols:
        code, uniq = pd.factorize(df[c.name], use_na_sentinel=False)
        if 2 <= len(uniq) <= MAX_LABELS:
            codes[c.name], sizes[c.name] = code.astype("int64"), len(uniq)
    names = list(codes)
    holds: set[tuple[str, str]] = set()
    for a in names:
        if n / sizes[a] < MIN_GROUP:
            continue
        for b in names:
            if a != b and sizes[b] <= sizes[a]:
                joint = codes[a] * sizes[b] + codes[b]
                if len(np.unique(joint)) == sizes[a]:
                    holds.add((a, b))
    out: list[Found] = []
    derived: set[str] = set()
    used: set[str] = set()
    for a, b in sorted(holds, key=lambda p: (names.index(p[1]), names.index(p[0]))):
        if (b, a) in holds and _prefer_derived(a, b, schema, names) != b:
            continue  # one fact written twice: derive one column from the other, once
        if b in derived or a in derived or b in used:
            continue
        derived.add(b)
        used.add(a)
        rule = DeterminedBy(type="determined_by", column=b, by=[a])
        ev = {"rows_checked": n, "exceptions": 0, "values_of_by": sizes[a]}
        out.append(Found(rule, ev))
    return out


def _prefer_derived(a: str, b: str, schema: Schema, names: list[str]) -> str:
    """Of two columns that determine each other, the one to derive: a number over a label,
    else the later one."""
    num = {c: schema[c].kind in NUMBER_KINDS for c in (a, b)}
    if num[a] != num[b]:
        return a if num[a] else b
    return a if names.index(a) > names.index(b) else b


def _number_columns(df: pd.DataFrame, schema: Schema, kinds: tuple[str, ...]) -> list[str]:
    return [c.name for c in schema.columns if c.kind in kinds and c.name in df.columns][
        :MAX_NUMBER_COLUMNS
    ]


def _inequalities(df: pd.DataFrame, schema: Schema) -> list[Found]:
    out: list[Found] = []
    for kinds in (NUMBER_KINDS, ("datetime",)):
        cols = _number_columns(df, schema, kinds)
        vals = {c: as_number(df, c, schema) for c in cols}
        le: set[tuple[str, str]] = set()
        checked: dict[tuple[str, str], int] = {}
        for a, b in combinations(cols, 2):
            x, y = vals[a], vals[b]
            both = ~np.isnan(x) & ~np.isnan(y)
            if both.sum() < MIN_ROWS or not (_varies(x) and _varies(y)):
                continue
            xs, ys = x[both], y[both]
            if np.array_equal(xs, ys):
                continue
            for lo, hi, lv, hv in ((a, b, xs, ys), (b, a, ys, xs)):
                if np.all(lv <= hv) and not _ranges_imply(lv, hv):
                    le.add((lo, hi))
                    checked[(lo, hi)] = int(both.sum())
        for lo, hi in sorted(le, key=lambda p: (cols.index(p[0]), cols.index(p[1]))):
            if any((lo, m) in le and (m, hi) in le for m in cols):
                continue  # implied by two others
            rule = Inequality(type="inequality", low=lo, high=hi)
            out.append(Found(rule, {"rows_checked": checked[(lo, hi)], "exceptions": 0}))
    return out


def _varies(v: np.ndarray) -> bool:
    v = v[~np.isnan(v)]
    return len(v) > 1 and bool(v.min() != v.max())


def _ranges_imply(lo: np.ndarray, hi: np.ndarray) -> bool:
    """True when the two columns' ranges alone nearly give the order: it still holds on
    90 % of rows with ``hi`` shuffled (a fixed shuffle), so it says nothing about the rows."""
    if len(np.unique(lo)) < MIN_DISTINCT or len(np.unique(hi)) < MIN_DISTINCT:
        return True  # a few values (codes, flags): an order between them is no relation
    shuffled = np.random.default_rng(0).permutation(hi)
    return float(np.mean(lo <= shuffled)) >= SHUFFLED_SHARE


def _sums(df: pd.DataFrame, schema: Schema) -> list[Found]:
    cols = _number_columns(df, schema, NUMBER_KINDS)
    if len(cols) < 3:
        return []
    x = np.column_stack([as_number(df, c, schema) for c in cols])
    varies = [_varies(x[:, k]) for k in range(len(cols))]
    out: list[Found] = []
    taken: set[str] = set()
    for i, j in combinations(range(len(cols)), 2):
        if not (varies[i] and varies[j]):
            continue
        s = x[:, i] + x[:, j]
        ok = ~np.isnan(s)
        if ok.sum() < MIN_ROWS:
            continue
        tol = 1e-9 * np.maximum(1.0, np.abs(s[ok]))
        for k in range(len(cols)):
            if k in (i, j) or cols[k] in taken or not varies[k]:
                continue
            full = ok & ~np.isnan(x[:, k])
            if full.sum() < MIN_ROWS or full.sum() < ok.sum():
                continue
            if np.all(np.abs(s[ok] - x[ok, k]) <= tol):
                taken.add(cols[k])
                rule = Sum.model_validate(
                    {"type": "sum", "columns": [cols[i], cols[j]], "equals": cols[k]}
                )
                out.append(Found(rule, {"rows_checked": int(full.sum()), "exceptions": 0}))
    return out


def shape_of(text: str) -> list[tuple[str, int]]:
    """'AB-12345' -> [('[A-Z]', 2), ('-', 1), ('\\d', 5)]."""
    runs: list[tuple[str, int]] = []
    for ch in text:
        cls = (
            "[A-Z]"
            if "A" <= ch <= "Z"
            else "[a-z]"
            if "a" <= ch <= "z"
            else r"\d"
            if ch.isdigit()
            else "\\" + ch
            if ch in _META
            else ch
        )
        if runs and runs[-1][0] == cls:
            runs[-1] = (cls, runs[-1][1] + 1)
        else:
            runs.append((cls, 1))
    return runs


def _formats(df: pd.DataFrame, schema: Schema) -> list[Found]:
    out: list[Found] = []
    for c in schema.columns:
        if c.kind not in ("categorical", "id") or c.name not in df.columns:
            # PII columns get fakes in their own format (never a real value): no rule there
            continue
        s = df[c.name].dropna()
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)) or len(s) < MIN_ROWS:
            continue
        uniq = pd.unique(s.astype(str))
        if len(uniq) < MIN_FORMAT_DISTINCT or max(len(u) for u in uniq) > 40:
            continue
        shapes = [shape_of(u) for u in uniq]
        classes = {tuple(k for k, _ in sh) for sh in shapes}
        if len(classes) != 1:
            continue
        seq = next(iter(classes))
        if r"\d" not in seq or len(seq) < 2:
            continue  # code-like text only: a digit run and something else
        lo = [min(sh[p][1] for sh in shapes) for p in range(len(seq))]
        hi = [max(sh[p][1] for sh in shapes) for p in range(len(seq))]
        parts = [
            k + ("" if a == b == 1 else f"{{{a}}}" if a == b else f"{{{a},{b}}}")
            for k, a, b in zip(seq, lo, hi, strict=True)
        ]
        rule = Format(type="format", column=c.name, regex="^" + "".join(parts) + "$")
        out.append(Found(rule, {"rows_checked": int(len(s)), "exceptions": 0}))
    return out


def _null_rules(df: pd.DataFrame, schema: Schema) -> list[Found]:
    names = [c.name for c in schema.columns if c.name in df.columns]
    nulls = {c: df[c].isna().to_numpy() for c in names}
    cols = [c for c in names if MIN_NULLS <= nulls[c].sum() < len(df)]
    groups: dict[bytes, list[str]] = {}
    for c in cols:  # columns missing on exactly the same rows: one group
        groups.setdefault(np.packbits(nulls[c]).tobytes(), []).append(c)
    reps = [g[0] for g in groups.values()]
    pairs = [(g[0], c) for g in groups.values() for c in g[1:]]
    within = {  # y missing wherever x is, and more: an order between the groups
        (x, y) for x in reps for y in reps if x != y and np.all(nulls[y][nulls[x]])
    }
    pairs += [
        (x, y)
        for x, y in within
        if not any((x, m) in within and (m, y) in within for m in reps)  # implied by two
    ]
    out: list[Found] = []
    for x, y in sorted(pairs, key=lambda p: (names.index(p[1]), names.index(p[0]))):
        rule = NullIfNull(type="null_if_null", column=y, if_null=x)
        ev = {"rows_checked": len(df), "exceptions": 0, "rows_with_null": int(nulls[x].sum())}
        out.append(Found(rule, ev))
    return out
