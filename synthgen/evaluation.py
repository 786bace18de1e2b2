"""Validate any synthetic table (ours, SDV's, anyone's) against the real one it imitates:
the files behind `synthgen validate`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen import validate
from synthgen.errors import DataError
from synthgen.io import atomic_dir, read_table
from synthgen.io.atomic import check_replaceable, exclusive
from synthgen.io.destinations import check_writable
from synthgen.io.sources import option
from synthgen.progress import StageClock
from synthgen.report.assemble import build_report, write_report_files
from synthgen.schema import Schema, detect


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    suite: str = "default",
    target: str | None = None,
    schema: Schema | None = None,
    sensitive: list[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Judge a synthetic DataFrame against the real one with a suite: the verdict
    (``passed``, ``gates``) and every metric, as `synthgen validate` computes them. Without
    ``holdout`` (real rows the generator never saw) the privacy gates that need one are
    skipped, and say so."""
    the_suite = validate.load_suite(suite, Path.cwd(), given_by="suite")
    hold = holdout if holdout is not None else real.iloc[:0]
    _check_columns(
        real,
        synthetic,
        "the synthetic frame",
        hold,
        "the holdout frame" if holdout is not None else None,
        [target] if target else [],
        sensitive or [],
    )
    schema = schema if schema is not None else detect(real, seed=seed)
    return validate.run(
        the_suite, real, hold, synthetic, schema, target=target, seed=seed, sensitive=sensitive
    )


def validate_files(
    real: Path | str,
    synthetic: Path | str,
    *,
    holdout: Path | str | None = None,
    suite: str = "default",
    target: str | None = None,
    schema_path: Path | None = None,
    sensitive: list[str] | None = None,
    out: Path = Path("validation"),
    seed: int = 0,
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Validate any synthetic table (ours, SDV's, anyone's) against the real one it imitates;
    two folders of tables or two database URLs: a whole dataset (synthgen.evaluation_dataset)."""
    from synthgen.evaluation_dataset import is_dataset, validate_datasets

    if is_dataset(real) or is_dataset(synthetic):
        return validate_datasets(
            real, synthetic, holdout=holdout, suite=suite, out=out, seed=seed, say=say
        )
    real, synthetic = Path(real), Path(synthetic)
    holdout = Path(holdout) if holdout is not None else None
    the_suite = validate.load_suite(suite, Path.cwd(), given_by="--suite")
    check_replaceable(out, "validation folder")
    check_writable([out])
    clock = StageClock(say)
    with clock.stage("read", "reading tables"):
        train = read_table(real, origin=option("--real"))
        syn = read_table(synthetic, origin=option("--synthetic"))
        hold = (
            read_table(holdout, origin=option("--holdout"))
            if holdout is not None
            else train.iloc[:0]
        )
        _check_columns(
            train, syn, synthetic, hold, holdout, [target] if target else [], sensitive or []
        )
    with clock.stage("schema", "schema"):
        if schema_path is None:
            schema = detect(train, seed=seed)
        else:
            schema = Schema.load(schema_path, what="--schema file")
            _check_schema_fits(schema, schema_path, train, real)
    with clock.stage("validate", f"validating with suite '{the_suite.name}'"):
        verdict = validate.run(
            the_suite,
            train,
            hold,
            syn,
            schema,
            target=target,
            seed=seed,
            sensitive=sensitive,
            progress=True,
        )
    no_holdout = (
        "no --holdout given: privacy metrics that need unseen real rows as a baseline are skipped"
    )
    report = build_report(
        f"validate {Path(synthetic).name}",
        seed,
        schema,
        verdict,
        [] if holdout else [no_holdout],
        clock.timings,
        {
            "source": len(train) + len(hold),
            "train": len(train),
            "holdout": len(hold),
            "synthetic": len(syn),
        },
        inputs={
            "real": str(real),
            "synthetic": str(synthetic),
            "holdout": str(holdout) if holdout else None,
        },
    )
    with exclusive([out]), atomic_dir(out, "validation folder") as tmp:
        write_report_files(tmp, report, train, syn, schema)
    return report


def _check_schema_fits(schema: Schema, path: Path, df: pd.DataFrame, real: Path) -> None:
    """A given schema must name the real table's columns and read their values as its kinds
    (a numeric kind on a text column would leave the metrics nothing to compare)."""
    from synthgen.errors import SchemaError
    from synthgen.schema.detect import kind_misfit

    problems = [f"{c}: not a column of the --real file {real}" for c in schema.names if c not in df]
    problems += [
        f"{c.name}: {why}"
        for c in schema.columns
        if c.name in df and (why := kind_misfit(c.kind, df[c.name], c.datetime_format))
    ]
    if problems:
        raise SchemaError(
            f"--schema file {path} does not fit the --real file {real}:\n"
            + "\n".join(f"  - {p}" for p in problems[:10]),
            hint="detect it again with `synthgen inspect REAL --json schema.json`, or leave "
            "--schema out",
        )


def _check_columns(
    train: pd.DataFrame,
    syn: pd.DataFrame,
    syn_path: Path | str,
    hold: pd.DataFrame,
    hold_path: Path | str | None,
    named: list[str],
    sensitive: list[str],
) -> None:
    problems = []
    lacking = [c for c in train.columns if c not in syn.columns]
    if lacking:
        problems.append(
            f"{syn_path} lacks the real table's column(s): {', '.join(map(str, lacking))}"
        )
    if hold_path is not None:
        off = [c for c in train.columns if c not in hold.columns]
        if off:
            problems.append(f"{hold_path} lacks column(s): {', '.join(map(str, off))}")
    for c in list(named) + list(sensitive):
        if c not in train.columns:
            near = difflib.get_close_matches(c, [str(x) for x in train.columns], n=1)
            problems.append(
                f"no column '{c}' in the real table"
                + (f"; did you mean '{near[0]}'?" if near else "")
            )
    if problems:
        raise DataError(
            "the tables do not fit together:\n  - " + "\n  - ".join(problems),
            hint="give the synthetic table the real table's columns",
        )
