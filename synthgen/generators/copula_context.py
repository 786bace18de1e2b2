"""The copula given a context (a child table learnt given its parent's attributes).

The parent's columns get normal scores through their own marginals (numbers: quantile knots,
ties spread over their step; labels: frequency-ordered intervals; a missing or unseen value:
an uninformative score), and the copula's correlation covers table and context scores
together. A child row is then drawn from the conditional Gaussian of its scores given its
parent's: mean ``B z_ctx``, covariance ``S_tt - B S_ct`` with ``B = S_tc S_cc^-1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthgen.generators.copula_state import F64

_EPS = 1e-9
NUMERIC = ("numeric", "integer", "datetime")


def fit_marginals(
    frame: pd.DataFrame, kinds: dict[str, str], max_knots: int
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Each context column's marginal: variables (JSON) and arrays (``ctx.knots.j`` or
    ``ctx.probs.j``)."""
    variables: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for j, c in enumerate(frame.columns):
        if kinds[c] in NUMERIC:
            x = pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
            v = np.sort(x[~np.isnan(x)])
            k = int(min(max_knots, len(v))) or 1
            arrays[f"ctx.knots.{j}"] = (
                np.quantile(v, np.linspace(0, 1, k)) if len(v) else np.zeros(1)
            )
            variables.append({"name": str(c), "type": "numeric"})
        else:
            _codes, labels, probs = label_table(frame[c])
            arrays[f"ctx.probs.{j}"] = probs
            variables.append({"name": str(c), "type": "labels", "labels": labels})
    return variables, arrays


def scores(
    variables: list[dict[str, Any]],
    arrays: dict[str, np.ndarray],
    frame: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """(len(frame), len(variables)) normal scores of the context rows."""
    out = np.empty((len(frame), len(variables)))
    for j, var in enumerate(variables):
        col = frame[var["name"]]
        u = rng.random(len(frame))  # missing or unseen: an uninformative score
        if var["type"] == "numeric":
            knots = arrays[f"ctx.knots.{j}"]
            x = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
            ok = ~np.isnan(x)
            k = len(knots)
            lo = np.searchsorted(knots, x[ok], side="left")
            hi = np.searchsorted(knots, x[ok], side="right")
            inside = np.interp(x[ok], knots, np.linspace(0, 1, k)) if k > 1 else u[ok]
            tie = hi > lo  # on a knot (a point mass): anywhere in its step
            spread = (lo + u[ok] * (hi - lo)) / k
            u[ok] = np.where(tie, spread, inside)
        else:
            probs = arrays[f"ctx.probs.{j}"]
            cum = np.concatenate([[0.0], np.cumsum(probs)])
            index = {("\x00NA" if v is None else v): i for i, v in enumerate(var["labels"])}
            codes = np.array(
                [index.get("\x00NA" if isna(v) else plain(v), -1) for v in col.to_numpy()],
                dtype=np.int64,
            )
            known = codes >= 0
            u[known] = cum[codes[known]] + u[known] * probs[codes[known]]
        out[:, j] = ndtri(np.clip(u, _EPS, 1 - _EPS))
    return out


def conditional(joint: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """From the joint correlation of (table, context) scores: ``B`` (d x c) and the
    Cholesky factor of the conditional covariance of the table's scores."""
    s_tt, s_tc, s_cc = joint[:d, :d], joint[:d, d:], joint[d:, d:]
    b = np.linalg.solve(s_cc, s_tc.T).T if s_cc.size else np.zeros((d, 0))
    cov = s_tt - b @ s_tc.T
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    cov = (v * np.maximum(w, 1e-9)) @ v.T
    return b, np.linalg.cholesky(cov) if d else np.zeros((0, 0))


def check(variables: Any, arrays: dict[str, np.ndarray], columns: list[str], d: int) -> list[str]:
    """The saved context part: one variable per context column, in order, with its array;
    a positive definite joint correlation."""
    where = "encoder.json: generator_state.context_variables"
    if not isinstance(variables, list) or [
        v.get("name") if isinstance(v, dict) else None for v in variables
    ] != list(columns):
        return [f"{where}: not one variable per context column, in order"]
    problems = []
    for j, v in enumerate(variables):
        key = f"ctx.knots.{j}" if v.get("type") == "numeric" else f"ctx.probs.{j}"
        a = arrays.get(key)
        if v.get("type") not in ("numeric", "labels") or a is None or a.dtype != F64:
            problems.append(f"{where}.{j}: no valid {key} array")
        elif v["type"] == "numeric" and (np.diff(a) < 0).any():
            problems.append(f"weights.safetensors: {key}: quantiles out of order")
        elif v["type"] == "labels" and (
            not isinstance(v.get("labels"), list)
            or len(v["labels"]) != len(a)
            or (a < 0).any()
            or abs(float(a.sum()) - 1) > 1e-6
        ):
            problems.append(f"weights.safetensors: {key}: not one probability per label")
    joint = arrays.get("ctx.joint")
    c = len(variables)
    if joint is None or joint.shape != (d + c, d + c) or not np.allclose(joint, joint.T):
        return problems + ["weights.safetensors: ctx.joint: not a joint correlation matrix"]
    try:
        np.linalg.cholesky(joint)
    except np.linalg.LinAlgError:
        problems.append("weights.safetensors: ctx.joint: not positive definite")
    return problems


def label_table(s: pd.Series) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Codes, labels (most frequent first; ties by text; missing is None) and probabilities."""
    counts = s.value_counts(dropna=False, sort=False)
    keys = [(-int(c), str(k), k) for k, c in counts.items()]
    keys.sort(key=lambda t: (t[0], t[1]))
    labels = [None if isna(k) else plain(k) for _, _, k in keys]
    probs = np.array([-c for c, _, _ in keys], dtype=np.float64)
    probs /= probs.sum()
    index = {("__NA__" if lab is None else lab): j for j, lab in enumerate(labels)}
    codes = np.array(
        [index["__NA__" if isna(v) else plain(v)] for v in s.to_numpy()], dtype=np.int64
    )
    return codes, labels, probs


def isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def plain(v: Any) -> Any:
    """A JSON-friendly Python value (numpy scalars become ints, floats, bools)."""
    return v.item() if isinstance(v, np.generic) else v
