"""Singling out, linkability and inference risks (Anonymeter-style) on real Adult data: a copy
must be flagged, unseen real rows must not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.metrics import REGISTRY, Context
from synthgen.metrics.anonymity import risk_details, wilson
from synthgen.metrics.evidence import decide
from synthgen.metrics.singling import (
    EQ,
    GE,
    ISNA,
    LE,
    NE,
    TRUE,
    control_successes,
    count_matches,
    few_matches,
)
from synthgen.schema import detect

RISKS = ("singling_out_risk", "linkability_risk", "inference_risk")


@pytest.fixture(scope="module")
def contexts(adult: pd.DataFrame) -> dict[str, Context]:
    """Train/holdout 80/20 of 6k real rows; synthetic = a copy of train, or 4.8k other
    real rows (a perfect generator that never saw the training rows)."""
    df = adult
    order = np.random.default_rng(11).permutation(len(df))
    train, holdout = df.iloc[order[:4800]], df.iloc[order[4800:6000]]
    schema = detect(df)
    return {
        name: Context(train, holdout, syn, schema, target="income", seed=1)
        for name, syn in (("copy", train.copy()), ("clean", df.iloc[order[6000:10800]]))
    }


@pytest.mark.parametrize("name", RISKS)
def test_copy_of_train_is_flagged(contexts: dict[str, Context], name: str):
    result = REGISTRY[name].compute(contexts["copy"])
    d = result.details
    assert d["ci_low"] > 0.05, d
    assert d["ci_low"] <= result.value <= d["ci_high"]
    assert d["main_rate"] > d["control_rate"] and d["attack_beats_baseline"]
    assert d["n_attacks"] >= 1200  # every row the attack can use, not 500
    assert decide(result.evidence, "<=", 0.05)["status"] == "fail"


@pytest.mark.parametrize("name", RISKS)
def test_disjoint_real_split_is_not_flagged(contexts: dict[str, Context], name: str):
    result = REGISTRY[name].compute(contexts["clean"])
    # (80/20 split: the singling-out control is corrected for size and errs high, so the
    # excess can sit a little below 0; never above)
    assert result.details["ci_low"] <= 0.0, result.details
    assert -0.05 <= result.value <= 0.05
    assert decide(result.evidence, "<=", 0.05)["status"] == "pass"


def test_singling_out_reports_both_modes(contexts: dict[str, Context]):
    ctx = contexts["copy"]
    ctx.options["singling_out_risk"] = {"n_attacks": 120, "n_cols": 2}
    try:
        d = REGISTRY["singling_out_risk"].compute(ctx).details
    finally:
        del ctx.options["singling_out_risk"]
    assert set(d["parts"]) == {"univariate", "multivariate"}
    assert all(p["n_attacks"] == 120 for p in d["parts"].values())
    assert d["n_attacks"] == 240  # the two modes are pooled
    assert d["resplit_se"] > 0


def test_inference_uses_declared_secrets(contexts: dict[str, Context]):
    ctx = contexts["clean"]
    ctx.sensitive = ["age", "sex"]
    try:
        d = REGISTRY["inference_risk"].compute(ctx).details
    finally:
        ctx.sensitive = []
    assert set(d["parts"]) == {"age", "sex"}


def test_count_matches_agrees_with_pandas():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.integers(0, 5, 300).astype(float), "b": rng.normal(size=300)})
    df.loc[::17, "a"] = np.nan
    t = np.ascontiguousarray(df.to_numpy().T)
    cols = np.array([[0, 1], [0, 1], [1, 0], [0, 1]])
    ops = np.array([[EQ, LE], [ISNA, GE], [GE, NE], [NE, TRUE]])
    vals = np.array([[2.0, 0.0], [0.0, 0.5], [-0.2, 3.0], [1.0, 0.0]])
    expected = [
        ((df.a == 2) & (df.b <= 0)).sum(),
        (df.a.isna() & (df.b >= 0.5)).sum(),
        ((df.b >= -0.2) & (df.a != 3) & df.a.notna()).sum(),
        ((df.a != 1) & df.a.notna()).sum(),
    ]
    assert count_matches(t, cols, ops, vals).tolist() == expected


def test_few_matches_lists_the_rows_of_rare_queries():
    t = np.array([[1.0, 2, 2, 3, 3, 3]])
    cols, ops = np.zeros((3, 1), int), np.full((3, 1), EQ)
    counts, qid, row = few_matches(t, (cols, ops, np.array([[1.0], [2.0], [3.0]])), cap=2)
    assert counts.tolist() == [1, 2, 3]
    assert sorted(zip(qid.tolist(), row.tolist(), strict=True)) == [(0, 0), (1, 1), (1, 2)]


def test_wilson_and_risk_formula():
    centre, half = wilson(50, 100)
    assert centre == pytest.approx(0.5) and half == pytest.approx(0.0960, abs=1e-3)
    centre, half = wilson(0, 500)
    assert 0 < centre < 0.01 and centre - half == pytest.approx(0.0, abs=1e-12)
    d, ev = risk_details(500, 400, 500, 100, 5)
    assert d["risk"] == pytest.approx(0.8 - 0.2)  # the excess success, not normalised
    assert d["normalised_risk"] == pytest.approx(0.6 / 0.8)
    assert d["ci_low"] < d["risk"] < d["ci_high"]
    # the imbalanced secret: both rates ~0.91, so the excess is small and its
    # interval narrow, where (m - c) / (1 - c) divides by 0.09
    d, ev = risk_details(1700, 1547, 1700, 1540, 5)
    assert d["ci_high"] - d["ci_low"] < 0.05
    assert decide(ev, "<=", 0.05)["status"] == "pass"


def test_control_size_correction():
    counts = np.array([0, 1, 1, 2, 0, 5, 1])
    assert control_successes(counts, 1000, 1000) == 3.0
    rng = np.random.default_rng(0)
    w = np.exp(rng.normal(np.log(1 / 4000), 1.0, 3000))  # query weights in the population
    truth = np.sum(4000 * w * (1 - w) ** 3999)
    est = control_successes(rng.binomial(1000, w), 1000, 4000)
    assert est == pytest.approx(truth, rel=0.15)
