"""Validate any synthetic table (ours, SDV's, anyone's) against the real one it imitates:
the files behind `synthgen validate`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen import logs, validate
from synthgen.errors import DataError, UsageError
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
    (``passed``, ``gates``), every metric, as `synthgen validate` computes them, and
    ``warnings`` (label columns the two frames spell differently). Without
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
    verdict = validate.run(
        the_suite, real, hold, synthetic, schema, target=target, seed=seed, sensitive=sensitive
    )
    verdict["warnings"] = label_overlap_warnings(real, synthetic, schema)
    return verdict


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
    say: Callable[[str], None] = logs.say,
    na_values: list[str] | None = None,
    strip_whitespace: bool = False,
) -> dict[str, Any]:
    """Validate any synthetic table (ours, SDV's, anyone's) against the real one it imitates;
    two folders of tables or two database URLs: a whole dataset (synthgen.evaluation_dataset).
    ``na_values`` / ``strip_whitespace`` read the three files as `inspect` and a recipe's
    source do (raw Adult's ' Male' is 'Male' once stripped)."""
    from synthgen.evaluation_dataset import is_dataset, validate_datasets

    if is_dataset(real) or is_dataset(synthetic):
        if na_values or strip_whitespace:
            raise UsageError(
                "--na-values and --strip-whitespace read single files; a dataset's tables are "
                "compared as they are"
            )
        return validate_datasets(
            real, synthetic, holdout=holdout, suite=suite, out=out, seed=seed, say=say
        )
    real, synthetic = Path(real), Path(synthetic)
    holdout = Path(holdout) if holdout is not None else None
    the_suite = validate.load_suite(suite, Path.cwd(), given_by="--suite")
    check_replaceable(out, "validation folder")
    check_writable([out])
    clock = StageClock(say)
    reading: dict[str, Any] = {"na_values": na_values or [], "strip_whitespace": strip_whitespace}
    with clock.stage("read", "reading tables"):
        train = read_table(real, origin=option("--real"), **reading)
        syn = read_table(synthetic, origin=option("--synthetic"), **reading)
        hold = (
            read_table(holdout, origin=option("--holdout"), **reading)
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
        ([] if holdout else [no_holdout]) + label_overlap_warnings(train, syn, schema),
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


def label_overlap_warnings(real: pd.DataFrame, syn: pd.DataFrame, schema: Schema) -> list[str]:
    """Label columns whose real and synthetic values share not one label: the two files
    were most likely written differently (spaces around values, codes against names, '?'
    for missing), and every metric of that column compares nothing with nothing."""
    out = []
    for c in schema.of_kind("categorical", "boolean"):
        if c.name not in syn.columns:
            continue
        a = set(real[c.name].dropna().astype(str))
        b = set(syn[c.name].dropna().astype(str))
        if a and b and not a & b:
            seen = ", ".join(repr(v) for v in sorted(a)[:3])
            made = ", ".join(repr(v) for v in sorted(b)[:3])
            out.append(
                f"column '{c.name}': no synthetic label is a real one (real {seen}...; "
                f"synthetic {made}...): spaces around values or other spellings? read both "
                "with --strip-whitespace / --na-values"
            )
    return out


def _check_schema_fits(schema: Schema, path: Path, df: pd.DataFrame, real: Path) -> None:
    """A given schema must name the real table's columns and read their values as its kinds
    (a numeric kind on a text column would leave the metrics nothing to compare)."""
    from synthgen.errors import SchemaError
    from synthgen.schema.overrides import kind_misfit

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


def validate_run(
    run_dir: Path,
    *,
    suite: str | None = None,
    out: Path = Path("validation"),
    say: Callable[[str], None] = logs.say,
) -> dict[str, Any]:
    """Judge a run folder again (after a suite or a threshold changed, or to check a copied
    folder): its recipe's source read again and split exactly as the run split it
    (``split.json``), its schema, its synthetic table, its seed; ``suite`` overrides the
    recipe's suite (its gate overrides then do not apply)."""
    from synthgen.constraints.stage import saved_options
    from synthgen.pipeline import validate_options
    from synthgen.recipe import load_recipe
    from synthgen.runsplit import read_split, split_source
    from synthgen.source import SourceTable, read_source

    record = read_split(run_dir)
    if record["recipe"] is None:
        raise DataError(
            f"{run_dir} was made from a DataFrame (synthgen.synthesize), not a recipe file: "
            "there is no source to read again",
            hint="judge it from Python with synthgen.evaluate(train, synthetic, holdout=...), "
            "or validate files with --real / --synthetic / --holdout",
        )
    if not Path(record["recipe"]).is_file():
        raise DataError(
            f"the recipe {run_dir} was made from is not at {record['recipe']} any more",
            hint="put it back, or validate files with --real / --synthetic / --holdout",
        )
    recipe = load_recipe(Path(record["recipe"]))
    the_suite = (
        validate.load_suite(suite, Path.cwd(), given_by="--suite")
        if suite is not None
        else validate.apply_overrides(
            validate.load_suite(recipe.validate_.suite, recipe.base_dir), recipe.validate_.gates
        )
    )
    check_replaceable(out, "validation folder")
    check_writable([out])
    clock = StageClock(say)
    with clock.stage("read", "reading the source and the run's synthetic table"):
        src = read_source(recipe)
        if not isinstance(src, SourceTable):
            raise DataError(
                f"{run_dir} is a run of several tables: validate them as a dataset",
                hint=f"synthgen validate --real SOURCE_FOLDER_OR_URL --synthetic {run_dir}/synthetic",
            )
        train, hold = split_source(src.df, record, src.where)
        found = [p for p in (run_dir / "synthetic.csv", run_dir / "synthetic.parquet")]
        found += sorted((run_dir / "synthetic").glob("*.csv"))
        path = next((p for p in found if p.is_file()), None)
        if path is None:
            raise DataError(f"no synthetic table in {run_dir}", hint="run the recipe again")
        syn = _like(read_table(path, origin=option("run folder")), train)
        schema = Schema.load(run_dir / "model" / "schema.json", what="the run's schema")
        _check_columns(train, syn, path, hold, None, [], [])
    with clock.stage("validate", f"validating with suite '{the_suite.name}'"):
        verdict = validate.run(
            the_suite,
            train,
            hold,
            syn,
            schema,
            target=recipe.validate_.target,
            seed=record["seed"],
            sensitive=recipe.validate_.sensitive,
            options=validate_options(recipe) | saved_options(run_dir / "model"),
            progress=True,
        )
    report = build_report(
        f"validate {run_dir}",
        record["seed"],
        schema,
        verdict,
        [],
        clock.timings,
        {"source": len(src.df), "train": len(train), "holdout": len(hold), "synthetic": len(syn)},
        inputs={"run": str(run_dir), "recipe": record["recipe"], "synthetic": str(path)},
    )
    with exclusive([out]), atomic_dir(out, "validation folder") as tmp:
        write_report_files(tmp, report, train, syn, schema)
    return report


def _like(syn: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """The synthetic table read from a file, in the real table's types (dates as dates,
    numbers as numbers, labels as text)."""
    out = syn.copy()
    for c in real.columns.intersection(out.columns):
        kind = real[c].dtype
        if pd.api.types.is_datetime64_any_dtype(kind):
            out[c] = pd.to_datetime(out[c], errors="coerce")
        elif pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
            out[c] = pd.to_numeric(out[c], errors="coerce")
        elif _is_text(kind) and pd.api.types.is_numeric_dtype(out[c].dtype):
            out[c] = out[c].astype(object).where(out[c].isna(), out[c].astype(str))
    return out


def _is_text(dtype: object) -> bool:
    """Strings: object (pandas 2) or the str dtype (pandas 3's default)."""
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)
