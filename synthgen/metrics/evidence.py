"""How sure a metric is of its value, and the three-way decision a gate takes with it.

A metric that estimates something from a sample (an attack's success on the rows at hand)
hands back :class:`Evidence`: its estimate and the standard error it would have if the true
value were ``theta``. Evaluating the error at the hypothesised value, not at the estimate,
gives score-type intervals (Wilson's, for a proportion): they stay honest at 0 and 1 and on
a handful of rows, where a plug-in error is 0 and every estimate looks certain.

A gate then decides:

- **pass** when the one-sided ``PASS_CONFIDENCE`` (95 %) bound on the bad side is within the
  threshold: we are that sure the leak is below the limit;
- **fail** when the one-sided ``FAIL_CONFIDENCE`` (99.5 %) bound on the good side is beyond
  it: we are that sure the limit is exceeded (a suite of up to ten such gates false-fails at
  most 5 % of clean data);
- **inconclusive** otherwise, with the number of rows that would decide if the estimate
  stayed where it is (errors shrink as one over the square root of the sample).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PASS_CONFIDENCE = 0.95
FAIL_CONFIDENCE = 0.995
Z_PASS = 1.6448536269514722  # one-sided 95 %
Z_FAIL = 2.5758293035489004  # one-sided 99.5 %
Z95_TWO_SIDED = 1.959963984540054
MAX_GROWTH = 1000  # beyond this many times the present sample, "rows to decide" is not given


@dataclass(frozen=True)
class Evidence:
    """An estimate, its standard error as a function of the true value, and the sample the
    error shrinks with (``n`` of ``unit``). ``lo``/``hi``: the values the truth can take;
    ``centre``: where the bounds are centred when not on the estimate (a shrunken estimate
    that keeps a handful of trials from looking certain)."""

    estimate: float
    se: Callable[[float], float]
    n: int
    unit: str = "holdout rows"
    lo: float = 0.0
    hi: float = 1.0
    centre: float | None = None

    def bound(self, z: float, upper: bool) -> float:
        """The score bound: the furthest theta on one side with |centre - theta| <= z se."""
        mid = self.estimate if self.centre is None else self.centre
        est = min(max(mid, self.lo), self.hi)
        end = self.hi if upper else self.lo

        def outside(theta: float) -> bool:
            return abs(theta - est) > z * self.se(theta)

        if not outside(end):
            return end
        a, b = est, end  # inside at a, outside at b
        for _ in range(60):
            mid = (a + b) / 2
            a, b = (a, mid) if outside(mid) else (mid, b)
        return float(a)

    def interval(self, z: float = Z95_TWO_SIDED) -> tuple[float, float]:
        return self.bound(z, upper=False), self.bound(z, upper=True)


def decide(ev: Evidence, op: str, threshold: float) -> dict[str, Any]:
    """pass / fail / inconclusive for ``value op threshold`` (op one of <=, <, >=, >), with
    the bounds used and, when inconclusive, the sample that would decide."""
    lower_is_good = op in ("<=", "<")
    strict = op in ("<", ">")

    def within(x: float) -> bool:
        if lower_is_good:
            return x < threshold if strict else x <= threshold
        return x > threshold if strict else x >= threshold

    bad_side = ev.bound(Z_PASS, upper=lower_is_good)  # must be within for a pass
    good_side = ev.bound(Z_FAIL, upper=not lower_is_good)  # must be beyond for a fail
    out: dict[str, Any] = {
        "pass_bound": bad_side,
        "fail_bound": good_side,
        "confidence": {"pass": PASS_CONFIDENCE, "fail": FAIL_CONFIDENCE},
    }
    if within(bad_side):
        return {**out, "status": "pass"}
    if not within(good_side):
        return {**out, "status": "fail"}
    rows = rows_to_decide(ev, threshold, within(ev.estimate))
    return {**out, "status": "inconclusive", "rows_to_decide": rows, "rows_unit": ev.unit}


def rows_to_decide(ev: Evidence, threshold: float, heading_for_pass: bool) -> int | None:
    """The sample (in ``ev.unit``) at which the present estimate would be decided: the
    error at the threshold shrinks as 1 / sqrt(n). None when the estimate sits on the
    threshold or more than MAX_GROWTH times the present sample would be needed."""
    gap = abs(ev.estimate - threshold)
    se = ev.se(threshold)
    if gap <= 0 or not math.isfinite(se):
        return None
    z = Z_PASS if heading_for_pass else Z_FAIL
    growth = (z * se / gap) ** 2
    if growth > MAX_GROWTH:
        return None
    return int(math.ceil(max(ev.n, 1) * max(growth, 1.0)))


# ---- standard errors of the statistics the privacy metrics use ------------------------------
def proportion_se(n: float) -> Callable[[float], float]:
    """A share of ``n`` independent trials (Wilson's interval when inverted)."""
    return lambda p: math.sqrt(max(p * (1 - p), 0.0) / n) if n > 0 else math.inf


def difference_se(k_main: int, n_main: int, k_control: int, n_control: int) -> Evidence:
    """main rate - control rate from two independent samples. The error at a hypothesised
    difference d takes both rates as the data would have them if d were true (the pooled
    rate shifted by d: a score interval, as Miettinen and Nurminen's), so rare successes
    on one side only are not taken as certain; bounds are centred on the rates with one
    success and one failure added to each (Agresti and Caffo), so a handful of trials never
    looks certain either."""
    nm, nc = n_main + 2, n_control + 2
    km, kc = k_main + 1, k_control + 1

    def se(d: float) -> float:
        c = min(max((km + kc - d * nm) / (nm + nc), max(-d, 0.0)), min(1.0, 1.0 - d))
        m = c + d
        return math.sqrt(max(m * (1 - m), 0.0) / nm + max(c * (1 - c), 0.0) / nc)

    est = (k_main / n_main if n_main else 0.0) - (k_control / n_control if n_control else 0.0)
    centre = km / nm - kc / nc
    return Evidence(est, se, min(n_main, n_control), lo=-1.0, hi=1.0, centre=centre)


def copy_excess(syn: np.ndarray, train: np.ndarray, holdout: np.ndarray) -> Evidence:
    """Share of ``syn`` items (row hashes, normalised texts) that copy a training item no
    other real item equals, beyond chance: 0 = none, 1 = every item copies one.

    Only items equal to exactly one real item (train or holdout) say anything: an item equal
    to many is common, not a record. With no leak that one item is a training item with
    chance f = n_train / (n_train + n_holdout) (the split is random), so each adds (train -
    f) / (1 - f): 1 for a copy, 0 on average by chance. Items on the same real item stand
    or fall together: the error sums their squared counts. Without a holdout there is no
    chance level: every copy counts, and the share is what it is (no sampling error)."""
    n = len(syn)
    if n == 0:
        return Evidence(0.0, lambda _t: 0.0, 0, lo=-1.0, hi=1.0)
    if len(holdout) == 0:
        rate = float(np.isin(syn, train).mean())
        return Evidence(rate, lambda _t: 0.0, n, unit="synthetic rows", lo=-1.0, hi=1.0)
    real = pd.Series(np.concatenate([train, holdout])).value_counts()
    single = real.index[real.to_numpy() == 1]
    s = pd.Series(syn)
    hits = s[s.isin(single)].value_counts()
    in_train = np.isin(hits.index.to_numpy(), train)
    w = hits.to_numpy(float)
    f = len(train) / (len(train) + len(holdout))
    est = max(float(np.sum(w * (in_train - f)) / ((1 - f) * n)), -1.0)
    se = float(np.sqrt(np.sum(w * w) * f / (1 - f)) / n)
    return Evidence(est, lambda _t: se, len(holdout), lo=-1.0, hi=1.0)


def auc_se(n1: int, n0: int) -> Callable[[float], float]:
    """Hanley and McNeil (1982): the error of a ROC AUC from ``n1`` positives and ``n0``
    negatives if the true AUC were ``a``."""

    def se(a: float) -> float:
        if n1 <= 0 or n0 <= 0:
            return math.inf
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
        return math.sqrt(max(var, 0.0))

    return se


def paired_mean(d: np.ndarray) -> tuple[float, float]:
    """Mean of paired differences in [-1, 1] and its standard error, with one pseudo-pair
    at +1 and one at -1 added to the spread (a few identical pairs are never certain)."""
    if len(d) == 0:
        return 0.0, math.inf
    spread = np.concatenate([d, [1.0, -1.0]])
    return float(d.mean()), float(spread.std(ddof=1) / math.sqrt(len(d)))
