"""Privacy of whole sequences: training sequences given back are flagged (copied, or copied
with float noise below the rounding, or under fresh entity keys) and real sequences of
other entities pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen import validate
from synthgen.metrics import REGISTRY, Context
from synthgen.schema.detect import detect
from synthgen.sequences.run import split_entities
from tests.unit.test_sequences import beijing_days

SEQ = {"sequence": {"entity": "date", "order": "time"}}


@pytest.fixture(scope="module")
def sides() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Winter days: 2010's split by whole days into training and holdout, and 2011's (real
    days of other entities, the clean synthetic data)."""
    train, hold = split_entities(beijing_days(("2010-01", "2010-02")), "date", 0.5, 3)
    return train, hold, beijing_days(("2011-01", "2011-02"))


def rekeyed(df: pd.DataFrame) -> pd.DataFrame:
    """The same sequences under fresh entity keys (as a generator writes them)."""
    return df.assign(date="s" + df["date"].astype(str))


def metric(name: str, train: pd.DataFrame, hold: pd.DataFrame, syn: pd.DataFrame):  # type: ignore[no-untyped-def]
    ctx = Context(train, hold, syn, detect(train), options=SEQ)
    return REGISTRY[name].compute(ctx)


def copies_gate(train: pd.DataFrame, hold: pd.DataFrame, syn: pd.DataFrame) -> dict:
    verdict = validate.run(validate.load_suite("sequential"), train, hold, syn, detect(train),
                           options=SEQ)  # fmt: skip
    return next(g for g in verdict["gates"] if g["name"] == "sequence_copies")


def test_the_split_keeps_each_days_hours_on_one_side(sides):
    train, hold, _ = sides
    assert not set(train["date"]) & set(hold["date"])
    assert (train.groupby("date").size() == 24).all() and (hold.groupby("date").size() == 24).all()


def test_training_sequences_given_back_are_flagged(sides):
    train, hold, _ = sides
    leak = rekeyed(train)
    assert metric("sequence_exact_copy_rate", train, hold, leak).value == 1.0
    assert metric("sequence_copy_excess", train, hold, leak).value == pytest.approx(1.0)
    assert copies_gate(train, hold, leak)["status"] == "fail"
    assert metric("sequence_dcr_share", train, hold, leak).value > 0.9
    assert metric("sequence_membership_auc", train, hold, leak).value > 0.9


def test_copies_with_noise_below_the_rounding_are_copies_but_one_changed_hour_is_not(sides):
    train, hold, _ = sides
    noisy = rekeyed(train).assign(TEMP=train["TEMP"] + 1e-12)
    assert metric("sequence_exact_copy_rate", train, hold, noisy).value == 1.0
    changed = rekeyed(train)
    first = changed.groupby("date").head(1).index  # each day's first hour a degree warmer
    changed.loc[first, "TEMP"] += 1.0
    assert metric("sequence_exact_copy_rate", train, hold, changed).value == 0.0


def test_half_the_days_copied_is_half_the_copy_rate(sides):
    train, hold, other = sides
    days = sorted(train["date"].unique())[::2]
    half = pd.concat([rekeyed(train[train["date"].isin(days)]), other], ignore_index=True)
    got = metric("sequence_exact_copy_rate", train, hold, half)
    assert got.details["copies"] == len(days)
    assert got.value == pytest.approx(len(days) / (len(days) + other["date"].nunique()))


def test_real_days_of_other_entities_pass(sides):
    train, hold, other = sides
    rate = metric("sequence_exact_copy_rate", train, hold, other)
    assert rate.value == 0.0 and rate.details["holdout_own_rate"] == 0.0
    assert copies_gate(train, hold, other)["status"] == "pass"
    dcr = metric("sequence_dcr_share", train, hold, other)
    assert 0.3 <= dcr.value <= 0.7, dcr.details
    assert dcr.details["sequences"] == [29, 30, 59]
    assert metric("sequence_membership_auc", train, hold, other).value <= 0.75


def test_sequences_that_repeat_naturally_are_not_a_leak():
    """Customers with one purchase of the same item: a synthetic copy of such a sequence
    equals many real ones and says nothing about any one customer."""
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"customer": np.arange(n).astype(str), "day": 1.0,
                       "item": np.where(rng.random(n) < 0.5, "milk", "bread")})  # fmt: skip
    train, hold = df.iloc[:120], df.iloc[120:]
    syn = df.iloc[:100].assign(customer=lambda d: "s" + d["customer"])
    opts = {"sequence": {"entity": "customer", "order": "day"}}
    ctx = Context(train, hold, syn, detect(train), options=opts)
    assert REGISTRY["sequence_exact_copy_rate"].compute(ctx).value == 1.0
    assert REGISTRY["sequence_copy_excess"].compute(ctx).value == pytest.approx(0.0)


def test_without_a_sequence_or_a_holdout_the_metrics_say_why(sides):
    train, _, other = sides
    ctx = Context(train, train.iloc[:0], other, detect(train))
    for name in ("sequence_exact_copy_rate", "sequence_copy_excess", "sequence_dcr_share"):
        assert "sequence table" in (REGISTRY[name].compute(ctx).skipped or "")
    ctx = Context(train, train.iloc[:0], rekeyed(train), detect(train), options=SEQ)
    assert "holdout" in (REGISTRY["sequence_dcr_share"].compute(ctx).skipped or "")
    assert REGISTRY["sequence_copy_excess"].compute(ctx).value == 1.0  # every copy counts
