"""The validation holdout of a dataset, drawn by entity: a patient (or customer) and every
row that descends from them lands on one side, so privacy metrics compare the synthetic data
with people the model never saw, not with the other half of a person it learned.

The entity table is named, or found: the table of people (person-like PII columns) with the
most rows, else the root whose descendants hold the most rows. Tables that do not descend
from it (lookups, catalogues) are shared: whole on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import DatasetSpec
from synthgen.errors import DataError

_PERSON_HINTS = ("first_name", "last_name", "firstname", "lastname", "email", "phone", "birth")


@dataclass
class EntitySplit:
    entity: str
    train: Dataset
    holdout: Dataset
    shared: list[str]  # tables on both sides, whole
    held_entities: int


def descendants(spec: DatasetSpec, table: str) -> list[str]:
    """Tables reachable from ``table`` by following foreign keys from parent to child."""
    seen: list[str] = []
    todo = [table]
    while todo:
        t = todo.pop()
        for child, _fk in spec.children(t):
            if child not in seen and child != table:
                seen.append(child)
                todo.append(child)
    return seen


def entity_table(ds: Dataset) -> str:
    """The table whose rows are the dataset's entities (see the module docstring)."""
    spec = ds.spec

    def people(name: str) -> bool:
        cols = [c.lower().replace(" ", "_") for c in ds[name].columns]
        hits = {h for h in _PERSON_HINTS for c in cols if h in c.replace("_", "") or h in c}
        return len(hits) >= 2 and bool(descendants(spec, name))

    def reach(name: str) -> int:
        return sum(len(ds[t]) for t in descendants(spec, name))

    persons = [t for t in spec.names if people(t)]
    if persons:
        return max(persons, key=lambda t: (len(ds[t]), reach(t)))
    roots = [t.name for t in spec if not [fk for fk in t.foreign_keys if fk.ref_table != t.name]]
    return max(roots or spec.names, key=lambda t: (reach(t), len(ds[t])))


def split_by_entity(
    ds: Dataset, fraction: float, seed: int, entity: str | None = None
) -> EntitySplit:
    """Hold out ``fraction`` of the entity table's rows (seeded) with all their descendant
    rows; a row with several entity ancestors is held out when any of them is."""
    name = entity or entity_table(ds)
    if name not in ds.spec:
        raise DataError(
            f"holdout: no table {name!r} to split by", hint=f"tables: {', '.join(ds.names)}"
        )
    spec = ds.spec
    root = ds[name]
    n_hold = int(round(len(root) * fraction))
    order = np.random.default_rng([seed, 1]).permutation(len(root))
    first = np.zeros(len(root), dtype=bool)
    first[order[:n_hold]] = True
    held = {name: _self_closed(spec, name, root, first)}
    under = descendants(spec, name)
    tables, _cut = spec.order()
    for t in [x for x in tables if x in under]:  # parents first
        mask = np.zeros(len(ds[t]), dtype=bool)
        for fk in spec[t].foreign_keys:
            if fk.ref_table in held and fk.ref_table != t:
                parent = ds[fk.ref_table]
                mask |= _refers_to(ds[t], fk.columns, parent, fk.ref_columns, held[fk.ref_table])
        held[t] = _self_closed(spec, t, ds[t], mask)
    shared = [t for t in spec.names if t not in held]
    train = {t: ds[t][~held[t]].reset_index(drop=True) if t in held else ds[t] for t in spec.names}
    hold = {t: ds[t][held[t]].reset_index(drop=True) if t in held else ds[t] for t in spec.names}
    return EntitySplit(
        name, Dataset(spec, train), Dataset(spec, hold), shared, int(held[name].sum())
    )


def _keys(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    if len(cols) == 1:
        return df[cols[0]].astype(str).where(df[cols[0]].notna())
    joined = df[cols].astype(str).agg("\x1f".join, axis=1)
    return joined.where(df[cols].notna().all(axis=1))


def _refers_to(
    child: pd.DataFrame, cols: list[str], parent: pd.DataFrame, ref: list[str], held: np.ndarray
) -> np.ndarray:
    held_keys = set(_keys(parent, ref)[held].dropna())
    return _keys(child, cols).isin(held_keys).to_numpy()


def _self_closed(spec: DatasetSpec, t: str, df: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """``mask`` grown along the table's self-references (a held manager's reports too)."""
    for fk in spec[t].foreign_keys:
        if fk.ref_table == t:
            mask = _close_over(df, fk.columns, fk.ref_columns, mask)
    return mask


def _close_over(df: pd.DataFrame, cols: list[str], ref: list[str], held: np.ndarray) -> np.ndarray:
    mask = held.copy()
    while True:
        grown = mask | _refers_to(df, cols, df, ref, mask)
        if (grown == mask).all():
            return grown
        mask = grown
