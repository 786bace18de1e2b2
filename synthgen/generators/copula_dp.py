"""The copula's differentially private fit, in pieces a fit in memory and a streamed fit
(``scale.stream_dp``) both run: the marginals from the DP one-way summary (post-processing),
each row's normal scores through them, clipped to a fixed norm, and the Gaussian mechanism
on the sum of the clipped scores' cross-products. In memory the rows are one batch; streamed,
the cross-products of every batch are added up first and the noise is drawn once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthgen.generators.copula_context import plain
from synthgen.privacy.marginals import TableSummary
from synthgen.privacy.plan import DPPlan

_EPS = 1e-9
_NA = "\x00NA"  # missing among the keys looked up


def dp_marginals(
    summary: TableSummary, columns: list[str], max_knots: int
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The copula's variables and marginal arrays from the DP summary: ``max_knots`` knots
    per number (point masses of whole numbers kept), a missing indicator when its DP missing
    rate is positive, labels most frequent first as without DP (the noisy counts' order)."""
    variables: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    grid = np.linspace(0.0, 1.0, max_knots)
    for i, name in enumerate(columns):
        if name in summary.numeric:
            s = summary.numeric[name]
            arrays[f"knots.{i}"] = s.quantiles(grid, exact=True)
            p = s.missing_rate
            variables.append(
                {"name": name, "type": "numeric", "index": i, "missing_rate": p if p > 0 else 0.0}
            )
            if p > 0:
                variables.append({"name": name, "type": "missing", "index": i, "missing_rate": p})
        else:
            lab = summary.labels[name]
            order = np.argsort(-lab.probs, kind="stable")
            arrays[f"probs.{i}"] = lab.probs[order]
            labels = [plain(lab.labels[j]) for j in order]
            variables.append({"name": name, "type": "labels", "index": i, "labels": labels})
    return variables, arrays


def dp_scores(
    variables: list[dict[str, Any]],
    arrays: dict[str, np.ndarray],
    summary: TableSummary,
    frame: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """The rows' normal scores through the DP marginals, one column per variable: a number
    through its DP CDF (missing: a free normal), the missing indicator, a label uniformly
    within its interval (a label that was not released: an uninformative score)."""
    n = len(frame)
    out: list[np.ndarray] = []
    missing = np.zeros(n, dtype=bool)
    for var in variables:
        name = var["name"]
        if var["type"] == "numeric":
            x = frame[name].to_numpy(np.float64)
            missing = np.isnan(x)
            z = rng.standard_normal(n)
            z[~missing] = ndtri(
                np.clip(summary.numeric[name].cdf(x[~missing], rng), _EPS, 1 - _EPS)
            )
            out.append(z)
        elif var["type"] == "missing":
            p = var["missing_rate"]
            u = np.where(missing, (1 - p) + rng.random(n) * p, rng.random(n) * (1 - p))
            out.append(ndtri(np.clip(u, _EPS, 1 - _EPS)))
        else:
            probs = arrays[f"probs.{var['index']}"]
            cum = np.concatenate([[0.0], np.cumsum(probs)])
            codes = label_codes(var["labels"], frame[name])
            u = rng.random(n)
            known = codes >= 0
            u[known] = cum[codes[known]] + u[known] * probs[codes[known]]
            out.append(ndtri(np.clip(u, _EPS, 1 - _EPS)))
    return np.column_stack(out) if out else np.zeros((n, 0))


def label_codes(labels: list[Any], s: pd.Series) -> np.ndarray:
    """Each value's position among ``labels`` (None: missing), -1 for a label not among
    them; a categorical column is looked up once per category."""
    index = pd.Index([_NA if v is None else v for v in labels], dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [plain(v) for v in s.cat.categories.to_numpy(dtype=object)]
        at = index.get_indexer(pd.Index([*cats, _NA], dtype=object))
        codes = s.cat.codes.to_numpy()
        return np.asarray(at[np.where(codes < 0, len(cats), codes)], dtype=np.int64)
    keys = np.array([plain(v) for v in s.to_numpy(dtype=object)], dtype=object)
    keys[pd.isna(s).to_numpy()] = _NA
    return np.asarray(index.get_indexer(pd.Index(keys, dtype=object)), dtype=np.int64)


def score_clip(d: int) -> float:
    """The norm each row's scores are clipped to (the correlation's sensitivity: its square)."""
    return 1.5 * float(np.sqrt(d))


def clipped(z: np.ndarray) -> np.ndarray:
    """Rows of ``z`` scaled down to norm ``score_clip`` at most."""
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z * np.minimum(1.0, score_clip(z.shape[1]) / np.maximum(norms, 1e-12))


def noisy_correlation(
    cross: np.ndarray, n_noisy: float, plan: DPPlan, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian mechanism on ``cross`` = sum(z z^T) over rows clipped to norm C (add/remove
    one row moves it by at most C^2 in Frobenius norm), over the DP row count, projected to
    a correlation. It takes all the budget the ledger has left (its mu)."""
    d = cross.shape[0]
    if d < 2:
        return np.eye(d)
    mu = plan.ledger.gaussian_mu_left()
    sigma = score_clip(d) ** 2 / mu
    noise = np.triu(rng.standard_normal((d, d)) * sigma)
    noisy = cross + noise + np.triu(noise, 1).T
    plan.ledger.spend_gaussian(
        "gaussian correlation", "pairwise score correlations", mu, sigma=round(sigma, 4)
    )
    cov = noisy / max(n_noisy, 1.0)
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    cov = (v * np.maximum(w, 1e-3)) @ v.T
    s = np.sqrt(np.diag(cov))
    return np.asarray(cov / np.outer(s, s))
