"""Which worker holds each training row of a multi-table fit sharded by root entity: an
entity and every row below it on one worker, the entities dealt out evenly in a seeded
order, tables outside the entity's tree dealt out by row number."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.dataset.split import descendants
from synthgen.relational import frames as fr
from synthgen.relational.entity_parts import entity_parts
from tests.integration import relational_data as rd


@pytest.mark.parametrize("make", [rd.two_parents, lambda: rd.deep(n_tables=6)])
@pytest.mark.parametrize("workers", [2, 3])
def test_every_row_is_on_its_entitys_worker(make, workers: int) -> None:
    ds = make()
    frames = {t: ds[t] for t in ds.names}
    name, parts = entity_parts(ds, frames, workers, seed=1)
    under = descendants(ds.spec, name)
    assert under, "the dataset has rows below its entity"
    counts = np.bincount(parts[name], minlength=workers)
    assert counts.max() - counts.min() <= 1  # the entities dealt out evenly
    checked = 0
    for t in under:
        for fk in ds.spec[t].foreign_keys:
            if fk.ref_table == t or fk.ref_table not in [name, *under]:
                continue
            idx = fr.parent_index(frames[t], fk, frames[fk.ref_table])
            got = idx >= 0
            # the first entity reference decides; here each row has exactly one
            assert (parts[t][got] == parts[fk.ref_table][idx[got]]).all(), t
            checked += int(got.sum())
            break
    assert checked > 0
    for t in ds.names:
        assert parts[t].min() >= 0 and parts[t].max() < workers and len(parts[t]) == len(ds[t])
    outside = [t for t in ds.names if t not in under and t != name]
    for t in outside:  # a catalogue: spread by row number
        assert (parts[t] == np.arange(len(ds[t])) % workers).all()


def test_the_deal_follows_the_seed() -> None:
    ds = rd.two_parents()
    frames = {t: ds[t] for t in ds.names}
    a = entity_parts(ds, frames, 2, seed=1)[1]
    b = entity_parts(ds, frames, 2, seed=1)[1]
    c = entity_parts(ds, frames, 2, seed=2)[1]
    assert all((a[t] == b[t]).all() for t in a)
    assert not (a["customer"] == c["customer"]).all()
