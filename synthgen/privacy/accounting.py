"""Privacy accounting: a ledger of every mechanism that read the data, and the conversions.

Gaussian pieces are tracked in Gaussian differential privacy (mu-GDP, Dong, Roth & Su 2019):
mu adds in quadrature under adaptive composition, and a mu converts exactly to a curve of
(epsilon, delta) pairs. DP-SGD is accounted by opacus' RDP accountant. The ledger composes
its parts sequentially (epsilons add, deltas add): simple, and never optimistic.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy.optimize import brentq
from scipy.stats import norm

from synthgen.errors import PrivacyBudgetError

_TOL = 1e-9


def gdp_delta(mu: float, epsilon: float) -> float:
    """The delta a mu-GDP mechanism guarantees at ``epsilon`` (exact, Dong et al. Cor. 2.13)."""
    if mu <= 0:
        return 0.0
    return float(
        norm.cdf(-epsilon / mu + mu / 2) - math.exp(epsilon) * norm.cdf(-epsilon / mu - mu / 2)
    )


def gdp_mu(epsilon: float, delta: float) -> float:
    """The largest mu whose mechanism is (epsilon, delta)-DP."""
    if epsilon <= 0 or delta <= 0:
        raise ValueError("epsilon and delta must be > 0")
    epsilon *= 1 - 1e-7  # a hair under, so float error never lands a spend above budget
    hi = 1.0
    while gdp_delta(hi, epsilon) < delta:
        hi *= 2
        if hi > 1e4:
            return hi
    return float(brentq(lambda m: gdp_delta(m, epsilon) - delta, 1e-8, hi, xtol=1e-12))


def gdp_epsilon(mu: float, delta: float) -> float:
    """The smallest epsilon at which a mu-GDP mechanism is (epsilon, delta)-DP."""
    if mu <= 0:
        return 0.0
    if gdp_delta(mu, 0.0) <= delta:
        return 0.0
    hi = 1.0
    while gdp_delta(mu, hi) > delta:
        hi *= 2
    return float(brentq(lambda e: gdp_delta(mu, e) - delta, 0.0, hi, xtol=1e-10))


def default_delta(n_rows: int) -> float:
    """Well below 1/n: min(1e-6, 1 / (10 n))."""
    return min(1e-6, 1.0 / (10.0 * max(n_rows, 1)))


@dataclass
class Spend:
    mechanism: str
    reads: str
    epsilon: float
    delta: float
    detail: dict[str, Any] = field(default_factory=dict)


class PrivacyLedger:
    """What each mechanism spent; refuses any spend that would cross the budget."""

    def __init__(self, epsilon: float, delta: float) -> None:
        if epsilon <= 0 or not 0 < delta < 1:
            raise PrivacyBudgetError(
                f"privacy budget needs epsilon > 0 and 0 < delta < 1, got ({epsilon}, {delta})"
            )
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.spends: list[Spend] = []

    @property
    def epsilon_spent(self) -> float:
        return float(sum(s.epsilon for s in self.spends))

    @property
    def delta_spent(self) -> float:
        return float(sum(s.delta for s in self.spends))

    def remaining(self) -> tuple[float, float]:
        return self.epsilon - self.epsilon_spent, self.delta - self.delta_spent

    def spend(
        self, mechanism: str, reads: str, epsilon: float, delta: float = 0.0, **detail: Any
    ) -> Spend:
        eps_left, delta_left = self.remaining()
        if epsilon > eps_left * (1 + 1e-6) + _TOL or delta > delta_left * (1 + 1e-6) + _TOL:
            raise PrivacyBudgetError(
                f"{mechanism} on {reads} needs ({epsilon:.4g}, {delta:.3g}) but only "
                f"({eps_left:.4g}, {delta_left:.3g}) of the budget is left"
            )
        s = Spend(mechanism, reads, float(epsilon), float(delta), detail)
        self.spends.append(s)
        return s

    def spend_gdp(
        self, mechanism: str, reads: str, mu: float, delta: float, **detail: Any
    ) -> Spend:
        """Spend a mu-GDP mechanism, converted to (epsilon, delta) at the given delta."""
        return self.spend(mechanism, reads, gdp_epsilon(mu, delta), delta, mu=mu, **detail)

    def to_json(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "epsilon_spent": round(self.epsilon_spent, 6),
            "delta_spent": self.delta_spent,
            "composition": "sequential (epsilons and deltas add); Gaussian parts in mu-GDP",
            "mechanisms": [asdict(s) for s in self.spends],
        }
