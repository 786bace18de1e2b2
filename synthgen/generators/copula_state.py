"""The copula's saved state as ``Generator.load`` checks it: one variable per modelled column
(numbers: knots, and a missing indicator right after when some are missing; labels: their
probabilities), a positive definite correlation over all of them."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, StrictInt, StrictStr

from synthgen.generators.folder import Label, SavedState, Share, label_problems, out_of_bounds
from synthgen.schema.spec import Schema

F64 = np.dtype(np.float64)


class Var(SavedState):
    name: StrictStr
    index: StrictInt = Field(ge=0)


class Numeric(Var):
    type: Literal["numeric"]
    missing_rate: Share


class Missing(Var):
    type: Literal["missing"]
    missing_rate: Share


class Labels(Var):
    type: Literal["labels"]
    labels: list[Label] = Field(min_length=1)


class CopulaState(SavedState):
    variables: list[Annotated[Numeric | Missing | Labels, Field(discriminator="type")]]


def variable_problems(
    variables: list[Numeric | Missing | Labels], schema: Schema, modelled: list[str]
) -> list[str]:
    where = "encoder.json: generator_state.variables"
    primary = [v for v in variables if not isinstance(v, Missing)]
    if [v.name for v in primary] != modelled or [v.index for v in primary] != list(
        range(len(modelled))
    ):
        return [f"{where}: not one variable per modelled column, in config.json's order"]
    problems = []
    for j, v in enumerate(variables):
        spec = schema[v.name]
        numeric = spec.kind in ("numeric", "integer", "datetime")
        if isinstance(v, Missing):
            before = variables[j - 1] if j else None
            if not isinstance(before, Numeric) or before.name != v.name:
                problems.append(f"{where}.{j}: a missing indicator not after its column")
        elif isinstance(v, Numeric) != numeric:
            problems.append(f"{where}.{j}: a {v.type} variable for a {spec.kind} column")
        elif isinstance(v, Labels):
            problems += label_problems(v.labels, spec, f"{where}.{j}.labels")
    return problems


def array_content_problems(
    variables: list[Numeric | Missing | Labels],
    arrays: dict[str, np.ndarray],
    schema: Schema,
    max_knots: int,
) -> list[str]:
    problems = []
    for v in variables:
        if isinstance(v, Numeric):
            knots, where = arrays[f"knots.{v.index}"], f"weights.safetensors: knots.{v.index}"
            if len(knots) > max_knots:
                problems.append(f"{where}: {len(knots)} quantiles, more than max_knots")
            if (np.diff(knots) < 0).any():
                problems.append(f"{where}: quantiles out of order")
            problems += out_of_bounds(knots, schema[v.name], where)
        elif isinstance(v, Labels):
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
