"""Small statistics that both models and metrics use (a model's checkpoint score, a metric's
column shape): they live below both, so neither imports the other."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ks_complement", "tv_complement"]


def ks_complement(real: np.ndarray, synth: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic on non-missing values (1 = same).
    Like SDMetrics' KSComplement, missing values are dropped first; a side with no values at
    all scores 0 against a side with some (1 when both have none)."""
    a, b = np.sort(real[~np.isnan(real)]), np.sort(synth[~np.isnan(synth)])
    if len(a) == 0 or len(b) == 0:
        return 1.0 if len(a) == len(b) else 0.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(1.0 - np.max(np.abs(cdf_a - cdf_b)))


def tv_complement(real: pd.Series, synth: pd.Series) -> float:
    """1 - total variation distance between the category frequencies (1 = same). Missing
    values are dropped (as SDMetrics' TVComplement does); categories only the synthetic side
    has count against it."""
    real, synth = real.dropna(), synth.dropna()
    if len(real) == 0 or len(synth) == 0:
        return 1.0 if len(real) == len(synth) else 0.0
    p = real.astype(str).value_counts(normalize=True)
    q = synth.astype(str).value_counts(normalize=True)
    keys = p.index.union(q.index)
    diff = p.reindex(keys, fill_value=0.0) - q.reindex(keys, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(diff.to_numpy()).sum())
