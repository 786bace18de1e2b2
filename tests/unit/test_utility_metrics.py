"""Utility metrics (train on synthetic, test on real): references and real-data behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from synthgen.io import read_table
from synthgen.metrics import utility as U
from synthgen.metrics.base import REGISTRY, Context
from synthgen.schema import detect

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TSTR = ("tstr_f1", "tstr_auc", "tstr_r2")


def data_file(name: str) -> Path:
    """A public data set: the bundled copy, else the one beside the repository."""
    for p in (Path(__file__).resolve().parents[2] / "data" / name, SHARED / name):
        if p.exists():
            return p
    pytest.skip(f"public data set {name} not found")


def compute(name: str, ctx: Context):
    return REGISTRY[name].compute(ctx)


def three_way(df: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """Disjoint train / synthetic stand-in / holdout (40% / 40% / 20%)."""
    idx = np.random.default_rng(seed).permutation(len(df))
    a, b = int(0.4 * len(df)), int(0.8 * len(df))
    return tuple(df.iloc[i].reset_index(drop=True) for i in (idx[:a], idx[a:b], idx[b:]))


@pytest.fixture(scope="module")
def adult_parts() -> tuple[pd.DataFrame, ...]:
    df = read_table(data_file("adult.csv"), na_values=["?"], strip_whitespace=True)
    return three_way(df)


@pytest.fixture(scope="module")
def adult_schema(adult_parts):
    return detect(adult_parts[0])


def test_real_split_matches_the_real_ceiling(adult_parts, adult_schema):
    train, other, holdout = adult_parts
    ctx = Context(train, holdout, other, adult_schema, target="income", seed=0)
    f1 = compute("tstr_f1", ctx)
    assert f1.skipped is None and 0.6 < f1.value < 0.8
    assert abs(f1.details["gap"]) < 0.05 and f1.details["trtr"] == pytest.approx(f1.value, abs=0.05)
    assert f1.details["positive_class"] == ">50K"  # the minority class of the real train rows
    assert f1.details["ratio"] == pytest.approx(f1.value / f1.details["trtr"])
    auc = compute("tstr_auc", ctx)
    assert auc.value > 0.88 and abs(auc.details["gap"]) < 0.02
    assert "tstr_f1" in compute("tstr_r2", ctx).skipped


def test_shuffled_labels_lose_the_signal(adult_parts, adult_schema):
    train, other, holdout = adult_parts
    shuffled = other.copy()
    shuffled["income"] = np.random.default_rng(1).permutation(shuffled["income"].to_numpy())
    ctx = Context(train, holdout, shuffled, adult_schema, target="income", seed=0)
    f1, auc = compute("tstr_f1", ctx), compute("tstr_auc", ctx)
    assert f1.value < f1.details["trtr"] - 0.3 and f1.details["gap"] > 0.3
    assert auc.value < 0.65


def test_both_metrics_share_one_pair_of_fits(monkeypatch, adult_parts, adult_schema):
    calls = []
    real_fits = U._compute_fits
    monkeypatch.setattr(U, "_compute_fits", lambda ctx: calls.append(1) or real_fits(ctx))
    train, other, holdout = (p.iloc[:2000] for p in adult_parts)
    ctx = Context(train, holdout, other, adult_schema, target="income", seed=0)
    for name in TSTR:
        compute(name, ctx)
    assert len(calls) == 1


def test_regression_target_uses_r2():
    df = read_table(data_file("insurance.csv"))
    train, other, holdout = three_way(df)
    ctx = Context(train, holdout, other, detect(train), target="charges", seed=0)
    r2 = compute("tstr_r2", ctx)
    assert r2.skipped is None and r2.details["task"] == "regression"
    assert r2.value > 0.7 and r2.details["trtr"] > 0.7 and abs(r2.details["gap"]) < 0.1
    assert compute("tstr_f1", ctx).skipped == "target is numeric: see tstr_r2"
    assert compute("tstr_auc", ctx).skipped == "target is numeric: see tstr_r2"


def test_no_target_or_no_holdout_is_skipped(adult_parts, adult_schema):
    train, other, holdout = (p.iloc[:500] for p in adult_parts)
    for target, hold, reason in (
        (None, holdout, "no target column given"),
        (
            "income",
            holdout.iloc[:0],
            "needs a holdout (real rows not used for training) to test on",
        ),
    ):
        ctx = Context(train, hold, other, adult_schema, target=target, seed=0)
        for name in TSTR:
            res = compute(name, ctx)
            assert res.value is None and res.skipped == reason


def _toy(n: int, seed: int, classes: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "blue"], n)
    level = np.digitize(x + (colour == "red") * 0.5, np.linspace(-1, 1, classes + 1)[1:-1])
    return pd.DataFrame({"x": x, "colour": colour, "y": level.astype(int)})


def test_small_integer_target_is_multiclass_with_macro_scores():
    train, synth, holdout = _toy(600, 0, 3), _toy(600, 1, 3), _toy(300, 2, 3)
    ctx = Context(train, holdout, synth, detect(train), target="y", seed=0)
    assert U.target_task(ctx) == "classification"
    f1, auc = compute("tstr_f1", ctx), compute("tstr_auc", ctx)
    assert "positive_class" not in f1.details and 0.5 < f1.value <= 1
    assert 0.7 < auc.value <= 1 and compute("tstr_r2", ctx).skipped


def test_one_class_synthetic_gives_a_constant_model():
    label = {0: "low", 1: "high"}
    train, holdout = (
        _toy(n, seed).assign(y=lambda d: d.y.map(label)) for n, seed in ((400, 0), (200, 2))
    )
    synth = train.assign(y="low")
    ctx = Context(train, holdout, synth, detect(train), target="y", seed=0)
    f1, auc = compute("tstr_f1", ctx), compute("tstr_auc", ctx)
    assert auc.value == pytest.approx(0.5)  # the same score for every row
    positive = f1.details["positive_class"]
    truth = holdout["y"] == positive
    predicted = np.full(len(holdout), positive == "low")  # every row called "low"
    assert f1.value == pytest.approx(f1_score(truth, predicted, zero_division=0.0))
    assert f1.details["trtr"] > f1.value


def test_same_seed_same_scores(adult_parts, adult_schema):
    train, other, holdout = (p.iloc[:1500] for p in adult_parts)
    runs = [
        compute("tstr_auc", Context(train, holdout, other, adult_schema, target="income", seed=4))
        for _ in range(2)
    ]
    assert runs[0].value == runs[1].value


def test_metrics_declare_group_direction_range():
    for name in TSTR:
        m = REGISTRY[name]
        assert m.group == "utility" and m.direction == "higher" and m.range[1] == 1.0
        assert m.summary and m.compute.__doc__


def test_a_feature_missing_everywhere_in_the_synthetic_rows_is_left_out():
    train, holdout = _toy(400, 0), _toy(200, 2)
    synth = _toy(400, 1).assign(x=np.nan)
    ctx = Context(train, holdout, synth, detect(train), target="y", seed=0)
    res = compute("tstr_auc", ctx)
    assert res.skipped is None and 0.4 < res.value < res.details["trtr"]
