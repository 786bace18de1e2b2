"""Gaussian copula on empirical marginals: the fastest generator, robust on any table.

Each modelled column is mapped to a normal score through its own empirical distribution:
numbers through their ECDF (ties broken by a seeded uniform draw, so point masses such as
capital-gain = 0 survive), labels through frequency-ordered intervals of [0, 1] (missing is a
label of its own), and numeric missingness through an indicator variable. The dependence is the
correlation matrix of those scores. Sampling draws correlated normals and maps each back
through the inverse marginal, so every marginal is reproduced by construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.special import ndtr, ndtri

from synthgen.errors import pydantic_problems
from synthgen.generators import copula_context as cc
from synthgen.generators.base import Generator
from synthgen.generators.copula_context import label_table
from synthgen.generators.copula_dp import clipped, dp_marginals, dp_scores, noisy_correlation
from synthgen.generators.copula_state import (
    F64,
    CopulaState,
    Labels,
    Numeric,
    array_content_problems,
    variable_problems,
)
from synthgen.generators.folder import Expected, check_arrays
from synthgen.privacy.marginals import TableSummary
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
    supports_context = True

    # ---- fit ------------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> None:
        self.arrays_["corr"] = _correlation(self._scores(data, schema, rng), self.params.shrinkage)

    def _scores(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> np.ndarray:
        """Fit every column's marginal; the rows' normal scores (one column per variable)."""
        self.vars_: list[dict[str, Any]] = []
        self.arrays_: dict[str, np.ndarray] = {}
        self.ctx_vars_: list[dict[str, Any]] | None = None
        scores = []
        for i, name in enumerate(data.columns):
            kind = schema[name].kind
            if kind in ("numeric", "integer", "datetime"):
                scores.extend(self._fit_numeric(i, name, data[name].to_numpy(float), rng))
            else:
                scores.append(self._fit_labels(i, name, data[name], rng))
        return np.column_stack(scores) if scores else np.zeros((len(data), 0))

    def _fit_context(
        self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator, context: pd.DataFrame
    ) -> None:
        """The table's and the context's scores in one correlation (see copula_context)."""
        z = self._scores(data, schema, rng)
        assert self.context_ is not None
        kinds = {c: str(self.context_.schema[c].kind) for c in context.columns}
        ctx_vars, ctx_arrays = cc.fit_marginals(context, kinds, self.params.max_knots)
        zc = cc.scores(ctx_vars, ctx_arrays, context, rng)
        joint = _correlation(np.column_stack([z, zc]), self.params.shrinkage)
        d = z.shape[1]
        self.arrays_["corr"] = joint[:d, :d]
        self.arrays_.update(ctx_arrays)
        self.arrays_["ctx.joint"] = joint
        self.ctx_vars_ = ctx_vars

    def _sample_context(
        self, n: int, rng: np.random.Generator, context: pd.DataFrame
    ) -> pd.DataFrame:
        """The conditional Gaussian of the table's scores given the context's."""
        assert self.ctx_vars_ is not None
        d = self.arrays_["corr"].shape[0]
        zc = cc.scores(self.ctx_vars_, self.arrays_, context, rng)
        b, chol = cc.conditional(self.arrays_["ctx.joint"], d)
        return self._from_scores(zc @ b.T + rng.standard_normal((n, d)) @ chol.T)

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
        codes, labels, probs = label_table(s)
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
        correlation of the normal scores (rows clipped to a fixed norm); see copula_dp."""
        summary = plan.summarise(data, schema, side, share=0.5, rng=rng)
        self.vars_, self.arrays_ = dp_marginals(summary, list(data.columns), self.params.max_knots)
        z = clipped(dp_scores(self.vars_, self.arrays_, summary, data, rng))
        self.arrays_["corr"] = noisy_correlation(z.T @ z, summary.n_rows, plan, rng)
        return summary

    # ---- sample ---------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        corr = self.arrays_["corr"]
        d = corr.shape[0]
        chol = np.linalg.cholesky(corr) if d else np.zeros((0, 0))
        return self._from_scores(rng.standard_normal((n, d)) @ chol.T)

    def _from_scores(self, z: np.ndarray) -> pd.DataFrame:
        """Rows from normal scores, each variable through its inverse marginal."""
        u = ndtr(z)
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
        state: dict[str, Any] = {"variables": self.vars_}
        if getattr(self, "ctx_vars_", None) is not None:
            state["context_variables"] = self.ctx_vars_
        return state, dict(self.arrays_)

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.vars_ = list(state["variables"])
        self.ctx_vars_ = state.get("context_variables")
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
        state = dict(state)
        ctx_vars = state.pop("context_variables", None)
        ctx_arrays = {k: v for k, v in arrays.items() if k.startswith("ctx.")}
        arrays = {k: v for k, v in arrays.items() if not k.startswith("ctx.")}
        if (ctx_vars is None) != (self.context_ is None) or (ctx_arrays and ctx_vars is None):
            return ["encoder.json: the copula's context part does not match its context"]
        try:
            variables = CopulaState.model_validate(state).variables
        except ValidationError as err:
            return [f"encoder.json: {p}" for p in pydantic_problems(err, "generator_state")]
        if self.context_ is not None:
            ctx_problems = cc.check(ctx_vars, ctx_arrays, self.context_.columns, len(variables))
            if ctx_problems:
                return ctx_problems
        problems = variable_problems(variables, schema, modelled)
        if problems:
            return problems
        expected: dict[str, Expected] = {}
        for v in variables:
            if isinstance(v, Numeric):  # 1 to max_knots quantiles
                expected[f"knots.{v.index}"] = ((None,), F64)
            elif isinstance(v, Labels):
                expected[f"probs.{v.index}"] = ((len(v.labels),), F64)
        expected["corr"] = ((len(variables), len(variables)), F64)
        problems = check_arrays(arrays, expected)
        return problems or array_content_problems(variables, arrays, schema, self.params.max_knots)


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
    return valid_correlation(corr, shrinkage)


def valid_correlation(corr: np.ndarray, shrinkage: float) -> np.ndarray:
    """``corr`` pulled towards identity by ``shrinkage`` and made positive definite with a
    unit diagonal (the in-memory fit and the streamed one finish the same way)."""
    d = corr.shape[0]
    corr = (1 - shrinkage) * corr + shrinkage * np.eye(d)
    w, v = np.linalg.eigh((corr + corr.T) / 2)
    corr = (v * np.maximum(w, 1e-6)) @ v.T
    s = np.sqrt(np.diag(corr))
    return corr / np.outer(s, s)
