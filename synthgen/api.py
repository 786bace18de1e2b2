"""The functions a Python user needs, the same ones the CLI calls (``import synthgen``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthgen.generators.base import Generator
    from synthgen.inspection import DatasetInspection
    from synthgen.pipeline import RunResult
    from synthgen.recipe import Recipe


def load_recipe(path: str | Path) -> Recipe:
    """A recipe file, checked: every problem at once, each with its place in the file."""
    from synthgen.recipe import load_recipe as _load

    return _load(Path(path))


def run(
    recipe: str | Path | Recipe, *, seed: int | None = None, out: str | Path | None = None
) -> RunResult:
    """Run a recipe (a file or a loaded Recipe) end to end, exactly as `synthgen run` does:
    PII scrubbed before the fit, text columns, DP accounting, gates, the run folder."""
    from synthgen.pipeline import run as _run
    from synthgen.recipe import Recipe

    loaded = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    return _run(loaded, seed=seed, out=Path(out) if out is not None else None)


def create(name: str = "copula", **params: Any) -> Generator:
    """An unfitted generator by its registered name (see `synthgen list`)."""
    from synthgen.generators import create as _create

    return _create(name, **params)


def load(model_dir: str | Path) -> Generator:
    """A saved model folder (JSON + safetensors): loading runs no code and contacts no
    server. Sample from it with ``.sample(n, seed=...)``; `synthgen sample` also applies the
    run's PII rules and text columns."""
    from synthgen.generators import Generator

    return Generator.load(Path(model_dir))


def inspect(
    source: str | Path, *, tables: list[str] | None = None, schema: str | None = None
) -> DatasetInspection:
    """What `synthgen inspect` shows, as data: a file, a folder of tables or a database URL
    read with its keys (declared or detected with evidence), profiled, each table's columns
    detected."""
    from synthgen.inspection import inspect_file, inspect_folder, inspect_url

    text = str(source)
    if "://" in text:
        return inspect_url(text, tables, schema)
    if Path(text).is_dir():
        return inspect_folder(text)
    return inspect_file(text)
