"""Differential privacy: the accounting, the DP summaries, and DP fits that keep their word."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import PrivacyBudgetError
from synthgen.generators import create
from synthgen.privacy import DPPlan, PrivacyLedger, gdp_epsilon, gdp_mu
from synthgen.privacy.accounting import gdp_delta
from synthgen.privacy.marginals import release
from synthgen.schema import detect


def test_gdp_conversions_round_trip_and_are_monotone() -> None:
    for eps, delta in [(0.5, 1e-6), (1.0, 1e-5), (8.0, 1e-7)]:
        mu = gdp_mu(eps, delta)
        assert gdp_delta(mu, eps) <= delta * (1 + 1e-6)
        assert gdp_epsilon(mu, delta) == pytest.approx(eps, rel=1e-5)
    assert gdp_mu(1.0, 1e-6) < gdp_mu(3.0, 1e-6) < gdp_mu(3.0, 1e-4)


def test_ledger_refuses_a_spend_beyond_the_budget() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    whole = gdp_mu(1.0, 1e-6)
    ledger.spend_gaussian("a", "x", 0.8 * whole)
    with pytest.raises(PrivacyBudgetError, match="past its budget"):
        ledger.spend_gaussian("b", "y", 0.7 * whole)  # 0.64 + 0.49 > 1 in mu^2
    ledger.spend_gaussian("b", "y", 0.6 * whole * (1 - 1e-6))
    assert ledger.epsilon_spent == pytest.approx(1.0, rel=1e-4)
    assert ledger.to_json()["mechanisms"][1]["reads"] == "y"
    with pytest.raises(PrivacyBudgetError):
        ledger.spend_delta("c", "z", 1e-7)


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Paris", "Nice"], n, p=[0.5, 0.3, 0.2]).astype(object)
    city[7] = "Once-ville"  # held by a single row: must never be released
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "age": age,
            "gain": np.where(rng.random(n) < 0.9, 0, rng.integers(1, 20000, n)),
            "income": np.round(age * 900 + rng.normal(0, 8000, n), 2),
            "city": city,
            "member": rng.random(n) < 0.3,
        }
    )


def test_release_keeps_point_masses_and_drops_a_label_held_once() -> None:
    df = _table()
    kinds = {"age": "integer", "gain": "integer", "income": "numeric"}
    kinds |= {"city": "categorical", "member": "boolean"}
    frame = df.astype({"city": object, "member": object})
    s = release(frame, kinds, {}, mu=1.0, delta_label=1e-7, rng=np.random.default_rng(1))
    assert "Once-ville" not in s.labels["city"].labels
    assert set(s.labels["city"].labels) == {"Lyon", "Paris", "Nice"}
    draws = np.round(s.numeric["gain"].sample(20_000, np.random.default_rng(2)))
    assert 0.85 < float(np.mean(draws == 0)) < 0.95  # the point mass at zero survives
    assert abs(s.n_rows - len(df)) < 0.05 * len(df)
    # bounds are powers of two around the data, never a raw value (an outer bin holding
    # fewer rows than the threshold, ~5 sigma, may be cut: here 20 rows in [4096, 8192))
    lo, hi = s.numeric["income"].lo, s.numeric["income"].hi
    assert lo <= df.income.quantile(0.02) and hi >= df.income.quantile(0.99)
    assert np.log2(hi) == int(np.log2(hi))


@pytest.mark.parametrize("name", ["copula", "tvae", "ctgan"])
def test_dp_fit_spends_within_budget_and_never_emits_a_rare_label(name: str) -> None:
    df = _table(2000)
    schema = detect(df, seed=0)
    params = {} if name == "copula" else {"epochs": 2, "batch_size": 200}
    spends = []
    for _ in range(2):
        plan = DPPlan.build(2.0, None, len(df))
        gen = create(name, **params).fit(df, schema, seed=5, privacy=plan)
        assert plan.ledger.epsilon_spent <= 2.0
        assert plan.ledger.delta_spent <= plan.delta
        spends.append(json.dumps(plan.to_json(), sort_keys=True, default=str))
        syn = gen.sample(3000, seed=1)
        assert "Once-ville" not in set(syn["city"])
    assert spends[0] == spends[1]  # same seed, same spend
    mech = [m["mechanism"] for m in json.loads(spends[0])["mechanisms"]]
    assert "gaussian histograms" in mech
    assert ("DP-SGD" in mech) == (name != "copula")


def test_dp_copula_is_reproducible_and_saves_no_raw_statistics(tmp_path) -> None:
    df = _table(2000)
    schema = detect(df, seed=0)
    a = create("copula").fit(df, schema, seed=3, privacy=DPPlan.build(1.0, None, len(df)))
    b = create("copula").fit(df, schema, seed=3, privacy=DPPlan.build(1.0, None, len(df)))
    pd.testing.assert_frame_equal(a.sample(500, seed=9), b.sample(500, seed=9))
    a.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["privacy"]["epsilon_spent"] <= 1.0
    assert abs(config["n_rows"] - len(df)) < 0.1 * len(df)
    saved = json.loads((tmp_path / "m" / "schema.json").read_text())
    assert all(c["cardinality"] == 0 for c in saved["columns"])


def test_public_bounds_and_categories_spend_nothing_on_discovery() -> None:
    df = _table(2000)
    schema = detect(df, seed=0)
    plan = DPPlan.build(
        1.0,
        None,
        len(df),
        bounds={"age": (18, 89), "gain": (0, 20000), "income": (-50_000, 150_000)},
        categories={"city": ["Lyon", "Paris", "Nice", "Rome"], "member": [True, False]},
    )
    gen = create("copula").fit(df, schema, seed=0, privacy=plan)
    syn = gen.sample(4000, seed=0)
    assert syn["age"].between(18, 89).all()
    assert set(syn["city"]) <= {"Lyon", "Paris", "Nice", "Rome"}
    mech = [m["mechanism"] for m in plan.to_json()["mechanisms"]]
    assert "label threshold" not in mech  # every label list was given


def test_a_budget_too_small_for_the_steps_is_refused() -> None:
    df = _table(500)
    with pytest.raises(PrivacyBudgetError):
        create("tvae", epochs=200, batch_size=400).fit(
            df, detect(df), seed=0, privacy=DPPlan.build(1e-3, None, len(df))
        )


def test_a_point_mass_beside_an_empty_value_keeps_its_own_value() -> None:
    """hours-per-week = 40 for half of Adult, 39 for almost nobody: draws from the DP
    marginal put that half on 40, not spread over 39 and 40."""
    r = np.random.default_rng(0)
    hours = np.where(r.random(20_000) < 0.5, 40, 2 * r.integers(10, 31, 20_000))  # evens
    frame = pd.DataFrame({"hours": hours.astype(float)})
    s = release(frame, {"hours": "integer"}, {}, mu=1.0, delta_label=1e-7, rng=r)
    levels = np.random.default_rng(1).random(50_000)
    draws = np.rint(s.numeric["hours"].quantiles(levels, exact=True))  # as the copula's knots
    share40 = float(np.mean(draws == 40))
    assert abs(share40 - float(np.mean(hours == 40))) < 0.02
    assert float(np.mean(draws == 39)) < 0.01 and float(np.mean(draws % 2 == 1)) < 0.02


def test_dp_copula_orders_labels_as_without_dp_and_keeps_their_relation() -> None:
    """The copula ties labels to numbers through one ordering of the labels; under DP it
    is the same as without (most frequent first), so a relation that ordering makes
    monotone (the commonest label has the high values) survives."""
    r = np.random.default_rng(0)
    n = 20_000
    label = r.choice(["b", "a", "c"], n, p=[0.6, 0.25, 0.15])  # alphabetical: b in the middle
    value = np.where(label == "b", r.normal(10, 1, n), r.normal(0, 1, n))
    df = pd.DataFrame({"label": label, "value": value})
    plan = DPPlan.build(10.0, None, n)
    syn = create("copula").fit(df, seed=0, privacy=plan).sample(n, seed=1)
    assert syn.loc[syn.label == "b", "value"].mean() > 7.5  # lost: about 6, the overall mean
    assert syn.loc[syn.label != "b", "value"].mean() < 3.6
