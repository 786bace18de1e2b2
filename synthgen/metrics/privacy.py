"""Privacy leakage: does the synthetic table give back training records?

Every neighbour-based metric here uses the HOLDOUT (real rows the generator never saw) as
its baseline: a record is at risk only when the synthetic data sits closer to training rows
than to unseen ones. Anonymeter-style risks live in :mod:`synthgen.metrics.anonymity`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from synthgen.metrics.anonymity import wilson
from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.neighbors import (
    NUMERIC_KINDS,
    canonical_labels,
    encoded,
    knn,
    not_applicable,
    shared_neighbours,
)
from synthgen.transforms.frame import to_model_frame

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def row_hashes(df: pd.DataFrame, ctx: Context, cols: list[str]) -> np.ndarray:
    """One 64-bit hash per row over ``cols`` with types normalised (1 == 1.0 == "1",
    NaN == None), so frames from any generator compare."""
    frame = to_model_frame(df, ctx.schema, cols)
    norm = pd.DataFrame(
        {
            c: (
                _round9(frame[c])
                if ctx.schema[c].kind in NUMERIC_KINDS
                else canonical_labels(df[c], ctx.schema[c].kind).fillna("\0NA")
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
    for a verbatim copy. Details: a 95 % interval (Wilson; synthetic rows taken as
    independent, so it is optimistic), DCR quantiles to train and holdout (full sets), and
    30-bin histograms on shared edges."""
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    sh = shared_neighbours(ctx)
    d_tr, d_ho = sh.to_train.dist[:, 0], sh.to_holdout.dist[:, 0]
    tie = np.isclose(d_tr, d_ho, rtol=1e-9, atol=1e-12)
    n_open, ties = int((~tie).sum()), float(tie.mean())
    wins = float(np.sum((d_tr < d_ho) & ~tie))

    def corrected(k: float) -> float:  # k of the n_open non-tied rows went to train
        p = k / n_open if n_open else 0.5
        odds = p * sh.n_holdout / (p * sh.n_holdout + (1 - p) * sh.n_train) if n_open else 0.5
        return float(ties * 0.5 + (1 - ties) * odds)

    centre, half = wilson(wins, n_open)
    top = float(max(np.quantile(d_tr, 0.99), np.quantile(d_ho, 0.99), 1e-9))
    edges = np.linspace(0.0, top, 31)
    details = {
        "ci_low": corrected(max(centre - half, 0.0) * n_open),
        "ci_high": corrected(min(centre + half, 1.0) * n_open),
        "raw_share": _closer_share(d_tr, d_ho),
        "chance_raw_share": sh.n_train / (sh.n_train + sh.n_holdout),
        "equal_size_share": _closer_share(sh.to_train.pre_dist[:, 0], sh.to_holdout.pre_dist[:, 0]),
        "n_train": sh.n_train,
        "n_holdout": sh.n_holdout,
        "ties": ties,
        "dcr_train": _quantiles(d_tr),
        "dcr_holdout": _quantiles(d_ho),
        "dcr_train_median": float(np.median(d_tr)),
        "hist_edges": edges.tolist(),
        "hist_train": np.histogram(np.minimum(d_tr, top), bins=edges)[0].tolist(),
        "hist_holdout": np.histogram(np.minimum(d_ho, top), bins=edges)[0].tolist(),
    }
    return Result(corrected(wins), details)


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
    separating an equal-size train sample (members) from the holdout (non-members): 0.5 =
    no leak, 1 = every member found. ``tpr_at_fpr_0.01`` shows the most confident hits;
    ``ci_low``/``ci_high``: 95 % interval (Hanley-McNeil), wide on small holdouts."""
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    sh = shared_neighbours(ctx)
    members, others = sh.to_train.rev_dist, sh.to_holdout.rev_dist
    labels = np.r_[np.ones(len(members)), np.zeros(len(others))]
    score = -np.r_[members, others]
    auc = float(roc_auc_score(labels, score))
    n1, n0 = len(members), len(others)  # Hanley and McNeil (1982) standard error
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    se = np.sqrt(
        (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    )
    fpr, tpr, _ = roc_curve(labels, score)
    details = {
        "n_members": len(members),
        "member_median_distance": float(np.median(members)),
        "holdout_median_distance": float(np.median(others)),
        "tpr_at_fpr_0.01": float(np.interp(0.01, fpr, tpr)),
        "advantage": 2 * auc - 1,
        "ci_low": float(max(auc - 1.96 * se, 0.0)),
        "ci_high": float(min(auc + 1.96 * se, 1.0)),
    }
    return Result(auc, details)


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
    a = canonical_labels(truth, kind).fillna("\0NA").to_numpy()
    b = canonical_labels(guess, kind).fillna("\0NA").to_numpy()
    return np.asarray(a == b)


def _inference_leak(ctx: Context, col: str, n_max: int) -> dict[str, Any]:
    e = encoded(ctx)
    others = [c for c in e.encoder.columns if c != col]
    n = min(e.n_equal, n_max)
    tr, ho = e.train_order[:n], e.holdout_order[:n]
    dims = e.encoder.dims(others)
    queries = np.vstack([e.train[tr][:, dims], e.holdout[ho][:, dims]])
    nearest = knn(queries, e.synthetic[:, dims], onehot=e.encoder.onehot[dims]).idx[:, 0]
    syn_col = ctx.synthetic[col].iloc[e.synthetic_rows].reset_index(drop=True)
    truth = pd.concat(
        [ctx.train[col].iloc[e.train_rows[tr]], ctx.holdout[col].iloc[ho]], ignore_index=True
    )
    ok = _guess_correct(ctx, col, truth, syn_col.iloc[nearest].reset_index(drop=True))
    acc_tr, acc_ho = float(ok[:n].mean()), float(ok[n:].mean())
    return {"train_accuracy": acc_tr, "holdout_accuracy": acc_ho, "leak": acc_tr - acc_ho}


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
    guessed within 5 % of their range). Options: ``max_targets`` (2000) per side."""
    if not ctx.sensitive:
        return Result(None, skipped="no sensitive columns declared")
    if reason := not_applicable(ctx):
        return Result(None, skipped=reason)
    n_max = int(ctx.options.get("attribute_inference", {}).get("max_targets", 2000))
    cols = ctx.compared_columns()
    per: dict[str, Any] = {}
    for col in ctx.sensitive:
        if col not in cols or len(cols) < 2:
            per[col] = {"error": "not compared" if col not in cols else "no other column known"}
        else:
            per[col] = _inference_leak(ctx, col, n_max)
    leaks = {c: v["leak"] for c, v in per.items() if "leak" in v}
    if not leaks:
        return Result(None, {"per_column": per}, skipped="no sensitive column is compared")
    worst = max(leaks, key=leaks.__getitem__)
    return Result(leaks[worst], {"per_column": per, "worst_column": worst})


# ---- PII replay -------------------------------------------------------------------------
_SEPARATORS = str.maketrans({c: " " for c in ",;:<>()[]{}\"'|\t\n\r"})
_EDGE = ".!?*_-"
_NUMBERISH = re.compile(r"[\d\s.+()-]+")
MAX_TOKENS = 12  # longer real values are only matched as whole cells


def _norm_one(text: str) -> str:
    tokens = (t.strip(_EDGE) for t in text.casefold().translate(_SEPARATORS).split())
    return " ".join(t for t in tokens if t)


def _norm_text(s: pd.Series) -> pd.Series:
    """Case-folded text with separators collapsed and punctuation trimmed from each token,
    so 'Mail A.B@x.com, please' holds 'a.b@x.com'. Computed once per distinct value."""
    text = s.astype(str)
    return text.map({u: _norm_one(u) for u in pd.unique(text)})


def mask_value(value: str) -> str:
    """A replayed value fit to show: 'jane@example.com' -> 'j***@example.com'."""
    if "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return f"{value[:1]}***{value[-1:]}" if len(value) >= 4 else "***"


def _text_hits(norm: pd.Series, real: set[str], sizes: set[int]) -> pd.Series:
    """For each normalised text cell, the real values it contains as whole tokens."""
    tokens = norm.str.split(" ").explode().dropna()
    frame = pd.DataFrame({"row": tokens.index, "tok": tokens.to_numpy()})
    found = []
    for k in sorted(sizes):
        gram, same = frame["tok"], np.ones(len(frame), bool)
        for j in range(1, k):
            gram = gram + " " + frame["tok"].shift(-j).fillna("")
            same &= (frame["row"].shift(-j) == frame["row"]).to_numpy()
        hit = same & gram.isin(real).to_numpy()
        found.append(pd.DataFrame({"row": frame["row"][hit], "value": gram[hit]}))
    hits = pd.concat(found).drop_duplicates() if found else pd.DataFrame(columns=["row", "value"])
    return hits.groupby("row")["value"].apply(list) if len(hits) else pd.Series(dtype=object)


@register(
    "pii_replay",
    "privacy",
    "lower",
    (0.0, float("inf")),
    "synthetic cells that repeat a real PII value (any column, and inside free text)",
)
def pii_replay(ctx: Context) -> Result:
    """Number of real PII values (from the train and holdout PII columns) found again in
    the synthetic table: whole cells of any column (stripped, case-folded), and substrings
    of 6+ characters inside text columns. Should be 0; examples in the details are masked."""
    pii = [c.name for c in ctx.schema.of_kind("pii") if c.name in ctx.train.columns]
    if not pii:
        return Result(0.0, {"pii_columns": []}, skipped="no PII columns in the schema")
    real_cells = pd.concat([f[c] for f in (ctx.train, ctx.holdout) if len(f) for c in pii])
    real = set(_norm_text(real_cells.dropna())) - {""}
    numberish = any(_NUMBERISH.fullmatch(v) for v in real)
    long = {v for v in real if len(v) >= 6 and v.count(" ") < MAX_TOKENS}
    sizes = {v.count(" ") + 1 for v in long}
    per: dict[str, int] = {}
    examples: list[str] = []
    for col in ctx.synthetic.columns:
        s = ctx.synthetic[col].dropna()
        if s.dtype.kind in "biufcmM" and not numberish:
            continue
        norm = _norm_text(canonical_labels(s))
        equal = norm.isin(real)
        count, seen = int(equal.sum()), list(norm[equal].unique()[:5])
        kind = ctx.schema[col].kind if col in ctx.schema else "text"
        if kind == "text" and long:
            inside = _text_hits(norm[~equal], long, sizes)
            count += int(inside.map(len).sum()) if len(inside) else 0
            seen += [v for vs in inside for v in vs][:5]
        if count:
            per[col] = count
            examples += [mask_value(v) for v in seen]
    return Result(
        float(sum(per.values())),
        {"pii_columns": pii, "per_column": per, "examples": examples[:5]},
    )
