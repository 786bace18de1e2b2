"""The privacy ledger composes tightly and never reports less than the true spend, checked
against an independent accountant (Google's dp-accounting, privacy loss distributions)."""

from __future__ import annotations

import math

import pytest

from synthgen.privacy import DPPlan, PrivacyLedger, gdp_epsilon, gdp_mu

pld = pytest.importorskip("dp_accounting.pld.privacy_loss_distribution")


def _pld_epsilon(parts: list[tuple[float, float, int]], delta: float, pessimistic: bool) -> float:
    """(noise std with sensitivity 1, sampling probability, repetitions), composed."""
    out = None
    for std, q, k in parts:
        one = pld.from_gaussian_mechanism(
            std,
            pessimistic_estimate=pessimistic,
            sampling_prob=q,
            value_discretization_interval=2e-4,
            use_connect_dots=pessimistic,
        )
        one = one.self_compose(k) if k > 1 else one
        out = one if out is None else out.compose(one)
    assert out is not None
    return float(out.get_epsilon_for_delta(delta))


SETTINGS = [
    # (Gaussian mus, DP-SGD runs as (noise multiplier, sample rate, steps), delta)
    ([0.3], [], 1e-6),
    ([0.2, 0.1, 0.25], [], 1e-6),
    ([1.0, 1.5], [], 1e-7),
    ([0.4], [(1.0, 0.02, 500)], 1e-6),
    ([0.1, 0.2], [(1.5, 0.01, 2000)], 1e-6),
    ([], [(0.9, 0.05, 300), (2.0, 0.01, 800)], 1e-5),
]


@pytest.mark.parametrize(("mus", "runs", "delta"), SETTINGS)
def test_the_ledger_never_reports_less_than_the_true_spend(mus, runs, delta) -> None:
    ledger = PrivacyLedger(100.0, delta)
    for i, mu in enumerate(mus):
        ledger.spend_gaussian(f"g{i}", "x", mu)
    for i, (sigma, q, steps) in enumerate(runs):
        ledger.spend_sgd(f"s{i}", "rows", sigma, q, steps)
    ours = ledger.epsilon_spent
    parts = [(1.0 / m, 1.0, 1) for m in mus] + [(s, q, k) for s, q, k in runs]
    lower = _pld_epsilon(parts, delta, pessimistic=False)  # the true spend is above this
    upper = _pld_epsilon(parts, delta, pessimistic=True)  # ... and below this
    assert ours >= lower
    assert ours >= upper - 0.01 * upper - 0.01  # never optimistic beyond numerical error
    assert ours <= upper * 1.03 + 0.02  # and tight: within a few % of the best bound
    # tighter than adding each mechanism's own epsilon (the old sequential composition)
    if len(mus) + len(runs) > 1:
        sequential = sum(s.epsilon for s in ledger.spends)
        assert ours < sequential


def test_gaussian_parts_compose_exactly_in_quadrature() -> None:
    ledger = PrivacyLedger(10.0, 1e-6)
    for mu in (0.3, 0.4):
        ledger.spend_gaussian("g", "x", mu)
    assert ledger.mu == pytest.approx(0.5)
    assert ledger.epsilon_spent == pytest.approx(gdp_epsilon(0.5, 1e-6))


def test_noise_falls_by_the_expected_factor_at_equal_budget() -> None:
    """Two equal Gaussian releases in one budget: each gets mu / sqrt(2) of the whole budget's
    mu, where splitting (epsilon, delta) in halves gave gdp_mu(epsilon / 2, delta / 2)."""
    for eps in (1.0, 3.0):
        delta = 1e-6
        ledger = PrivacyLedger(eps, delta)
        tight = ledger.gaussian_mu_left() / math.sqrt(2)
        sequential = gdp_mu(eps / 2, delta / 2)
        assert tight / sequential > 1.3  # sigma = sensitivity / mu: ~1.4x less noise
        ledger.spend_gaussian("a", "x", tight)
        assert ledger.gaussian_mu_left() == pytest.approx(tight, rel=1e-6)
        ledger.spend_gaussian("b", "y", ledger.gaussian_mu_left())
        assert ledger.epsilon_spent == pytest.approx(eps, rel=1e-4)


def test_dp_sgd_gets_less_noise_than_with_sequential_composition() -> None:
    from opacus.accountants.utils import get_noise_multiplier

    eps, delta, q, steps = 3.0, 1e-6, 0.02, 500
    ledger = PrivacyLedger(eps, delta)
    share = 0.2
    ledger.spend_gaussian("summary", "x", ledger.gaussian_mu_left() * math.sqrt(share))
    sigma = ledger.sgd_noise(q, steps)
    old = get_noise_multiplier(
        target_epsilon=eps * (1 - share), target_delta=delta * (1 - share),
        sample_rate=q, steps=steps, accountant="rdp",
    )  # fmt: skip
    assert sigma < old
    ledger.spend_sgd("sgd", "rows", sigma, q, steps)
    assert eps * 0.97 <= ledger.epsilon_spent <= eps  # the budget is used, not crossed


def test_a_copula_run_reported_as_epsilon_one_spends_one() -> None:
    """Before, the parts were added: a 'epsilon 1' copula spent about 0.7 of real budget."""
    import numpy as np
    import pandas as pd

    from synthgen.generators import create
    from synthgen.schema import detect

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.choice(["x", "y"], 2000)})
    plan = DPPlan.build(1.0, 1e-6, len(df))
    create("copula").fit(df, detect(df), seed=0, privacy=plan)
    assert plan.ledger.epsilon_spent == pytest.approx(1.0, rel=1e-3)
    sequential = sum(s.epsilon for s in plan.ledger.spends)
    assert sequential > 1.3  # what adding the parts would have called this spend
