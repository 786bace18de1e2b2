"""Privacy at the entity level (issue 14): a customer is their row and everything under
them. The metrics must flag a synthetic dataset that hands back training customers with
their purchases, and must pass one drawn afresh from the same population."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgen.dataset import Dataset
from synthgen.dataset.split import split_by_entity
from synthgen.metrics import REGISTRY, Context
from synthgen.metrics.entities import profiles, roots
from tests.integration import relational_data as rd


def _bigger(seed: int) -> Dataset:
    """Four populations of two_parents stacked: 800 customers, their lines, 400 products."""
    parts = [rd.two_parents(seed * 10 + i) for i in range(4)]
    frames = {}
    for name in ("customer", "product", "line"):
        frames[name] = pd.concat([p[name] for p in parts], ignore_index=True)
    for name, key in (("customer", "cid"), ("product", "pid"), ("line", "lid")):
        frames[name][key] = range(1, len(frames[name]) + 1)
    # the lines' references follow the renumbering of each part
    cid_shift = [sum(len(p["customer"]) for p in parts[:i]) for i in range(4)]
    pid_shift = [sum(len(p["product"]) for p in parts[:i]) for i in range(4)]
    lines = [p["line"].assign(cid=p["line"].cid + cid_shift[i], pid=p["line"].pid + pid_shift[i])
             for i, p in enumerate(parts)]  # fmt: skip
    frames["line"] = pd.concat(lines, ignore_index=True).assign(lid=lambda d: range(1, len(d) + 1))
    return Dataset(parts[0].spec, frames)


def _metric(name: str, train: Dataset, hold: Dataset, syn: Dataset) -> float:
    ctx = Context(train["customer"], hold["customer"], syn["customer"], None, seed=0)  # type: ignore[arg-type]
    ctx.cache["datasets"] = (train, hold, syn)
    r = REGISTRY[name].compute(ctx)
    assert r.value is not None, r.skipped
    assert list(r.details["per_root"]) == ["customer"]  # products are on both sides, whole
    return float(r.value)


@pytest.fixture(scope="module")
def split():
    return split_by_entity(_bigger(0), 0.3, seed=1, entity="customer")


def test_profiles_hold_each_customer_and_their_lines(split):
    assert roots(split.train, split.holdout) == ["customer"]  # products: whole on both sides
    p = profiles(split.train, "customer")
    assert len(p) == len(split.train["customer"])
    counts = split.train["line"].groupby("cid").size()
    ids = split.train["customer"]["cid"].to_numpy()
    assert (p["line[cid].n"].to_numpy() == counts.reindex(ids).fillna(0).to_numpy()).all()
    assert {"segment", "age", "line[cid].qty.mean"} <= set(p.columns)


@pytest.mark.parametrize("metric", ["entity_dcr_share", "entity_membership_auc"])
def test_handing_back_training_customers_is_flagged(split, metric):
    leaked = _metric(metric, split.train, split.holdout, split.train)
    assert leaked > 0.8


@pytest.mark.parametrize("metric", ["entity_dcr_share", "entity_membership_auc"])
def test_customers_drawn_afresh_pass(split, metric):
    fresh = _bigger(7)
    clean = _metric(metric, split.train, split.holdout, fresh)
    assert clean < 0.6
