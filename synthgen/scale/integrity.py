"""Keys of a dataset larger than memory, counted exactly over every row, here or on Ray:
references that resolve, key values held twice, and children per parent row.

The map reads every unit (a Parquet row group, a CSV file) of every table and writes, per
key it holds, the sorted 64-bit hashes of its non-empty key values (a composite key's parts
joined), normalised as the in-memory relational metrics normalise them (``1 == 1.0 ==
"1"``): a table's primary and unique keys, the columns other tables' foreign keys point
at, and its own foreign keys. The reduce then takes one hash range at a time and reads
the slice of each file in it: a reference and the key it names fall in the same range, so
every count is a whole number added over ranges, the same for any number of ranges or
workers. Memory follows the range, not the tables.

Two different values share a hash with chance 2^-64: a dangling reference is missed (or a
duplicate counted) by a collision alone with expectation at most (references x keys) / 2^64,
which the report states.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.scale.exact_reduce import _gather, bounds, range_count
from synthgen.scale.stream_source import StreamSource, Unit

KeyId = tuple[str, tuple[str, ...]]  # (table, columns)


@dataclass(frozen=True)
class KeyPlan:
    """What the map hashes of each table: its keys (primary, unique, referenced) and its
    foreign keys, and which foreign key points at which key."""

    keys: dict[str, list[tuple[str, ...]]]  # table -> key column lists (unique expected)
    unique: list[KeyId]  # primary and unique keys: counted for values held twice
    refs: list[tuple[str, KeyId, KeyId]]  # (label, the foreign key's columns, the key)


def key_plan(spec: Any) -> KeyPlan:
    """The hashes a dataset's ``DatasetSpec`` asks for."""
    keys: dict[str, list[tuple[str, ...]]] = {t.name: [] for t in spec.tables}
    unique: list[KeyId] = []
    refs: list[tuple[str, KeyId, KeyId]] = []

    def add(t: str, cols: list[str]) -> KeyId:
        c = tuple(cols)
        if c not in keys[t]:
            keys[t].append(c)
        return t, c

    for t in spec.tables:
        for cols in ([t.primary_key] if t.primary_key else []) + [u.columns for u in t.unique]:
            unique.append(add(t.name, cols))
    for t, fk in spec.edges():
        child, parent = add(t, fk.columns), add(fk.ref_table, fk.ref_columns)
        refs.append((fk.describe(t), child, parent))
    return KeyPlan(keys, list(dict.fromkeys(unique)), refs)


def key_hashes(df: pd.DataFrame, cols: tuple[str, ...]) -> np.ndarray:
    """Sorted hashes of the rows' key values, rows with an empty part left out."""
    parts, present = [], np.ones(len(df), dtype=bool)
    for c in cols:
        s = df[c]
        present &= s.notna().to_numpy()
        parts.append(_text(s))
    if not present.any():
        return np.zeros(0, np.uint64)
    joined = parts[0][present]
    for p in parts[1:]:
        joined = joined + "\x1f" + p[present]
    return np.sort(pd.util.hash_pandas_object(joined, index=False).to_numpy())


def _text(s: pd.Series) -> pd.Series:
    """Values as ``metrics.relational._norm`` writes them: whole numbers without a point
    (also when written as text, as a CSV read as text holds them)."""
    s = s.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        text = s.astype(object).map(_one).astype(object)
        # a whole number a CSV wrote with a point (a key column with gaps: "2.0") is "2"
        return text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True).where(text.notna())
    if pd.api.types.is_integer_dtype(s):  # exact: no trip through floats (ids past 2**53)
        return s.astype(str).astype(object)
    v = s.to_numpy(dtype=float, na_value=np.nan)
    whole = np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 2**63)
    out = s.astype(object).astype(str)
    out[whole] = pd.Series(v[whole].astype(np.int64)).astype(str).to_numpy()
    return out


def _one(v: Any) -> Any:
    from synthgen.metrics.relational import _norm

    return _norm(v)


@dataclass
class KeyCounts:
    """Whole-number totals: references and keys seen, dangling references and values
    held twice per key, and per foreign key how many parent rows have each number of
    children (``{children: parents}``)."""

    references: dict[str, int] = field(default_factory=dict)
    dangling: dict[str, int] = field(default_factory=dict)
    values: dict[str, int] = field(default_factory=dict)
    repeated: dict[str, int] = field(default_factory=dict)
    per_parent: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, o: KeyCounts) -> None:
        for mine, theirs in (
            (self.references, o.references), (self.dangling, o.dangling),
            (self.values, o.values), (self.repeated, o.repeated),
        ):  # fmt: skip
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for k, h in o.per_parent.items():
            into = self.per_parent.setdefault(k, {})
            for c, n in h.items():
                into[c] = into.get(c, 0) + n


def key_name(k: KeyId) -> str:
    return f"{k[0]}({', '.join(k[1])})"


class KeyMapper:
    """Writes one unit's key hashes as ``.npy`` files into ``spill`` (a folder every worker
    sees); returns their paths by key and the unit's row count."""

    def __init__(self, sources: dict[str, StreamSource], plan: KeyPlan, spill: str) -> None:
        self.sources, self.plan, self.spill = sources, plan, Path(spill)

    def map(self, table: str, unit: Unit) -> tuple[int, dict[KeyId, list[str]]]:
        rows, ti = 0, list(self.plan.keys).index(table)
        files: dict[KeyId, list[str]] = {}
        for b, df in enumerate(self.sources[table].batches(unit)):
            rows += len(df)
            for i, cols in enumerate(self.plan.keys[table]):
                name = f"t{ti}.{i}.{unit.file}.{unit.row_group}.{b}.npy"
                np.save(self.spill / name, key_hashes(df, cols))
                files.setdefault((table, cols), []).append(str(self.spill / name))
        return rows, files

    def reduce(self, files: dict[KeyId, list[str]], k: int, ranges: int) -> KeyCounts:
        return reduce_keys(self.plan, files, k, ranges)


def reduce_keys(plan: KeyPlan, files: dict[KeyId, list[str]], k: int, ranges: int) -> KeyCounts:
    """Every count of hash range ``k`` of ``ranges``."""
    lo, hi = bounds(k, ranges)
    out, held = KeyCounts(), {}
    for key in {*plan.unique, *(p for _, _, p in plan.refs)}:
        held[key] = np.sort(_gather(files.get(key, []), lo, hi))
    for key in plan.unique:
        v = held[key]
        out.values[key_name(key)] = len(v)
        out.repeated[key_name(key)] = int(len(v) - len(np.unique(v)))
    for label, child, parent in plan.refs:
        refs = np.sort(_gather(files.get(child, []), lo, hi))
        parents = np.unique(held[parent])
        found = np.isin(refs, parents, assume_unique=False)
        out.references[label] = len(refs)
        out.dangling[label] = int(len(refs) - found.sum())
        kids = np.searchsorted(refs, parents, side="right") - np.searchsorted(refs, parents)
        out.per_parent[label] = {int(c): int(n) for c, n in Counter(kids.tolist()).items()}
    return out


def ranges_for(rows: int, plan: KeyPlan) -> int:
    width = max(1, max((len(v) for v in plan.keys.values()), default=1))
    return range_count(rows * width)


def ks_from_counts(a: dict[int, int], b: dict[int, int]) -> float:
    """1 - KS between two distributions of whole numbers given as ``{value: count}``
    (``stats.ks_complement`` on the values themselves, without them)."""
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return 1.0 if na == nb else 0.0
    grid = sorted({*a, *b})
    ca = np.cumsum([a.get(v, 0) for v in grid]) / na
    cb = np.cumsum([b.get(v, 0) for v in grid]) / nb
    return float(1.0 - np.max(np.abs(ca - cb)))


def shares(real: dict[int, int], syn: dict[int, int], bars: int = 30) -> dict[str, Any]:
    """The report's children-per-parent bars (``report.cardinality.histograms``'s shape)
    from the exact counts: the fewest children up to the 99th percentile, the rest last."""
    both = Counter(real) + Counter(syn)
    if not both:
        return {"values": [0], "real": [0.0], "synthetic": [0.0], "parents": [0, 0]}
    grid = sorted(both)
    cum = np.cumsum([both[v] for v in grid]) / sum(both.values())
    low = grid[0]
    p99 = grid[int(np.searchsorted(cum, 0.99))]
    top = int(min(max(low + 1, p99), low + bars - 1))

    def bar(h: dict[int, int]) -> list[float]:
        n = sum(h.values())
        out = [0.0] * (top - low + 1)
        for v, c in h.items():
            out[min(v, top) - low] += c / n if n else 0.0
        return [round(x, 6) for x in out]

    return {"values": list(range(low, top + 1)), "real": bar(real), "synthetic": bar(syn),
            "parents": [sum(real.values()), sum(syn.values())]}  # fmt: skip
