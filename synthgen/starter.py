"""``synthgen init TABLE``: a starter recipe for a table, its detected schema written as
comments beside the lines a user is likely to change, so the first run needs no reading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from synthgen import logs
from synthgen.errors import UsageError
from synthgen.logs import verbosity_options


def starter_recipe(table: Path, recipe_path: Path) -> str:
    """The recipe text for ``table``, with paths relative to where the recipe is written."""
    from synthgen.io import read_table
    from synthgen.io.sources import option
    from synthgen.schema import detect

    df = read_table(table, origin=option("TABLE"))
    schema = detect(df)
    rel = Path(os.path.relpath(table.resolve(), recipe_path.resolve().parent)).as_posix()
    name = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in table.stem).lstrip("._-")
    name = name or "table"
    width = max((len(c.name) for c in schema.columns), default=4) + 2
    lines = [
        f"# Starter recipe for {table.name} ({len(df):,} rows x {df.shape[1]} columns), written by",
        "# `synthgen init`. Run it with `synthgen run` on this file; every field is in the README.",
        f"name: {name}",
        "seed: 0",
        "source:",
        f"  path: {json.dumps(rel)}",
        "holdout: 0.2                 # share of rows kept aside: the privacy gates' baseline",
        "",
        "# Detected schema: uncomment a line (and delete the `{}` below) to override it.",
        "schema:",
    ]
    for c in schema.columns:
        found = f"{c.null_fraction:.0%} missing; {c.reason}"
        key = json.dumps(c.name) if not c.name.isidentifier() else c.name
        pii = f", pii_type: {c.pii_type}" if c.pii_type else ""
        lines.append(f"  # {(key + ':').ljust(width)} {{kind: {c.kind}{pii}}}  # {found}")
    lines.append("  {}")
    found_pii = [c.name for c in schema.columns if c.kind == "pii"]
    target = _guess_target(schema)
    lines += _sequence_lines(df, schema)
    lines += [
        "",
        "generator:",
        "  name: autoreg               # the default; `synthgen list` shows the others",
        "sample:",
        "  ratio: 1.0                  # as many synthetic rows as source rows",
        "pii:",
        "  default: fake               # personal data is replaced: fake | null | drop",
    ]
    if found_pii:
        lines.append(f"  # found: {', '.join(found_pii)}")
    lines += [
        "validate:",
        "  suite: default              # or healthcare-release (stricter privacy gates)",
        f"  # target: {json.dumps(target) if target else 'COLUMN'}  # a column to predict (a guess: "
        "check it); TSTR then measures usefulness",
        "outputs:",
        f"  - path: {json.dumps('out/' + name + '-synthetic.csv')}  # written if every gate passes",
        "",
    ]
    return "\n".join(lines)


def _sequence_lines(df: object, schema: object) -> list[str]:
    """A commented ``sequence:`` when the rows look like an entity's events in time (a guess
    with its evidence: `run` learns a sequence only when the recipe declares it)."""
    from synthgen.sequences.detect import propose_table

    found = propose_table(df, schema)  # type: ignore[arg-type]
    if found is None:
        return []
    e, o = json.dumps(found["entity"]), json.dumps(found["order"])
    return [
        "",
        f"# The rows look like each {found['entity']}'s events in {found['order']} order: "
        f"{found['rows']:,} rows over",
        f"# {found['parents']:,} {found['entity']} values, median {found['median_per_parent']:g} "
        f"each, {found['several_share']:.0%} with 2+, {found['distinct_times']:.0%} at "
        "distinct times.",
        "# To learn them as sequences, uncomment (and set validate.suite: sequential):",
        f"# sequence: {{entity: {e}, order: {o}}}",
    ]


def _guess_target(schema: object) -> str | None:
    """The last label column with few values (Adult's income), else None: a guess the user
    sees and can change."""
    cols = [
        c
        for c in getattr(schema, "columns", [])
        if c.kind in ("categorical", "boolean") and 2 <= c.cardinality <= 10
    ]
    return cols[-1].name if cols else None


@click.command(name="init")
@click.argument("table", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="the recipe file to write  [default: recipes/<table>.yaml]",
)
@click.option("--force", is_flag=True, help="replace an existing recipe file")
@verbosity_options
def init_command(table: Path, out: Path | None, force: bool) -> None:
    """Write a starter recipe for TABLE (CSV or Parquet) with its detected schema as comments."""
    from synthgen.io.atomic import write_text

    out = out if out is not None else Path("recipes") / f"{table.stem}.yaml"
    if out.exists() and not force:
        raise UsageError(f"{out} exists; give another --out, or --force to replace it")
    text = starter_recipe(table, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    logs.say(f"wrote {out}: review the schema comments, then `synthgen run {out}`")


def recipe_json_schema() -> dict:
    """The recipe's JSON Schema (draft 2020-12), as editors read it to complete and check
    recipes; the same as the file shipped in the package (``synthgen/recipe.schema.json``)."""
    from synthgen.recipe import Recipe

    schema = Recipe.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


@click.command(name="recipe-schema")
@click.option("--out", type=click.Path(path_type=Path), help="write it to a file, not stdout")
@verbosity_options
def recipe_schema_command(out: Path | None) -> None:
    """Print the recipe's JSON Schema, for editors (e.g. a yaml-language-server
    `# yaml-language-server: $schema=recipe.schema.json` line atop a recipe)."""
    text = json.dumps(recipe_json_schema(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    from synthgen.io.atomic import write_text

    write_text(out, text)
    logs.say(f"wrote {out}")


@click.command(name="completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@verbosity_options
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, choices, paths):
    add `eval "$(synthgen completion bash)"` to ~/.bashrc (zsh: ~/.zshrc), or for fish
    `synthgen completion fish > ~/.config/fish/completions/synthgen.fish`."""
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root()
    klass = get_completion_class(shell)
    assert klass is not None  # the three shells click ships
    click.echo(klass(root.command, {}, "synthgen", "_SYNTHGEN_COMPLETE").source())
