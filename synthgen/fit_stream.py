"""``synthgen fit RECIPE --out model/``: the recipe's model learnt from a source larger than
memory, read in batches (``scale.stream_source``) and fitted by map-reduce
(``scale.stream_fit``), here or on a Ray cluster (``execution: {engine: ray}``). It writes
the model folder only; ``synthgen sample model/ -n N --out big/ [--engine ray]`` draws rows.

With ``privacy:`` the fit is the in-memory DP copula's mechanism and budget, its noise drawn
once after the reduce (``scale.stream_dp``); the model's config.json holds the ledger.

What a streamed fit cannot do yet is refused before any work, naming the way out (all of
them are `synthgen run`, in memory): a generator other than the copula, a database or a
multi-table source, sequences, free-text columns, declared rules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen import logs
from synthgen.errors import DataError, RecipeError
from synthgen.recipe import Recipe

if TYPE_CHECKING:
    from synthgen.privacy.plan import DPPlan

IN_MEMORY = "or fit in memory with `synthgen run` (the source must then fit in memory)"


def refusals(recipe: Recipe) -> list[str]:
    """Every part of ``recipe`` a streamed fit does not support yet, one line each."""
    out = []
    if recipe.source.url is not None:
        out.append("source.url: a streamed fit reads files (a CSV / Parquet file or a folder)")
    if recipe.source.tables is not None or recipe.tables:
        out.append("tables: a streamed fit learns one table (multi-table sharding: later)")
    if recipe.generator.name != "copula":
        out.append(
            f"generator.name: '{recipe.generator.name}' is fitted in memory; a streamed fit "
            "is built for the copula (set generator: {name: copula})"
        )
    if recipe.sequence is not None:
        out.append("sequence: event streams are fitted in memory")
    if recipe.text:
        out.append("text: free-text models are trained in memory")
    if recipe.constraints.rules:
        out.append("constraints: declared rules are enforced by `synthgen run`")
    return out


def fit_streamed(
    recipe: Recipe,
    out: str | Path,
    *,
    seed: int | None = None,
    say: Callable[[str], None] = logs.say,
    stats: dict[str, Any] | None = None,
) -> Path:
    """Fit ``recipe``'s copula on every row of its source, streamed; write the model folder
    ``out`` (JSON + safetensors, as `synthgen run` writes ``model/``) and return its path.
    ``execution`` picks the engine; the model is the same whichever runs it."""
    from synthgen.io.atomic import check_replaceable
    from synthgen.pipeline import build_schema
    from synthgen.preflight import check_recipe_against_data, dp_plan
    from synthgen.scale.stream_fit import fit_copula_streamed
    from synthgen.scale.stream_source import SAMPLE_ROWS, open_source

    problems = refusals(recipe)
    if problems:
        raise RecipeError(
            "this recipe cannot be fitted streamed yet:", problems=problems, hint=IN_MEMORY
        )
    dp_plan(recipe, 1)  # incomplete privacy settings: said before any work
    check_replaceable(Path(out), "model folder")
    ex = recipe.execution
    if ex.engine == "ray":
        from synthgen.scale.ray_engine import connect

        connect(ex.address, ex.workers)  # a missing ray or a bad address: said before any work
    s = recipe.source
    assert s.path is not None  # refusals: a url is refused
    src = open_source(
        recipe.resolve(s.path),
        format=s.format,
        sep=s.sep,
        encoding=s.encoding,
        na_values=list(s.na_values),
        strip=s.strip_whitespace,
    )
    sample = src.sample(SAMPLE_ROWS)
    check_recipe_against_data(recipe, sample, src.where)
    schema, warnings = build_schema(recipe, sample)
    for w in warnings:
        say(f"warning: {w}")
    if recipe.pii.embedded != "ignore":
        from synthgen.pii.stage import refuse_embedded_pii

        try:
            refuse_embedded_pii(sample, schema, "copula")
        except DataError as err:  # its fixes are about a DataFrame; say the recipe's
            raise DataError(
                err.message,
                hint="mark the column {kind: pii} under schema:, or set pii: {embedded: "
                "ignore} to learn the labels as they are (a streamed fit cannot replace them)",
            ) from None
    privacy = None
    if recipe.privacy is not None:
        from synthgen.privacy.plan import refuse_if_outside

        refuse_if_outside(schema, "copula", True)

        def privacy(n_rows: int) -> DPPlan:
            plan = dp_plan(recipe, n_rows)
            assert plan is not None
            return plan

    if recipe.holdout:
        say("holdout: not kept aside; a streamed fit learns every row (no validation yet)")
    gen = fit_copula_streamed(
        src,
        schema,
        sample,
        seed=recipe.seed if seed is None else seed,
        params=dict(recipe.generator.params),
        engine=ex.engine,
        workers=ex.workers,
        address=ex.address,
        say=say,
        stats=stats,
        privacy=privacy,
    )
    path = gen.save(out)
    rows = f"learnt {gen.n_rows_:,} rows"
    if gen.privacy_ is not None:
        p = gen.privacy_
        rows = (
            f"learnt about {gen.n_rows_:,} rows (a DP count) with differential privacy: "
            f"epsilon {p['epsilon_spent']:.4g} of {p['epsilon']:g} spent at delta "
            f"{p['delta']:.3g} (the ledger: config.json, privacy)"
        )
    say(f"{rows}; model written to {path}")
    return path
