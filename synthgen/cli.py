"""The command line: parse arguments, call one library function, print. Nothing else."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from synthgen import __version__, progress
from synthgen.errors import GateFailed, GateInconclusive, SynthgenError, UsageError
from synthgen.fixtures.command import fixtures_command

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
                err_console.print(f"[bold red]error:[/] {err}", markup=True, highlight=False)
            ctx.exit(err.exit_code)
        except Exception:  # noqa: BLE001 - a bug: show it, exit 1
            err_console.print("[bold red]internal error[/] (a bug in synthgen; please report it):")
            err_console.print(traceback.format_exc(), markup=False)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synthgen")
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
@click.option("-q", "--quiet", is_flag=True, help="print only errors")
def run(
    recipe: Path, seed: int | None, out: Path | None, conditions: tuple[str, ...], quiet: bool
) -> None:
    """Run RECIPE end to end: fit, sample, validate, write. Exit 3 if a gate fails, 4 if
    none fails but one cannot decide on this sample (outputs are then not written)."""
    from synthgen.pipeline import run as run_recipe
    from synthgen.recipe import load_recipe

    rec = load_recipe(recipe)
    rec.sample.conditions.update(_parse_where(conditions))
    say = (lambda _m: None) if quiet else (lambda m: err_console.print(f"[dim]·[/] {m}"))
    with progress.quiet(quiet):
        result = run_recipe(rec, seed=seed, out=out, say=say)
    from synthgen.report.terminal import print_gates, print_warnings, raise_for_gates

    if not quiet:
        print_gates(err_console, result.report)
        print_warnings(err_console, result.report)
        err_console.print(
            f"run folder: {result.run_dir}  (report: {result.run_dir / 'report.html'})"
        )
        for p in result.outputs:
            err_console.print(f"wrote {p}")
    if not result.passed:
        raise_for_gates(err_console, result.report, "; outputs not written")


@cli.command()
@click.option(
    "--real",
    type=str,
    required=True,
    help="the real rows the generator learned from (a folder of tables or a database URL: "
    "a whole dataset)",
)
@click.option(
    "--synthetic",
    type=str,
    required=True,
    help="the synthetic table (or folder of tables, or database URL)",
)
@click.option(
    "--holdout",
    type=str,
    help="real rows the generator never saw (privacy baseline)",
)
@click.option(
    "--suite", default="default", show_default=True, help="suite name (validators/) or YAML path"
)
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
@click.option("-q", "--quiet", is_flag=True, help="print only errors")
def validate(
    real: str,
    synthetic: str,
    holdout: str | None,
    suite: str,
    target: str | None,
    sensitive: tuple[str, ...],
    schema_path: Path | None,
    out: Path,
    seed: int,
    quiet: bool,
) -> None:
    """Validate a synthetic table from any generator. Exit 3 if a gate fails, 4 if none
    fails but one cannot decide on this sample."""
    from synthgen.evaluation import validate_files

    say = (lambda _m: None) if quiet else (lambda m: err_console.print(f"[dim]·[/] {m}"))
    with progress.quiet(quiet):
        report = validate_files(
            real if "://" in real else Path(real),
            synthetic if "://" in synthetic else Path(synthetic),
            holdout=holdout if holdout is None or "://" in holdout else Path(holdout),
            suite=suite,
            target=target,
            schema_path=schema_path,
            sensitive=list(sensitive),
            out=out,
            seed=seed,
            say=say,
        )
    from synthgen.report.terminal import print_gates, print_warnings, raise_for_gates

    if not quiet:
        print_gates(err_console, report)
        print_warnings(err_console, report)
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
def inspect(
    path: str,
    json_out: Path | None,
    html_out: Path | None,
    na_values: tuple[str, ...],
    strip_whitespace: bool,
    sep: str | None,
    encoding: str,
    tables: tuple[str, ...],
    db_schema: str | None,
) -> None:
    """Detect and show the schema of a CSV or Parquet file: kinds, PII, and why.

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

        found = inspect_url(path, list(tables) or None, db_schema)
        _print_dataset(found, json_out, html_out)
        return
    if tables or db_schema:
        raise UsageError("--table and --db-schema are for a database URL, not a file or folder")
    if Path(path).is_dir():
        from synthgen.inspection import inspect_folder

        _print_dataset(inspect_folder(path, **reading), json_out, html_out)
        return
    if html_out is not None:
        raise UsageError("--html draws a dataset's relationships: give a folder, not a file")
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
    print_schema(Console(highlight=False), Path(path).name, df, schema)
    print_embedded_pii(Console(highlight=False), df, schema)
    if json_out is not None:
        write_text(json_out, schema.to_json())
        err_console.print(f"wrote {json_out}")


def _print_dataset(found: Any, json_out: Path | None, html_out: Path | None) -> None:
    """The dataset view (tables, relationships with their evidence, warnings); files."""
    from synthgen.io import write_text
    from synthgen.report.dataset import print_dataset, render_dataset_html

    if json_out is not None and str(json_out) == "-":
        click.echo(found.to_json())
        return
    print_dataset(Console(highlight=False), found.dataset.spec, found.profile, found.name)
    if json_out is not None:
        write_text(json_out, found.to_json())
        err_console.print(f"wrote {json_out}")
    if html_out is not None:
        page = render_dataset_html(found.dataset.spec, found.profile, found.schemas, found.name)
        write_text(html_out, page)
        err_console.print(f"wrote {html_out}")


@cli.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("-n", "--rows", "n", type=click.IntRange(min=1), required=True, help="rows to sample")
@click.option("--out", type=click.Path(path_type=Path), required=True, help=".csv or .parquet file")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option(
    "--where",
    "conditions",
    multiple=True,
    metavar="COL=VALUE",
    help="fix a column: COL=VALUE, COL=A|B (one of), COL=LOW..HIGH (a range) (repeatable)",
)
@click.option(
    "--text-endpoint",
    metavar="URL",
    help="the OpenAI-compatible server that writes the model's remote text columns "
    "(a model folder never names one itself)",
)
@click.option(
    "--text-key-env",
    metavar="VAR",
    help="environment variable holding that server's API key (sent as a Bearer token)",
)
@click.option("--no-text", is_flag=True, help="leave free-text columns empty")
def sample(
    model_dir: Path,
    n: int,
    out: Path,
    seed: int,
    conditions: tuple[str, ...],
    text_endpoint: str | None,
    text_key_env: str | None,
    no_text: bool,
) -> None:
    """Sample N rows from a saved model folder (a run's model/).

    Rows are drawn, decoded, given their texts and written chunk by chunk, so memory stays
    flat for any N; the file appears whole or not at all. Loading a model runs no code and
    contacts no server: a model whose text columns are written by a remote server needs
    --text-endpoint (and --text-key-env) from you."""
    from synthgen.generators import Generator
    from synthgen.generators.memory import check_disk
    from synthgen.io import write_table_chunks
    from synthgen.io.sources import infer_format
    from synthgen.post import SAMPLE_CHUNK_ROWS, PostSampling, load_key_pools, load_run_settings
    from synthgen.recipe import PiiSpec
    from synthgen.text.base import RemoteAccess
    from synthgen.text.synth import load_text_models

    fmt = infer_format(out, None, "output")
    if text_key_env is not None and text_endpoint is None:
        raise UsageError("--text-key-env needs --text-endpoint (the server the key is for)")
    remote = None
    if text_endpoint is not None:
        from pydantic import ValidationError

        from synthgen.text.openai import OpenAIParams

        try:
            OpenAIParams(base_url=text_endpoint, model="-", api_key_env=text_key_env)
        except ValidationError as err:  # its message only: the value may hold a password
            first = err.errors()[0]
            raise UsageError(f"--text-endpoint / --text-key-env: {first['msg']}") from None
        remote = RemoteAccess(text_endpoint.rstrip("/"), text_key_env)
    gen = Generator.load(model_dir)
    texts = {} if no_text else load_text_models(model_dir, gen.schema_, remote)
    settings = load_run_settings(model_dir)
    pii = settings.pii if settings is not None else PiiSpec()
    post = PostSampling(
        gen.schema_,
        pii,
        texts,
        load_key_pools(model_dir),
        blank=[c.name for c in gen.schema_.of_kind("text")] if no_text else [],
    )
    check_disk(n, gen.schema_, Path(out).parent)
    chunks = gen.iter_sample(
        n,
        seed=seed,
        conditions=_parse_where(conditions) or None,
        chunk_size=SAMPLE_CHUNK_ROWS,
        progress=True,
        locale=pii.locale,
    )
    for column in texts:
        err_console.print(f"writing text column '{column}'")
    rows = write_table_chunks((post.apply(df, seed) for df in chunks), out, fmt)
    err_console.print(f"wrote {rows:,} rows to {out}")


@cli.command(name="list")
def list_() -> None:
    """Show the registered generators and validation suites."""
    from synthgen.report.terminal import print_registry

    print_registry(Console(highlight=False))


def _parse_where(items: tuple[str, ...]) -> dict[str, Any]:
    """``COL=VALUE``, ``COL=A|B|C`` (one of them) or ``COL=LOW..HIGH`` (a range; either end
    may be left out: ``age=..30``)."""
    out: dict[str, Any] = {}
    for item in items:
        col, sep, val = item.partition("=")
        if not sep or not col:
            raise UsageError(f"--where takes COL=VALUE, got '{item}'")
        if "|" in val:
            out[col.strip()] = val.split("|")
        elif ".." in val:
            low, _, high = val.partition("..")
            bounds = {"min": low.strip() or None, "max": high.strip() or None}
            out[col.strip()] = {k: v for k, v in bounds.items() if v is not None}
        else:
            out[col.strip()] = val
    return out


cli.add_command(fixtures_command)  # its options and its work live in synthgen/fixtures


def main() -> None:
    cli(prog_name="synthgen")


if __name__ == "__main__":  # pragma: no cover
    main()
