"""Validation of tables larger than memory, the map side: one pass over every unit (a
Parquet row group, a CSV file) of the real, holdout and synthetic tables.

For each unit a worker writes, beside the output, sorted 64-bit hashes (``.npy`` files):
- rows: one hash per row over the compared columns, normalised as the in-memory privacy
  metrics normalise them (``metrics.privacy.frame_hashes``: 1 == 1.0 == "1", a missing
  label is not an empty one);
- PII values: the real PII columns' values, and each checked synthetic column's cells, as
  ``metrics.pii`` normalises them (case-folded, separators collapsed).
The reduce (``scale.exact_reduce``) then reads, for one hash range at a time, the slice of
each file in that range: no process ever holds every row.

The same pass draws the seeded uniform samples the other metrics need: every row gets a
key from (seed, table, file, row group, batch) alone, and the ``sample_rows`` rows with the
smallest keys are kept (bottom-k: a uniform sample without replacement, the same rows
whichever worker read which unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.metrics.neighbors import canonical_labels
from synthgen.metrics.pii import _norm_text
from synthgen.metrics.privacy import frame_hashes
from synthgen.scale.stream_source import StreamSource, Unit
from synthgen.schema.spec import Schema

ROLES = ("train", "holdout", "synthetic")
_ORDER = ("_file", "_group", "_row")  # where a sampled row was: the tie-break and final order
EMPTY = np.zeros(0, np.uint64)


@dataclass
class Plan:
    """What the pass computes. ``compared``: the row key's columns; ``pii``: real PII
    columns; ``labels``: real label columns (a value they hold is a category, not an
    identifier); ``checked``: synthetic columns whose cells are looked up among the real
    PII values."""

    schema: Schema
    compared: list[str]
    pii: list[str]
    labels: list[str]
    checked: list[str]
    seed: int
    sample_rows: int


@dataclass
class UnitSummary:
    """What the driver keeps of a unit: counts and small sets, never rows."""

    role: str
    unit: Unit
    rows: int = 0
    batches: int = 0
    cells: dict[str, int] = field(default_factory=dict)  # checked column -> non-missing cells
    label_hashes: np.ndarray = field(default_factory=lambda: EMPTY)


def spill_name(role: str, unit: Unit, batch: int, what: str) -> str:
    """``train.3.0.0.rows.npy``: the role, file, row group and batch, and what the hashes
    are of (sorted)."""
    return f"{role}.{unit.file}.{unit.row_group}.{batch}.{what}.npy"


def value_hashes(s: pd.Series, real: bool) -> np.ndarray:
    """Hashes of a column's present, non-empty cells normalised as ``pii_replay`` does
    (real values as text; synthetic cells through ``canonical_labels`` first)."""
    s = s.dropna()
    if not len(s):
        return EMPTY
    norm = _norm_text(s if real else canonical_labels(s))
    norm = norm[norm != ""]
    return pd.util.hash_pandas_object(norm, index=False).to_numpy() if len(norm) else EMPTY


class BottomK:
    """The ``k`` rows with the smallest keys among all rows added (ties by position)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.parts: list[pd.DataFrame] = []
        self.held = 0
        self.cut = np.inf

    def add(self, keys: np.ndarray, df: pd.DataFrame, unit: Unit, first_row: int) -> None:
        keep = keys <= self.cut
        if self.k == 0 or not keep.any():
            return
        sub = _plain(df.loc[keep]).reset_index(drop=True)
        sub["_key"] = keys[keep]
        sub["_file"], sub["_group"] = unit.file, unit.row_group
        sub["_row"] = first_row + np.flatnonzero(keep)
        self.parts.append(sub)
        self.held += len(sub)
        if self.held > 2 * self.k:
            self.trim()

    def merge(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.parts.append(frame)
            self.held += len(frame)
        self.trim()

    def trim(self) -> None:
        if not self.parts:
            return
        every = pd.concat(self.parts, ignore_index=True)
        order = np.lexsort([every[c].to_numpy() for c in reversed(("_key", *_ORDER))])
        every = every.iloc[order[: self.k]].reset_index(drop=True)
        self.parts, self.held = [every], len(every)
        if len(every) == self.k:
            self.cut = float(every["_key"].iloc[-1])

    def frame(self) -> pd.DataFrame:
        """The kept rows with their keys and positions (for merging with other workers')."""
        self.trim()
        return self.parts[0] if self.parts else pd.DataFrame()


def finish_sample(frame: pd.DataFrame, columns: list[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """A merged bottom-k as a plain table: in the table's row order, helper columns gone,
    each column in the dtype of the table's first rows (batches may differ: an integer
    column read with and without missing values), so the dtypes do not depend on which
    worker read which part."""
    from synthgen.scale.stream_source import _as_dtype

    if not len(frame):
        return pd.DataFrame(columns=columns)
    frame = frame.sort_values(list(_ORDER), kind="stable")[columns].reset_index(drop=True)
    for c, dtype in dtypes.items():
        if c in frame.columns:
            frame[c] = _as_dtype(frame[c], dtype)
    return frame


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet text (read as categories) as Python objects, missing as None, as
    ``StreamSource.sample`` gives it, so samples from several units concatenate."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def sample_keys(seed: int, role: str, unit: Unit, batch: int, n: int) -> np.ndarray:
    """Uniform keys for a batch's rows, from (seed, role, file, row group, batch) alone."""
    key = (ROLES.index(role), unit.file, unit.row_group, batch)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key)).random(n)


class Mapper:
    """One process's share of the pass: units in, hash files out, a running sample per
    table. The same object runs in the driver (local engine) or in a Ray actor."""

    def __init__(self, sources: dict[str, StreamSource], plan: Plan, spill: str) -> None:
        self.sources, self.plan, self.spill = sources, plan, Path(spill)
        self.samples = {role: BottomK(plan.sample_rows) for role in sources}

    def map(self, role: str, unit: Unit) -> UnitSummary:
        """One unit, batch by batch: each batch's hashes are written as it is read, so a
        unit as large as a whole CSV file is never held either."""
        plan, out = self.plan, UnitSummary(role, unit)
        labels = EMPTY
        for b, df in enumerate(self.sources[role].batches(unit)):
            rows = frame_hashes(df, plan.schema, plan.compared) if plan.compared else EMPTY
            self._save(role, unit, b, "rows", np.sort(rows))
            keys = sample_keys(plan.seed, role, unit, b, len(df))
            self.samples[role].add(keys, df, unit, out.rows)
            out.rows += len(df)
            out.batches += 1
            if role == "synthetic" and plan.pii:
                for j, c in enumerate(plan.checked):
                    self._save(role, unit, b, f"v{j}", np.sort(value_hashes(df[c], real=False)))
                    out.cells[c] = out.cells.get(c, 0) + int(df[c].notna().sum())
            elif plan.pii:
                found = [value_hashes(df[c], real=True) for c in plan.pii]
                self._save(role, unit, b, "pii", np.unique(np.concatenate(found)))
                labels = np.unique(np.concatenate([labels, *map(_label_hashes, _cols(df, plan))]))
        out.label_hashes = labels
        return out

    def sample(self, role: str) -> pd.DataFrame:
        return self.samples[role].frame()

    def _save(self, role: str, unit: Unit, batch: int, what: str, hashes: np.ndarray) -> None:
        path = self.spill / spill_name(role, unit, batch, what)
        np.save(path, hashes.astype(np.uint64, copy=False))


def _cols(df: pd.DataFrame, plan: Plan) -> list[pd.Series]:
    return [df[c] for c in plan.labels]


def _label_hashes(s: pd.Series) -> np.ndarray:
    """A label column's distinct values, normalised as ``pii_replay`` normalises them."""
    cells = s.dropna()
    if not len(cells):
        return EMPTY
    norm = _norm_text(cells.astype(str).drop_duplicates())
    return np.unique(pd.util.hash_pandas_object(norm, index=False).to_numpy())
