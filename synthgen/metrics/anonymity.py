"""Singling out, linkability and inference risks (Giomi et al., "A Unified Framework for
Quantifying Privacy Risk in Synthetic Data", PoPETs 2023; the idea behind Anonymeter).

Each attack uses only the synthetic data and is run three times: against training records
(the "main" attack), against holdout records the generator never saw ("control") and as a
naive guesser ("baseline"). Every train and holdout row is a target. The value is the
EXCESS success,

    main rate - control rate,

the share of attacks that succeed only because training records were in the synthetic data
(0 = none; negative = noise). Anonymeter's ``(main - control) / (1 - control)`` is kept in
the details as ``normalised_risk``: it divides by the control's failures, which on an
imbalanced column (a secret guessed right 91 % of the time anyway) blows a small excess and
its interval up tenfold, so it is not what a gate judges.
"""

from __future__ import annotations

from math import sqrt
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.evidence import Evidence, difference_se
from synthgen.metrics.neighbors import NUMERIC_KINDS, canonical_labels, encoded, knn
from synthgen.metrics.neighbors import not_applicable as _not_applicable
from synthgen.transforms.frame import to_model_frame

Z95 = 1.959963984540054


def wilson(k: float, n: int) -> tuple[float, float]:
    """Wilson-score centre and 95 % half-width of a success rate k / n."""
    if n <= 0:
        return 0.0, 0.0
    z2, k = Z95 * Z95, min(max(k, 0.0), n)
    centre = (k + z2 / 2) / (n + z2)
    half = Z95 / (n + z2) * sqrt(k * (n - k) / n + z2 / 4)
    return centre, half


def risk_details(
    n_main: int, main: float, n_control: int, control: float, baseline: float
) -> tuple[dict[str, Any], Evidence]:
    """Rates of the three attacks (the baseline over ``n_main`` tries), the excess success
    main - control with its evidence and 95 % interval, and Anonymeter's normalised risk."""
    ev = difference_se(int(round(main)), n_main, int(round(control)), n_control)
    m = main / n_main if n_main else 0.0
    c = control / n_control if n_control else 0.0
    b = baseline / n_main if n_main else 0.0
    lo, hi = ev.interval()
    details = {
        "risk": float(m - c),
        "ci_low": lo,
        "ci_high": hi,
        "n_attacks": int(n_main),
        "n_control": int(n_control),
        "main_rate": m,
        "control_rate": c,
        "baseline_rate": b,
        "normalised_risk": float((m - c) / (1 - c)) if c < 1 else 0.0,
        "attack_beats_baseline": bool(m > b),
    }
    return details, ev


Part = tuple[dict[str, Any], Evidence]


def _result(parts: dict[str, Part]) -> Result:
    """The worst part is the value; its interval and rates are the top-level details."""
    worst = max(parts, key=lambda k: parts[k][1].estimate)
    details, ev = parts[worst]
    top = {k: v for k, v in details.items() if k != "risk"}
    every = {k: d for k, (d, _) in parts.items()}
    return Result(ev.estimate, {**top, "worst": worst, "parts": every}, evidence=ev)


def _opts(ctx: Context, name: str) -> tuple[dict[str, Any], int | None, np.random.Generator]:
    """Options of a risk; ``n_attacks`` None = every row (the default)."""
    opts = dict(ctx.options.get(name, {}))
    n = opts.get("n_attacks")
    return opts, None if n is None else int(n), np.random.default_rng(ctx.seed)


# ---- linkability --------------------------------------------------------------------------
def _nearest(
    x: np.ndarray, syn: np.ndarray, dims: np.ndarray, k: int, hot: np.ndarray
) -> np.ndarray:
    return knn(x[:, dims], syn[:, dims], k=k, onehot=hot[dims]).idx


@register(
    "linkability_risk",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "risk that synthetic data links two halves of a training record (Anonymeter)",
)
def linkability_risk(ctx: Context) -> Result:
    """The attacker holds two datasets with disjoint columns (``aux_cols``: two lists;
    by default the compared columns alternately) and links a record's two halves when both
    have the same nearest synthetic row (among ``n_neighbors``, 1 or 2). Control: the same
    on holdout records; baseline: random synthetic rows. Every train and holdout row is a
    target unless ``n_attacks`` asks for fewer. The value is the excess success."""
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

    def links(real: np.ndarray) -> tuple[int, int]:
        targets = _targets(real, n, rng)
        a, b = (_nearest(targets, e.synthetic, d, k, e.encoder.onehot) for d in dims)
        return int(np.sum((a[:, :, None] == b[:, None, :]).any(axis=(1, 2)))), len(targets)

    (main, n_main), (control, n_control) = links(e.train), links(e.holdout)
    ra, rb = (rng.integers(len(e.synthetic), size=(n_main, k)) for _ in range(2))
    base = int(np.sum((ra[:, :, None] == rb[:, None, :]).any(axis=(1, 2))))
    details, ev = risk_details(n_main, main, n_control, control, base)
    details["aux_cols"] = [list(a) for a in aux]
    return _result({"linkability": (details, ev)})


def _targets(real: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Every row, or ``n`` of them at random when the option asks for fewer."""
    if n is None or n >= len(real):
        return real
    return real[rng.choice(len(real), n, replace=False)]


# ---- inference ----------------------------------------------------------------------------
def _secret_values(ctx: Context, frame: pd.DataFrame, col: str) -> np.ndarray:
    if ctx.schema[col].kind in NUMERIC_KINDS:
        return to_model_frame(frame, ctx.schema, [col])[col].to_numpy(float)
    return canonical_labels(frame[col], ctx.schema[col].kind).fillna("\x1eNA").to_numpy()


def _hits(truth: np.ndarray, guess: np.ndarray, numeric: bool, tol: float) -> int:
    """Labels: equal; numbers: within ``tol`` relative to the true value (NaN == NaN)."""
    if numeric:
        t, g = truth.astype(float), guess.astype(float)
        ok = (np.abs(g - t) <= tol * np.abs(t)) | (np.isnan(t) & np.isnan(g))
        return int(ok.sum())
    return int(np.sum(truth == guess))


def _inference_one(
    ctx: Context, secret: str, n: int | None, tol: float, rng: np.random.Generator
) -> Part:
    e = encoded(ctx)
    aux = [c for c in e.encoder.columns if c != secret]
    dims = e.encoder.dims(aux)
    numeric = ctx.schema[secret].kind in NUMERIC_KINDS
    syn_secret = _secret_values(ctx, ctx.synthetic.iloc[e.synthetic_rows], secret)
    hits, sizes = [], []
    for x, frame in ((e.train, ctx.train.iloc[e.train_rows]), (e.holdout, ctx.holdout)):
        t = np.arange(len(x)) if n is None or n >= len(x) else rng.choice(len(x), n, False)
        truth = _secret_values(ctx, frame.iloc[t], secret)
        guess = syn_secret[_nearest(x[t], e.synthetic, dims, 1, e.encoder.onehot)[:, 0]]
        hits.append(_hits(truth, guess, numeric, tol))
        # the naive attacker guesses a random synthetic row's secret
        naive = syn_secret[rng.integers(len(syn_secret), size=len(t))]
        hits.append(_hits(truth, naive, numeric, tol))
        sizes.append(len(t))
    main, base, control, _ = hits
    return risk_details(sizes[0], main, sizes[1], control, base)


@register(
    "inference_risk",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "risk of inferring a secret column of training records from synthetic data (Anonymeter)",
)
def inference_risk(ctx: Context) -> Result:
    """The attacker knows every other compared column of a target, finds the nearest
    synthetic row and reads its secret (``ctx.sensitive``; by default the target column,
    else the last compared one). Numbers count as guessed within ``tolerance`` (5 %) of the
    true value. Control: holdout targets; baseline: a random synthetic row's secret. Every
    train and holdout row is a target unless ``n_attacks`` asks for fewer. The value is the
    riskiest secret's excess success (train rate - holdout rate), which stays readable on an
    imbalanced secret. Options: n_attacks, tolerance."""
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
