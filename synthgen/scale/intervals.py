"""How sure each figure of a validation at scale is.

Figures counted over every row (``scale.exact_reduce``) are exact: no sampling error. The
other metrics run on seeded uniform samples; each gets a 95 % interval:
- ``analytic``: the metric's own interval (``ci_low`` / ``ci_high``, e.g. DCR share,
  membership AUC, the anonymity risks), from its stated error model;
- ``bootstrap``: distribution and utility metrics, recomputed on ``replicates``
  resamples (rows drawn with replacement from each sample, seeded by (seed, replicate)),
  the interval being the estimate +- 1.96 bootstrap standard errors (normal bootstrap);
- ``none``: metrics each replicate of which would search neighbours or fit a model again
  (text metrics, neighbour-based metrics without their own interval): said so, with why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics import REGISTRY, Context
from synthgen.schema.spec import Schema

Z95 = 1.959964
RESAMPLED_GROUPS = ("fidelity", "schema", "utility")
NOT_RESAMPLED = ("text_",)  # name prefixes: every replicate would embed or compare texts


def interval_plan(verdict: dict[str, Any], exact: list[str]) -> dict[str, dict[str, Any]]:
    """Each computed metric's scope (exact over every row, or on the samples) and interval
    method; bootstrap entries are filled in by ``bootstrap``."""
    out: dict[str, dict[str, Any]] = {}
    for group, values in verdict["metrics"].items():
        for name in [n for n in values if n in REGISTRY]:
            value = values[name]
            lo, hi = values.get(f"{name}_ci_low"), values.get(f"{name}_ci_high")
            entry: dict[str, Any] = {"scope": "exact" if name in exact else "sample"}
            if values.get(f"{name}_skipped") or not isinstance(value, (int, float)):
                entry["method"] = "none"
                entry["why"] = "not computed on this data"
            elif name in exact and lo is None:
                entry["method"] = "exact"
            elif lo is not None and hi is not None:
                entry.update(method="analytic", ci_low=lo, ci_high=hi)
                if name in exact:
                    entry["why"] = (
                        "counted over every row; the interval is the train/holdout split's"
                    )
            elif group in RESAMPLED_GROUPS and not name.startswith(NOT_RESAMPLED):
                entry["method"] = "bootstrap"
            else:
                entry["method"] = "none"
                entry["why"] = "each replicate would search neighbours or fit a model again"
            out[name] = entry
    return out


def bootstrap(
    plan: dict[str, dict[str, Any]],
    values: dict[str, float],
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    schema: Schema,
    *,
    replicates: int,
    seed: int,
    target: str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Fill ``plan``'s bootstrap entries: each metric recomputed on ``replicates`` resamples
    of (train, holdout, synthetic); its value ``values[name]`` +- 1.96 standard errors."""
    names = [n for n, e in plan.items() if e["method"] == "bootstrap"]
    if not names:
        return
    if replicates < 2:
        for n in names:
            plan[n].update(method="none", why="no bootstrap replicates asked for")
        return
    draws: dict[str, list[float]] = {n: [] for n in names}
    for r in range(replicates):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007, r)))
        train, hold, syn = (_resample(f, rng) for f in frames)
        ctx = Context(train, hold, syn, schema, target, seed, options=dict(options or {}))
        for n in names:
            v = REGISTRY[n].compute(ctx).value
            if v is not None and np.isfinite(v):
                draws[n].append(float(v))
    for n in names:
        got = draws[n]
        if len(got) < 2:
            plan[n].update(method="none", why="the metric could not be computed on resamples")
            continue
        se = float(np.std(got, ddof=1))
        lo_r, hi_r = REGISTRY[n].range
        v = values[n]
        plan[n].update(
            ci_low=max(lo_r, v - Z95 * se),
            ci_high=min(hi_r, v + Z95 * se),
            se=se,
            replicates=len(got),
        )


def _resample(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    if not len(df):
        return df
    return df.iloc[rng.integers(0, len(df), len(df))].reset_index(drop=True)


def metric_values(verdict: dict[str, Any]) -> dict[str, float]:
    return {
        n: v
        for values in verdict["metrics"].values()
        for n, v in values.items()
        if n in REGISTRY and isinstance(v, (int, float))
    }
