"""The command line: parse arguments, call one library function, print. Nothing else."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from synthgen import __version__, logs
from synthgen.errors import GateFailed, GateInconclusive, SynthgenError, UsageError
from synthgen.fit_command import fit_command
from synthgen.fixtures.command import fixtures_command
from synthgen.logs import verbosity_options
from synthgen.sample_command import sample_command
from synthgen.starter import completion_command, init_command, recipe_schema_command
from synthgen.transforms.where import parse_where

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class _Group(click.Group):
    """Maps our errors to a message and an exit status; a traceback only for real bugs."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: nothing half-written is left
            code = getattr(err, "exit_code", 130)
            err_console.print(
                "[bold red]interrupted:[/] stopped; what was being written was discarded and "
                "earlier results are untouched"
            )
            ctx.exit(code)
        except SynthgenError as err:
            if not isinstance(err, (GateFailed, GateInconclusive)):
                err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
            ctx.exit(err.exit_code)
        except Exception:  # noqa: BLE001 - a bug: show it, exit 1
            err_console.print("[bold red]internal error[/] (a bug in synthgen; please report it):")
            err_console.print(traceback.format_exc(), markup=False)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synthgen")
@verbosity_options
def cli() -> None:
    """synthgen: turn a sensitive table into a synthetic one that is useful and safe to share."""
    from synthgen import interrupt

    click.get_current_context().call_on_close(interrupt.install())


@cli.command()
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="override the recipe's seed")
@click.option("--out", type=click.Path(path_type=Path), help="run folder (default runs/<name>/)")
@click.option(
    "--where",
    "conditions",
    multiple=True,
    metavar="COL=VALUE",
    help="fix a column in every sampled row: COL=VALUE, COL=A|B (one of), COL=LOW..HIGH "
    "(a range) (repeatable)",
)
@click.option(
    "--write-outputs",
    is_flag=True,
    help="with another --seed or a --where: still write the recipe's outputs (replacing them)",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    help="draw the rows here or on Ray (the recipe's execution.engine; same rows)",
)
@click.option("--workers", type=click.IntRange(min=1), help="Ray workers")
@click.option("--address", metavar="A", help="Ray cluster: auto or ray://host:10001")
@verbosity_options
def run(
    recipe: Path,
    seed: int | None,
    out: Path | None,
    conditions: tuple[str, ...],
    write_outputs: bool,
    engine: str | None,
    workers: int | None,
    address: str | None,
) -> None:
    """Run RECIPE end to end: fit, sample, validate, write. Exit 3 if a gate fails, 4 if
    none fails but one cannot decide on this sample (outputs are then not written)."""
    from synthgen.fixtures.recipe import is_fixtures_recipe
    from synthgen.pipeline import run as run_recipe
    from synthgen.recipe import load_recipe, read_recipe_file

    if is_fixtures_recipe(read_recipe_file(recipe)[0]):
        from synthgen.fixtures.command import run_fixtures_recipe

        run_fixtures_recipe(recipe, seed, out, conditions, not logs.shows_info())
        return
    rec = load_recipe(recipe)
    rec.sample.conditions.update(parse_where(conditions))
    if engine or workers or address:
        rec = rec.with_execution(engine, workers, address)
    trial = (seed is not None and seed != rec.seed) or bool(conditions)
    if trial and rec.outputs and not write_outputs:
        # rows the recipe would not give (another seed, conditions) never replace its outputs
        from synthgen.io.sql.url import mask_url

        shown = ", ".join(o.path or mask_url(o.url or "") for o in rec.outputs)
        logs.LOGGER.warning(
            "--seed / --where make this a trial run: the recipe's outputs (%s) are not "
            "written; add --write-outputs to replace them",
            shown,
        )
        rec = rec.model_copy(update={"outputs": []})
    result = run_recipe(rec, seed=seed, out=out, say=logs.say)
    from synthgen.report.terminal import print_outcome, raise_for_gates

    if logs.shows_info():
        print_outcome(err_console, result.report)
        folder = result.run_dir
        assert folder is not None  # the command always writes one
        err_console.print(f"run folder: {folder}  (report: {folder / 'report.html'})")
        for p in result.outputs:
            logs.say(f"wrote {p}")
    if not result.passed:
        raise_for_gates(err_console, result.report, "; outputs not written")


@cli.command()
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--real",
    type=str,
    help="the real rows the generator learned from (a folder of tables or a database URL: "
    "a whole dataset)",
)
@click.option(
    "--synthetic", type=str, help="the synthetic table (or folder of tables, or database URL)"
)
@click.option(
    "--holdout",
    type=str,
    help="real rows the generator never saw (privacy baseline)",
)
@click.option("--suite", help="suite name or YAML path  [default: default; a run's: its recipe's]")
@click.option("--target", help="target column for utility metrics")
@click.option("--sensitive", multiple=True, help="column for attribute inference (repeatable)")
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(path_type=Path),
    help="schema.json (default: detected)",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("validation"), show_default=True
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--na-values", multiple=True, help="extra string read as missing (repeatable)")
@click.option("--strip-whitespace", is_flag=True, help="strip spaces around text values")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    help="tables larger than memory (Parquet dataset folders, big files): exact counts over "
    "every row and the other metrics on samples, here or on Ray",
)
@click.option("--workers", type=click.IntRange(min=1), help="Ray workers")
@click.option("--address", metavar="A", help="Ray cluster: auto or ray://host:10001")
@click.option(
    "--sample-rows",
    type=click.IntRange(min=100),
    help="with --engine: rows sampled from each table for the sampled metrics  [default: 100000]",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    help="with --engine: bootstrap replicates for the sampled metrics' intervals  [default: 10]",
)
@verbosity_options
def validate(
    run_dir: Path | None,
    real: str | None,
    synthetic: str | None,
    holdout: str | None,
    suite: str | None,
    target: str | None,
    sensitive: tuple[str, ...],
    schema_path: Path | None,
    out: Path,
    seed: int,
    na_values: tuple[str, ...],
    strip_whitespace: bool,
    engine: str | None,
    workers: int | None,
    address: str | None,
    sample_rows: int | None,
    bootstrap: int | None,
) -> None:
    """Validate a synthetic table from any generator (--real, --synthetic, --holdout), or
    RUN_DIR, a folder `synthgen run` wrote, again on its own split. With --engine: tables
    larger than memory, counted exactly over every row and sampled for the rest. Exit 3 if
    a gate fails, 4 if none fails but one cannot decide on this sample."""
    from synthgen.evaluation import validate_files, validate_run

    say = logs.say
    if engine is not None or workers or address or sample_rows is not None or bootstrap is not None:
        from synthgen.evaluation_scale import validate_command

        report = validate_command(
            run_dir, real, synthetic, holdout, engine=engine, workers=workers,
            address=address, sample_rows=sample_rows, bootstrap=bootstrap,
            suite=suite or "default", target=target, schema_path=schema_path,
            sensitive=list(sensitive), out=out, seed=seed, na_values=list(na_values),
            strip_whitespace=strip_whitespace, say=say,
        )  # fmt: skip
    elif run_dir is not None:
        named: dict[str, object] = {"--real": real, "--synthetic": synthetic, "--holdout": holdout}
        named |= {"--schema": schema_path, "--target": target, "--sensitive": sensitive}
        named |= {"--na-values": na_values, "--strip-whitespace": strip_whitespace}
        if given := [o for o, v in named.items() if v]:
            raise UsageError(
                "a run folder brings its own tables, schema and columns: leave out "
                + ", ".join(given)
            )
        report = validate_run(run_dir, suite=suite, out=out, say=say)
    elif real is None or synthetic is None:
        raise UsageError(
            "give a run folder (synthgen validate runs/NAME) or --real and --synthetic"
        )
    else:
        report = validate_files(
            real if "://" in real else Path(real),
            synthetic if "://" in synthetic else Path(synthetic),
            holdout=holdout if holdout is None or "://" in holdout else Path(holdout),
            suite=suite or "default",
            target=target,
            schema_path=schema_path,
            sensitive=list(sensitive),
            out=out,
            seed=seed,
            say=say,
            na_values=list(na_values),
            strip_whitespace=strip_whitespace,
        )
    from synthgen.report.terminal import print_outcome, raise_for_gates

    if logs.shows_info():
        print_outcome(err_console, report)
        scale = report.get("scale")
        if scale and "not_at_scale" in scale:  # a dataset's keys, counted over every row
            ex = scale["exact"]
            err_console.print(
                f"exact over {report['rows']['synthetic']:,} synthetic rows: "
                f"{sum(ex['dangling_references'].values()):,} of "
                f"{sum(ex['references'].values()):,} reference(s) dangling, "
                f"{sum(ex['repeated_key_values'].values()):,} key value(s) repeated"
            )
        elif scale:  # which figures are exact, which sampled
            rows, sampled = scale["rows"], scale["sample_rows"]
            err_console.print(
                f"exact over {sum(rows.values()):,} rows: {scale['exact']['copies']:,} synthetic "
                f"row(s) equal a training row; other metrics on samples of "
                f"{', '.join(f'{v:,} {k}' for k, v in sampled.items())} rows"
            )
        err_console.print(f"report: {out / 'report.html'}")
    if not report["passed"]:
        raise_for_gates(err_console, report)


@cli.command()
@click.argument("path")
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path, allow_dash=True),
    help="write the schema (for a folder: keys, profile, schemas) as JSON ('-' for stdout)",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(path_type=Path),
    help="for a folder: write a page with the relationship graph and the tables",
)
@click.option("--rules", "rules_out", type=click.Path(path_type=Path), help="file: rules as JSON")
@click.option("--na-values", multiple=True, help="extra string read as missing (repeatable)")
@click.option("--strip-whitespace", is_flag=True, help="strip spaces around text values")
@click.option("--sep", help="CSV field separator  [default: tab for .tsv/.tab, else ',']")
@click.option("--encoding", default="utf-8", show_default=True)
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="for a database URL: a table to read (repeatable; default: all of them)",
)
@click.option("--db-schema", help="for a PostgreSQL URL: the schema to read (default: public)")
@verbosity_options
def inspect(
    path: str,
    json_out: Path | None,
    html_out: Path | None,
    rules_out: Path | None,
    na_values: tuple[str, ...],
    strip_whitespace: bool,
    sep: str | None,
    encoding: str,
    tables: tuple[str, ...],
    db_schema: str | None,
) -> None:
    """Detect and show the schema of a CSV or Parquet file (- : from standard input):
    kinds, PII, and why.

    PATH may be a folder of such files (one table each) or a database URL
    (sqlite:///file.db, postgresql+psycopg://user@host/db; ${VAR} is read from the
    environment, so keep passwords there): then the keys are shown, declared or detected
    with their evidence, with the relationships between the tables."""
    from synthgen.io import read_table, write_text
    from synthgen.io.sources import option
    from synthgen.report.terminal import print_embedded_pii, print_schema
    from synthgen.schema import detect

    reading: dict[str, Any] = {"na_values": list(na_values), "strip_whitespace": strip_whitespace}
    reading.update(sep=sep, encoding=encoding)
    if "://" in path:
        from synthgen.inspection import inspect_url
        from synthgen.report.dataset import show_dataset

        found = inspect_url(path, list(tables) or None, db_schema)
        show_dataset(found, json_out, html_out)
        return
    if tables or db_schema:
        raise UsageError("--table and --db-schema are for a database URL, not a file or folder")
    if rules_out is not None and ("://" in path or Path(path).is_dir()):  # --json has them
        raise UsageError("--rules is for a file; a folder's --json holds its rules per table")
    if Path(path).is_dir():
        from synthgen.inspection import inspect_folder
        from synthgen.report.dataset import show_dataset

        show_dataset(inspect_folder(path, **reading), json_out, html_out)
        return
    if html_out is not None:
        raise UsageError("--html draws a dataset's relationships: give a folder, not a file")
    shown = Path(path).name
    if path == "-":  # a CSV (or Parquet) table on standard input
        import sys
        import tempfile

        data, held = sys.stdin.buffer.read(), tempfile.TemporaryDirectory()
        path = str(Path(held.name) / ("stdin.parquet" if data[:4] == b"PAR1" else "stdin.csv"))
        Path(path).write_bytes(data)
        shown = "standard input"
    df = read_table(
        path,
        **reading,
        origin=option(
            "PATH", "source file", encoding="--encoding", sep="--sep", na_values="--na-values"
        ),
    )
    schema = detect(df)
    if json_out is not None and str(json_out) == "-":
        click.echo(schema.to_json())
        return
    print_schema(Console(highlight=False), shown, df, schema)
    print_embedded_pii(Console(highlight=False), df, schema)
    from synthgen.constraints.show import print_file_rules

    print_file_rules(Console(highlight=False), df, schema, Path(path).name, rules_out)
    if json_out is not None:
        write_text(json_out, schema.to_json())
        logs.say(f"wrote {json_out}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="print JSON (for scripts) instead of tables")
@verbosity_options
def list_(as_json: bool) -> None:
    """Show the registered generators, text backends and validation suites."""
    from synthgen.report.terminal import print_registry, registry_json

    if as_json:
        import json

        click.echo(json.dumps(registry_json(), indent=2))
        return
    print_registry(Console(highlight=False))


cli.add_command(fixtures_command)  # its options and its work live in synthgen/fixtures
cli.add_command(init_command)  # synthgen/starter.py
cli.add_command(recipe_schema_command)
cli.add_command(completion_command)  # shell completion scripts (click's own)
cli.add_command(sample_command)  # synthgen/sample_command.py: to a file, a folder, or on Ray
cli.add_command(fit_command)  # synthgen/fit_command.py: a copula from a source larger than memory


def main() -> None:
    cli(prog_name="synthgen")


if __name__ == "__main__":  # pragma: no cover
    main()
