"""``synthgen fit``: a recipe's copula learnt from a source larger than memory (the work is
``fit_stream.fit_streamed``)."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen import logs
from synthgen.logs import verbosity_options


@click.command(name="fit")
@click.argument("recipe_file", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="the model folder to write"
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="override the recipe's seed")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    help="local: batches in this process; ray: parts read on a Ray cluster (same model)  "
    "[default: the recipe's execution.engine]",
)
@click.option("--workers", type=click.IntRange(min=1), help="Ray workers")
@click.option("--address", metavar="A", help="Ray cluster: auto or ray://host:10001")
@verbosity_options
def fit_command(
    recipe_file: Path,
    out: Path,
    seed: int | None,
    engine: str | None,
    workers: int | None,
    address: str | None,
) -> None:
    """Fit RECIPE_FILE's copula on its whole source, never held in memory: a CSV or Parquet
    file, or a folder of part files of one table (what `synthgen sample --out big/` writes),
    read in batches of 65,536 rows, in two passes. Writes the model folder only; sample it
    with `synthgen sample MODEL -n N --out big/ [--engine ray]`.

    Category counts and the row count are exact; each number's quantiles are exact up to
    262,144 distinct values, else within a relative 1e-4; the correlation is the in-memory
    one given those, up to the draws that break ties. The model is the same for the local
    engine and any number of Ray workers.

    With `privacy:` in the recipe: the in-memory DP copula's mechanism and budget, in three
    passes, its noise drawn once after the reduce; the spend is said and kept in the
    model's config.json."""
    from synthgen.api import load_recipe
    from synthgen.fit_stream import fit_streamed

    recipe = load_recipe(recipe_file).with_execution(engine, workers, address)
    fit_streamed(recipe, out, seed=seed, say=logs.say)
