"""Fidelity: how closely the synthetic table's distributions follow the real one's.

The definitions follow SDMetrics' QualityReport (0.32) so the numbers can be compared: missing
values are left out of the column shapes (``missing_similarity`` scores them), label pairs and
mixed pairs are compared on joint frequency tables (a missing value is a value of its own
there), number pairs on Pearson correlations over the rows where both are present, and only
pairs with a meaningful real association count (see :mod:`synthgen.metrics.pairs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.pairs import pair_trends
from synthgen.metrics.utility import FeatureEncoder, fit_model, model_threads
from synthgen.stats import ks_complement, tv_complement
from synthgen.transforms.frame import to_model_frame

NUMERIC_KINDS = ("numeric", "integer", "datetime")
DETECTION_ROWS = 10_000  # per side


def _cached(ctx: Context, key: str, compute: Callable[[Context], Any]) -> Any:
    """Work shared by several metrics of one run, computed once per context."""
    key = f"fidelity:{key}"
    if key not in ctx.cache:
        ctx.cache[key] = compute(ctx)
    return ctx.cache[key]


def model_frames(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The compared columns of train and synthetic as numbers (dates in seconds) or labels."""

    def build(c: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
        cols = c.compared_columns()
        return to_model_frame(c.train, c.schema, cols), to_model_frame(c.synthetic, c.schema, cols)

    return _cached(ctx, "frames", build)  # type: ignore[no-any-return]


def _is_numeric(ctx: Context, col: str) -> bool:
    return ctx.schema[col].kind in NUMERIC_KINDS


def per_column_shapes(ctx: Context) -> dict[str, float]:
    real, synth = model_frames(ctx)
    out = {}
    for c in real.columns:
        if _is_numeric(ctx, c):
            out[c] = ks_complement(real[c].to_numpy(float), synth[c].to_numpy(float))
        else:
            out[c] = tv_complement(real[c], synth[c])
    return out


def _column_shapes(ctx: Context) -> Result:
    per = per_column_shapes(ctx)
    if not per:
        return Result(None, skipped="no compared columns (ids, PII and text are not compared)")
    worst = min(per, key=per.__getitem__)
    return Result(float(np.mean(list(per.values()))), {"per_column": per, "worst_column": worst})


@register(
    "column_shapes",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "per-column distribution match: KS complement (numbers, dates), TV complement (labels)",
)
def column_shapes(ctx: Context) -> Result:
    """Higher is better, 0-1: 1 - KS statistic (numbers, dates) or 1 - total variation
    distance (labels), on non-missing values, averaged over the compared columns.
    ``holdout_value``: the lower score of the holdout's two halves against train (small
    samples of many categories score low even when real)."""
    res: Result = _cached(ctx, "column_shapes", _column_shapes)
    return _with_baseline(ctx, res, column_shapes)


def _holdout_contexts(ctx: Context) -> list[Context]:
    """Each half of the holdout in place of the synthetic rows: what real unseen data
    scores here. Two draws, each half the size, so the lower of them shows how low real
    data can score on this table by chance (the whole holdout when it has under 4 rows)."""
    if len(ctx.holdout) == 0 or ctx.cache.get("fidelity:baseline_of") is not None:
        return []
    if "fidelity:holdout" not in ctx.cache:
        order = np.random.default_rng([ctx.seed, 2029]).permutation(len(ctx.holdout))
        halves = np.array_split(order, 2) if len(order) >= 4 else [order]
        ctx.cache["fidelity:holdout"] = [
            Context(
                ctx.train,
                ctx.holdout.iloc[:0],
                ctx.holdout.iloc[np.sort(h)],
                ctx.schema,
                seed=ctx.seed,
                cache={"fidelity:baseline_of": True},
            )
            for h in halves
        ]
    return ctx.cache["fidelity:holdout"]  # type: ignore[no-any-return]


def _with_baseline(ctx: Context, res: Result, metric: Callable[[Context], Result]) -> Result:
    """``res`` with the lower score of real unseen rows (halves of the holdout) beside it."""
    scores = [metric(c).value for c in _holdout_contexts(ctx)] if res.value is not None else []
    found = [v for v in scores if v is not None]
    if not found:
        return res
    base = float(min(found))
    return replace(res, details={**res.details, "holdout_value": base}, baseline=base)


# ---- column pairs ---------------------------------------------------------------------------
def _column_pair_trends(ctx: Context) -> Result:
    real, synth = model_frames(ctx)
    return pair_trends(real, synth, [c for c in real.columns if _is_numeric(ctx, c)])


@register(
    "column_pair_trends",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "pairwise trends kept, as SDMetrics' QualityReport: correlation similarity for number "
    "pairs with real |r| > 0.5, contingency similarity for other pairs with real Cramér's "
    "V > 0.3; mean over those pairs",
)
def column_pair_trends(ctx: Context) -> Result:
    """Higher is better, 0-1, mean over the pairs of compared columns whose real association
    is meaningful (SDMetrics 0.32's QualityReport: |Pearson r| > 0.5 for two numbers,
    Cramér's V > 0.3 otherwise). Two numbers (dates as seconds): 1 - |r_real - r_synthetic|
    / 2. A pair with a label: 1 - total variation distance between the joint frequency
    tables, numbers in 10 equal-width bins. Skipped when no pair is associated. Details:
    ``all_pairs`` (the mean over every pair, which reads higher: most pairs are nearly
    independent), ``per_pair`` (the worst 50 counted pairs), ``correlation`` (real,
    synthetic and |difference| Pearson matrices of the number columns, for heatmaps)."""
    return _cached(ctx, "column_pair_trends", _column_pair_trends)  # type: ignore[no-any-return]


@register(
    "quality",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "overall quality: mean of column_shapes and column_pair_trends (SDMetrics 0.32 "
    "QualityReport's score)",
)
def quality(ctx: Context) -> Result:
    """Higher is better, 0-1: the mean of ``column_shapes`` and ``column_pair_trends`` (the
    latter left out when no pair is associated, as SDMetrics does), which is the score
    SDMetrics' QualityReport gives the same frames. ``all_pairs``: the same with every column
    pair counted (this project's figure before SDMetrics 0.32's definition);
    ``holdout_value``: the lower score of the holdout's two halves (real unseen rows)."""
    shapes, pairs = column_shapes(ctx), column_pair_trends(ctx)
    values = {
        k: r.value
        for k, r in (("column_shapes", shapes), ("column_pair_trends", pairs))
        if r.value is not None
    }
    if not values:
        return Result(None, skipped="no compared columns")
    details: dict[str, Any] = dict(values)
    every = pairs.details.get("all_pairs")
    if every is not None and shapes.value is not None:
        details["all_pairs"] = float((shapes.value + every) / 2)
    return _with_baseline(ctx, Result(float(np.mean(list(values.values()))), details), quality)


# ---- missing values and coverage -----------------------------------------------------------
@register(
    "missing_similarity",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "missing values kept: 1 - mean |null rate real - null rate synthetic| over the columns",
)
def missing_similarity(ctx: Context) -> Result:
    """Higher is better, 0-1: 1 means every compared column is missing as often as in the
    real table. ``per_column`` holds 1 - |difference| for each column."""
    real, synth = model_frames(ctx)
    if real.shape[1] == 0 or len(real) == 0 or len(synth) == 0:
        return Result(None, skipped="no compared columns or no rows")
    diff = (real.isna().mean() - synth.isna().mean()).abs()
    per = {c: float(1.0 - d) for c, d in diff.items()}
    return Result(float(1.0 - diff.mean()), {"per_column": per})


def _range_cover(real: np.ndarray, synth: np.ndarray) -> float | None:
    real, synth = real[~np.isnan(real)], synth[~np.isnan(synth)]
    if len(real) == 0:
        return None
    if len(synth) == 0:
        return 0.0
    lo, hi, slo, shi = real.min(), real.max(), synth.min(), synth.max()
    if hi == lo:
        return 1.0 if slo <= lo <= shi else 0.0
    # in units of the largest magnitude, so a range near 1e308 wide cannot overflow
    with np.errstate(over="ignore"):
        unit = max(abs(lo), abs(hi), 1.0) if not np.isfinite(hi - lo) else 1.0
    lo, hi, slo, shi = lo / unit, hi / unit, slo / unit, shi / unit
    missed = max(slo - lo, 0.0) + max(hi - shi, 0.0)
    return float(np.clip(1.0 - missed / (hi - lo), 0.0, 1.0))


@register(
    "range_coverage",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "share of each real number column's [min, max] range the synthetic values span; mean",
)
def range_coverage(ctx: Context) -> Result:
    """Higher is better, 0-1: 1 when the synthetic values reach the real minimum and maximum
    of every number/date column (values beyond them are not rewarded or penalised here)."""
    real, synth = model_frames(ctx)
    per = {}
    for c in real.columns:
        if _is_numeric(ctx, c):
            score = _range_cover(real[c].to_numpy(float), synth[c].to_numpy(float))
            if score is not None:
                per[c] = score
    if not per:
        return Result(None, skipped="no number or date column with real values")
    return Result(float(np.mean(list(per.values()))), {"per_column": per})


@register(
    "category_coverage",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "share of each real label column's categories that appear in the synthetic table; mean",
)
def category_coverage(ctx: Context) -> Result:
    """Higher is better, 0-1: 1 when every real category of every label column shows up
    at least once in the synthetic table."""
    real, synth = model_frames(ctx)
    per = {}
    for c in real.columns:
        if _is_numeric(ctx, c):
            continue
        cats = set(real[c].dropna().astype(str))
        if cats:
            per[c] = len(cats & set(synth[c].dropna().astype(str))) / len(cats)
    if not per:
        return Result(None, skipped="no label column with real values")
    return Result(float(np.mean(list(per.values()))), {"per_column": per})


# ---- detection -------------------------------------------------------------------------------
@register(
    "detection_auc",
    "fidelity",
    "lower",
    (0.0, 1.0),
    "ROC AUC of a classifier telling real from synthetic rows (3-fold CV); 0.5 is best "
    "(indistinguishable), 1 = every row told apart",
)
def detection_auc(ctx: Context) -> Result:
    """Lower is better down to 0.5, the best possible: a gradient-boosting classifier cannot
    tell real train rows from synthetic ones (values a little under 0.5 are noise). 1 means it
    separates them perfectly. Equal-size seeded samples (at most 10,000 rows a side, option
    ``max_rows``), 3-fold cross-validated. ``detection_score`` = 1 - 2 * max(auc - 0.5, 0)
    is the same on SDMetrics' higher-is-better 0-1 scale."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    cols = ctx.compared_columns()
    max_rows = int(ctx.options.get("detection_auc", {}).get("max_rows", DETECTION_ROWS))
    n = min(len(ctx.train), len(ctx.synthetic), max_rows)
    if not cols or n < 10:
        return Result(None, skipped="needs compared columns and at least 10 rows on both sides")
    rng = np.random.default_rng([ctx.seed, 4099])
    sides = [
        to_model_frame(df.iloc[np.sort(rng.choice(len(df), n, replace=False))], ctx.schema, cols)
        for df in (ctx.train, ctx.synthetic)
    ]
    enc = FeatureEncoder.fit(sides, ctx.schema, cols)
    X, cat = np.vstack([enc.transform(f) for f in sides]), enc.categorical_mask
    y = np.repeat([0, 1], n)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=ctx.seed)
    aucs = []
    with model_threads():
        for fit_rows, test_rows in folds.split(X, y):
            model = fit_model("classification", X[fit_rows], y[fit_rows], ctx.seed, cat)
            aucs.append(roc_auc_score(y[test_rows], model.predict_proba(X[test_rows])[:, 1]))
    auc = float(np.mean(aucs))
    details = {
        "detection_score": 1.0 - 2.0 * max(auc - 0.5, 0.0),
        "fold_auc": [float(a) for a in aucs],
        "rows_per_side": n,
    }
    return Result(auc, details)
