"""Gaussian copula on empirical marginals: the fastest generator, robust on any table.

Each modelled column is mapped to a normal score through its own empirical distribution:
numbers through their ECDF (ties broken by a seeded uniform draw, so point masses such as
capital-gain = 0 survive), labels through frequency-ordered intervals of [0, 1] (missing is a
label of its own), and numeric missingness through an indicator variable. The dependence is the
correlation matrix of those scores. Sampling draws correlated normals and maps each back
through the inverse marginal, so every marginal is reproduced by construction.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from scipy.special import ndtr, ndtri

from synthgen.errors import pydantic_problems
from synthgen.generators.base import Generator
from synthgen.generators.folder import (
    Expected,
    Label,
    SavedState,
    Share,
    check_arrays,
    label_problems,
    out_of_bounds,
)
from synthgen.privacy.marginals import LabelSummary, NumericSummary, TableSummary
from synthgen.privacy.plan import DPPlan
from synthgen.schema.spec import Schema

_EPS = 1e-9


class CopulaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_knots: int = Field(
        1001, ge=16, le=100_000, description="quantile knots kept per numeric column"
    )
    shrinkage: float = Field(
        0.0, ge=0.0, le=1.0, description="pull the correlation towards identity (0 = none)"
    )


class CopulaGenerator(Generator):
    name = "copula"
    Params = CopulaParams
    params: CopulaParams
    supports_dp = True

    # ---- fit ------------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> None:
        self.vars_: list[dict[str, Any]] = []
        self.arrays_: dict[str, np.ndarray] = {}
        scores = []
        for i, name in enumerate(data.columns):
            kind = schema[name].kind
            if kind in ("numeric", "integer", "datetime"):
                scores.extend(self._fit_numeric(i, name, data[name].to_numpy(float), rng))
            else:
                scores.append(self._fit_labels(i, name, data[name], rng))
        z = np.column_stack(scores) if scores else np.zeros((len(data), 0))
        self.arrays_["corr"] = _correlation(z, self.params.shrinkage)

    def _fit_numeric(
        self, i: int, name: str, x: np.ndarray, rng: np.random.Generator
    ) -> list[np.ndarray]:
        missing = np.isnan(x)
        values = np.sort(x[~missing])
        k = int(min(self.params.max_knots, len(values)))
        self.arrays_[f"knots.{i}"] = _quantiles(values, np.linspace(0.0, 1.0, k))
        z = rng.standard_normal(len(x))
        z[~missing] = _ecdf_scores(x[~missing], values, rng)
        var = {"name": name, "type": "numeric", "index": i, "missing_rate": float(missing.mean())}
        self.vars_.append(var)
        if not missing.any():
            return [z]
        p = missing.mean()
        # an indicator variable: 'present' below 1 - p, 'missing' above
        u = np.where(missing, (1 - p) + rng.random(len(x)) * p, rng.random(len(x)) * (1 - p))
        self.vars_.append({"name": name, "type": "missing", "index": i, "missing_rate": float(p)})
        return [z, ndtri(np.clip(u, _EPS, 1 - _EPS))]

    def _fit_labels(self, i: int, name: str, s: pd.Series, rng: np.random.Generator) -> np.ndarray:
        codes, labels, probs = _label_table(s)
        cum = np.concatenate([[0.0], np.cumsum(probs)])
        u = cum[codes] + rng.random(len(codes)) * probs[codes]
        self.arrays_[f"probs.{i}"] = probs
        self.vars_.append({"name": name, "type": "labels", "index": i, "labels": labels})
        return ndtri(np.clip(u, _EPS, 1 - _EPS))

    # ---- fit with differential privacy ----------------------------------------------------
    def _fit_dp(
        self,
        data: pd.DataFrame,
        schema: Schema,
        rng: np.random.Generator,
        plan: DPPlan,
        side: pd.DataFrame,
    ) -> TableSummary:
        """Two Gaussian releases sharing the budget's mu^2 equally (composed exactly in
        Gaussian DP): the DP marginals (bounds, histogram trees, label counts), then a noisy
        correlation of the normal scores (rows clipped to a fixed norm)."""
        summary = plan.summarise(data, schema, side, share=0.5, rng=rng)
        self.vars_, self.arrays_ = [], {}
        scores = []
        for i, name in enumerate(data.columns):
            if name in summary.numeric:
                scores += self._dp_numeric(i, name, data[name].to_numpy(float), summary, rng)
            else:
                scores.append(self._dp_labels(i, name, data[name], summary.labels[name], rng))
        z = np.column_stack(scores) if scores else np.zeros((len(data), 0))
        self.arrays_["corr"] = _dp_correlation(z, summary.n_rows, plan, rng)
        return summary

    def _dp_numeric(
        self, i: int, name: str, x: np.ndarray, summary: TableSummary, rng: np.random.Generator
    ) -> list[np.ndarray]:
        s: NumericSummary = summary.numeric[name]
        self.arrays_[f"knots.{i}"] = s.quantiles(np.linspace(0.0, 1.0, self.params.max_knots))
        missing = np.isnan(x)
        z = rng.standard_normal(len(x))
        z[~missing] = ndtri(np.clip(s.cdf(x[~missing], rng), _EPS, 1 - _EPS))
        self.vars_.append({"name": name, "type": "numeric", "index": i, "missing_rate": 0.0})
        p = s.missing_rate
        if p <= 0:
            return [z]
        self.vars_[-1]["missing_rate"] = p
        u = np.where(missing, (1 - p) + rng.random(len(x)) * p, rng.random(len(x)) * (1 - p))
        self.vars_.append({"name": name, "type": "missing", "index": i, "missing_rate": p})
        return [z, ndtri(np.clip(u, _EPS, 1 - _EPS))]

    def _dp_labels(
        self, i: int, name: str, s: pd.Series, lab: LabelSummary, rng: np.random.Generator
    ) -> np.ndarray:
        # most frequent first, as without DP (the noisy counts' order: post-processing); the
        # copula's one ordering of the labels decides which relations a correlation can hold
        order = np.argsort(-lab.probs, kind="stable")
        probs = lab.probs[order]
        ordered = [lab.labels[j] for j in order]
        cum = np.concatenate([[0.0], np.cumsum(probs)])
        index = {("__NA__" if v is None else v): j for j, v in enumerate(ordered)}
        codes = np.array(
            [index.get("__NA__" if _isna(v) else _plain(v), -1) for v in s.to_numpy()],
            dtype=np.int64,
        )
        u = rng.random(len(codes))  # a label that was not released: an uninformative score
        known = codes >= 0
        u[known] = cum[codes[known]] + u[known] * probs[codes[known]]
        self.arrays_[f"probs.{i}"] = probs
        labels = [_plain(v) for v in ordered]
        self.vars_.append({"name": name, "type": "labels", "index": i, "labels": labels})
        return ndtri(np.clip(u, _EPS, 1 - _EPS))

    # ---- sample ---------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        corr = self.arrays_["corr"]
        d = corr.shape[0]
        chol = np.linalg.cholesky(corr) if d else np.zeros((0, 0))
        u = ndtr(rng.standard_normal((n, d)) @ chol.T)
        cols: dict[str, Any] = {}
        for j, var in enumerate(self.vars_):
            i, name = var["index"], var["name"]
            if var["type"] == "numeric":
                cols[name] = _interp(u[:, j], self.arrays_[f"knots.{i}"])
            elif var["type"] == "missing":
                cols[name] = np.where(u[:, j] > 1 - var["missing_rate"], np.nan, cols[name])
            else:
                cum = np.cumsum(self.arrays_[f"probs.{i}"])
                codes = np.minimum(np.searchsorted(cum, u[:, j], side="right"), len(cum) - 1)
                labels = np.empty(len(var["labels"]), dtype=object)
                labels[:] = var["labels"]
                cols[name] = labels[codes]
        order = [v["name"] for v in self.vars_ if v["type"] != "missing"]
        return pd.DataFrame({c: cols[c] for c in dict.fromkeys(order)})

    # ---- state ----------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"variables": self.vars_}, dict(self.arrays_)

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.vars_ = list(state["variables"])
        self.arrays_ = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}

    def _check_saved(
        self,
        state: dict[str, Any],
        arrays: dict[str, np.ndarray],
        schema: Schema,
        modelled: list[str],
    ) -> list[str]:
        """One variable per modelled column in order (numbers: knots, and a missing
        indicator right after when some are missing; labels: their probabilities); a
        positive definite correlation over all variables."""
        try:
            variables = _CopulaState.model_validate(state).variables
        except ValidationError as err:
            return [f"encoder.json: {p}" for p in pydantic_problems(err, "generator_state")]
        problems = _variable_problems(variables, schema, modelled)
        if problems:
            return problems
        expected: dict[str, Expected] = {}
        for v in variables:
            if isinstance(v, _Numeric):  # 1 to max_knots quantiles
                expected[f"knots.{v.index}"] = ((None,), F64)
            elif isinstance(v, _Labels):
                expected[f"probs.{v.index}"] = ((len(v.labels),), F64)
        expected["corr"] = ((len(variables), len(variables)), F64)
        problems = check_arrays(arrays, expected)
        return problems or _array_content_problems(variables, arrays, schema, self.params.max_knots)


def _quantiles(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile, but finite for any finite values: when neighbours are so far apart that
    interpolating between them overflows (-1e308 next to 1e308), interpolate in units of the
    largest magnitude instead (only then, so other columns keep their exact knots)."""
    with np.errstate(over="ignore", invalid="ignore"):
        knots = np.quantile(values, q)
    if len(values) and not np.isfinite(knots).all():
        unit = float(np.max(np.abs(values)))
        knots = np.quantile(values / unit, q) * unit
    return knots


def _interp(u: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Values at probabilities ``u`` between evenly spaced knots, overflow-safe as above."""
    grid = np.linspace(0.0, 1.0, len(knots))
    with np.errstate(over="ignore", invalid="ignore"):
        steps_ok = bool(np.isfinite(np.diff(knots)).all())
    if steps_ok:
        return np.interp(u, grid, knots)
    unit = float(np.max(np.abs(knots)))
    return np.interp(u, grid, knots / unit) * unit


def _ecdf_scores(x: np.ndarray, sorted_values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of ``x`` under its own ECDF; ties spread uniformly over their step."""
    n = len(sorted_values)
    lo = np.searchsorted(sorted_values, x, side="left")
    hi = np.searchsorted(sorted_values, x, side="right")
    u = (lo + rng.random(len(x)) * (hi - lo)) / n
    return ndtri(np.clip(u, _EPS, 1 - _EPS))


def _label_table(s: pd.Series) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Codes, labels (most frequent first; ties by text; missing is None) and probabilities."""
    counts = s.value_counts(dropna=False, sort=False)
    keys = [(-int(c), str(k), k) for k, c in counts.items()]
    keys.sort(key=lambda t: (t[0], t[1]))
    labels = [None if _isna(k) else _plain(k) for _, _, k in keys]
    probs = np.array([-c for c, _, _ in keys], dtype=np.float64)
    probs /= probs.sum()
    index = {("__NA__" if lab is None else lab): j for j, lab in enumerate(labels)}
    codes = np.array(
        [index["__NA__" if _isna(v) else _plain(v)] for v in s.to_numpy()], dtype=np.int64
    )
    return codes, labels, probs


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def _plain(v: Any) -> Any:
    """A JSON-friendly Python value (numpy scalars become ints, floats, bools)."""
    return v.item() if isinstance(v, np.generic) else v


def _dp_correlation(
    z: np.ndarray, n_noisy: float, plan: DPPlan, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian mechanism on sum(z z^T) with rows clipped to norm C (add/remove one row moves
    it by at most C^2 in Frobenius norm), over the DP row count, projected to a correlation.
    It takes all the budget the ledger has left (its mu)."""
    d = z.shape[1]
    if d < 2:
        return np.eye(d)
    clip = 1.5 * np.sqrt(d)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    z = z * np.minimum(1.0, clip / np.maximum(norms, 1e-12))
    mu = plan.ledger.gaussian_mu_left()
    sigma = clip**2 / mu
    noise = np.triu(rng.standard_normal((d, d)) * sigma)
    noisy = z.T @ z + noise + np.triu(noise, 1).T
    plan.ledger.spend_gaussian(
        "gaussian correlation", "pairwise score correlations", mu, sigma=round(sigma, 4)
    )
    cov = noisy / max(n_noisy, 1.0)
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    cov = (v * np.maximum(w, 1e-3)) @ v.T
    s = np.sqrt(np.diag(cov))
    return cov / np.outer(s, s)


def _correlation(z: np.ndarray, shrinkage: float) -> np.ndarray:
    """A valid (positive definite, unit diagonal) correlation matrix of the score columns."""
    d = z.shape[1]
    if d == 0:
        return np.zeros((0, 0))
    if d == 1 or len(z) < 3:
        return np.eye(d)
    sd = z.std(axis=0)
    corr = np.eye(d)
    ok = sd > 1e-12
    if ok.sum() > 1:
        corr[np.ix_(ok, ok)] = np.corrcoef(z[:, ok], rowvar=False)
    corr = (1 - shrinkage) * corr + shrinkage * np.eye(d)
    w, v = np.linalg.eigh((corr + corr.T) / 2)
    corr = (v * np.maximum(w, 1e-6)) @ v.T
    s = np.sqrt(np.diag(corr))
    return corr / np.outer(s, s)


# ---- the saved state, as load checks it --------------------------------------------------------
F64 = np.dtype(np.float64)


class _Var(SavedState):
    name: StrictStr
    index: StrictInt = Field(ge=0)


class _Numeric(_Var):
    type: Literal["numeric"]
    missing_rate: Share


class _Missing(_Var):
    type: Literal["missing"]
    missing_rate: Share


class _Labels(_Var):
    type: Literal["labels"]
    labels: list[Label] = Field(min_length=1)


class _CopulaState(SavedState):
    variables: list[Annotated[_Numeric | _Missing | _Labels, Field(discriminator="type")]]


def _variable_problems(
    variables: list[_Numeric | _Missing | _Labels], schema: Schema, modelled: list[str]
) -> list[str]:
    where = "encoder.json: generator_state.variables"
    primary = [v for v in variables if not isinstance(v, _Missing)]
    if [v.name for v in primary] != modelled or [v.index for v in primary] != list(
        range(len(modelled))
    ):
        return [f"{where}: not one variable per modelled column, in config.json's order"]
    problems = []
    for j, v in enumerate(variables):
        spec = schema[v.name]
        numeric = spec.kind in ("numeric", "integer", "datetime")
        if isinstance(v, _Missing):
            before = variables[j - 1] if j else None
            if not isinstance(before, _Numeric) or before.name != v.name:
                problems.append(f"{where}.{j}: a missing indicator not after its column")
        elif isinstance(v, _Numeric) != numeric:
            problems.append(f"{where}.{j}: a {v.type} variable for a {spec.kind} column")
        elif isinstance(v, _Labels):
            problems += label_problems(v.labels, spec, f"{where}.{j}.labels")
    return problems


def _array_content_problems(
    variables: list[_Numeric | _Missing | _Labels],
    arrays: dict[str, np.ndarray],
    schema: Schema,
    max_knots: int,
) -> list[str]:
    problems = []
    for v in variables:
        if isinstance(v, _Numeric):
            knots, where = arrays[f"knots.{v.index}"], f"weights.safetensors: knots.{v.index}"
            if len(knots) > max_knots:
                problems.append(f"{where}: {len(knots)} quantiles, more than max_knots")
            if (np.diff(knots) < 0).any():
                problems.append(f"{where}: quantiles out of order")
            problems += out_of_bounds(knots, schema[v.name], where)
        elif isinstance(v, _Labels):
            probs = arrays[f"probs.{v.index}"]
            if (probs < 0).any() or abs(float(probs.sum()) - 1.0) > 1e-6:
                problems.append(f"weights.safetensors: probs.{v.index}: not probabilities")
    corr = arrays["corr"]
    ok = np.allclose(corr, corr.T, atol=1e-8) and np.allclose(np.diag(corr), 1.0, atol=1e-6)
    if ok and len(corr):
        try:
            np.linalg.cholesky(corr)
        except np.linalg.LinAlgError:
            ok = False
    if not ok:
        problems.append("weights.safetensors: corr: not a positive definite correlation matrix")
    return problems
