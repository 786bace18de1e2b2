"""Fidelity: how closely the synthetic table's distributions follow the real one's.

The definitions follow SDMetrics' QualityReport so the numbers can be compared: missing values
are left out of the column shapes (``missing_similarity`` scores them), label pairs and mixed
pairs are compared on joint frequency tables (a missing value is a value of its own there),
number pairs on Pearson correlations over the rows where both are present.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.utility import FeatureEncoder, fit_model, model_threads
from synthgen.stats import ks_complement, tv_complement
from synthgen.transforms.frame import to_model_frame

NUMERIC_KINDS = ("numeric", "integer", "datetime")
PAIR_BINS = 10  # equal-width bins on the real range for a number paired with a label
MAX_PAIRS_SHOWN = 50  # the report lists the worst pairs; the mean uses every pair
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
    value = float(np.mean(list(per.values()))) if per else None
    worst = min(per, key=per.__getitem__) if per else None
    return Result(value, {"per_column": per, "worst_column": worst})


@register(
    "column_shapes",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "per-column distribution match: KS complement (numbers, dates), TV complement (labels)",
)
def column_shapes(ctx: Context) -> Result:
    """Higher is better, 0-1: 1 - KS statistic (numbers, dates) or 1 - total variation
    distance (labels), on non-missing values, averaged over the compared columns."""
    return _cached(ctx, "column_shapes", _column_shapes)  # type: ignore[no-any-return]


# ---- column pairs ---------------------------------------------------------------------------
def _codes(real: pd.Series, synth: pd.Series, numeric: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Both sides as integer codes 0..k-1; a missing value has a code of its own."""
    if numeric:
        r, s = real.to_numpy(float), synth.to_numpy(float)
        present = r[~np.isnan(r)]
        edges = equal_width_edges(present, PAIR_BINS)
        inner = edges[1:-1]  # open-ended outer bins, like SDMetrics' discretize_column
        code = [np.where(np.isnan(x), PAIR_BINS, np.digitize(x, inner)) for x in (r, s)]
        return code[0], code[1], PAIR_BINS + 1
    both = pd.concat([real, synth], ignore_index=True)
    text = both.astype(str).where(both.notna(), None)
    codes, uniques = pd.factorize(text)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes[: len(real)], codes[len(real) :], len(uniques) + 1


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


def _joint_tvd(
    a: tuple[np.ndarray, np.ndarray, int], b: tuple[np.ndarray, np.ndarray, int]
) -> float:
    """Total variation distance between the real and synthetic joint frequency tables."""
    (ra, sa, ka), (rb, sb, kb) = a, b
    jr, js = ra * kb + rb, sa * kb + sb
    k = ka * kb
    if k > 1_000_000:  # many cells: count only the ones that occur
        _, inverse = np.unique(np.concatenate([jr, js]), return_inverse=True)
        jr, js, k = inverse[: len(jr)], inverse[len(jr) :], int(inverse.max()) + 1
    p = np.bincount(jr, minlength=k) / len(jr)
    q = np.bincount(js, minlength=k) / len(js)
    return float(0.5 * np.abs(p - q).sum())


def _nested(m: pd.DataFrame) -> list[list[float | None]]:
    return [[None if np.isnan(v) else round(float(v), 6) for v in row] for row in m.to_numpy()]


def _column_pair_trends(ctx: Context) -> Result:
    real, synth = model_frames(ctx)
    cols = list(real.columns)
    if len(cols) < 2 or len(real) == 0 or len(synth) == 0:
        return Result(None, skipped="needs two compared columns and rows on both sides")
    num = [c for c in cols if _is_numeric(ctx, c)]
    corr_r, corr_s = real[num].corr(), synth[num].corr()
    codes = {c: _codes(real[c], synth[c], c in num) for c in cols}
    scores: dict[str, float] = {}
    for a, b in combinations(cols, 2):
        if a in num and b in num:
            r = corr_r.at[a, b]
            if np.isnan(r):  # a constant real column: no trend to keep
                continue
            s = corr_s.at[a, b]
            scores[f"{a}|{b}"] = 1.0 - abs(r - (0.0 if np.isnan(s) else s)) / 2.0
        else:
            scores[f"{a}|{b}"] = 1.0 - _joint_tvd(codes[a], codes[b])
    if not scores:
        return Result(None, skipped="no column pair with a trend in the real table")
    worst = sorted(scores, key=lambda k: (scores[k], k))
    details: dict[str, Any] = {
        "per_pair": {k: scores[k] for k in worst[:MAX_PAIRS_SHOWN]},
        "pairs": len(scores),
        "worst_pair": worst[0],
        "correlation": {
            "columns": num,
            "real": _nested(corr_r),
            "synthetic": _nested(corr_s),
            "difference": _nested((corr_s - corr_r).abs()),
        },
    }
    return Result(float(np.mean(list(scores.values()))), details)


@register(
    "column_pair_trends",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "pairwise trends kept: correlation similarity for number pairs, contingency similarity "
    "(1 - TVD of joint frequencies, numbers in 10 bins) for pairs with a label; mean over pairs",
)
def column_pair_trends(ctx: Context) -> Result:
    """Higher is better, 0-1, mean over every pair of compared columns. Two numbers (dates as
    seconds): 1 - |r_real - r_synthetic| / 2 with Pearson's r. A pair with a label: 1 - total
    variation distance between the joint frequency tables, numbers binned into 10 equal-width
    bins of the real range. ``per_pair`` lists the worst 50 pairs; ``correlation`` holds the
    real, synthetic and |difference| Pearson matrices of the number columns for heatmaps."""
    return _cached(ctx, "column_pair_trends", _column_pair_trends)  # type: ignore[no-any-return]


@register(
    "quality",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "overall quality score: mean of column_shapes and column_pair_trends (SDMetrics' definition)",
)
def quality(ctx: Context) -> Result:
    """Higher is better, 0-1: the mean of ``column_shapes`` and ``column_pair_trends``
    (computed once per run and shared with those metrics)."""
    parts = {"column_shapes": column_shapes(ctx), "column_pair_trends": column_pair_trends(ctx)}
    values = {k: r.value for k, r in parts.items() if r.value is not None}
    if not values:
        return Result(None, skipped="no compared columns")
    return Result(float(np.mean(list(values.values()))), dict(values))


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
