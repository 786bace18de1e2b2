"""``synthgen validate`` on whole datasets: two folders of tables or two databases (or one
of each), judged with the ``relational`` suite against the real dataset's keys."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from synthgen import validate
from synthgen.dataset.data import Dataset
from synthgen.errors import DataError
from synthgen.io.atomic import atomic_dir, check_replaceable, exclusive
from synthgen.progress import StageClock


def is_dataset(where: Path | str) -> bool:
    """A folder of tables or a database URL (not one table's file)."""
    return "://" in str(where) or Path(where).is_dir()


def read_dataset(where: Path | str, option: str) -> Dataset:
    text = str(where)
    if "://" in text:
        from synthgen.io.sql import read_sql

        return read_sql(text, None, None, outside_keys="drop")
    from synthgen.dataset.keys import detect_keys
    from synthgen.io.folder import read_folder

    ds = read_folder(Path(where))
    if not any(t.primary_key or t.foreign_keys for t in ds.spec):
        ds = detect_keys(ds)
    if not ds.names:
        raise DataError(f"{option} {where}: no tables in it", hint="give a folder of CSV files")
    return ds


def validate_datasets(
    real: Path | str,
    synthetic: Path | str,
    *,
    holdout: Path | str | None,
    suite: str,
    out: Path,
    seed: int,
    say: Any,
) -> dict[str, Any]:
    """Judge a synthetic dataset against the real one (its keys are the real one's)."""
    from synthgen.report.relational import build_dataset_report, write_dataset_report

    name = "relational" if suite == "default" else suite
    the_suite = validate.load_suite(name, Path.cwd(), given_by="--suite")
    check_replaceable(out, "validation folder")
    clock = StageClock(say)
    with clock.stage("read", "reading datasets"):
        src = read_dataset(real, "--real")
        got = read_dataset(synthetic, "--synthetic")
        missing = [t for t in src.names if t not in got.names]
        if missing:
            raise DataError(
                f"--synthetic {synthetic}: no table {', '.join(missing)} (the real dataset has them)",
                hint="give a synthetic dataset with every table of the real one",
            )
        syn = Dataset(src.spec, {t: got[t] for t in src.names})
        if holdout is not None:
            h = read_dataset(holdout, "--holdout")
            hold = Dataset(
                src.spec, {t: h[t] if t in h.names else src[t].iloc[:0] for t in src.names}
            )
        else:
            hold = Dataset(src.spec, {t: src[t].iloc[:0] for t in src.names})
    import pandas as pd

    from synthgen.schema.spec import Schema

    with clock.stage("validate", f"validating with suite '{the_suite.name}'"):
        empty = pd.DataFrame()
        verdict = validate.run(
            the_suite,
            empty,
            empty,
            empty,
            Schema(columns=[]),
            seed=seed,
            datasets=(src, hold, syn, src),
        )
    shim = SimpleNamespace(
        name=f"validate {Path(str(synthetic)).name}",
        generator=SimpleNamespace(name=None, params={}),
        outputs=[],
    )
    report = build_dataset_report(shim, seed, src, src, syn, verdict, [], clock.timings, None)
    with exclusive([out]), atomic_dir(out, "validation folder") as tmp:
        write_dataset_report(tmp, report, syn)
    return report
