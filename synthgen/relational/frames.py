"""Frames the relational model learns from: per table its own columns plus learnt extras.

Extras (named ``__...`` so they can never clash with a source column):
``__n.<child>.<fk>`` children drawn per row (a context parent), ``__deg.<child>.<fk>`` the
row's degree as an assigned parent, ``__depth.<fk>`` the row's depth in a self-reference
forest, ``__has.<fk>`` whether a nullable assigned reference is filled, ``__want.<fk>.<i>``
the profile cell of the parent a row references (what kind of parent it asks for).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.dataset.spec import ForeignKey
from synthgen.relational.plan import Plan, fk_id

MAX_PROFILE = 4  # profile columns of a parent matched on
MAX_CONTEXT = 12  # context columns a child learns from
MAX_LABELS = 50  # label columns with more values are not matched on nor given as context
PROFILE_BINS = 4


def key_of(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """One hashable value per row for a (possibly composite) key; NA where any part is."""
    if len(cols) == 1:
        return pd.Series(
            [None if _missing(v) else _norm(v) for v in df[cols[0]].tolist()],
            index=df.index,
            dtype=object,
        )
    parts = df[cols].astype(object)
    rows = [
        None if any(_missing(v) for v in r) else tuple(_norm(v) for v in r)
        for r in parts.itertuples(index=False, name=None)
    ]
    return pd.Series(rows, index=df.index, dtype=object)


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _norm(v: Any) -> Any:
    """1 and 1.0 are the same key (an integer key read as floats when it has empties)."""
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def parent_index(child: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame) -> np.ndarray:
    """Row number in ``parent`` of each child row's reference; -1 empty, -2 unresolved."""
    pk = key_of(parent, fk.ref_columns)
    lookup = {k: i for i, k in enumerate(pk.tolist()) if k is not None}
    refs = key_of(child, fk.columns).tolist()
    return np.array([-1 if r is None else lookup.get(r, -2) for r in refs], dtype=np.int64)


def counts(idx: np.ndarray, n_parent: int) -> np.ndarray:
    """Children per parent row from the children's parent row numbers."""
    ok = idx[idx >= 0]
    return np.bincount(ok, minlength=n_parent).astype(np.int64)


def depths(idx: np.ndarray) -> np.ndarray:
    """Depth of each row in a self-reference (roots and rows in a source cycle: 0)."""
    n = len(idx)
    depth = np.zeros(n, dtype=np.int64)
    for i in range(n):
        seen, j, d = {i}, int(idx[i]), 0
        while j >= 0 and j not in seen:
            seen.add(j)
            d += 1
            j = int(idx[j])
        depth[i] = d if j < 0 else 0
    return depth


@dataclass
class ProfileColumn:
    """One column a parent is matched on: the parent's own (``fk`` None) or its parent's."""

    column: str
    fk: str | None = None  # fk_id of the parent's reference the column is read through
    edges: list[float] | None = None  # quantile edges of a number; None for labels

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "fk": self.fk, "edges": self.edges}


def choose_profile(
    plan: Plan, name: str, frames: dict[str, pd.DataFrame], modelled: dict[str, list[str]]
) -> list[ProfileColumn]:
    """Low-cardinality labels first (the parent's own, then its parents'), then numbers."""
    labels: list[ProfileColumn] = []
    numbers: list[ProfileColumn] = []
    tp = plan.tables[name]
    sources: list[tuple[str | None, str]] = [(None, name)]
    sources += [(fk_id(fk), fk.ref_table) for fk in ([tp.context] if tp.context else [])]
    sources += [(fk_id(fk), fk.ref_table) for fk in tp.assigned if fk_id(fk) not in tp.cut]
    for via, table in sources:
        df = frames[table]
        for c in modelled[table]:
            s = df[c]
            number = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
            if number and s.nunique() > MAX_LABELS:
                q = np.nanquantile(s.astype(float), np.linspace(0, 1, PROFILE_BINS + 1)[1:-1])
                numbers.append(ProfileColumn(c, via, sorted(set(map(float, q)))))
                continue
            if 1 < s.nunique() <= MAX_LABELS:
                labels.append(ProfileColumn(c, via))
    return (labels + numbers)[:MAX_PROFILE]


def profile_cells(
    plan: Plan,
    name: str,
    cols: list[ProfileColumn],
    frames: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    """The profile of every row of table ``name`` as label cells (strings)."""
    df = frames[name]
    tp = plan.tables[name]
    fks = {fk_id(fk): fk for fk in ([tp.context] if tp.context else []) + tp.assigned}
    out = {}
    for i, pc in enumerate(cols):
        if pc.fk is None:
            s = df[pc.column]
        else:
            fk = fks[pc.fk]
            idx = parent_index(df, fk, frames[fk.ref_table])
            vals = frames[fk.ref_table][pc.column].to_numpy()
            s = pd.Series([vals[j] if j >= 0 else None for j in idx], dtype=object)
        out[str(i)] = _cells(s.reset_index(drop=True), pc.edges)
    return pd.DataFrame(out, index=range(len(df)))


def _cells(s: pd.Series, edges: list[float] | None) -> pd.Series:
    if edges is not None:
        x = pd.to_numeric(s, errors="coerce")
        binned = np.searchsorted(np.asarray(edges), x.to_numpy(dtype=float), side="right")
        return pd.Series(np.where(x.isna(), "~", "b" + pd.Series(binned).astype(str)), dtype=object)
    return s.astype(object).map(lambda v: "~" if v is None or v != v else str(v))
