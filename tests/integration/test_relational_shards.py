"""A multi-table sample in shards of root entities (synthgen.relational.shards): which table
a dataset is sharded by, keys unique and in their formats across shards, every reference
resolving, the tables outside the root drawn once, a shard the same whenever it is drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import UsageError
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.shards import sample_tables, shard_plan
from tests.integration import relational_data as rd
from tests.integration.test_relational import assert_fresh_keys, assert_integrity

FAST = {"min_steps": 10}


@pytest.fixture(scope="module")
def chinook_model(chinook_dataset) -> RelationalSynthesizer:  # type: ignore[no-untyped-def]
    return RelationalSynthesizer("copula").fit(chinook_dataset, seed=0)


def test_chinook_is_sharded_by_customer_and_the_catalogue_is_drawn_once(
    chinook_model, chinook_dataset
) -> None:  # type: ignore[no-untyped-def]
    plan = shard_plan(chinook_model)
    assert plan.root == "Customer" and plan.sharded == ["Customer", "Invoice", "InvoiceLine"]
    assert {"Track", "Album", "Genre", "Employee", "PlaylistTrack"} <= set(plan.shared)
    # the catalogue's subtree cannot be sharded: lines outside it point at its tracks
    assert "Track references Album" in plan.why["Artist"]
    assert "Customer references Employee" in plan.why["Employee"]
    many = chinook_model.sample(seed=2, shard_rows=8)  # 59 customers: 8 shards
    one = chinook_model.sample(seed=2)
    assert_integrity(many)
    assert_fresh_keys(chinook_dataset, many)
    for t in plan.shared:  # drawn once from the seed, whatever the shards
        pd.testing.assert_frame_equal(many[t], one[t])
    assert len(many["Customer"]) == 59
    # keys numbered across shards without gaps: the customers' are consecutive
    ids = many["Customer"]["CustomerId"].to_numpy()
    assert (np.diff(ids) == 1).all() and ids[0] == chinook_dataset["Customer"][
        "CustomerId"
    ].max() + 1
    # children per parent kept: invoices per customer, lines per invoice, as in the source
    for child, parent, key in (
        ("Invoice", "Customer", "CustomerId"),
        ("InvoiceLine", "Invoice", "InvoiceId"),
    ):
        real = len(chinook_dataset[child]) / len(chinook_dataset[parent])
        got = many[child][key].value_counts().reindex(many[parent][key], fill_value=0)
        assert abs(got.mean() / real - 1) < 0.1, child
        assert got.max() <= 3 * chinook_dataset[child][key].value_counts().max(), child


def test_a_shard_is_the_same_whichever_order_the_shards_are_drawn_in(chinook_model) -> None:  # type: ignore[no-untyped-def]
    sampler = chinook_model.sampler(seed=4, shard_rows=10)
    shared = sampler.shared().state(sampler.plan.shared)
    late = sampler.shard(shared, 3)
    drawn = [sampler.shard(shared, k) for k in reversed(range(sampler.count))]
    again = drawn[sampler.count - 1 - 3]
    for t, df in late.tables.items():
        pd.testing.assert_frame_equal(df, again.tables[t])
    whole = chinook_model.sample(seed=4, shard_rows=10)
    rebuilt = sample_tables(sampler, lambda _shared: iter(drawn[::-1]))  # put in order
    for t in whole.names:
        pd.testing.assert_frame_equal(rebuilt[t], whole[t])


def test_keys_keep_their_formats_and_stay_unique_across_shards() -> None:
    src = rd.deep()
    m = RelationalSynthesizer("autoreg", FAST).fit(src, seed=0)
    assert shard_plan(m).root == "t00" and shard_plan(m).shared == []
    one, many = m.sample(seed=1), m.sample(seed=1, shard_rows=7)  # 40 roots: 6 shards
    assert_integrity(many)
    assert_fresh_keys(src, many)
    assert many["t01"]["id"].str.match(r"^K-\d{5}$").all()
    assert many["t05"]["id"].map(lambda v: isinstance(v, str) and v.count("-") == 4).all()
    # numbered from the row counts of the shards before: the same keys as one shard has
    assert many["t00"]["id"].tolist() == one["t00"]["id"].tolist()
    assert many["t03"]["id"].is_unique and many["t04"]["id"].str.match(r"^K-\d{5}$").all()


def test_a_cycle_inside_the_root_resolves_across_shards() -> None:
    """dept.manager -> emp is cut (filled once both exist): each shard's managers are its
    own employees, numbered as the whole dataset numbers them."""
    m = RelationalSynthesizer("autoreg", FAST).fit(rd.cycle(), seed=0)
    assert shard_plan(m).root == "dept"
    syn = m.sample(seed=3, shard_rows=3)
    assert_integrity(syn)
    managed = syn["dept"]["manager"].dropna()
    assert len(managed) > 0 and managed.isin(syn["emp"]["id"]).all()


def test_sharding_by_a_table_that_cannot_be_is_refused_saying_why() -> None:
    m = RelationalSynthesizer("autoreg", FAST).fit(rd.two_parents(), seed=0)
    with pytest.raises(UsageError, match="cannot shard by product: line references product"):
        m.sample(shard_by="product")
    with pytest.raises(UsageError, match="no table nope"):
        m.sample(shard_by="nope")
    assert shard_plan(m).root == "customer"


def test_a_dataset_no_root_of_which_can_be_sharded_is_drawn_whole() -> None:
    """a -> c (per a) pointing at b, and b -> d (per b) pointing at a: each root's subtree
    is referenced from the other's, so every table is drawn once, in one piece."""
    r = np.random.default_rng(0)
    a = pd.DataFrame({"aid": range(1, 31), "x": r.normal(size=30)})
    b = pd.DataFrame({"bid": range(1, 31), "y": r.normal(size=30)})
    c = pd.DataFrame(
        {"cid": range(1, 61), "aid": r.integers(1, 31, 60), "bid": r.integers(1, 31, 60)}
    )
    d = pd.DataFrame(
        {"did": range(1, 61), "bid": r.integers(1, 31, 60), "aid": r.integers(1, 31, 60)}
    )
    from synthgen.dataset import Dataset, DatasetSpec

    spec = DatasetSpec(
        tables=[
            rd.table("a", a, ["aid"]),
            rd.table("b", b, ["bid"]),
            rd.table("c", c, ["cid"], [("aid", "a", "aid"), ("bid", "b", "bid")]),
            rd.table("d", d, ["did"], [("bid", "b", "bid"), ("aid", "a", "aid")]),
        ]
    )
    m = RelationalSynthesizer("autoreg", FAST).fit(Dataset(spec, {"a": a, "b": b, "c": c, "d": d}))
    plan = shard_plan(m)
    assert plan.root is None and plan.sharded == [] and set(plan.why) == {"a", "b"}
    syn = m.sample(seed=1, shard_rows=5)
    assert_integrity(syn)
    assert len(syn["a"]) == 30


def test_a_failing_shard_leaves_no_table_folders(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The folder of tables appears whole or not at all: a shard that fails after others
    were written leaves nothing behind."""
    from synthgen.errors import DataError
    from synthgen.relational import shards
    from synthgen.relational.folders import sample_folders

    m = RelationalSynthesizer("autoreg", FAST).fit(rd.two_parents(), seed=0)
    model = m.save(tmp_path / "model")
    top = sample_folders(model, 60, tmp_path / "ok", shard_rows=20, say=lambda _s: None)
    assert top["shards"] == 3 and (tmp_path / "ok" / "line" / "part-00002.parquet").is_file()
    real = shards.DatasetSampler.shard

    def broken(self, shared, k):  # type: ignore[no-untyped-def]
        if k == 2:
            raise DataError("shard 2 failed")
        return real(self, shared, k)

    monkeypatch.setattr(shards.DatasetSampler, "shard", broken)
    with pytest.raises(DataError, match="shard 2 failed"):
        sample_folders(model, 60, tmp_path / "bad", shard_rows=20, say=lambda _s: None)
    assert not (tmp_path / "bad").exists()
    assert {p.name for p in tmp_path.iterdir()} == {"model", "ok"}  # no temp folder left


def test_unique_columns_of_a_child_table_stay_unique_across_shards() -> None:
    """A child table's unique e-mail and phone (PII fakes) and its reference number (an
    id, not a key) hold no repeat over the whole sample, not only within a shard."""
    src = rd.accounts()
    m = RelationalSynthesizer("copula").fit(src, seed=0)
    assert shard_plan(m).root == "customer" and "account" in shard_plan(m).sharded
    syn = m.sample(seed=1, shard_rows=10)  # 120 customers: 12 shards
    acc = syn["account"]
    assert len(acc) > 200
    for c in ("email", "phone", "ref"):
        assert acc[c].notna().all() and acc[c].is_unique, c
    assert acc["email"].str.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+").all()
    assert acc["ref"].str.fullmatch(r"ACC-\d{6}").all()
    assert not acc["email"].isin(src["account"]["email"]).any()  # no source e-mail given back
    # the same shards drawn again (any worker, any order) give the same values
    again = m.sample(seed=1, shard_rows=10)["account"]
    pd.testing.assert_frame_equal(acc, again)
    # one shard: drawn as an unsharded sample draws it
    pd.testing.assert_frame_equal(
        m.sample(seed=1)["account"], m.sample(seed=1, shard_rows=500)["account"]
    )
