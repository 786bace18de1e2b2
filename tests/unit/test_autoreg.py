"""autoreg: counted seeds, conditions by importance resampling, budgets, DP, damaged models."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import UsageError
from synthgen.generators import Generator, create

FAST = {"epochs": 4}


@pytest.fixture(scope="module")
def parity() -> pd.DataFrame:
    """``kind`` follows ``digit`` exactly (even / odd) and comes after it in the order, so
    conditioning on ``kind`` needs the model's reverse dependency."""
    rng = np.random.default_rng(0)
    n = 3000
    digit = rng.integers(0, 10, n)
    return pd.DataFrame(
        {
            "digit": digit,
            "x": rng.normal(digit * 10.0, 1.0),
            "kind": np.where(digit % 2 == 0, "even", "odd"),
            "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
        }
    )


@pytest.fixture(scope="module")
def fitted(parity: pd.DataFrame) -> Generator:
    return create("autoreg", epochs=12).fit(parity, seed=0)


def test_rows_do_not_depend_on_the_chunk_size(fitted: Generator):
    a = fitted.sample(700, seed=5)
    for chunk in (1, 64, 333):
        pd.testing.assert_frame_equal(a, fitted.sample(700, seed=5, chunk_size=chunk))
    parts = list(fitted.iter_sample(700, seed=5, chunk_size=100))
    pd.testing.assert_frame_equal(a, pd.concat(parts).reset_index(drop=True))
    assert not a.equals(fitted.sample(700, seed=6))


def test_fit_is_deterministic_under_epochs(parity: pd.DataFrame):
    a = create("autoreg", **FAST).fit(parity, seed=3).sample(200, seed=1)
    b = create("autoreg", **FAST).fit(parity, seed=3).sample(200, seed=1)
    c = create("autoreg", **FAST).fit(parity, seed=4).sample(200, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_a_condition_on_a_later_column_reaches_back(fitted: Generator):
    """No rejection: odd digits are drawn, weighed by p(kind = even | digit) ~ 0, and
    resampled away."""
    s = fitted.sample(1000, seed=1, conditions={"kind": "even"})
    assert (s["kind"] == "even").all()
    assert (s["digit"] % 2 == 0).mean() > 0.97
    counts = s["digit"].value_counts()
    assert all(counts.get(d, 0) > 120 for d in (0, 2, 4, 6, 8))  # each even digit, evenly


def test_a_leading_condition_is_exact_and_keeps_the_conditional(fitted: Generator):
    s = fitted.sample(1000, seed=1, conditions={"digit": 4})
    assert (s["digit"] == 4).all() and (s["kind"] == "even").mean() > 0.97
    assert s["x"].mean() == pytest.approx(40, abs=3)  # all rows: 45


def test_sets_ranges_and_dates(fitted: Generator):
    s = fitted.sample(
        500,
        seed=2,
        conditions={"digit": [1, 3], "x": {"min": 12.5}, "when": {"max": "2021-06-30"}},
    )
    assert s["digit"].isin([1, 3]).all() and (s["x"] >= 12.5).all()
    assert (s["when"] <= pd.Timestamp("2021-06-30")).all()
    assert (s["digit"] == 3).mean() > 0.8  # x >= 12.5 is rare for 1 (mean 10), common for 3


def test_conditions_the_model_cannot_meet_are_refused(fitted: Generator):
    with pytest.raises(UsageError, match="no such value") as err:
        fitted.sample(10, conditions={"kind": "prime"})
    assert "valid values: 'even', 'odd'" in str(err.value)
    with pytest.raises(UsageError, match="did you mean 'even'"):  # the spelling, not the case
        fitted.sample(10, conditions={"kind": "Even"})
    with pytest.raises(UsageError, match="no value the model learnt"):
        fitted.sample(10, conditions={"x": {"min": 1e6}})
    with pytest.raises(UsageError, match="range needs a number or date"):
        fitted.sample(10, conditions={"kind": {"min": 1}})


def test_numbers_are_not_copied_from_the_training_rows(parity: pd.DataFrame, fitted: Generator):
    s = fitted.sample(3000, seed=9)
    assert not np.isin(s["x"].to_numpy(), parity["x"].to_numpy()).any()


def test_a_time_budget_is_honest(parity: pd.DataFrame):
    big = pd.concat([parity] * 4, ignore_index=True)
    t0 = time.perf_counter()
    gen = create("autoreg", epochs=500, time_budget_s=2.0).fit(big, seed=0)
    took = time.perf_counter() - t0
    assert 1 <= len(gen.history_) < 500
    assert gen.history_[-1]["seconds"] <= 2.0 * 1.3 and took < 8


def test_dp_training_spends_within_its_budget(parity: pd.DataFrame, tmp_path: Path):
    from synthgen.privacy import DPPlan

    plan = DPPlan.build(5.0, None, len(parity))
    gen = create("autoreg", epochs=1, batch_size=256).fit(parity, seed=0, privacy=plan)
    assert 0 < plan.ledger.epsilon_spent <= 5.0
    kinds = [m["kind"] for m in plan.to_json()["mechanisms"]]
    assert "sgd" in kinds and "gaussian" in kinds
    assert all("loss" not in h for h in gen.history_)  # no loss on real rows is kept
    s = gen.sample(200, seed=0)
    assert set(s["kind"]) <= {"even", "odd"}
    gen.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["privacy"] is not None


def test_damaged_models_are_refused_with_the_place(fitted: Generator, tmp_path: Path):
    from safetensors.numpy import load_file, save_file

    folder = fitted.save(tmp_path / "m")
    weights = folder / "weights.safetensors"
    arrays = load_file(str(weights))
    arrays["net.w1"] = arrays["net.w1"][:, :-1].copy()
    save_file(arrays, str(weights))
    with pytest.raises(UsageError, match=r"net\.w1: shape"):
        Generator.load(folder)
    arrays = load_file(str(fitted.save(tmp_path / "m2") / "weights.safetensors"))
    arrays["codec.edges.x"] = arrays["codec.edges.x"][::-1].copy()
    save_file(arrays, str(tmp_path / "m2" / "weights.safetensors"))
    with pytest.raises(UsageError, match="out of order"):
        Generator.load(tmp_path / "m2")
    enc = json.loads((fitted.save(tmp_path / "m3") / "encoder.json").read_text())
    enc["generator_state"]["codec"][2]["kind"] = "exact"
    (tmp_path / "m3" / "encoder.json").write_text(json.dumps(enc))
    with pytest.raises(UsageError, match=r"codec\.2\.kind"):
        Generator.load(tmp_path / "m3")


def test_the_default_schedule_is_about_min_steps_in_whole_epochs():
    from synthgen.generators.autoreg.training import schedule_epochs

    # Adult's 23k training rows in batches of 1024: 23 steps an epoch, 8 epochs (184 steps)
    assert schedule_epochs(23_443, 1024, 180) == 8
    # 90k rows: 88 steps an epoch; 2 epochs (176 steps), not 3 (264)
    assert schedule_epochs(90_000, 1024, 180) == 2
    # more rows than min_steps batches: still one whole epoch
    assert schedule_epochs(1_000_000, 1024, 180) == 1
    # small tables: many epochs
    assert schedule_epochs(553, 138, 180) == 36
