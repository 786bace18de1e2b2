"""The functions a Python user needs, the same ones the CLI calls (``import synthgen``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

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


def synthesize(
    data: pd.DataFrame,
    recipe: str | Path | Recipe | Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    out: str | Path | None = None,
    **fields: Any,
) -> RunResult:
    """A synthetic version of a DataFrame, made by every stage `synthgen run` runs: PII
    inside values replaced before any model sees it, PII columns faked, text columns
    written by a text model, rules kept, DP if asked, the gates judged on a holdout.

    ``recipe``: a recipe file, a loaded Recipe or a mapping (its ``source:`` is ignored:
    ``data`` is the source); ``fields`` are top-level recipe fields given as Python values,
    e.g. ``generator="copula"`` (or ``{"name": "tvae", "params": {"epochs": 5}}``),
    ``sample={"rows": 5000}``, ``pii={"locale": "de_DE"}``, ``holdout=0.2``. Every field is
    checked as a recipe's is. Nothing is written unless ``out`` names a run folder (then
    the same folder as `synthgen run` writes, model included). Returns the RunResult:
    ``.synthetic``, ``.report``, ``.passed`` (a failed gate does not raise)."""
    from synthgen.pipeline import run as _run
    from synthgen.recipe import Recipe, parse_recipe, read_recipe_file

    base: dict[str, Any]
    base_dir = Path.cwd()
    if recipe is None:
        base = {}
    elif isinstance(recipe, Recipe):
        base = recipe.model_dump(mode="json", by_alias=True, exclude_unset=True)
        base_dir = recipe.base_dir
    elif isinstance(recipe, Mapping):
        base = dict(recipe)
    else:
        raw, path = read_recipe_file(recipe)
        base = dict(raw) if isinstance(raw, dict) else {}
        base_dir = path.resolve().parent
    if isinstance(fields.get("generator"), str):
        fields["generator"] = {"name": fields["generator"]}
    merged = {"name": "dataframe", **base, **fields}
    merged["source"] = {"path": "<DataFrame>"}  # stands for ``data``; never read
    loaded = parse_recipe(merged, where="synthesize()", base_dir=base_dir)
    where = Path(out) if out is not None else None
    return _run(loaded, seed=seed, out=where, data=data, write=where is not None)


def create(name: str = "copula", **params: Any) -> Generator:
    """An unfitted generator by its registered name (see `synthgen list`): it models
    columns only. Its ``fit`` refuses a table with personal data inside label values (it
    would copy them): ``synthesize`` scrubs those first."""
    from synthgen.generators import create as _create

    return _create(name, **params)


def load(model_dir: str | Path) -> Generator:
    """A saved model folder (JSON + safetensors): loading runs no code and contacts no
    server. Sample from it with ``.sample(n, seed=...)``; `synthgen sample` also applies the
    run's PII rules and text columns."""
    from synthgen.generators import Generator

    return Generator.load(Path(model_dir))


def sample(
    model_dir: str | Path,
    n: int,
    *,
    seed: int = 0,
    conditions: dict[str, Any] | None = None,
    no_text: bool = False,
) -> pd.DataFrame:
    """``n`` finished rows of a run's model folder, the rows `synthgen sample` writes for
    the same seed: the run's rules, PII strategies (``null`` / ``drop``), pseudonymised
    keys and text columns applied (``load(dir).sample`` gives the model's rows only).
    ``conditions`` as ``--where``: ``{"sex": "Female", "age": {"min": 30, "max": 40}}``."""
    import pandas as pd

    from synthgen.errors import UsageError
    from synthgen.generators.memory import check_rows
    from synthgen.generators.shards import SHARD_ROWS
    from synthgen.scale.sampler import ShardSampler

    if isinstance(n, bool) or int(n) != n or n < 1:
        raise UsageError(f"n must be a whole number of rows >= 1, got {n!r}")
    job = ShardSampler(Path(model_dir), n, seed=seed, conditions=conditions, no_text=no_text)
    check_rows(float(n), job.gen.schema_, job.gen.side_, what="rows to sample")
    parts = [job.rows(k) for k in range(max(1, -(-int(n) // SHARD_ROWS)))]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


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
