"""Singling out (Giomi et al., PoPETs 2023; the attack Anonymeter runs): predicates that
isolate one synthetic row are tried on the training records and on the holdout.

The same queries run on both sides, so the excess success is a mean of paired differences.
Its error is not that of independent trials: queries that share rows rise and fall
together. With no leak, the split of the real rows into train and holdout is the only
chance involved, so the error is measured by re-splitting them at random (a permutation
test with the queries held fixed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import binom, norm

from synthgen.metrics.anonymity import _opts, risk_details
from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.evidence import Evidence, paired_mean
from synthgen.metrics.neighbors import NUMERIC_KINDS, canonical_labels
from synthgen.metrics.neighbors import not_applicable as _not_applicable
from synthgen.transforms.frame import to_model_frame

TRUE, ISNA, NOTNA, EQ, NE, LT, GT, LE, GE = range(9)
MAX_QUERIES = 5000  # queries per mode by default (one per synthetic row up to this)
RESPLITS = 50  # random re-splits of the real rows that measure the error
MATCH_CAP = 16  # a query matching more real rows than this cannot single one out by chance


def _tables(ctx: Context) -> tuple[list[np.ndarray], np.ndarray]:
    """Train, synthetic and holdout as (columns x rows) float arrays: numbers as themselves,
    labels as shared codes, NaN for missing; also which columns are labels. Duplicate rows
    stay: a query that matches two identical records singles no one out, and removing them
    would make train and holdout unequal in size where they are not (on a table of few
    distinct rows, the control's size correction then invents a risk)."""
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
        tables.append(np.ascontiguousarray(values[a:b].T.astype(float)))
    return tables, is_label


def _masks(
    t: np.ndarray, qcol: np.ndarray, qop: np.ndarray, qval: np.ndarray
) -> Any:  # yields (first query, queries x rows mask)
    """Chunks of the (queries x rows) match mask of conjunctive queries (one per row of the
    (queries x terms) arrays ``qcol``, ``qop``, ``qval``) on ``t`` (columns x rows)."""
    n_q, n_terms = qcol.shape
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
        yield a, mask


def count_matches(t: np.ndarray, qcol: np.ndarray, qop: np.ndarray, qval: np.ndarray) -> np.ndarray:
    """Rows of ``t`` (columns x rows) matching each conjunctive query."""
    counts = np.zeros(qcol.shape[0], dtype=np.int64)
    for a, mask in _masks(t, qcol, qop, qval):
        counts[a : a + len(mask)] = np.count_nonzero(mask, axis=1)
    return counts


def few_matches(
    t: np.ndarray, queries: tuple[np.ndarray, ...], cap: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each query's match count on ``t``, and (query, row) pairs of the queries that match
    at most ``cap`` rows."""
    counts = np.zeros(queries[0].shape[0], dtype=np.int64)
    qs, rows = [], []
    for a, mask in _masks(t, *queries):
        n = np.count_nonzero(mask, axis=1)
        counts[a : a + len(mask)] = n
        q, r = np.nonzero(mask[n <= cap])
        qs.append(np.flatnonzero(n <= cap)[q] + a)
        rows.append(r)
    if not qs:
        return counts, np.zeros(0, np.int64), np.zeros(0, np.int64)
    return counts, np.concatenate(qs), np.concatenate(rows)


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
    # the lower median: averaging the two middle values of +-1e308 overflows
    med = np.array(
        [np.nanquantile(x, 0.5, method="lower") if np.isfinite(x).any() else 0.0 for x in syn]
    )
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
    """Queries expected to single out one row of a control set as large as the main one
    (the sum of the chances :func:`control_model` gives)."""
    return float(np.sum(control_model(counts, n_control, n_main)(counts)))


def control_model(
    counts: np.ndarray, n_control: int, n_main: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Per query, from its match count on the control, the chance it singles out one row of
    a control set as large as the main one.

    A query matching a share w of the population singles out one of n rows with chance
    n w (1 - w)^(n - 1) (Cohen and Nissim 2020), so control successes do not scale with
    size. Each query's w is estimated from its control count ``counts`` (binomial out of
    ``n_control``) under a log-normal prior over queries fitted by marginal likelihood
    (empirical Bayes); the posterior expectation is taken at ``n_main`` rows. On Adult
    splits with a known answer it erred high by 0-3.5 successes per 100 queries (the risk
    then errs low by about as much); a curve fit like Anonymeter's erred low by 2.5-5.5,
    with twice the spread, which shows as risk where there is none."""
    if abs(n_control - n_main) <= 0.05 * n_main or n_control == 0 or len(counts) == 0:
        # sets of about the same size: a control success is the chance itself (the prior
        # fit's own bias would be larger than the sizes' difference)
        return lambda c: (np.asarray(c) == 1).astype(float)
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
    gain = n_main * w * (1.0 - w) ** (n_main - 1)
    top = int(max(counts.max(), MATCH_CAP)) + 1
    post = binom.pmf(np.arange(top)[:, None], n_control, w[None, :]) * prior(fit.x)
    post /= post.sum(axis=1, keepdims=True) + 1e-300
    table = np.asarray(post @ gain, dtype=float)  # the chance for each count 0..top-1
    return lambda c: table[np.minimum(np.asarray(c), top - 1)]


@dataclass
class Mode:
    """One mode's queries: their success on the real split at hand (``d``: train success
    - control chance, per attack) and what a re-split needs (pooled (query, row) matches)."""

    details: dict[str, Any]
    d: np.ndarray
    qid: np.ndarray
    row: np.ndarray
    chance: Callable[[np.ndarray], np.ndarray]

    def resplit(self, in_train: np.ndarray) -> np.ndarray:
        """``d`` had the pooled real rows been split as ``in_train`` says."""
        n_q = int(self.details["queries_found"])
        hits = in_train[self.row].astype(float)
        k_tr = np.bincount(self.qid, weights=hits, minlength=n_q)
        k_ho = np.bincount(self.qid, weights=1.0 - hits, minlength=n_q)
        out = np.zeros(len(self.d))
        out[:n_q] = (k_tr == 1) - self.chance(k_ho.astype(np.int64))
        return out


def _singling_out_mode(
    tables: list[np.ndarray],
    is_label: np.ndarray,
    mode: str,
    opts: dict[str, Any],
    n: int,
    rng: np.random.Generator,
) -> Mode:
    ori, syn, control = tables
    n_cols = 1 if mode == "univariate" else int(opts.get("n_cols", 3))
    if mode == "univariate":
        queries = _univariate(syn, is_label, n, rng)
    else:
        queries = _multivariate(
            syn, is_label, n, n_cols, rng, int(opts.get("max_attempts", 1_000_000))
        )
    n_q = len(queries[0])
    on_train, q_tr, r_tr = few_matches(ori, queries, MATCH_CAP)
    on_control, q_ho, r_ho = few_matches(control, queries, MATCH_CAP)
    main = (on_train == 1).astype(float)
    chance = control_model(on_control, control.shape[1], ori.shape[1])
    ctrl = chance(on_control)
    # a re-split needs every real row a query matches: queries matching more than the cap
    # on either side cannot single anyone out in a re-split (d = 0 there)
    few = (on_train <= MATCH_CAP) & (on_control <= MATCH_CAP)
    keep_tr, keep_ho = few[q_tr], few[q_ho]
    qid = np.concatenate([q_tr[keep_tr], q_ho[keep_ho]])
    row = np.concatenate([r_tr[keep_tr], r_ho[keep_ho] + ori.shape[1]])
    base = 0
    if n_q:
        random_queries = _random_queries(syn, is_label, n_q, n_cols, rng)
        base = int(np.sum(count_matches(ori, *random_queries) == 1))
    # an attack for which no query singles out a synthetic row failed on both sides (d = 0):
    # a table with few distinct rows offers little to single out, and that is no risk
    n_tried = max(n, n_q)
    d = np.concatenate([main - ctrl, np.zeros(n_tried - n_q)])
    details, _ = risk_details(n_tried, float(main.sum()), n_tried, float(ctrl.sum()), base)
    details["queries_found"] = n_q
    return Mode(details, d, qid, row, chance)


@register(
    "singling_out_risk",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "excess share of queries learned from synthetic data that isolate one training record",
)
def singling_out_risk(ctx: Context) -> Result:
    """Predicates that isolate one synthetic row ("age >= 87 and city == Nice") are tried on
    the training rows: success when one matches exactly one record. Control: the same on
    the holdout, corrected for its size. Univariate (one rare value) and multivariate
    (``n_cols`` = 3 values of a synthetic row) attacks, pooled: the value is the excess
    success over all of them (the riskier mode alone would be biased upwards: the larger of
    two noisy zeros is not zero). The error comes from ``RESPLITS`` random re-splits of the
    real rows (see the module's note), and is never below that of independent attacks.
    Options: n_attacks per mode (one per synthetic row, at most ``MAX_QUERIES``), n_cols,
    max_attempts, mode (univariate|multivariate|both)."""
    if reason := _not_applicable(ctx):
        return Result(None, skipped=reason)
    opts, n_opt, rng = _opts(ctx, "singling_out_risk")
    tables, is_label = _tables(ctx)
    n = n_opt if n_opt is not None else min(tables[1].shape[1], MAX_QUERIES)
    mode = opts.get("mode", "both")
    names = ["univariate", "multivariate"] if mode == "both" else [mode]
    modes = {m: _singling_out_mode(tables, is_label, m, opts, n, rng) for m in names}
    d = np.concatenate([m.d for m in modes.values()])
    est, se = paired_mean(d)
    n_real = tables[0].shape[1] + tables[2].shape[1]
    split = np.zeros(n_real, dtype=bool)
    split[: tables[0].shape[1]] = True
    null = [
        np.concatenate([m.resplit(rng.permutation(split)) for m in modes.values()]).mean()
        for _ in range(RESPLITS if len(d) else 0)
    ]
    se = max(se, float(np.std(null, ddof=1))) if len(null) > 1 else se
    ev = Evidence(est, lambda _t: se, len(d), unit="attacks", lo=-1.0, hi=1.0)
    lo, hi = ev.interval()
    per = {name: m.details for name, m in modes.items()}
    rates = {
        k: float(np.mean([p[k] for p in per.values()]))
        for k in ("main_rate", "control_rate", "baseline_rate")
    }
    details = {**rates, "ci_low": lo, "ci_high": hi, "n_attacks": len(d), "parts": per}
    details["attack_beats_baseline"] = rates["main_rate"] > rates["baseline_rate"]
    details["resplit_se"] = float(np.std(null, ddof=1)) if len(null) > 1 else None
    return Result(est, details, evidence=ev)
