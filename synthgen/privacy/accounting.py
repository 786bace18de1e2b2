"""Privacy accounting: a ledger of every mechanism that read the data, composed tightly.

Three kinds of mechanism read the data:
- **Gaussian releases** (histograms, counts, a noisy correlation): each is mu-GDP (Dong, Roth &
  Su 2019) with mu = sensitivity / sigma. Gaussian DP composes exactly, adaptively too: the
  mus add in quadrature, and one mu converts exactly to a curve of (epsilon, delta) pairs.
- **Delta-only steps** (a label released only above a threshold): (0, delta)-DP; their deltas
  add to the rest.
- **DP-SGD** (Poisson-subsampled Gaussian steps): not Gaussian DP. When a fit has them, the
  whole composition (the Gaussian releases as one Gaussian with noise 1 / mu, and every DP-SGD
  run) goes through opacus' PRV accountant (Gopi et al. 2021), which returns an upper bound on
  epsilon with its numerical error included.

The budget is a single (epsilon, delta); the ledger reports the smallest epsilon its whole
composition is (epsilon, delta)-DP for, and refuses a mechanism that would cross the budget.
Planning helpers give the largest Gaussian mu, or the smallest DP-SGD noise multiplier, that
still fits what is left.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from scipy.optimize import brentq
from scipy.stats import norm

from synthgen.errors import PrivacyBudgetError

PRV_EPS_ERROR = 0.01  # the PRV accountant's allowed error in epsilon (its bound includes it)


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


@dataclass(frozen=True)
class SGDRun:
    """``steps`` Poisson-subsampled Gaussian steps (noise multiplier, sample rate)."""

    noise_multiplier: float
    sample_rate: float
    steps: int


def composed_epsilon(mu: float, runs: list[SGDRun], delta: float) -> float:
    """The epsilon at ``delta`` of a mu-GDP release composed with DP-SGD ``runs``: exact
    in Gaussian DP without runs, else the PRV accountant's upper bound."""
    if delta <= 0:
        return math.inf
    kept = tuple(r for r in runs if r.steps > 0)
    if not kept:
        return gdp_epsilon(mu, delta)
    return _prv_epsilon(round(mu, 12), kept, delta)


@functools.lru_cache(maxsize=256)
def _prv_epsilon(mu: float, runs: tuple[SGDRun, ...], delta: float) -> float:
    from synthgen.registry import require

    require("opacus", "dp", "DP-SGD accounting")
    from opacus.accountants import PRVAccountant

    acc = PRVAccountant()
    history = [(r.noise_multiplier, r.sample_rate, r.steps) for r in runs]
    if mu > 0:
        history.append((1.0 / mu, 1.0, 1))  # a Gaussian release: sample rate 1, one step
    acc.history = history
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) at sample rate 1, harmless
        try:
            return float(acc.get_epsilon(delta, eps_error=PRV_EPS_ERROR))
        except (ValueError, RuntimeError, OverflowError):
            return math.inf  # outside what the accountant can bound: treat as over budget


@dataclass
class Spend:
    mechanism: str
    reads: str
    kind: Literal["gaussian", "delta", "sgd"]
    epsilon: float  # this mechanism alone, at the budget's delta (for the ledger's table)
    delta: float  # delta-only steps: their delta; others 0 (they share the budget's)
    mu: float | None = None
    sgd: SGDRun | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class PrivacyLedger:
    """What each mechanism spent, composed tightly; refuses any spend past the budget."""

    def __init__(self, epsilon: float, delta: float) -> None:
        if epsilon <= 0 or not 0 < delta < 1:
            raise PrivacyBudgetError(
                f"privacy budget needs epsilon > 0 and 0 < delta < 1, got ({epsilon}, {delta})"
            )
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.spends: list[Spend] = []

    # ---- the composition ------------------------------------------------------------------
    @property
    def mu(self) -> float:
        """All Gaussian releases as one: mu adds in quadrature."""
        return math.sqrt(sum(s.mu**2 for s in self.spends if s.mu is not None))

    @property
    def sgd_runs(self) -> list[SGDRun]:
        return [s.sgd for s in self.spends if s.sgd is not None]

    @property
    def delta_fixed(self) -> float:
        """Delta of the delta-only steps, added to the rest of the composition's."""
        return float(sum(s.delta for s in self.spends if s.kind == "delta"))

    def _epsilon(self, mu: float, runs: list[SGDRun], delta_fixed: float) -> float:
        if mu <= 0 and not runs:
            return 0.0
        return composed_epsilon(mu, runs, self.delta - delta_fixed)

    @property
    def epsilon_spent(self) -> float:
        """The smallest epsilon for which everything spent so far is (epsilon, delta)-DP."""
        return self._epsilon(self.mu, self.sgd_runs, self.delta_fixed)

    @property
    def delta_spent(self) -> float:
        """The delta the reported epsilon is paired with: the budget's, once anything read."""
        return self.delta if self.spends else 0.0

    def fits(self, mu: float = 0.0, run: SGDRun | None = None, delta: float = 0.0) -> bool:
        """Would the budget still hold with one more mechanism?"""
        fixed = self.delta_fixed + delta
        if fixed >= self.delta:
            return False
        total_mu = math.sqrt(self.mu**2 + mu**2)
        runs = self.sgd_runs + ([run] if run is not None else [])
        return self._epsilon(total_mu, runs, fixed) <= self.epsilon * (1 + 1e-9)

    # ---- planning -------------------------------------------------------------------------
    def gaussian_mu_left(self, reserve_delta: float = 0.0) -> float:
        """The largest mu a next Gaussian release can have (``reserve_delta`` kept for
        delta-only steps still to come)."""
        fixed = self.delta_fixed + reserve_delta
        if fixed >= self.delta:
            return 0.0
        if not self.sgd_runs:
            whole = gdp_mu(self.epsilon, self.delta - fixed)
            return math.sqrt(max(0.0, whole**2 - self.mu**2))
        runs = self.sgd_runs
        if self._epsilon(self.mu, runs, fixed) >= self.epsilon:
            return 0.0

        def slack(m: float) -> float:
            return self.epsilon - self._epsilon(math.sqrt(self.mu**2 + m**2), runs, fixed)

        hi = gdp_mu(self.epsilon, self.delta - fixed)
        return float(brentq(slack, 0.0, hi, xtol=1e-4 * hi)) * (1 - 1e-3)

    def sgd_noise(self, sample_rate: float, steps: int) -> float:
        """The smallest noise multiplier for ``steps`` DP-SGD steps at ``sample_rate`` that
        keeps the whole composition within the budget."""
        fixed = self.delta_fixed

        def over(sigma: float) -> float:
            run = SGDRun(sigma, sample_rate, steps)
            return self._epsilon(self.mu, self.sgd_runs + [run], fixed) - self.epsilon

        lo, hi = 0.3, 2.0
        while over(hi) > 0:
            lo, hi = hi, hi * 2
            if hi > 1e4:
                raise PrivacyBudgetError(
                    f"the privacy budget left cannot pay for {steps} DP-SGD steps",
                    hint="raise privacy.epsilon, or lower epochs / batch_size",
                )
        if over(lo) <= 0:
            return lo
        return float(brentq(over, lo, hi, xtol=1e-3 * lo)) * (1 + 1e-3)

    # ---- spending -------------------------------------------------------------------------
    def _add(self, spend: Spend, mu: float = 0.0, run: SGDRun | None = None) -> Spend:
        if not self.fits(mu, run, spend.delta if spend.kind == "delta" else 0.0):
            raise PrivacyBudgetError(
                f"{spend.mechanism} on {spend.reads} would take the run past its budget "
                f"(epsilon {self.epsilon:g}, delta {self.delta:.3g}; spent so far: "
                f"epsilon {self.epsilon_spent:.4g})"
            )
        self.spends.append(spend)
        return spend

    def spend_gaussian(self, mechanism: str, reads: str, mu: float, **detail: Any) -> Spend:
        """A Gaussian release with mu = sensitivity / sigma."""
        alone = gdp_epsilon(mu, self.delta - self.delta_fixed)
        return self._add(Spend(mechanism, reads, "gaussian", alone, 0.0, mu=mu, detail=detail), mu)

    def spend_delta(self, mechanism: str, reads: str, delta: float, **detail: Any) -> Spend:
        return self._add(Spend(mechanism, reads, "delta", 0.0, float(delta), detail=detail))

    def spend_sgd(
        self,
        mechanism: str,
        reads: str,
        noise_multiplier: float,
        sample_rate: float,
        steps: int,
        **detail: Any,
    ) -> Spend:
        run = SGDRun(float(noise_multiplier), float(sample_rate), int(steps))
        alone = composed_epsilon(0.0, [run], self.delta - self.delta_fixed) if steps else 0.0
        spend = Spend(mechanism, reads, "sgd", alone, 0.0, sgd=run, detail=detail)
        return self._add(spend, 0.0, run)

    def to_json(self) -> dict[str, Any]:
        mu2 = self.mu**2
        mechanisms = []
        for s in self.spends:
            entry = asdict(s)
            entry["sgd"] = asdict(s.sgd) if s.sgd is not None else None
            if s.mu is not None and mu2 > 0:
                entry["share_of_gaussian"] = round(s.mu**2 / mu2, 4)
            entry["epsilon"] = round(s.epsilon, 6)
            mechanisms.append(entry)
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "epsilon_spent": round(self.epsilon_spent, 6),
            "delta_spent": self.delta_spent,
            "gaussian_mu": round(self.mu, 6),
            "composition": (
                "tight: Gaussian releases in mu-GDP (mu adds in quadrature)"
                + (", composed with DP-SGD by opacus' PRV accountant (upper bound)"
                   if self.sgd_runs else ", converted exactly")
                + "; delta-only steps add their delta. Each mechanism's own epsilon is what it "
                "would cost alone; they do not add up to the total"
            ),
            "mechanisms": mechanisms,
        }  # fmt: skip
