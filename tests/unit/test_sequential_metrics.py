"""The sequence metrics and the `sequential` suite: they flag a bad sequence table (steps
shuffled, lengths and gaps broken) and pass real unseen sequences of the same source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen import validate
from synthgen.metrics import sequential as sq
from synthgen.metrics.base import Context
from synthgen.schema.detect import detect
from tests.unit.test_sequences import beijing_days

SEQ = {"sequence": {"entity": "date", "order": "time"}}


@pytest.fixture(scope="module")
def halves() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Winter days of 2010 (train) and of 2011 (real unseen days of the same source)."""
    return beijing_days(("2010-01", "2010-02")), beijing_days(("2011-01", "2011-02"))


def suite_run(train: pd.DataFrame, other: pd.DataFrame) -> dict:
    suite = validate.load_suite("sequential")
    return validate.run(suite, train, train.iloc[:0], other, detect(train), options=SEQ)


def statuses(verdict: dict) -> dict[str, str]:
    return {g["name"]: g["status"] for g in verdict["gates"]}


def test_real_unseen_sequences_pass(halves):
    train, other = halves
    verdict = suite_run(train, other)
    assert verdict["passed"], verdict["gates"]


def test_steps_shuffled_within_sequences_fail_the_memory_gate(halves):
    train, other = halves
    bad = other.copy()
    cols = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws", "cbwd"]
    order = np.lexsort((np.random.default_rng(0).random(len(bad)), pd.factorize(bad["date"])[0]))
    bad[cols] = bad.iloc[order][cols].to_numpy()
    got = statuses(suite_run(train, bad))
    assert got["lag1_autocorrelation"] == "fail"
    assert got["label_transitions"] == "fail"
    assert got["length_similarity"] == got["gap_similarity"] == "pass"  # only memory broke
    schema = detect(train)
    summaries = [
        sq.summaries(sq.Events.of(d, "date", "time", schema), schema, ["TEMP", "DEWP"], [])
        for d in (other, bad)
    ]
    assert sq.detection_auc(*summaries, seed=0) > 0.8  # whole sequences tell them apart


def test_broken_lengths_and_gaps_fail_their_gates(halves):
    train, other = halves
    rng = np.random.default_rng(1)
    short = other[rng.random(len(other)) < 0.5].reset_index(drop=True)  # half the hours
    got = statuses(suite_run(train, short))
    assert got["length_similarity"] == "fail"
    assert got["gap_similarity"] == "fail"


def test_a_table_without_a_sequence_is_skipped(halves):
    train, other = halves
    suite = validate.load_suite("sequential")
    verdict = validate.run(suite, train, train.iloc[:0], other, detect(train))
    assert {g["status"] for g in verdict["gates"]} == {"skipped"}


def test_rare_columns_are_not_judged_and_lag1_ignores_between_sequence_level():
    """A value constant within each day but different between days has no within-day
    memory to judge; a column that changes in too few days is left out."""
    days = pd.date_range("2020-01-01", periods=40, freq="D")
    t = pd.DatetimeIndex([d + pd.Timedelta(hours=h) for d in days for h in range(24)])
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "time": t})
    df["level"] = np.repeat(rng.normal(size=40), 24)
    df["walk"] = rng.normal(size=len(df)).cumsum()
    df["rare"] = 0.0
    df.loc[5, "rare"] = 1.0
    schema = detect(df)
    ev = sq.Events.of(df, "date", "time", schema)
    assert np.isnan(sq.lag1(ev, "level", schema))
    assert sq.lag1(ev, "walk", schema) > 0.5
    errors = sq.lag1_errors(ev, ev, schema, ["level", "walk", "rare"])
    assert errors == {"walk": 0.0}


def test_step_marginals_pass_real_days_and_flag_days_sorted_within(halves):
    """Each day's readings sorted (coldest first): every column's overall shape is kept,
    but the first and last hours are far from the source's; the worst position says where."""
    from synthgen.metrics import sequence_steps as ss

    train, other = halves
    schema = detect(train)
    ctx = lambda syn: Context(train, train.iloc[:0], syn, schema, options=SEQ)  # noqa: E731
    real = ss.step_marginal_similarity(ctx(other))
    assert real.value > 0.85 and real.details["positions"] == ss.MAX_STEPS + 1
    sorted_days = other.copy()
    for c in ("TEMP", "PRES", "DEWP", "pm2.5", "Iws"):
        sorted_days[c] = other.groupby("date")[c].transform(lambda x: np.sort(x.to_numpy()))
    bad = ss.step_marginal_similarity(ctx(sorted_days))
    assert bad.value < real.value - 0.05
    worst = bad.details["worst"]
    assert worst["position"] in ("step 1", "last") and worst["score"] < 0.5
    assert ss.step_marginal_similarity(ctx(other.drop(columns="time"))).skipped
