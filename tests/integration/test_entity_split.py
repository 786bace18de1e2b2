"""Holdout by entity on Chinook: a customer and all their invoices and invoice lines land
on one side; catalogue tables are shared; a self-reference carries a held row's reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.dataset import Dataset, DatasetSpec, ForeignKey, TableSpec
from synthgen.dataset.split import entity_table, split_by_entity
from synthgen.errors import DataError


def test_customers_are_the_entity_and_never_straddle(chinook_dataset: Dataset) -> None:
    assert entity_table(chinook_dataset) == "Customer"
    s = split_by_entity(chinook_dataset, 0.2, seed=3)
    tr, ho = s.train, s.holdout
    assert s.entity == "Customer" and s.held_entities == round(59 * 0.2)
    assert set(tr["Customer"].CustomerId).isdisjoint(ho["Customer"].CustomerId)
    assert len(tr["Customer"]) + len(ho["Customer"]) == 59
    assert set(tr["Invoice"].CustomerId) <= set(tr["Customer"].CustomerId)
    assert set(ho["Invoice"].CustomerId) <= set(ho["Customer"].CustomerId)
    assert len(tr["Invoice"]) + len(ho["Invoice"]) == 412
    assert set(ho["InvoiceLine"].InvoiceId) <= set(ho["Invoice"].InvoiceId)
    assert set(tr["InvoiceLine"].InvoiceId).isdisjoint(ho["Invoice"].InvoiceId)
    assert {"Track", "Genre", "Employee", "Artist", "PlaylistTrack"} <= set(s.shared)
    pd.testing.assert_frame_equal(tr["Track"], ho["Track"])
    again = split_by_entity(chinook_dataset, 0.2, seed=3)
    assert again.holdout["Customer"].equals(ho["Customer"])
    other = split_by_entity(chinook_dataset, 0.2, seed=4)
    assert not other.holdout["Customer"].equals(ho["Customer"])


def test_a_self_reference_holds_out_the_whole_subtree() -> None:
    staff = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "boss": [None, 1, 1, 2, 4, None]})
    spec = DatasetSpec(
        tables=[
            TableSpec(
                name="staff",
                primary_key=["id"],
                foreign_keys=[ForeignKey(columns=["boss"], ref_table="staff", ref_columns=["id"])],
            )
        ]
    )
    ds = Dataset(spec, {"staff": staff.astype({"boss": "Int64"})})
    for seed in range(20):
        s = split_by_entity(ds, 0.2, seed=seed, entity="staff")
        held = set(s.holdout["staff"].id)
        boss_of = dict(zip(staff.id, staff.boss, strict=True))
        for i in staff.id:  # everyone under a held person is held
            b = boss_of[i]
            while b == b and b is not None:  # not NaN
                if b in held:
                    assert i in held, (seed, i, held)
                b = boss_of.get(int(b))
        assert set(s.train["staff"].id) == set(staff.id) - held


def test_an_unknown_entity_is_named(chinook_dataset: Dataset) -> None:
    with pytest.raises(DataError, match="no table 'Patients'"):
        split_by_entity(chinook_dataset, 0.2, seed=0, entity="Patients")
    assert np.isclose(
        len(split_by_entity(chinook_dataset, 0.5, seed=0).holdout["Customer"]), 30, atol=1
    )
