"""Detecting the keys of a dataset that declares none, each with the evidence to confirm it.

Keys a spec already has (reflected or declared) are kept; only what is missing is detected.

* **Primary key**: a unique, non-null column of whole numbers or strings, preferring a name
  like ``id`` / ``<table>Id`` / ``<table>_id``, then the first column, then any other name
  ending like a key. A table with none gets a composite key when two or more of its
  reference columns are unique together (a link table); else it has none (and is reported).
* **Unique keys**: other unique, non-null columns whose name says key (``email``, ``sku``,
  ``..._code``) or whose strings all share one pattern (``PAT-00017``, UUIDs).
* **Foreign keys**: a column whose values lie in a unique key of a table (its own too),
  of the same type (whole numbers stored as decimals because of empty cells match), *and*
  whose name says so: containment alone over-matches (every small-integer column fits in
  every 1..n key). Name evidence, strongest first: the same name as the key, the column
  named after the table (``CustomerId``), a hierarchy word pointing into its own table
  (``ReportsTo``, ``parent_id``), the table's name inside the column's, a role word
  (``rep``, ``owner``, ``created_by``) pointing to a table of people. Codes (``PAT-00017``,
  UUIDs) that are all in a key count without a name, as they rarely fit by chance; numbers,
  words and constant columns never do.
  With strong name evidence, 90 % of the references in the key is enough: the rest are
  reported as orphans.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from synthgen.dataset import names as nm
from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import DatasetSpec, ForeignKey, TableSpec, UniqueKey

PARTIAL_SHARE = 0.90  # with strong name evidence, this share of references in the key is enough
MIN_PATTERN_ROWS = 10  # a pattern shared by fewer values says little
MAX_LINK_COLUMNS = 8  # reference columns tried for a composite key
MAX_LINK_WIDTH = 3
EXAMPLES = 5
# name evidence, by strength
SAME_NAME, NAMED_AFTER, HIERARCHY, IN_NAME, ROLE, NAMELESS = 6, 6, 5, 4, 4, 2
STRONG, ENOUGH = 5, 4


@dataclass(frozen=True)
class Column:
    """One column's values in comparable form: ``kind`` "int" or "str" (None: not a key)."""

    table: str
    name: str
    kind: str | None
    counts: pd.Series  # rows per distinct non-null value
    rows: int
    nulls: int
    from_float: bool = False

    @property
    def distinct(self) -> int:
        return len(self.counts)

    @property
    def unique(self) -> bool:
        return self.rows > 0 and self.nulls == 0 and self.distinct == self.rows


def key_values(s: pd.Series) -> tuple[str, pd.Series] | None:
    """The non-null values of ``s`` as keys compare them: whole numbers as int64 (so a
    nullable integer column read as 1.0, 2.0 matches 1, 2), strings as str. None when the
    column cannot hold a key (fractions, booleans, dates, mixed types)."""
    if pdt.is_bool_dtype(s.dtype) or pdt.is_datetime64_any_dtype(s.dtype):
        return None
    nn = s.dropna()
    if pdt.is_integer_dtype(s.dtype):  # exact, however large (no detour through floats)
        return "int", nn.astype(np.int64)
    if pdt.is_numeric_dtype(s.dtype):
        a = nn.to_numpy(dtype=float)
        if not (np.isfinite(a).all() and (np.abs(a) < 2**53).all() and (a == np.round(a)).all()):
            return None
        return "int", pd.Series(a.astype(np.int64), index=nn.index)
    if isinstance(s.dtype, pd.CategoricalDtype):
        nn = nn.astype(object)
    if (s.dtype == object or pdt.is_string_dtype(s.dtype)) and all(isinstance(v, str) for v in nn):
        return "str", nn.astype(str)
    return None


def column_facts(table: str, name: str, s: pd.Series) -> Column:
    kv = key_values(s)
    kind, values = kv if kv is not None else (None, s.iloc[:0])
    return Column(
        table,
        name,
        kind,
        values.value_counts(sort=False),
        rows=len(s),
        nulls=int(s.isna().sum()),
        from_float=kind == "int" and pdt.is_float_dtype(s.dtype),
    )


def detect_keys(dataset: Dataset) -> Dataset:
    """``dataset`` with the keys it lacks detected (``origin="detected"``, with evidence)."""
    facts = {
        t: {str(c): column_facts(t, str(c), df[c]) for c in df.columns}
        for t, df in dataset.tables.items()
    }
    tables = [t.model_copy(deep=True) for t in dataset.spec]
    for t in tables:
        if not t.primary_key:
            _set_primary_key(t, facts[t.name])
        t.unique += _unique_keys(t, facts[t.name], [x.name for x in tables if x is not t])
    targets = [(t.name, col, col in t.primary_key) for t in tables for col in _single_keys(t)]
    for t in tables:
        t.foreign_keys += _foreign_keys(t, facts, targets, [x.name for x in tables])
    for t in tables:
        if not t.primary_key:
            _set_link_key(t, dataset.tables[t.name])
    return Dataset(DatasetSpec(tables=tables), dataset.tables)


def count(n: int, word: str) -> str:
    """``1 value``, ``2,240 values``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def pct(share: float) -> str:
    """A share as ``100 %`` only when whole, else floored to one decimal (99.96 -> 99.9 %)."""
    return "100 %" if share >= 1 else f"{np.floor(share * 1000) / 10:.1f} %"


# ---- primary and unique keys ----------------------------------------------------------------
def _set_primary_key(t: TableSpec, cols: dict[str, Column]) -> None:
    ranked: list[tuple[int, int, str, str]] = []
    for i, (name, f) in enumerate(cols.items()):
        if f.kind is None or not f.unique:
            continue
        if nm.is_generic_key(name):
            ranked.append((0, i, name, f"named like a key ('{name}')"))
        elif nm.named_as_key_of(name, t.name):
            ranked.append((0, i, name, f"named after the table ({t.name} + key)"))
        elif i == 0:
            ranked.append((1, i, name, "the table's first column"))
        elif nm.ends_like_key(name):
            ranked.append((2, i, name, f"named like a key (ends in '{nm.words(name)[-1]}')"))
    if ranked:
        _, _, name, why = min(ranked)
        t.primary_key = [name]
        t.primary_key_origin = "detected"
        t.primary_key_evidence = f"{name} is unique and non-null in all {_rows(cols)} rows; {why}"


def _rows(cols: dict[str, Column]) -> str:
    return f"{next(iter(cols.values())).rows:,}" if cols else "0"


def _unique_keys(t: TableSpec, cols: dict[str, Column], others: list[str]) -> list[UniqueKey]:
    """Unique columns that look like keys of their own: not one-to-one references, whose
    name holds a role or another table (``manager_id``, ``patient_id``)."""
    taken = {tuple(t.primary_key)} | {tuple(u.columns) for u in t.unique}
    out = []
    for name, f in cols.items():
        if f.kind is None or not f.unique or f.distinct < 2 or (name,) in taken:
            continue
        if nm.role_word(name) or any(nm.contains_table(name, o) for o in others):
            continue
        word = nm.unique_key_word(name)
        if word is not None:
            why = f"its name says '{word}'"
        elif f.kind == "str" and (why_pattern := _pattern(f)) is not None:
            why = why_pattern
        else:
            continue
        evidence = f"{name} is unique and non-null in all {f.rows:,} rows; {why}"
        out.append(UniqueKey(columns=[name], origin="detected", evidence=evidence))
    return out


def _pattern(f: Column) -> str | None:
    """Every value has one shape with digits in it (``AAA-99999``), or is a UUID."""
    if f.distinct < MIN_PATTERN_ROWS:
        return None
    values = f.counts.index.astype(str)
    if values.str.fullmatch(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}").all():
        return "every value is a UUID"
    shapes = values.str.replace(r"[^\W\d_]", "A", regex=True).str.replace(r"\d", "9", regex=True)
    if shapes.nunique() == 1 and "9" in shapes[0] and len(shapes[0]) >= 3:
        return f"every value has the pattern '{shapes[0]}'"
    return None


def _code_like(f: Column) -> bool:
    """Strings that rarely match by chance: one pattern with digits, UUIDs, or every value
    holding both letters and digits (``PAT-00017``, ``a3f9...``), not words like ``A``."""
    if _pattern(f) is not None:
        return True
    values = f.counts.index.astype(str)
    return bool(
        len(values)
        and values.str.contains(r"\d").all()
        and values.str.contains(r"[^\W\d_]").all()
        and (values.str.len() >= 3).all()
    )


def _single_keys(t: TableSpec) -> list[str]:
    """Columns that are a key on their own: what a single-column foreign key can reference."""
    keys = [t.primary_key[0]] if len(t.primary_key) == 1 else []
    return keys + [u.columns[0] for u in t.unique if len(u.columns) == 1]


def _set_link_key(t: TableSpec, df: pd.DataFrame) -> None:
    """Two or more non-null reference columns unique together: a link table's key."""
    refs = {c for fk in t.foreign_keys for c in fk.columns}
    cols = [c for c in t.column_names if c in refs]
    why = "each references another table (a link table)"
    if len(cols) < 2:
        cols = [c for c in t.column_names if nm.ends_like_key(c) and not nm.is_generic_key(c)]
        why = "each is named like a reference"
    cols = [c for c in cols if df[c].notna().all()][:MAX_LINK_COLUMNS]
    for width in range(2, min(MAX_LINK_WIDTH, len(cols)) + 1):
        for combo in itertools.combinations(cols, width):
            if not df.duplicated(subset=list(combo)).any():
                t.primary_key = list(combo)
                t.primary_key_origin = "detected"
                t.primary_key_evidence = (
                    f"{' + '.join(combo)}: every combination is unique and non-null in all "
                    f"{len(df):,} rows, and {why}; no single column is a key"
                )
                return


# ---- foreign keys ---------------------------------------------------------------------------
@dataclass
class _Candidate:
    ref_table: str
    ref_column: str
    score: int
    to_pk: bool
    share: float
    reasons: list[str]
    orphans: pd.Series  # rows per value missing from the key

    def rank(self, order: list[str]) -> tuple[int, int, bool, float, int]:
        named = any(r == "same name" or r.startswith("named after") for r in self.reasons)
        return (self.score, named, self.to_pk, self.share, -order.index(self.ref_table))


def _foreign_keys(
    t: TableSpec,
    facts: dict[str, dict[str, Column]],
    targets: list[tuple[str, str, bool]],
    order: list[str],
) -> list[ForeignKey]:
    declared = {c for fk in t.foreign_keys for c in fk.columns}
    out = []
    for name, f in facts[t.name].items():
        if f.kind is None or f.distinct == 0 or name in declared or nm.is_generic_key(name):
            continue
        own_key = t.primary_key == [name]
        found = []
        for ref_table, ref_col, to_pk in targets:
            if ref_table == t.name and ref_col == name:
                continue
            if own_key and not (
                nm.named_as_key_of(name, ref_table) and not nm.named_as_key_of(name, t.name)
            ):
                continue  # a table's own key references another only when named after it
            cand = _candidate(t.name, f, facts[ref_table][ref_col], to_pk)
            if cand is not None:
                found.append(cand)
        if found:
            found.sort(key=lambda c: c.rank(order), reverse=True)
            best = found[0]
            also = [f"{c.ref_table}.{c.ref_column}" for c in found[1:] if c.score == best.score]
            out.append(
                ForeignKey(
                    columns=[name],
                    ref_table=best.ref_table,
                    ref_columns=[best.ref_column],
                    origin="detected",
                    evidence=_evidence(t.name, f, best, also),
                )
            )
    return out


def _candidate(table: str, f: Column, key: Column, to_pk: bool) -> _Candidate | None:
    if key.kind != f.kind:
        return None
    score, reasons = _name_evidence(table, f.name, key)
    if score == 0:
        if not (f.kind == "str" and key.table != table and f.distinct >= 2 and _code_like(key)):
            return None  # a name-less match only for codes: never numbers, words or constants
        score, reasons = NAMELESS, ["no name evidence, but the values are codes of that key"]
    inside = f.counts.index.isin(key.counts.index)
    share = float(f.counts[inside].sum() / f.counts.sum())
    if share < 1 and (score < STRONG or share < PARTIAL_SHARE):
        return None
    if share == 1 and score < ENOUGH and score != NAMELESS:
        return None
    return _Candidate(key.table, key.name, score, to_pk, share, reasons, f.counts[~inside])


def _name_evidence(table: str, column: str, key: Column) -> tuple[int, list[str]]:
    """How strongly the column's name says it references ``key``, and why (strongest first)."""
    found: list[tuple[int, str]] = []
    parent = key.table
    if nm.compact(column) == nm.compact(key.name) and not nm.is_generic_key(column):
        found.append((SAME_NAME, "same name"))
    if nm.named_as_key_of(column, parent) and parent != table:
        found.append((NAMED_AFTER, f"named after {parent}"))
    pointer = nm.ends_like_key(column) or nm.ends_with_role(column)
    hier = nm.hierarchy_word(column, table)
    if parent == table and hier and pointer:
        found.append((HIERARCHY, f"'{hier}' points to another row of the same table"))
    if (
        parent != table
        and nm.contains_table(column, parent)
        and (nm.ends_like_key(column) or nm.words(column) == nm.words(parent))
    ):
        found.append((IN_NAME, f"'{parent}' is in the column's name"))
    role = nm.role_word(column)
    if role and pointer and nm.is_person_table(parent):
        found.append((ROLE, f"'{role}' names a person and {parent} holds people"))
    found.sort(key=lambda x: -x[0])
    return (found[0][0] if found else 0), [why for _, why in found]


def _evidence(table: str, f: Column, c: _Candidate, also: list[str]) -> str:
    parts = [
        f"{pct(c.share)} of {table}.{f.name} values ({f.distinct:,} distinct) are in "
        f"{c.ref_table}.{c.ref_column}, which is unique",
        c.reasons[0],  # the strongest; the others mostly say it again
    ]
    if len(c.orphans):
        first = heapq.nsmallest(EXAMPLES, c.orphans.items(), key=lambda vn: (-vn[1], vn[0]))
        examples = ", ".join(str(v) for v, _ in first)
        parts.append(
            f"{count(int(c.orphans.sum()), 'orphaned reference')} to "
            f"{count(len(c.orphans), 'value')} missing from {c.ref_table} (e.g. {examples})"
        )
    if f.nulls:
        parts.append(f"{f.nulls:,} of {f.rows:,} rows empty")
    if f.from_float:
        parts.append("whole numbers stored as decimals (1.0 = 1)")
    if also:
        parts.append(f"also fits {', '.join(also)}")
    return "; ".join(parts)
