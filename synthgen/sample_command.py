"""``synthgen sample``: a saved model's rows to a file, to standard output, or to a Parquet
dataset folder (made here or on a Ray cluster). The CLI registers it; the work is
``post.sample_model`` (one file) and ``scale.engine.sample_to_dataset`` (a folder)."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen import logs
from synthgen.logs import verbosity_options
from synthgen.transforms.where import parse_where


@click.command(name="sample")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("-n", "--rows", "n", type=click.IntRange(min=1), required=True, help="rows to sample")
@click.option(
    "--out",
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help=".csv or .parquet file, - (CSV on standard output), or a folder (ending in / or "
    "without a suffix): a Parquet dataset of part files and a manifest",
)
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
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: make the shards on a Ray cluster (pip install 'synthgen[ray]'); same bytes",
)
@click.option(
    "--workers", type=click.IntRange(min=1), help="Ray workers  [default: the cluster's CPUs]"
)
@click.option(
    "--address",
    metavar="A",
    help="Ray cluster: auto (the one on this machine) or ray://host:10001; default: start one",
)
@click.option(
    "--shared-ratio",
    type=click.FloatRange(min=0),
    help="multi-table model: the scale of the tables drawn once (a catalogue, reference "
    "tables) against the source; 1: the source's size  [default: the roots' scale]",
)
@verbosity_options
def sample_command(
    model_dir: Path,
    n: int,
    out: Path,
    seed: int,
    conditions: tuple[str, ...],
    text_endpoint: str | None,
    text_key_env: str | None,
    no_text: bool,
    engine: str,
    workers: int | None,
    address: str | None,
    shared_ratio: float | None,
) -> None:
    """Sample N rows from a saved model folder (a run's model/); for a sequence model, N
    entities' whole sequences (--where then names an entity's own columns); for a
    multi-table model, N root entities (a customer) with every row under them and the
    tables drawn once, as one Parquet dataset folder per table under --out.

    Rows are drawn in shards of 50,000, each from (seed, shard number) alone, decoded, given
    their texts and written shard by shard, so memory stays flat for any N and the rows are
    the same whatever the engine or worker count; the output appears whole or not at all.
    Loading a model runs no code and contacts no server: a model whose text columns are
    written by a remote server needs --text-endpoint (and --text-key-env) from you."""
    from synthgen.errors import UsageError
    from synthgen.scale.dataset import is_dataset_target
    from synthgen.scale.engine import check_engine
    from synthgen.text.base import RemoteAccess

    check_engine(engine, workers, address)
    where = parse_where(conditions)
    if (model_dir / "sequence.json").is_file():  # a sequence model: N entities' sequences
        from synthgen.sequences.run import sample_saved

        if engine != "local" or is_dataset_target(out):
            raise UsageError(
                "a sequence model samples to one file (.csv, .parquet or -) on this machine",
                hint="give --out a file and leave --engine local",
            )
        rows = sample_saved(model_dir, n, out, seed=seed, conditions=where)
        logs.say(f"wrote {rows:,} events of {n:,} sequences to {out}")
        return
    if (model_dir / "relational.json").is_file():  # N root entities and their rows
        _relational(
            model_dir, n, out, seed, where, engine, workers, address, text_endpoint, shared_ratio
        )
        return
    if shared_ratio is not None:
        from synthgen.errors import UsageError

        raise UsageError("--shared-ratio is for a multi-table model")
    if is_dataset_target(out):
        from synthgen.scale.engine import sample_to_dataset

        if engine == "ray" and (text_endpoint or text_key_env):
            raise UsageError(
                "remote text columns are not written on Ray (the key would travel to workers)",
                hint="sample with --engine local, or with --no-text",
            )
        manifest = sample_to_dataset(
            model_dir,
            n,
            out,
            seed=seed,
            conditions=where,
            remote=RemoteAccess.from_options(text_endpoint, text_key_env),
            no_text=no_text,
            engine=engine,
            workers=workers,
            address=address,
            say=logs.say,
        )
        parts = len(manifest["parts"])
        logs.say(f"wrote {n:,} rows to {out} ({parts} part file(s) and _manifest.json)")
        return
    if engine != "local":
        raise UsageError(
            f"--engine {engine} writes a Parquet dataset folder, not the file {out}",
            hint="give --out a folder, e.g. --out big/",
        )
    from synthgen.post import sample_model

    remote = RemoteAccess.from_options(text_endpoint, text_key_env)
    rows = sample_model(
        model_dir,
        n,
        out,
        seed=seed,
        conditions=where,
        remote=remote,
        no_text=no_text,
        say=logs.say,
    )
    logs.say(f"wrote {rows:,} rows to {'standard output' if str(out) == '-' else out}")


def _relational(
    model_dir: Path,
    n: int,
    out: Path,
    seed: int,
    where: dict[str, object] | None,
    engine: str,
    workers: int | None,
    address: str | None,
    text_endpoint: str | None,
    shared_ratio: float | None,
) -> None:
    """A multi-table model: ``n`` root entities (a customer and all their rows) and the
    tables drawn once, one Parquet dataset folder per table."""
    from synthgen.errors import UsageError
    from synthgen.relational.folders import sample_folders
    from synthgen.scale.dataset import is_dataset_target

    if not is_dataset_target(out):
        raise UsageError(
            f"a multi-table model writes a folder of tables, not the file {out}",
            hint="give --out a folder, e.g. --out db/",
        )
    if text_endpoint:
        raise UsageError("a multi-table model has no remote text columns: leave --text-endpoint")
    top = sample_folders(
        model_dir, n, out, seed=seed, conditions=where or None, engine=engine,
        workers=workers, address=address, shared_ratio=shared_ratio, say=logs.say,
    )  # fmt: skip
    rows = sum(t["rows"] for t in top["tables"].values())
    logs.say(f"wrote {len(top['tables'])} tables ({rows:,} rows) to {out}")
