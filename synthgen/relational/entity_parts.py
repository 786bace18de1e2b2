"""A multi-table fit sharded by root entity: which worker holds each training row.

The entity table (``dataset.split.entity_table``: the people, else the root with the most
rows below it) is dealt out to ``workers`` parts in a seeded order; every row below it
(admissions, then lab events, ...) goes where its first entity ancestor went, so a patient
and all their rows are on one worker. Rows of tables not below the entity (catalogues,
lookups) and rows whose reference is empty are dealt out by row number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.dataset.data import Dataset
from synthgen.dataset.split import descendants, entity_table
from synthgen.relational import frames as fr


def entity_parts(
    ds: Dataset, frames: dict[str, pd.DataFrame], workers: int, seed: int
) -> tuple[str, dict[str, np.ndarray]]:
    """The entity table and each table's part per row of ``frames`` (the training frames,
    ``ds``'s tables with orphans left out), numbers in ``0 .. workers - 1``."""
    spec = ds.spec
    name = entity_table(ds)
    under = set(descendants(spec, name))
    entity_rows = under | {name}  # tables whose rows belong to an entity
    n = len(frames[name])
    root = np.empty(n, dtype=np.int64)
    root[np.random.default_rng([seed, 23]).permutation(n)] = np.arange(n) % workers
    parts = {name: root}
    tables, _cut = spec.order()  # parents first
    for t in tables:
        if t == name:
            continue
        part = np.arange(len(frames[t]), dtype=np.int64) % workers
        if t in under:
            placed = np.zeros(len(part), dtype=bool)
            for fk in spec[t].foreign_keys:
                if fk.ref_table == t or fk.ref_table not in entity_rows:
                    continue
                idx = fr.parent_index(frames[t], fk, frames[fk.ref_table])
                take = (idx >= 0) & ~placed
                part[take] = parts[fk.ref_table][idx[take]]
                placed |= take
        parts[t] = part
    return name, parts
