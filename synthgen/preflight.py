"""Checks made before any work starts: the recipe against the data it names, and the
differential-privacy settings turned into the run's plan (every problem at once)."""

from __future__ import annotations

import difflib

import pandas as pd

from synthgen.errors import PrivacyBudgetError, RecipeError
from synthgen.privacy import DPPlan
from synthgen.recipe import Recipe
from synthgen.schema import Schema
from synthgen.text.stage import TextRun


def check_recipe_against_data(recipe: Recipe, df: pd.DataFrame, table: str) -> None:
    """Everything the recipe says about columns must fit the data: all problems at once."""
    cols = [str(c) for c in df.columns]
    problems = []

    def nope(where: str, name: str) -> str:
        near = difflib.get_close_matches(name, cols, n=1)
        hint = f"did you mean '{near[0]}'?" if near else f"columns: {', '.join(cols[:20])}"
        return f"{where}: no column '{name}' in {table}; {hint}"

    problems += [nope(f"schema.{c}", c) for c in recipe.schema_ if c not in cols]
    problems += [
        nope(f"sample.conditions.{c}", c) for c in recipe.sample.conditions if c not in cols
    ]
    problems += [nope(f"text.{c}", c) for c in recipe.text if c not in cols]
    target = recipe.validate_.target
    if target is not None and target not in cols:
        problems.append(nope("validate.target", target))
    problems += [
        nope(f"validate.sensitive.{i}", c)
        for i, c in enumerate(recipe.validate_.sensitive)
        if c not in cols
    ]
    gx = recipe.validate_.expectations
    if gx is not None and not recipe.resolve(gx).is_file():
        problems.append(f"validate.expectations: file not found: {recipe.resolve(gx)}")
    if problems:
        raise RecipeError("the recipe does not fit the data:", problems=problems)


DP_REPORT_NOTE = (
    "differential privacy covers the model and the synthetic table; this report compares "
    "them with the real rows and is not private: share it only with people who may see the data"
)


def dp_preflight(recipe: Recipe, schema: Schema, texts: TextRun) -> None:
    """Every part of a DP recipe that would read data outside the budget, all at once."""
    from synthgen.generators import registry

    problems = []
    if not getattr(registry.get_class(recipe.generator.name), "supports_dp", False):
        problems.append(
            f"generator.name: '{recipe.generator.name}' cannot train with differential "
            "privacy; use autoreg, copula, ctgan or tvae"
        )
    problems += texts.dp_problems()
    if recipe.generator.name != "copula" or texts.specs:  # DP-SGD: accounted by opacus' PRV
        from synthgen.registry import require

        require("opacus", "dp", f"DP training of '{recipe.generator.name}' or a text model")
    if problems:
        raise PrivacyBudgetError(
            "this recipe would read data outside its privacy budget:", problems=problems
        )


def dp_plan(recipe: Recipe, n_train: int) -> DPPlan | None:
    """The run's DP plan from ``privacy:`` and the public bounds / labels under ``schema:``."""
    if recipe.privacy is None:
        return None
    problems = [
        f"pii.consistent: '{c}' maps real keys to fakes one to one, which no privacy budget "
        "covers; remove it from a DP recipe"
        for c in recipe.pii.consistent
    ]
    problems += [
        f"schema.{c}: give both min and max (one bound alone cannot be used)"
        for c, o in recipe.schema_.items()
        if (o.min is None) != (o.max is None)
    ]
    if problems:
        raise RecipeError("the privacy settings are incomplete:", problems=problems)
    p = recipe.privacy
    return DPPlan.build(
        p.epsilon,
        p.delta,
        n_train,
        metadata_share=p.metadata_share,
        bounds={
            c: (float(o.min), float(o.max))
            for c, o in recipe.schema_.items()
            if o.min is not None and o.max is not None
        },
        categories={c: list(o.categories) for c, o in recipe.schema_.items() if o.categories},
    )
