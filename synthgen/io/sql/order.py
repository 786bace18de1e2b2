"""Rows of a self-referencing table in an order where every parent row comes first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.dataset.spec import ForeignKey

MAX_LEVELS = 256  # deeper chains are inserted with the reference empty and filled in after


def _keys(df: pd.DataFrame, cols: list[str]) -> pd.Index:
    if len(cols) == 1:
        return pd.Index(df[cols[0]])
    return pd.MultiIndex.from_frame(df[cols])


def parents_first(df: pd.DataFrame, fk: ForeignKey) -> tuple[np.ndarray, np.ndarray]:
    """A row order (positions) in which each row's parent in the same table comes before
    it, and, in that order, which rows must be inserted with the reference empty and
    filled in afterwards (rows in a cycle, or deeper than MAX_LEVELS). A row that
    references itself needs neither. Rows whose parent is not in the table keep their
    place: the database reports them."""
    n = len(df)
    plain = np.arange(n), np.zeros(n, dtype=bool)
    parent_keys = _keys(df, fk.ref_columns)
    if n == 0 or not parent_keys.is_unique:
        return plain  # a referenced key repeats: the database will say so
    has_ref = df[fk.columns].notna().all(axis=1).to_numpy()
    pos = parent_keys.get_indexer(_keys(df, fk.columns))
    pos[~has_ref] = -1
    pos[pos == np.arange(n)] = -1
    level = np.where(pos == -1, 0, -1)
    for _ in range(MAX_LEVELS):
        pending = np.flatnonzero(level == -1)
        if pending.size == 0:
            break
        parent_level = level[pos[pending]]
        ready = parent_level >= 0
        if not ready.any():
            break
        level[pending[ready]] = parent_level[ready] + 1
    deferred = level == -1
    level[deferred] = 0
    order = np.argsort(level, kind="stable")
    return order, deferred[order]
