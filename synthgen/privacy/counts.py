"""What a DP release reads of a table: exact counts only, through one small interface, so the
same mechanism runs on a frame in memory (``FrameCounts``) and on a table streamed in
batches whose per-part counts were added up first (``scale.stream_dp``).

A release asks, per numeric column, for its log-scale bin counts (the bounds), then, once
every bound is known (``prepare``), for counts of its values clipped to the tree's range in
intervals; per label column, for each label's count; and the row and missing counts."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd


class ValueCounter(Protocol):
    """One numeric column's values clipped to its tree's range."""

    present: int
    missing: int

    def count(self, edges: np.ndarray, top: bool) -> np.ndarray:
        """How many values fall in each ``[edges[j], edges[j + 1])``; the last interval is
        closed when ``top`` (it ends at the range's top)."""
        ...


class TableCounts(Protocol):
    rows: int

    def bins(self, col: str) -> np.ndarray: ...

    def prepare(self, ranges: dict[str, tuple[float, float]]) -> None: ...

    def values(self, col: str) -> ValueCounter: ...

    def labels(self, col: str) -> dict[Any, int]: ...

    def nulls(self, col: str) -> int: ...


class SortedValues:
    """A ``ValueCounter`` over values in memory."""

    def __init__(self, x: np.ndarray, lo: float, hi: float) -> None:
        miss = np.isnan(x)
        self.v = np.sort(np.clip(x[~miss], lo, hi))
        self.present, self.missing = len(self.v), int(miss.sum())

    def count(self, edges: np.ndarray, top: bool) -> np.ndarray:
        cut = np.searchsorted(self.v, edges, side="left")
        if top:
            cut[-1] = np.searchsorted(self.v, edges[-1], side="right")
        return np.diff(cut)


class FrameCounts:
    """A model frame's counts (floats for numbers, objects for labels), read in memory."""

    def __init__(self, frame: pd.DataFrame, side_missing: dict[str, pd.Series]) -> None:
        self.frame, self.side = frame, side_missing
        self.rows = len(frame)
        self.ranges: dict[str, tuple[float, float]] = {}

    def bins(self, col: str) -> np.ndarray:
        from synthgen.privacy.marginals import log_bins

        return log_bins(self.frame[col].to_numpy(np.float64))

    def prepare(self, ranges: dict[str, tuple[float, float]]) -> None:
        self.ranges = ranges

    def values(self, col: str) -> ValueCounter:
        return SortedValues(self.frame[col].to_numpy(np.float64), *self.ranges[col])

    def labels(self, col: str) -> dict[Any, int]:
        s = self.frame[col]
        keys = s.astype(object).where(s.notna(), None)
        return {k: int(n) for k, n in keys.value_counts(dropna=False, sort=False).items()}

    def nulls(self, col: str) -> int:
        return int(self.side[col].isna().sum())


class GridValues:
    """A ``ValueCounter`` from counts of the values in the cells of ``marginals.tree_grid``'s
    edges (every node the tree could split into is a run of whole cells)."""

    def __init__(self, edges: np.ndarray, cells: np.ndarray, missing: int) -> None:
        self.edges = edges
        self.cum = np.concatenate([[0], np.cumsum(cells)])
        self.present, self.missing = int(self.cum[-1]), int(missing)

    def count(self, edges: np.ndarray, top: bool) -> np.ndarray:
        at = np.searchsorted(self.edges, edges, side="left")
        if not np.array_equal(self.edges[np.minimum(at, len(self.edges) - 1)], edges):
            raise AssertionError("a tree node's edges are not on the grid")  # a bug, not input
        return np.diff(self.cum[at])


def grid_cells(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of the non-missing ``x``, clipped to the grid, in each of its cells."""
    v = np.clip(x[~np.isnan(x)], edges[0], edges[-1])
    i = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    return np.bincount(i, minlength=len(edges) - 1).astype(np.int64)
