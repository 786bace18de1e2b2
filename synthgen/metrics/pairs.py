"""Column pair trends, as SDMetrics' QualityReport (0.32) defines them, and over all pairs.

SDMetrics' report averages only the pairs whose REAL association is meaningful: two numbers
count when |Pearson r| > 0.5 in the real table, any other pair when the real table's Cramér's
V > 0.3 (numbers binned). Most pairs of a wide table are close to independent, and keeping a
pair independent is easy, so the mean over every pair reads high; ``all_pairs`` keeps that
mean for comparison. Binning follows the report, not the stand-alone metric: for the
thresholded figure each side's numbers are cut into 10 equal-width bins of that side's own
range (``np.histogram_bin_edges`` + ``np.digitize``, so the maximum shares the last code with
missing values); ``all_pairs`` bins both sides on the real range with open outer bins.
One deliberate difference: where a synthetic number column is constant, SDMetrics drops the
pair; here it scores as if the synthetic correlation were 0 (a collapsed column is a loss).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Result

PAIR_BINS = 10  # equal-width bins for a number paired with a label
MAX_PAIRS_SHOWN = 50  # the report lists the worst pairs; the means use every pair
REAL_CORRELATION_THRESHOLD = 0.5  # SDMetrics 0.32 QualityReport defaults
REAL_ASSOCIATION_THRESHOLD = 0.3

Codes = tuple[np.ndarray, np.ndarray, int]


def equal_width_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """``bins + 1`` equal-width edges over the finite values' range, as np.histogram_bin_edges
    gives them, but for any finite range: each edge is a convex combination of the ends, so a
    column spanning -1e308..1e308 (whose width overflows) still gets finite, ordered edges."""
    x = values[np.isfinite(values)]
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 0.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    if np.isfinite(hi - lo):
        return np.histogram_bin_edges([lo, hi], bins=bins)
    t = np.linspace(0.0, 1.0, bins + 1)
    return lo * (1.0 - t) + hi * t


def _codes(real: pd.Series, synth: pd.Series, numeric: bool) -> Codes:
    """Both sides as integer codes 0..k-1 on the real range (open outer bins, like
    SDMetrics' ``discretize_column``); a missing value has a code of its own."""
    if numeric:
        r, s = real.to_numpy(float), synth.to_numpy(float)
        edges = equal_width_edges(r[~np.isnan(r)], PAIR_BINS)
        inner = edges[1:-1]
        code = [np.where(np.isnan(x), PAIR_BINS, np.digitize(x, inner)) for x in (r, s)]
        return code[0], code[1], PAIR_BINS + 1
    return _label_codes(real, synth)


def _label_codes(real: pd.Series, synth: pd.Series) -> Codes:
    both = pd.concat([real, synth], ignore_index=True)
    text = both.astype(str).where(both.notna(), None)
    codes, uniques = pd.factorize(text)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes[: len(real)], codes[len(real) :], len(uniques) + 1


def _report_codes(real: pd.Series, synth: pd.Series, numeric: bool) -> Codes:
    """The QualityReport's discretisation: each side on its own range, 10 bins, codes 1..11
    (11 = the maximum and missing values)."""
    if not numeric:
        return _label_codes(real, synth)
    out = []
    for x in (real.to_numpy(float), synth.to_numpy(float)):
        edges = equal_width_edges(x[~np.isnan(x)], PAIR_BINS)
        with np.errstate(invalid="ignore"):
            out.append(np.digitize(x, edges))
    return out[0], out[1], PAIR_BINS + 2


def _joint(a: Codes, b: Codes) -> tuple[np.ndarray, np.ndarray, int]:
    (ra, sa, _), (rb, sb, kb) = a, b
    return ra * kb + rb, sa * kb + sb, a[2] * kb


def _joint_tvd(a: Codes, b: Codes) -> float:
    """Total variation distance between the real and synthetic joint frequency tables."""
    jr, js, k = _joint(a, b)
    if k > 1_000_000:  # many cells: count only the ones that occur
        _, inverse = np.unique(np.concatenate([jr, js]), return_inverse=True)
        jr, js, k = inverse[: len(jr)], inverse[len(jr) :], int(inverse.max()) + 1
    p = np.bincount(jr, minlength=k) / len(jr)
    q = np.bincount(js, minlength=k) / len(js)
    return float(0.5 * np.abs(p - q).sum())


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code arrays (chi-squared without continuity correction, as
    scipy.stats.contingency.association); NaN when either side has one value only."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    r, c = int(ia.max(initial=-1)) + 1, int(ib.max(initial=-1)) + 1
    if min(r, c) < 2:
        return float("nan")
    table = np.bincount(ia * c + ib, minlength=r * c).reshape(r, c).astype(float)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return float(np.sqrt(chi2 / n / (min(r, c) - 1)))


def _nested(m: pd.DataFrame) -> list[list[float | None]]:
    return [[None if np.isnan(v) else round(float(v), 6) for v in row] for row in m.to_numpy()]


def pair_trends(real: pd.DataFrame, synth: pd.DataFrame, numeric: list[str]) -> Result:
    """Per pair of columns: a score, and whether the real association makes it count
    (SDMetrics' threshold). ``real`` / ``synth``: model frames (numbers as floats, dates in
    seconds, labels as objects); ``numeric`` names their number columns."""
    cols = list(real.columns)
    if len(cols) < 2 or len(real) == 0 or len(synth) == 0:
        return Result(None, skipped="needs two compared columns and rows on both sides")
    corr_r, corr_s = real[numeric].corr(), synth[numeric].corr()
    codes = {c: _codes(real[c], synth[c], c in numeric) for c in cols}
    report = {c: _report_codes(real[c], synth[c], True) for c in numeric}
    every: dict[str, float] = {}
    counted: dict[str, float] = {}
    for a, b in combinations(cols, 2):
        key = f"{a}|{b}"
        if a in numeric and b in numeric:
            r = corr_r.at[a, b]
            if np.isnan(r):  # a constant real column: no trend to keep
                continue
            s = corr_s.at[a, b]
            every[key] = 1.0 - abs(r - (0.0 if np.isnan(s) else s)) / 2.0
            if abs(r) > REAL_CORRELATION_THRESHOLD:
                counted[key] = every[key]
            continue
        every[key] = 1.0 - _joint_tvd(codes[a], codes[b])
        ca, cb = report.get(a, codes[a]), report.get(b, codes[b])
        if cramers_v(ca[0], cb[0]) > REAL_ASSOCIATION_THRESHOLD:
            counted[key] = 1.0 - _joint_tvd(ca, cb)
    if not every:
        return Result(None, skipped="no column pair with a trend in the real table")
    details: dict[str, Any] = {
        "all_pairs": float(np.mean(list(every.values()))),
        "pairs": len(counted),
        "pairs_total": len(every),
        "correlation": {
            "columns": numeric,
            "real": _nested(corr_r),
            "synthetic": _nested(corr_s),
            "difference": _nested((corr_s - corr_r).abs()),
        },
    }
    shown = counted or every
    worst = sorted(shown, key=lambda k: (shown[k], k))
    details["per_pair"] = {k: shown[k] for k in worst[:MAX_PAIRS_SHOWN]}
    details["worst_pair"] = worst[0]
    if not counted:
        details["note"] = "no pair has a meaningful real association; per_pair lists all pairs"
        return Result(None, details, skipped="no column pair with a meaningful real association")
    return Result(float(np.mean(list(counted.values()))), details)
