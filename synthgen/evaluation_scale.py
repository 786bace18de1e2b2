"""`synthgen validate --engine local|ray`: validate tables larger than memory (Parquet
dataset folders such as `synthgen sample --out big/` writes, or a big CSV / Parquet file),
here or on a Ray cluster.

- Exact over every row (``scale.exact`` / ``scale.exact_reduce``, hash-partitioned): exact
  copies (synthetic rows equal to a training row, and to a holdout row), the copies that
  single a training record out beyond chance, and PII replay (synthetic cells equal to a
  real PII value, per column with its share).
- On seeded uniform samples of ``sample_rows`` rows of each table (drawn in the same pass):
  every other metric of the suite, each with a 95 % interval (``scale.intervals``).
Gates judge the result as `synthgen validate` judges any table. The report (JSON and HTML)
says which figure is which, the sample sizes and the intervals' methods; it is the same for
the local engine and for any number of Ray workers.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthgen import logs, validate
from synthgen.errors import DataError
from synthgen.evaluation_dataset_scale import is_table_folders
from synthgen.metrics.base import COMPARED_KINDS, Result
from synthgen.metrics.evidence import Evidence
from synthgen.scale.exact import Plan
from synthgen.scale.exact_pass import PassResult
from synthgen.schema import Schema, detect

SAMPLE_ROWS = 100_000
BOOTSTRAP = 10
EXACT = ("exact_copy_rate", "exact_copy_excess", "pii_replay")


def validate_command(
    run_dir: Path | None,
    real: str | None,
    synthetic: str | None,
    holdout: str | None,
    *,
    engine: str | None,
    workers: int | None,
    address: str | None,
    sample_rows: int | None,
    bootstrap: int | None,
    **options: Any,
) -> dict[str, Any]:
    """`synthgen validate --engine ...`: the options checked, then ``validate_at_scale``."""
    from synthgen.errors import UsageError

    if engine is None:
        raise UsageError(
            "--workers, --address, --sample-rows and --bootstrap are for tables larger than memory",
            hint="add --engine local or --engine ray",
        )
    if run_dir is not None or real is None or synthetic is None:
        raise UsageError(
            "--engine validates tables given with --real and --synthetic, not a run folder",
            hint="synthgen validate --real REAL --synthetic SYNTHETIC --engine local",
        )
    if any("://" in p for p in (real, synthetic, holdout) if p):
        raise UsageError(
            "--engine reads files or folders of part files, not database URLs",
            hint="export the tables to Parquet, or leave --engine out",
        )
    if Path(synthetic).is_dir() and is_table_folders(Path(synthetic)):
        one_table = {"--sample-rows": sample_rows, "--bootstrap": bootstrap}
        return _dataset(real, synthetic, holdout, engine, workers, address, one_table, options)
    extra: dict[str, Any] = {"sample_rows": sample_rows, "bootstrap": bootstrap}
    return validate_at_scale(
        Path(real),
        Path(synthetic),
        holdout=Path(holdout) if holdout else None,
        engine=engine,
        workers=workers,
        address=address,
        **{k: v for k, v in extra.items() if v is not None},
        **options,
    )


def _dataset(
    real: str,
    synthetic: str,
    holdout: str | None,
    engine: str,
    workers: int | None,
    address: str | None,
    extra: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    """A folder of table folders with its dataset.json: the dataset's keys, counted."""
    from synthgen.errors import UsageError
    from synthgen.evaluation_dataset_scale import validate_dataset_at_scale

    named = {"--holdout": holdout, **extra, "--target": options.get("target")}
    named |= {"--schema": options.get("schema_path"), "--sensitive": options.get("sensitive")}
    if given := [o for o, v in named.items() if v]:
        raise UsageError(
            f"--synthetic {synthetic} is a dataset of several tables: its keys are counted "
            f"over every row, and {', '.join(given)} apply to one table",
            hint="leave them out, or validate one table's folder with them",
        )
    keep = {k: options[k] for k in ("suite", "out", "seed", "say") if k in options}
    return validate_dataset_at_scale(
        Path(real), Path(synthetic), engine=engine, workers=workers, address=address, **keep
    )


def validate_at_scale(
    real: Path,
    synthetic: Path,
    *,
    holdout: Path | None = None,
    suite: str = "default",
    target: str | None = None,
    schema_path: Path | None = None,
    sensitive: list[str] | None = None,
    out: Path = Path("validation"),
    seed: int = 0,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    sample_rows: int = SAMPLE_ROWS,
    bootstrap: int = BOOTSTRAP,
    na_values: list[str] | None = None,
    strip_whitespace: bool = False,
    say: Callable[[str], None] = logs.say,
    stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate ``synthetic`` against ``real`` (files or folders of part files of one table
    each) without holding either in memory; writes ``out`` (report.json, report.html) whole
    or not at all and returns the report. ``stats`` receives the processes' peak memory."""
    from synthgen.evaluation import _check_columns, _check_schema_fits, label_overlap_warnings
    from synthgen.io.atomic import atomic_dir, check_replaceable, exclusive
    from synthgen.io.destinations import check_writable
    from synthgen.progress import StageClock
    from synthgen.report.assemble import build_report, write_report_files
    from synthgen.scale.engine import check_engine
    from synthgen.scale.exact_pass import run_pass
    from synthgen.scale.intervals import bootstrap as fill_bootstrap
    from synthgen.scale.intervals import interval_plan, metric_values
    from synthgen.scale.stream_source import open_source

    check_engine(engine, workers, address)
    the_suite = validate.load_suite(suite, Path.cwd(), given_by="--suite")
    check_replaceable(out, "validation folder")
    check_writable([out])
    if engine == "ray":  # Ray missing or a bad address: said before any work
        from synthgen.scale.ray_engine import connect

        connect(address, workers)
    clock = StageClock(say)
    reading: dict[str, Any] = {"na_values": na_values or [], "strip": strip_whitespace}
    with clock.stage("read", "opening the tables"):
        paths = {"train": real, "holdout": holdout, "synthetic": synthetic}
        sources = {r: open_source(Path(p), **reading) for r, p in paths.items() if p is not None}
        heads = {role: src.sample() for role, src in sources.items()}
        hold_head = heads.get("holdout", heads["train"].iloc[:0])
        named = [target] if target else []
        _check_columns(
            heads["train"], heads["synthetic"], synthetic, hold_head, holdout, named,
            sensitive or [],
        )  # fmt: skip
        if schema_path is None:
            schema = detect(heads["train"], seed=seed)
        else:
            schema = Schema.load(schema_path, what="--schema file")
            _check_schema_fits(schema, schema_path, heads["train"], Path(real))
    plan = make_plan(schema, list(heads["synthetic"].columns), seed, sample_rows)
    with clock.stage("count", "exact counts over every row and the samples"):
        spill = Path(tempfile.mkdtemp(prefix=".synthgen-validate-", dir=out.absolute().parent))
        try:
            res = run_pass(
                sources, plan, spill, engine=engine, workers=workers, address=address, say=say
            )
        finally:
            shutil.rmtree(spill, ignore_errors=True)
    if stats is not None:
        stats["peak_rss"] = res.peak_rss
    if res.rows["train"] == 0 or res.rows["synthetic"] == 0:
        empty = "--real" if res.rows["train"] == 0 else "--synthetic"
        raise DataError(f"{empty} has no rows", hint="give a table with rows")
    train, syn = res.samples["train"], res.samples["synthetic"]
    hold = res.samples.get("holdout", train.iloc[:0])
    given = exact_results(res, plan)
    with clock.stage("validate", f"validating the samples with suite '{the_suite.name}'"):
        kw: dict[str, Any] = {"target": target, "seed": seed, "sensitive": sensitive}
        verdict = validate.run(
            the_suite, train, hold, syn, schema, given=given, progress=True, **kw
        )
    with clock.stage("intervals", f"bootstrap intervals ({bootstrap} replicates)"):
        intervals = interval_plan(verdict, list(given))
        fill_bootstrap(
            intervals, metric_values(verdict), (train, hold, syn), schema,
            replicates=bootstrap, seed=seed, target=target, options=the_suite.options,
        )  # fmt: skip
    warnings = [] if holdout else [
        "no --holdout given: privacy metrics that need unseen real rows as a baseline are skipped"
    ]  # fmt: skip
    rows = {"source": res.rows["train"] + res.rows.get("holdout", 0), **res.rows}
    rows.setdefault("holdout", 0)
    scale = scale_section(res, plan, intervals, bootstrap)
    report = build_report(
        f"validate {Path(synthetic).name}",
        seed,
        schema,
        verdict,
        warnings + label_overlap_warnings(train, syn, schema),
        clock.timings,
        rows,
        inputs={"real": str(real), "synthetic": str(synthetic), "holdout": _str(holdout)},
        scale=scale,
        engine={"engine": engine, "workers": len(res.peak_rss) if engine == "ray" else 1},
    )
    with exclusive([out]), atomic_dir(out, "validation folder") as tmp:
        write_report_files(tmp, report, train, syn, schema)
    return report


def make_plan(schema: Schema, syn_columns: list[str], seed: int, sample_rows: int) -> Plan:
    """The row key's columns are the suite's compared ones; every synthetic column that
    holds text (labels, PII, free text) is looked up among the real PII values."""
    compared = [c.name for c in schema.columns if c.kind in COMPARED_KINDS]
    compared = [c for c in compared if c in syn_columns]
    pii = [c.name for c in schema.of_kind("pii")]
    labels = [c.name for c in schema.of_kind("categorical", "boolean")]
    numeric = ("numeric", "integer", "datetime", "boolean")
    checked = [c.name for c in schema.columns if c.kind not in numeric and c.name in syn_columns]
    return Plan(schema, compared, pii, labels, checked, seed, sample_rows)


def exact_results(res: PassResult, plan: Plan) -> dict[str, Result]:
    """The exact metrics as the suite's Results, counted over every row."""
    c, n = res.counts, res.rows["synthetic"]
    n_tr, n_ho = res.rows["train"], res.rows.get("holdout", 0)
    bound = n * (n_tr + n_ho) / 2.0**64
    common = {"exact": True, "synthetic_rows": n, "collision_bound": bound}
    out: dict[str, Result] = {}
    if not plan.compared:
        out["exact_copy_rate"] = Result(0.0, {"columns": [], "copies": 0, **common})
        out["exact_copy_excess"] = Result(None, skipped="no compared columns or no training rows")
    else:
        details: dict[str, Any] = {"columns": len(plan.compared), "copies": c.copies, **common}
        if n_ho:
            details |= {
                "holdout_copies": c.holdout_copies,
                "holdout_copy_rate": c.holdout_copies / n,
            }
        out["exact_copy_rate"] = Result(c.copies / n, details)
        out["exact_copy_excess"] = _excess(c, n, n_tr, n_ho, common)
    if not plan.pii:
        out["pii_replay"] = Result(
            0.0, {"pii_columns": [], **common}, skipped="no PII columns in the schema"
        )
    else:
        per = {k: v for k, v in c.replayed.items() if v}
        share = {k: c.replayed.get(k, 0) / max(res.cells.get(k, 0), 1) for k in plan.checked}
        details = {"pii_columns": plan.pii, "per_column": per, "share": share}
        details["matched"] = "whole cells of every row (a value inside free text is not counted)"
        details |= {"real_pii_values": c.pii_values, **common}
        out["pii_replay"] = Result(float(sum(per.values())), details)
    return out


def _excess(c: Any, n: int, n_tr: int, n_ho: int, common: dict[str, Any]) -> Result:
    """``metrics.evidence.copy_excess`` from the whole-number totals."""
    if not n_ho:
        rate = c.copies / n
        ev = Evidence(rate, lambda _t: 0.0, n, unit="synthetic rows", lo=-1.0, hi=1.0)
        details = {"ci_low": rate, "ci_high": rate, **common}
        details["note"] = "no holdout: every copy counts, natural duplicates too"
        return Result(rate, details, evidence=ev)
    f = n_tr / (n_tr + n_ho)
    est = max((c.single_train - f * c.single_all) / ((1 - f) * n), -1.0)
    se = math.sqrt(c.single_sq * f / (1 - f)) / n
    ev = Evidence(est, lambda _t: se, n_ho, lo=-1.0, hi=1.0)
    lo, hi = ev.interval()
    details = {"ci_low": lo, "ci_high": hi, "chance_train_share": f, **common}
    details["copies_of_single_records"] = c.single_train
    return Result(est, details, evidence=ev)


def scale_section(
    res: PassResult, plan: Plan, intervals: dict[str, Any], replicates: int
) -> dict[str, Any]:
    """What the report says about the figures: which are exact, the samples and how sure."""
    return {
        "rows": res.rows,
        "sample_rows": {role: len(f) for role, f in res.samples.items()},
        "sampling": "seeded uniform sample without replacement of each table "
        "(the rows with the smallest keys drawn from seed, table, part and row)",
        "exact": {
            "copies": res.counts.copies,
            "holdout_copies": res.counts.holdout_copies if "holdout" in res.rows else None,
            "pii_replayed_cells": res.counts.replayed,
            "pii_cells_checked": res.cells,
            "real_pii_values": res.counts.pii_values,
            "hash_ranges": res.ranges,
            "hash_bits": 64,
            "collision_bound": res.rows["synthetic"]
            * (res.rows["train"] + res.rows.get("holdout", 0))
            / 2.0**64,
        },
        "bootstrap_replicates": replicates,
        "intervals": intervals,
    }


def _str(p: Path | None) -> str | None:
    return None if p is None else str(p)
