"""Singling out, linkability and inference risks (Giomi et al., "A Unified Framework for
Quantifying Privacy Risk in Synthetic Data", PoPETs 2023; the idea behind Anonymeter).

Each attack uses only the synthetic data and is run three times: against training records
(the "main" attack), against holdout records the generator never saw ("control") and as a
naive guesser ("baseline"). Success rates carry 95 % Wilson-score intervals, and

    risk = (main rate - control rate) / (1 - control rate)

is the share of the attacker's possible gain that comes from training records being in the
synthetic data rather than from what generalises (0 = none, 1 = every attack exploits it).
"""

from __future__ import annotations

from math import sqrt
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import binom, norm

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.neighbors import NUMERIC_KINDS, canonical_labels, encoded, knn
from synthgen.metrics.neighbors import not_applicable as _not_applicable
from synthgen.transforms.frame import to_model_frame

Z95 = 1.959963984540054
TRUE, ISNA, NOTNA, EQ, NE, LT, GT, LE, GE = range(9)


def wilson(k: float, n: int) -> tuple[float, float]:
    """Wilson-score centre and 95 % half-width of a success rate k / n."""
    if n <= 0:
        return 0.0, 0.0
    z2, k = Z95 * Z95, min(max(k, 0.0), n)
    centre = (k + z2 / 2) / (n + z2)
    half = Z95 / (n + z2) * sqrt(k * (n - k) / n + z2 / 4)
    return centre, half


def risk_details(n: int, main: float, control: float, baseline: float) -> dict[str, Any]:
    """Rates of the three attacks and the residual risk with its propagated 95 % interval."""
    (m, em), (c, ec), (b, _) = wilson(main, n), wilson(control, n), wilson(baseline, n)
    risk = (m - c) / (1 - c)
    err = sqrt((em / (1 - c)) ** 2 + (ec * (m - 1) / (1 - c) ** 2) ** 2)
    clip = lambda x: float(min(max(x, 0.0), 1.0))  # noqa: E731
    return {
        "risk": clip(risk),
        "ci_low": clip(risk - err),
        "ci_high": clip(risk + err),
        "n_attacks": int(n),
        "main_rate": m,
        "control_rate": c,
        "baseline_rate": b,
        "attack_beats_baseline": bool(m > b),
    }


def _result(parts: dict[str, dict[str, Any]]) -> Result:
    """The worst part is the value; its interval and rates are the top-level details."""
    worst = max(parts, key=lambda k: parts[k]["risk"])
    top = {k: v for k, v in parts[worst].items() if k != "risk"}
    return Result(parts[worst]["risk"], {**top, "worst": worst, "parts": parts})


def _opts(ctx: Context, name: str) -> tuple[dict[str, Any], int, np.random.Generator]:
    opts = dict(ctx.options.get(name, {}))
    return opts, int(opts.get("n_attacks", 500)), np.random.default_rng(ctx.seed)


# ---- singling out -------------------------------------------------------------------------
def _tables(ctx: Context) -> tuple[list[np.ndarray], np.ndarray]:
    """Deduplicated train, synthetic and holdout as (columns x rows) float arrays: numbers
    as themselves, labels as shared codes, NaN for missing. Also which columns are labels."""
    cols = ctx.compared_columns()
    frames = [ctx.train, ctx.synthetic, ctx.holdout]
    is_label = np.array([ctx.schema[c].kind not in NUMERIC_KINDS for c in cols])
    parts = []
    for c, label in zip(cols, is_label, strict=True):
        if label:
            lab = pd.concat([canonical_labels(f[c], ctx.schema[c].kind) for f in frames])
            codes = pd.factorize(lab)[0].astype(float)
            parts.append(np.where(codes < 0, np.nan, codes))
        else:
            parts.append(np.concatenate([to_model_frame(f, ctx.schema, [c])[c] for f in frames]))
    values = np.column_stack(parts)
    cuts = np.cumsum([0] + [len(f) for f in frames])
    tables = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        unique = pd.DataFrame(values[a:b]).drop_duplicates().to_numpy(float)
        tables.append(np.ascontiguousarray(unique.T))
    return tables, is_label


def count_matches(t: np.ndarray, qcol: np.ndarray, qop: np.ndarray, qval: np.ndarray) -> np.ndarray:
    """Rows of ``t`` (columns x rows) matching each conjunctive query (one per row of the
    (queries x terms) arrays ``qcol``, ``qop``, ``qval``)."""
    n_q, n_terms = qcol.shape
    counts = np.zeros(n_q, dtype=np.int64)
    step = max(16, 4_000_000 // max(t.shape[1], 1))  # queries per pass: a ~4 MB mask
    for a in range(0, n_q, step):
        c, o, v = (x[a : a + step].ravel() for x in (qcol, qop, qval))
        q = np.repeat(np.arange(len(c) // n_terms), n_terms)
        mask = np.ones((len(c) // n_terms, t.shape[1]), dtype=bool)
        for key in np.unique(c * 16 + o):
            col, op = divmod(int(key), 16)
            if op == TRUE:
                continue
            sel = (c == col) & (o == op)
            mask[q[sel]] &= _condition(t[col], op, v[sel])
        counts[a : a + step] = np.count_nonzero(mask, axis=1)
    return counts


def _condition(x: np.ndarray, op: int, vals: np.ndarray) -> np.ndarray:
    X, V = x[None, :], vals[:, None]
    if op in (ISNA, NOTNA):
        return np.broadcast_to(np.isnan(X) == (op == ISNA), (len(vals), len(x)))
    if op == NE:
        return (X != V) & ~np.isnan(X)
    fn = {EQ: np.equal, LT: np.less, GT: np.greater, LE: np.less_equal, GE: np.greater_equal}
    return np.asarray(fn[op](X, V))


def _univariate(
    syn: np.ndarray, is_label: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """One-term queries that single out a synthetic row: a value seen once, the only
    missing cell, a unique minimum or maximum; ``n`` of them at random."""
    found = []
    for j, x in enumerate(syn):
        nan = np.isnan(x)
        if nan.sum() == 1:
            found.append([(j, ISNA, 0.0)])
        vals, counts = np.unique(x[~nan], return_counts=True)
        found.append([(j, EQ, v) for v in vals[counts == 1]])
        if not is_label[j] and len(vals):
            found.append([(j, LE, vals[0])] if counts[0] == 1 else [])
            found.append([(j, GE, vals[-1])] if counts[-1] == 1 else [])
    cand = np.array([q for part in found for q in part], dtype=float).reshape(-1, 3)
    cand = cand[rng.permutation(len(cand))[:n]]
    return cand[:, :1].astype(np.int64), cand[:, 1:2].astype(np.int64), cand[:, 2:3]


def _multivariate(
    syn: np.ndarray,
    is_label: np.ndarray,
    n: int,
    n_cols: int,
    rng: np.random.Generator,
    max_attempts: int,
) -> tuple[np.ndarray, ...]:
    """Queries built from random synthetic rows on ``n_cols`` random columns (labels ==,
    numbers >= or <= the row's value, towards the column's tail); kept when they single out
    exactly one synthetic row."""
    p, m = syn.shape
    n_cols = min(n_cols, p)
    med = np.array([np.nanmedian(x) if np.isfinite(x).any() else 0.0 for x in syn])
    # a cascade of growing row prefixes rejects most candidates cheaply
    heads = [np.ascontiguousarray(syn[:, :size]) for size in (256, 2048) if size < m] + [syn]
    kept: dict[bytes, tuple[np.ndarray, ...]] = {}
    attempts = 0
    while len(kept) < n and attempts < max_attempts:
        rows = rng.integers(m, size=4096)
        cols = np.sort(np.argsort(rng.random((4096, p)), axis=1)[:, :n_cols], axis=1)
        vals = syn[cols, rows[:, None]]
        nan = np.isnan(vals)
        ops = np.where(nan, ISNA, np.where(is_label[cols], EQ, np.where(vals > med[cols], GE, LE)))
        vals = np.where(nan, 0.0, vals)
        attempts += 4096
        alone = np.ones(len(rows), dtype=bool)
        for head in heads:
            live = np.flatnonzero(alone)
            hits = count_matches(head, cols[live], ops[live], vals[live])
            alone[live] = hits - (rows[live] < head.shape[1]) == 0
        for i in np.flatnonzero(alone):
            key = cols[i].tobytes() + ops[i].tobytes() + vals[i].tobytes()
            kept.setdefault(key, (cols[i], ops[i], vals[i]))
    picked = list(kept.values())[:n]
    if not picked:
        return tuple(np.zeros((0, n_cols), t) for t in (np.int64, np.int64, float))
    return tuple(np.array([q[k] for q in picked]) for k in range(3))


def _random_queries(
    syn: np.ndarray, is_label: np.ndarray, n: int, n_cols: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """The naive attacker: random columns, random synthetic values, random operators."""
    p = syn.shape[0]
    n_cols = min(n_cols, p)
    uniq = [np.unique(x) for x in syn]  # NaN sorts last, kept once
    cols = np.sort(np.argsort(rng.random((n, p)), axis=1)[:, :n_cols], axis=1)
    vals = np.array([[uniq[c][rng.integers(len(uniq[c]))] for c in row] for row in cols])
    vals = vals.reshape(n, n_cols)
    nan = np.isnan(vals)
    label_op = rng.choice([EQ, NE], size=vals.shape)
    num_op = rng.choice([EQ, NE, LT, GT, LE, GE], size=vals.shape)
    ops = np.where(
        nan, rng.choice([ISNA, NOTNA], size=vals.shape), np.where(is_label[cols], label_op, num_op)
    )
    return cols, ops, np.where(nan, 0.0, vals)


def control_successes(counts: np.ndarray, n_control: int, n_main: int) -> float:
    """Queries expected to single out one row of a control set as large as the main one.

    A query matching a share w of the population singles out one of n rows with chance
    n w (1 - w)^(n - 1) (Cohen and Nissim 2020), so control successes do not scale with
    size. Each query's w is estimated from its control count ``counts`` (binomial out of
    ``n_control``) under a log-normal prior over queries fitted by marginal likelihood
    (empirical Bayes); the posterior expectation is taken at ``n_main`` rows. On Adult
    splits with a known answer it erred high by 0-3.5 successes per 100 queries (the risk
    then errs low by about as much); a curve fit like Anonymeter's erred low by 2.5-5.5,
    with twice the spread, which shows as risk where there is none."""
    if n_control == n_main or n_control == 0 or len(counts) == 0:
        return float(np.sum(counts == 1))
    log_w = np.linspace(np.log(min(1e-8, 0.01 / n_main)), 0.0, 400)[:-1]
    w = np.exp(log_w)
    like = binom.pmf(counts[:, None], n_control, w[None, :])

    def prior(p: np.ndarray) -> np.ndarray:
        dens = norm.pdf(log_w, p[0], np.exp(p[1]))
        return dens / max(float(dens.sum()), 1e-300)

    def nll(p: np.ndarray) -> float:
        return float(-np.sum(np.log(like @ prior(p) + 1e-300)))

    starts = ([-np.log(s), 0.5] for s in (n_control, n_main, 10 * n_main))
    fit = min((minimize(nll, x0, method="Nelder-Mead") for x0 in starts), key=lambda r: r.fun)
    post = like * prior(fit.x)
    post /= post.sum(axis=1, keepdims=True) + 1e-300
    return float(np.sum(post @ (n_main * w * (1.0 - w) ** (n_main - 1))))


def _singling_out_mode(
    tables: list[np.ndarray],
    is_label: np.ndarray,
    mode: str,
    opts: dict[str, Any],
    n: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    ori, syn, control = tables
    n_cols = 1 if mode == "univariate" else int(opts.get("n_cols", 3))
    if mode == "univariate":
        queries = _univariate(syn, is_label, n, rng)
    else:
        queries = _multivariate(
            syn, is_label, n, n_cols, rng, int(opts.get("max_attempts", 1_000_000))
        )
    n_q = len(queries[0])
    if n_q == 0:
        return {
            **risk_details(0, 0, 0, 0),
            "n_attacks": 0,
            "note": "no query singles out a synthetic row",
        }
    main = int(np.sum(count_matches(ori, *queries) == 1))
    control_hits = control_successes(
        count_matches(control, *queries), control.shape[1], ori.shape[1]
    )
    base = int(np.sum(count_matches(ori, *_random_queries(syn, is_label, n_q, n_cols, rng)) == 1))
    return risk_details(n_q, main, float(control_hits), base)


@register(
    "singling_out_risk",
    "privacy",
    "lower",
    (0.0, 1.0),
    "risk that queries learned from synthetic data isolate one training record (Anonymeter)",
)
def singling_out_risk(ctx: Context) -> Result:
    """Predicates that isolate one synthetic row ("age >= 87 and city == Nice") are tried on
    the training rows: success when one matches exactly one record. Control: the same on
    the holdout, corrected for its size. Univariate (one rare value) and multivariate
    (``n_cols`` = 3 values of a synthetic row) attacks; the value is the riskier one.
    Options: n_attacks (500), n_cols, max_attempts, mode (univariate|multivariate|both)."""
    if reason := _not_applicable(ctx):
        return Result(None, skipped=reason)
    opts, n, rng = _opts(ctx, "singling_out_risk")
    tables, is_label = _tables(ctx)
    mode = opts.get("mode", "both")
    modes = ["univariate", "multivariate"] if mode == "both" else [mode]
    return _result({m: _singling_out_mode(tables, is_label, m, opts, n, rng) for m in modes})


# ---- linkability --------------------------------------------------------------------------
def _nearest(
    x: np.ndarray, syn: np.ndarray, dims: np.ndarray, k: int, hot: np.ndarray
) -> np.ndarray:
    return knn(x[:, dims], syn[:, dims], k=k, onehot=hot[dims]).idx


@register(
    "linkability_risk",
    "privacy",
    "lower",
    (0.0, 1.0),
    "risk that synthetic data links two halves of a training record (Anonymeter)",
)
def linkability_risk(ctx: Context) -> Result:
    """The attacker holds two datasets with disjoint columns (``aux_cols``: two lists;
    by default the compared columns alternately) and links a record's two halves when both
    have the same nearest synthetic row (among ``n_neighbors``, 1 or 2). Control: the same
    on holdout records; baseline: random synthetic rows. Options: n_attacks (500)."""
    if reason := _not_applicable(ctx):
        return Result(None, skipped=reason)
    opts, n, rng = _opts(ctx, "linkability_risk")
    e = encoded(ctx)
    cols = e.encoder.columns
    aux = opts.get("aux_cols") or [cols[0::2], cols[1::2]]
    if len(aux) != 2 or not aux[0] or not aux[1] or not set(aux[0]) | set(aux[1]) <= set(cols):
        return Result(None, skipped="needs two non-empty sets of compared columns")
    k = min(int(opts.get("n_neighbors", 1)), 2, len(e.synthetic))
    dims = [e.encoder.dims(list(a)) for a in aux]

    def links(real: np.ndarray) -> int:
        targets = real[rng.choice(len(real), min(n, len(real)), replace=False)]
        a, b = (_nearest(targets, e.synthetic, d, k, e.encoder.onehot) for d in dims)
        return int(np.sum((a[:, :, None] == b[:, None, :]).any(axis=(1, 2))))

    n_att = min(n, len(e.train), len(e.holdout))
    main, control = links(e.train), links(e.holdout)
    ra, rb = (rng.integers(len(e.synthetic), size=(n_att, k)) for _ in range(2))
    base = int(np.sum((ra[:, :, None] == rb[:, None, :]).any(axis=(1, 2))))
    details = risk_details(n_att, main, control, base)
    details["aux_cols"] = [list(a) for a in aux]
    return _result({"linkability": details})


# ---- inference ----------------------------------------------------------------------------
def _secret_values(ctx: Context, frame: pd.DataFrame, col: str) -> np.ndarray:
    if ctx.schema[col].kind in NUMERIC_KINDS:
        return to_model_frame(frame, ctx.schema, [col])[col].to_numpy(float)
    return canonical_labels(frame[col], ctx.schema[col].kind).fillna("\0NA").to_numpy()


def _hits(truth: np.ndarray, guess: np.ndarray, numeric: bool, tol: float) -> int:
    """Labels: equal; numbers: within ``tol`` relative to the true value (NaN == NaN)."""
    if numeric:
        t, g = truth.astype(float), guess.astype(float)
        ok = (np.abs(g - t) <= tol * np.abs(t)) | (np.isnan(t) & np.isnan(g))
        return int(ok.sum())
    return int(np.sum(truth == guess))


def _inference_one(
    ctx: Context, secret: str, n: int, tol: float, rng: np.random.Generator
) -> dict[str, Any]:
    e = encoded(ctx)
    aux = [c for c in e.encoder.columns if c != secret]
    dims = e.encoder.dims(aux)
    numeric = ctx.schema[secret].kind in NUMERIC_KINDS
    syn_secret = _secret_values(ctx, ctx.synthetic.iloc[e.synthetic_rows], secret)
    n_att = min(n, len(e.train), len(e.holdout))
    hits = []
    for x, frame in ((e.train, ctx.train.iloc[e.train_rows]), (e.holdout, ctx.holdout)):
        t = rng.choice(len(x), n_att, replace=False)
        truth = _secret_values(ctx, frame.iloc[t], secret)
        guess = syn_secret[_nearest(x[t], e.synthetic, dims, 1, e.encoder.onehot)[:, 0]]
        hits.append(_hits(truth, guess, numeric, tol))
        # the naive attacker guesses a random synthetic row's secret (scored on train)
        naive = syn_secret[rng.integers(len(syn_secret), size=n_att)]
        hits.append(_hits(truth, naive, numeric, tol))
    main, _, control, _ = hits
    return risk_details(n_att, main, control, hits[1])


@register(
    "inference_risk",
    "privacy",
    "lower",
    (0.0, 1.0),
    "risk of inferring a secret column of training records from synthetic data (Anonymeter)",
)
def inference_risk(ctx: Context) -> Result:
    """The attacker knows every other compared column of a target, finds the nearest
    synthetic row and reads its secret (``ctx.sensitive``; by default the target column,
    else the last compared one). Numbers count as guessed within ``tolerance`` (5 %) of the
    true value. Control: holdout targets; baseline: a random synthetic row's secret. The
    value is the riskiest secret. Options: n_attacks (500), tolerance."""
    if reason := _not_applicable(ctx):
        return Result(None, skipped=reason)
    opts, n, rng = _opts(ctx, "inference_risk")
    cols = ctx.compared_columns()
    if len(cols) < 2:
        return Result(None, skipped="needs at least two compared columns")
    default = ctx.target if ctx.target in cols else cols[-1]
    secrets = [c for c in (ctx.sensitive or [default]) if c in cols]
    if not secrets:
        return Result(None, skipped="no sensitive column is compared")
    tol = float(opts.get("tolerance", 0.05))
    return _result({s: _inference_one(ctx, s, n, tol, rng) for s in secrets})
