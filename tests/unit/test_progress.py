"""Long stages say where they are; a DP run's default epochs fit its budget and its table."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from synthgen import progress
from synthgen.generators import create
from synthgen.generators.nn.dpsgd import DP_TARGET_NOISE, default_epochs
from synthgen.privacy import DPPlan
from synthgen.privacy.accounting import PrivacyLedger, default_delta


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()  # not a terminal: no bar, plain lines
    with progress.Progress("training ctgan", 4, unit="epoch", stream=out, every=0) as p:
        for epoch in range(1, 5):
            p.update(epoch)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("training ctgan: epoch 1 of 4, ") and "elapsed" in lines[0]
    assert "left" in lines[1] and "left" not in lines[-1]  # an estimate of the rest
    with progress.quiet(), progress.Progress("x", 2, stream=out, every=0) as p:
        p.update(1)
    assert len(out.getvalue().splitlines()) == 4  # --quiet: nothing


def test_lines_come_every_few_seconds_not_every_step():
    out = io.StringIO()
    with progress.Progress("sampling", 10**6, unit="row", stream=out, every=3600) as p:
        for done in range(0, 10**6, 10**4):
            p.update(done)
    assert out.getvalue() == ""
    assert progress.duration(4) == "4s" and progress.duration(64) == "1m04s"
    assert progress.duration(7500) == "2h05m"


def test_unknown_total_says_so_without_an_estimate():
    p = progress.Progress("training", None, unit="epoch", stream=io.StringIO())
    p.done = 7
    assert p.line(30.0) == "training: epoch 7, 30s elapsed"


def ledger(eps: float, n: int) -> PrivacyLedger:
    return PrivacyLedger(eps, default_delta(n))


def test_default_dp_epochs_follow_the_budget_and_the_table():
    small = default_epochs(4088, 500, ledger(1.0, 4088), 0.006, 300)
    more_budget = default_epochs(4088, 500, ledger(10.0, 4088), 0.006, 300)
    assert 1 <= small < more_budget
    # the noise the default stops at
    steps = more_budget * 9
    assert ledger(10.0, 4088).sgd_noise(500 / 4088, steps) <= DP_TARGET_NOISE + 1e-6
    # a big table: time decides (about three minutes of DP-SGD), never zero epochs
    assert default_epochs(1_000_000, 500, ledger(10.0, 10**6), 0.006, 300) == 1
    assert default_epochs(300, 100, ledger(50.0, 300), 0.002, 7) <= 7  # the ceiling holds


@pytest.mark.slow
def test_a_dp_fit_without_epochs_uses_the_default():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    plan = DPPlan.build(3.0, None, len(df), bounds={"x": (-5.0, 5.0)})
    gen = create("tvae", batch_size=200).fit(df, seed=0, privacy=plan)
    # chosen after the encoder's summary spent its share, so at most what a fresh budget gets
    most = default_epochs(600, 200, ledger(3.0, 600), gen.dp_seconds_per_row, 300)
    sgd = [m for m in plan.to_json()["mechanisms"] if m["mechanism"] == "DP-SGD"]
    assert sgd and 1 <= sgd[0]["detail"]["epochs"] == len(gen.history_) <= most < 300
