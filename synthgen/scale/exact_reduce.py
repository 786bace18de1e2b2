"""Validation of tables larger than memory, the reduce side: exact counts over every row,
one hash range at a time.

The 64-bit hash space is cut into ``ranges`` equal ranges; a range's reduce reads the
slice of each sorted hash file (``scale.exact``) that falls in it (memory-mapped, so only
that slice is read) and counts. Every count is a whole number added over ranges, so the
totals are the same whatever the number of ranges or workers and in whatever order the
ranges finish. Ranges are sized from the row counts (``RANGE_HASHES`` hashes each), so
a reduce's memory does not grow with the tables.

Hashes are compared, not rows: two different rows share a 64-bit hash with chance 2^-64,
so the expected number of synthetic rows counted as copies by a collision alone is at
most (synthetic rows x real rows) / 2^64, stated in the report (5e-6 for 10M x 10M).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RANGE_HASHES = 4_000_000  # hashes (all tables) a reduce holds at once, about 100 MB of work
MIN_RANGES = 16
_SPAN = 2**64


@dataclass
class Counts:
    """Whole-number totals over every row. ``single_*``: synthetic rows on a real row no
    other real row equals (train or holdout), and on such a row that is a training row;
    ``single_sq``: the sum over those real rows of the squared synthetic count (the error of
    ``exact_copy_excess``)."""

    copies: int = 0
    holdout_copies: int = 0
    single_train: int = 0
    single_all: int = 0
    single_sq: int = 0
    pii_values: int = 0
    replayed: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        for name in ("copies", "holdout_copies", "single_train", "single_all", "single_sq"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pii_values += other.pii_values
        for c, k in other.replayed.items():
            self.replayed[c] = self.replayed.get(c, 0) + k

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def range_count(total_hashes: int) -> int:
    """How many ranges: ``MIN_RANGES`` (work for that many workers), more for large tables
    (about ``RANGE_HASHES`` hashes each). Not the worker count: the report names it."""
    return max(MIN_RANGES, -(-total_hashes // RANGE_HASHES))


def bounds(k: int, ranges: int) -> tuple[int, int]:
    """Range ``k``'s hashes: lo <= h < hi (hi may be 2^64, one past the largest hash)."""
    return k * _SPAN // ranges, (k + 1) * _SPAN // ranges


@dataclass
class Files:
    """The hash files of every unit, by what they hold (``checked``: one list per checked
    synthetic column, in the plan's order)."""

    train: list[str]
    holdout: list[str]
    synthetic: list[str]
    real_pii: list[str]
    checked: dict[str, list[str]]


def _slice(path: str, lo: int, hi: int) -> np.ndarray:
    arr = np.load(path, mmap_mode="r")
    a = int(np.searchsorted(arr, np.uint64(lo), side="left"))
    b = len(arr) if hi >= _SPAN else int(np.searchsorted(arr, np.uint64(hi), side="left"))
    return np.array(arr[a:b])


def _gather(paths: list[str], lo: int, hi: int) -> np.ndarray:
    parts = [_slice(p, lo, hi) for p in paths]
    return np.concatenate(parts) if parts else np.zeros(0, np.uint64)


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.unique(values, return_counts=True)


def reduce_range(files: Files, k: int, ranges: int, labels: np.ndarray) -> Counts:
    """Every count of range ``k``. ``labels``: hashes of the real label values (dropped
    from the real PII values: a category of the data, not an identifier)."""
    lo, hi = bounds(k, ranges)
    out = Counts()
    s_val, s_n = _counted(_gather(files.synthetic, lo, hi))
    t_val, t_n = _counted(_gather(files.train, lo, hi))
    o_val, o_n = _counted(_gather(files.holdout, lo, hi))
    s_n = s_n.astype(np.int64)
    out.copies = int(s_n[np.isin(s_val, t_val, assume_unique=True)].sum())
    out.holdout_copies = int(s_n[np.isin(s_val, o_val, assume_unique=True)].sum())
    real, at = np.unique(np.concatenate([t_val, o_val]), return_inverse=True)
    real_n = np.bincount(at, weights=np.concatenate([t_n, o_n]), minlength=len(real))
    single = real[real_n == 1]
    on_single = np.isin(s_val, single, assume_unique=True)
    on_train = on_single & np.isin(s_val, t_val, assume_unique=True)
    out.single_all = int(s_n[on_single].sum())
    out.single_train = int(s_n[on_train].sum())
    out.single_sq = int((s_n[on_single] ** 2).sum())
    if files.real_pii:
        pii = np.setdiff1d(np.unique(_gather(files.real_pii, lo, hi)), labels, assume_unique=True)
        out.pii_values = len(pii)
        for c, paths in files.checked.items():
            cells = _gather(paths, lo, hi)
            out.replayed[c] = int(np.isin(cells, pii).sum())
    return out


def hash_files(spill: Path, summaries: list[Any], checked: list[str], pii: bool) -> Files:
    """The hash files the map pass wrote for the units of ``summaries`` (``UnitSummary``)."""
    from synthgen.scale.exact import spill_name

    def names(role: str, what: str) -> list[str]:
        return [
            str(spill / spill_name(role, s.unit, b, what))
            for s in summaries
            if s.role == role
            for b in range(s.batches)
        ]

    real_pii = names("train", "pii") + names("holdout", "pii") if pii else []
    return Files(
        names("train", "rows"),
        names("holdout", "rows"),
        names("synthetic", "rows"),
        real_pii,
        {c: names("synthetic", f"v{j}") for j, c in enumerate(checked)} if pii else {},
    )
