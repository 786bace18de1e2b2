"""Fidelity: how closely the synthetic table's distributions follow the real one's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.generators.columns import to_model_frame
from synthgen.metrics.base import Context, Result, register


def ks_complement(real: np.ndarray, synth: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic on non-missing values (1 = same)."""
    a, b = np.sort(real[~np.isnan(real)]), np.sort(synth[~np.isnan(synth)])
    if len(a) == 0 or len(b) == 0:
        return 1.0 if len(a) == len(b) else 0.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(1.0 - np.max(np.abs(cdf_a - cdf_b)))


def tv_complement(real: pd.Series, synth: pd.Series) -> float:
    """1 - total variation distance between the category frequencies (1 = same)."""
    p = real.astype(str).value_counts(normalize=True)
    q = synth.astype(str).value_counts(normalize=True)
    keys = p.index.union(q.index)
    diff = p.reindex(keys, fill_value=0.0) - q.reindex(keys, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(diff.to_numpy()).sum())


def per_column_shapes(ctx: Context) -> dict[str, float]:
    cols = ctx.compared_columns()
    real = to_model_frame(ctx.train, ctx.schema, cols)
    synth = to_model_frame(ctx.synthetic, ctx.schema, cols)
    out = {}
    for c in cols:
        if ctx.schema[c].kind in ("numeric", "integer", "datetime"):
            out[c] = ks_complement(real[c].to_numpy(float), synth[c].to_numpy(float))
        else:
            out[c] = tv_complement(real[c].dropna(), synth[c].dropna())
    return out


@register(
    "column_shapes",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "per-column distribution match: KS complement (numbers, dates), TV complement (labels)",
)
def column_shapes(ctx: Context) -> Result:
    per = per_column_shapes(ctx)
    value = float(np.mean(list(per.values()))) if per else None
    worst = min(per, key=per.__getitem__) if per else None
    return Result(value, {"per_column": per, "worst_column": worst})
