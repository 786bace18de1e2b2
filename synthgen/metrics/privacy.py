"""Privacy leakage: does the synthetic table give back training records?

Every neighbour-based metric here uses the HOLDOUT (real rows the generator never saw) as
its baseline: a record is at risk only when the synthetic data sits closer to training rows
than to unseen ones. Anonymeter-style risks live in :mod:`synthgen.metrics.anonymity`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.evidence import (
    Evidence,
    auc_se,
    copy_excess,
    difference_se,
    proportion_se,
)
from synthgen.metrics.neighbors import (
    NUMERIC_KINDS,
    canonical_labels,
    encoded,
    knn,
    not_applicable,
    real_to_synthetic,
    shared_neighbours,
)
from synthgen.schema.spec import Schema
from synthgen.transforms.frame import to_model_frame

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def row_hashes(df: pd.DataFrame, ctx: Context, cols: list[str]) -> np.ndarray:
    """One 64-bit hash per row over ``cols`` with types normalised (1 == 1.0 == "1",
    NaN == None), so frames from any generator compare."""
    return frame_hashes(df, ctx.schema, cols)


def frame_hashes(df: pd.DataFrame, schema: Schema, cols: list[str]) -> np.ndarray:
    """``row_hashes`` given the schema alone: a row's hash depends on that row only, so a
    table read in batches (``synthgen.scale.exact``) hashes as it would whole. A missing
    label is a marker led by the record separator (0x1e), not by NUL: pandas compares
    hashed text only up to a NUL, which made a missing label hash like an empty one."""
    frame = to_model_frame(df, schema, cols)
    norm = pd.DataFrame(
        {
            c: (
                _round9(frame[c])
                if schema[c].kind in NUMERIC_KINDS
                else canonical_labels(df[c], schema[c].kind).fillna("\x1eNA")
            )
            for c in cols
        },
        index=df.index,
    )
    return pd.util.hash_pandas_object(norm, index=False).to_numpy()


def _round9(s: pd.Series) -> pd.Series:
    """Rounded to 9 decimals; values from 2**52 up are whole already and left as they are
    (rounding multiplies by 1e9, which turns values near 1e308 into infinity)."""
    big = s.abs() >= 2.0**52
    return s.round(9) if not big.any() else s.where(big, s.where(~big, 0.0).round(9))


@register(
    "exact_copy_rate",
    "privacy",
    "lower",
    (0.0, 1.0),
    "share of synthetic rows identical to a training row (on the modelled columns)",
)
def exact_copy_rate(ctx: Context) -> Result:
    """Share of synthetic rows equal to some training row; compare with
    ``holdout_copy_rate`` (the same for unseen real rows: copies a generator makes by chance)."""
    cols = ctx.compared_columns()
    if not cols or len(ctx.synthetic) == 0:
        return Result(0.0, {"columns": cols, "copies": 0})
    syn = row_hashes(ctx.synthetic, ctx, cols)
    train = row_hashes(ctx.train, ctx, cols)
    copies = np.isin(syn, train)
    details: dict[str, Any] = {"columns": len(cols), "copies": int(copies.sum())}
    if len(ctx.holdout):
        details["holdout_copy_rate"] = float(
            np.isin(syn, row_hashes(ctx.holdout, ctx, cols)).mean()
        )
    return Result(float(copies.mean()), details)


@register(
    "exact_copy_excess",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "share of synthetic rows that copy a training record no other real row matches, beyond chance",
)
def exact_copy_excess(ctx: Context) -> Result:
    """Copies that single a training record out, corrected for chance: 0 = none beyond what
    unseen real rows give, 1 = every synthetic row copies a distinct training record (see
    :func:`synthgen.metrics.evidence.copy_excess`). Unlike ``exact_copy_rate`` it stays near
    0 on tables whose rows repeat naturally. Without a holdout it is the plain copy rate."""
    cols = ctx.compared_columns()
    if not cols or len(ctx.train) == 0:
        return Result(None, skipped="no compared columns or no training rows")
    train = row_hashes(ctx.train, ctx, cols)
    hold = row_hashes(ctx.holdout, ctx, cols) if len(ctx.holdout) else train[:0]
    syn = row_hashes(ctx.synthetic, ctx, cols) if len(ctx.synthetic) else train[:0]
    ev = copy_excess(syn, train, hold)
    lo, hi = ev.interval()
    details: dict[str, Any] = {"ci_low": lo, "ci_high": hi, "synthetic_rows": len(syn)}
    if len(hold):
        details["chance_train_share"] = len(train) / (len(train) + len(hold))
    else:
        details["note"] = "no holdout: every copy counts, natural duplicates too"
    return Result(ev.estimate, details, evidence=ev)


def _quantiles(d: np.ndarray) -> dict[str, float]:
    return {
        f"p{int(q * 100)}": float(v)
        for q, v in zip(QUANTILES, np.quantile(d, QUANTILES), strict=True)
    }


@register(
    "dcr_share",
    "privacy",
    "lower",
    (0.0, 1.0),
    "share of synthetic rows nearer to a training row than to a holdout row (0.5 = no leak)",
)
def dcr_share(ctx: Context) -> Result:
    """Share of synthetic rows whose nearest TRAIN row is strictly closer than their nearest
    HOLDOUT row (ties count half), corrected for the two sets' sizes: 0.5 = no leak, 1 =
    every synthetic row sits on a training record.

    A bigger set is closer by chance alone: with no leak, a row that is not a tie goes to
    train with odds n_train : n_holdout. The value re-weights those odds by n_holdout /
    n_train, which brings the chance level to 0.5 and keeps every training row in play
    (ties stay at one half). ``equal_size_share`` is the plain alternative, an equal-size
    random subsample of train (seeded by ``ctx.seed``) against the holdout: also 0.5 with
    no leak, but a copied row's twin is in the subsample only n_holdout / n_train of the
    time, so it tops out at 0.5 + 0.5 n_holdout / n_train (0.625 for an 80/20 split) even
    for a verbatim copy. Details: a 95 % score interval (synthetic rows sharing a nearest
    real row counted as one, see ``_dcr_evidence``), DCR quantiles to train and holdout
    (full sets), and 30-bin histograms on shared edges."""
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    sh = shared_neighbours(ctx)
    d_tr, d_ho = sh.to_train.dist[:, 0], sh.to_holdout.dist[:, 0]
    tie = np.isclose(d_tr, d_ho, rtol=1e-9, atol=1e-12)
    n_open, ties = int((~tie).sum()), float(tie.mean())
    to_train = (d_tr < d_ho) & ~tie
    wins = float(np.sum(to_train))
    ev = _dcr_evidence(sh, tie, to_train)
    lo, hi = ev.interval()
    top = float(max(np.quantile(d_tr, 0.99), np.quantile(d_ho, 0.99), 1e-9))
    edges = np.linspace(0.0, top, 31)
    details = {
        "ci_low": lo,
        "ci_high": hi,
        "raw_share": _closer_share(d_tr, d_ho),
        "chance_raw_share": sh.n_train / (sh.n_train + sh.n_holdout),
        "equal_size_share": _closer_share(sh.to_train.pre_dist[:, 0], sh.to_holdout.pre_dist[:, 0]),
        "n_train": sh.n_train,
        "n_holdout": sh.n_holdout,
        "closer_to_train": int(wins),
        "ties": ties,
        "dcr_train": _quantiles(d_tr),
        "dcr_holdout": _quantiles(d_ho),
        "dcr_train_median": float(np.median(d_tr)),
        "hist_edges": edges.tolist(),
        "hist_train": np.histogram(np.minimum(d_tr, top), bins=edges)[0].tolist(),
        "hist_holdout": np.histogram(np.minimum(d_ho, top), bins=edges)[0].tolist(),
    }
    if n_open == 0:
        details["note"] = "every synthetic row is as close to a holdout row as to a train row"
    return Result(ev.estimate, details, evidence=ev)


def _dcr_evidence(sh: Any, tie: np.ndarray, to_train: np.ndarray) -> Evidence:
    """The corrected share with its error. With no leak a non-tied row goes to train with
    chance f = n_train / (n_train + n_holdout) whatever the generator (real rows are
    exchangeable); rows whose nearest real row is the same stand or fall together, so the
    error of the raw share carries that design effect (sum of squared group sizes / rows)."""
    n_tr, n_ho = sh.n_train, sh.n_holdout
    open_ = ~tie
    n_open, ties = int(open_.sum()), float(tie.mean())
    winner = np.where(to_train, sh.to_train.idx[:, 0], n_tr + sh.to_holdout.idx[:, 0])[open_]
    sizes = np.unique(winner, return_counts=True)[1].astype(float)
    deff = float((sizes**2).sum() / sizes.sum()) if len(sizes) else 1.0

    def corrected(p: float) -> float:  # raw share of non-tied rows -> the 0.5-at-chance scale
        return float(ties * 0.5 + (1 - ties) * p * n_ho / (p * n_ho + (1 - p) * n_tr))

    def raw(theta: float) -> float:  # the inverse of corrected()
        t = min(max((theta - ties * 0.5) / (1 - ties), 0.0), 1.0) if ties < 1 else 0.5
        return t * n_tr / (t * n_tr + (1 - t) * n_ho)

    p_se = proportion_se(n_open / deff) if n_open else (lambda _p: 0.0)

    def se(theta: float) -> float:  # delta method through corrected()
        p = raw(theta)
        slope = (1 - ties) * n_ho * n_tr / (p * n_ho + (1 - p) * n_tr) ** 2
        return slope * p_se(p)

    p_hat = float(to_train.sum()) / n_open if n_open else 0.5
    return Evidence(corrected(p_hat) if n_open else 0.5, se, n_ho)


def _closer_share(d_tr: np.ndarray, d_ho: np.ndarray) -> float:
    tie = np.isclose(d_tr, d_ho, rtol=1e-9, atol=1e-12)
    return float(np.where(tie, 0.5, (d_tr < d_ho).astype(float)).mean())


def _ratio(d: np.ndarray) -> np.ndarray:
    """d1 / d2 per row; 1 when both are 0 (the row is not unique among its neighbours)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d[:, 1] > 0, d[:, 0] / d[:, 1], 1.0)


@register(
    "nndr",
    "privacy",
    "higher",
    (0.0, 1.0),
    "median nearest / second-nearest training distance of synthetic rows (near 0 = copies)",
)
def nndr(ctx: Context) -> Result:
    """Median nearest-neighbour distance ratio d1/d2 of synthetic rows to train. Near 0, a
    synthetic row sits on one particular training record (an outlier copy); near 1, it is
    as close to several. Compare with ``holdout_median`` (the same against an equal-size
    holdout sample); ``p5`` shows the most exposed rows."""
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    sh = shared_neighbours(ctx)
    ratio = _ratio(sh.to_train.dist)
    details = {
        "p5": float(np.quantile(ratio, 0.05)),
        "train_equal_median": float(np.median(_ratio(sh.to_train.pre_dist))),
        "holdout_median": float(np.median(_ratio(sh.to_holdout.pre_dist))),
    }
    return Result(float(np.median(ratio)), details)


@register(
    "membership_auc",
    "privacy",
    "lower",
    (0.0, 1.0),
    "ROC AUC of telling training rows from holdout rows by their distance to synthetic data",
)
def membership_auc(ctx: Context) -> Result:
    """A distance-based membership-inference attack: each real row is scored by its
    distance to the nearest synthetic row (closer = more likely a training member). AUC of
    separating every training row (members) from every holdout row (non-members): 0.5 = no
    leak, 1 = every member found. With no leak members and holdout rows are alike given the
    synthetic data, so the AUC's error is the Mann-Whitney one (Hanley-McNeil, taken at the
    hypothesised AUC: a handful of rows is never certain). ``tpr_at_fpr_0.01`` shows the
    most confident hits; ``ci_low``/``ci_high``: the 95 % interval."""
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    to_train, to_holdout = real_to_synthetic(ctx)
    members, others = to_train.dist[:, 0], to_holdout.dist[:, 0]
    labels = np.r_[np.ones(len(members)), np.zeros(len(others))]
    score = -np.r_[members, others]
    auc = float(roc_auc_score(labels, score))
    ev = Evidence(auc, auc_se(len(members), len(others)), len(others))
    lo, hi = ev.interval()
    fpr, tpr, _ = roc_curve(labels, score)
    details = {
        "n_members": len(members),
        "n_holdout": len(others),
        "member_median_distance": float(np.median(members)),
        "holdout_median_distance": float(np.median(others)),
        "tpr_at_fpr_0.01": float(np.interp(0.01, fpr, tpr)),
        "advantage": 2 * auc - 1,
        "ci_low": lo,
        "ci_high": hi,
    }
    return Result(auc, details, evidence=ev)


def _guess_correct(ctx: Context, col: str, truth: pd.Series, guess: pd.Series) -> np.ndarray:
    """Numbers: within 5 % of the train range; labels: equal (missing == missing)."""
    kind = ctx.schema[col].kind
    if kind in NUMERIC_KINDS:
        t = to_model_frame(truth.to_frame(), ctx.schema, [col])[col].to_numpy(float)
        g = to_model_frame(guess.to_frame(), ctx.schema, [col])[col].to_numpy(float)
        real = to_model_frame(ctx.train, ctx.schema, [col])[col].to_numpy(float)
        span = float(np.nanmax(real) - np.nanmin(real)) if np.isfinite(real).any() else 0.0
        both_na = np.isnan(t) & np.isnan(g)
        return both_na | (np.abs(t - g) <= 0.05 * span)
    a = canonical_labels(truth, kind).fillna("\x1eNA").to_numpy()
    b = canonical_labels(guess, kind).fillna("\x1eNA").to_numpy()
    return np.asarray(a == b)


def _inference_leak(ctx: Context, col: str) -> tuple[dict[str, Any], Evidence]:
    e = encoded(ctx)
    others = [c for c in e.encoder.columns if c != col]
    dims = e.encoder.dims(others)
    queries = np.vstack([e.train[:, dims], e.holdout[:, dims]])
    nearest = knn(queries, e.synthetic[:, dims], onehot=e.encoder.onehot[dims]).idx[:, 0]
    syn_col = ctx.synthetic[col].iloc[e.synthetic_rows].reset_index(drop=True)
    truth = pd.concat([ctx.train[col].iloc[e.train_rows], ctx.holdout[col]], ignore_index=True)
    ok = _guess_correct(ctx, col, truth, syn_col.iloc[nearest].reset_index(drop=True))
    n_tr = len(e.train)
    k_tr, k_ho = int(ok[:n_tr].sum()), int(ok[n_tr:].sum())
    ev = difference_se(k_tr, n_tr, k_ho, len(ok) - n_tr)
    details = {
        "train_accuracy": k_tr / n_tr,
        "holdout_accuracy": k_ho / (len(ok) - n_tr),
        "leak": ev.estimate,
        "n_train": n_tr,
        "n_holdout": len(ok) - n_tr,
    }
    return details, ev


@register(
    "attribute_inference",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "extra accuracy of guessing a sensitive value for training rows over holdout rows",
)
def attribute_inference(ctx: Context) -> Result:
    """An attacker knows every other compared column of a target, takes the nearest
    synthetic row and reads off its sensitive value. The value is the worst, over
    ``ctx.sensitive``, of train accuracy minus holdout accuracy: what the synthetic data
    reveals about training records beyond what generalises (0 = nothing; numbers count as
    guessed within 5 % of their range). Every train and holdout row is a target; the error
    is that of a difference of two shares (``ci_low``/``ci_high``: 95 %)."""
    if not ctx.sensitive:
        return Result(None, skipped="no sensitive columns declared")
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    cols = ctx.compared_columns()
    per: dict[str, Any] = {}
    evidence: dict[str, Evidence] = {}
    for col in ctx.sensitive:
        if col not in cols or len(cols) < 2:
            per[col] = {"error": "not compared" if col not in cols else "no other column known"}
        else:
            per[col], evidence[col] = _inference_leak(ctx, col)
    if not evidence:
        return Result(None, {"per_column": per}, skipped="no sensitive column is compared")
    worst = max(evidence, key=lambda c: evidence[c].estimate)
    lo, hi = evidence[worst].interval()
    details = {"per_column": per, "worst_column": worst, "ci_low": lo, "ci_high": hi}
    return Result(evidence[worst].estimate, details, evidence=evidence[worst])
