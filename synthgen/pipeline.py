"""One run: recipe -> source -> schema -> fit -> sample -> PII -> validate -> write.

Each stage is one call; ``run`` times them and returns a RunResult. Nothing lands in the run
folder until everything in it is ready (temp folder + rename); the recipe's ``outputs`` are
written only when every gate passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen import interrupt, logs, validate
from synthgen.constraints.stage import ConstraintRun
from synthgen.errors import DataError, UsageError
from synthgen.generators import create, distributed
from synthgen.generators.memory import check_rows
from synthgen.io import write_table
from synthgen.io.atomic import Staging, exclusive, write_manifest
from synthgen.io.destinations import check_destinations
from synthgen.io.sources import infer_format
from synthgen.metrics.base import NEEDS_HOLDOUT
from synthgen.pii.stage import PiiRun, pii_exclusions
from synthgen.post import PostSampling, save_key_pools
from synthgen.preflight import DP_REPORT_NOTE, check_recipe_against_data, dp_plan, dp_preflight
from synthgen.progress import StageClock
from synthgen.recipe import Recipe
from synthgen.report.assemble import build_report, write_report_files
from synthgen.runsplit import holdout_positions, write_split
from synthgen.scale.ray_train import train_cluster
from synthgen.schema import Schema, apply_overrides, detect
from synthgen.source import (
    SourceDataset,
    SourceTable,
    frame_source,
    read_source,
    source_paths,
    write_database,
)
from synthgen.text.stage import TextRun

MIN_TRAIN_ROWS = 2


@dataclass
class RunResult:
    run_dir: Path | None  # None: a run of a DataFrame that was asked to write nothing
    synthetic: pd.DataFrame
    report: dict[str, Any]
    passed: bool
    outputs: list[Path] = field(default_factory=list)
    dataset: Any = None  # a multi-table run: the synthetic Dataset (``synthetic`` is empty)


def build_schema(recipe: Recipe, df: pd.DataFrame) -> tuple[Schema, list[str]]:
    schema = apply_overrides(detect(df, seed=recipe.seed), recipe.schema_overrides(), df)
    warnings = []
    for c in schema.columns:
        if c.null_fraction >= 1.0:
            warnings.append(
                f"column '{c.name}' is entirely missing; it stays missing in the output"
            )
        elif c.cardinality == 1 and c.kind not in ("pii", "id"):
            warnings.append(f"column '{c.name}' is constant; it stays constant in the output")
        elif "mixed" in c.reason:
            warnings.append(f"column '{c.name}': {c.reason}")
    return schema, warnings


def split_holdout(
    df: pd.DataFrame, fraction: float, seed: int, where: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_hold = int(round(len(df) * fraction))
    if len(df) - n_hold < MIN_TRAIN_ROWS:
        raise DataError(
            f"source {where} has {len(df)} row(s): too few to learn from after keeping "
            f"{n_hold} aside for validation",
            hint=f"give at least {MIN_TRAIN_ROWS + (1 if fraction else 0)} rows (far more for a useful model), or set holdout: 0",
        )
    hold = holdout_positions(len(df), fraction, seed)
    train = np.setdiff1d(np.arange(len(df)), hold)
    return df.iloc[train].reset_index(drop=True), df.iloc[hold].reset_index(drop=True)


def sample_rows(recipe: Recipe, n_source: int, schema: Schema) -> int:
    """The rows to sample, when that many fit in memory (else a UsageError with the limit)."""
    s = recipe.sample
    if s.rows is not None:
        return check_rows(s.rows, schema, what="sample.rows", setting="sample.rows")
    ratio = s.ratio or 1.0
    want = max(1.0, float(np.rint(ratio * n_source)))
    what = f"sample.ratio ({ratio:g} x {n_source:,} source rows)"
    return check_rows(want, schema, what=what, setting="sample.rows or sample.ratio")


def run(
    recipe: Recipe,
    *,
    seed: int | None = None,
    out: Path | None = None,
    say: Callable[[str], None] = logs.say,
    data: pd.DataFrame | None = None,
    write: bool = True,
) -> RunResult:
    """Run a recipe end to end and write its run folder; see the module docstring.

    Every destination is checked (and locked against other synthgen processes) before any
    work; the run folder and then the outputs are put in place together at the end.
    ``data``: a DataFrame that stands for the recipe's source (``synthgen.synthesize``);
    with ``write=False`` nothing is written (no run folder, no outputs): every other stage
    runs as ever and the result holds the table and the report."""
    if not write:
        if recipe.outputs:
            raise UsageError(
                "the recipe has outputs, which are written with a run folder",
                hint="give out=FOLDER to write both, or outputs=[] to leave the outputs out",
            )
        return _run(recipe, recipe.seed if seed is None else seed, None, say, data)
    run_dir = Path(out) if out is not None else Path("runs") / recipe.name
    outputs = [(recipe.resolve(o.path), o.format) for o in recipe.outputs if o.path is not None]
    check_destinations(
        run_dir,
        outputs,
        protected=source_paths(recipe) + ([recipe.file] if recipe.file else []),
    )
    with exclusive([run_dir] + [p for p, _ in outputs]):
        return _run(recipe, recipe.seed if seed is None else seed, run_dir, say, data)


def _run(
    recipe: Recipe,
    seed: int,
    run_dir: Path | None,
    say: Callable[[str], None],
    data: pd.DataFrame | None = None,
) -> RunResult:
    suite = validate.apply_overrides(
        validate.load_suite(recipe.validate_.suite, recipe.base_dir), recipe.validate_.gates
    )
    clock = StageClock(say)
    with clock.stage("read", "reading source"):
        read = read_source(recipe, many=True) if data is None else frame_source(recipe, data)
        if isinstance(read, SourceTable):
            check_recipe_against_data(recipe, read.df, read.file.name if read.file else read.name)
    if isinstance(read, SourceDataset):  # several tables: every one learnt and written
        assert run_dir is not None  # a DataFrame (the only source that writes nothing) is one
        from synthgen.sequences.run import check_source_shape

        check_source_shape(recipe, run_dir, dataset=True)
        return _run_dataset(recipe, seed, run_dir, read, clock)
    src = read
    if recipe.sequence is not None or recipe.tables:  # per-entity event streams
        from synthgen.sequences.run import check_source_shape, run_sequence

        check_source_shape(recipe, run_dir, dataset=False)
        if recipe.sequence is not None and run_dir is not None:
            return run_sequence(recipe, seed, run_dir, src, clock)
    df = src.df
    with clock.stage("schema", "detecting schema"):
        schema, warnings = build_schema(recipe, df)
        warnings = src.warnings + warnings
        train, holdout = split_holdout(df, recipe.holdout, seed, src.where)
        sample_rows(recipe, len(df), schema)  # too many rows for memory: say so before the fit
        logs.LOGGER.debug(
            "schema: %s", ", ".join(f"{c.name} {c.pii_type or c.kind}" for c in schema.columns)
        )
        logs.LOGGER.debug("split: %d train rows, %d holdout rows", len(train), len(holdout))
    gen = create(recipe.generator.name, **recipe.generator.params)
    draw = _draw(recipe, gen)  # Ray missing or a bad address: said before the fit
    plan = dp_plan(recipe, len(train))
    train_on = train_cluster(recipe, gen, plan is not None, say)  # checked before the fit
    if plan is not None:
        warnings.append(DP_REPORT_NOTE)
        if schema.of_kind("pii"):
            plan.uncovered.append(
                "PII fakes are redrawn when one equals a real value of its column, so that "
                "no fake is ever real"
            )
    pii = PiiRun(recipe.pii, schema, df, seed)
    texts = TextRun(recipe.text, schema, plan)
    if plan is not None:
        dp_preflight(recipe, schema, texts)
    note = texts.default_note()
    if note is not None:
        say(note)
        warnings.append(note)
    clean = pii.scrub(train, warnings)
    rules = ConstraintRun(
        recipe.constraints,
        schema,
        clean,
        private=plan is not None,
        table=src.name,
        warnings=warnings,
        owned=recipe.pii.consistent,
    )
    if plan is not None:
        plan.uncovered.extend(rules.dp_notes())
    pools = pii.key_pools(train)
    if texts.specs:
        with clock.stage("fit_text", f"learning {len(texts.specs)} text column(s)"):
            texts.fit(clean, seed, say)
    with (
        clock.stage("fit", f"fitting {recipe.generator.name} on {len(train):,} rows"),
        distributed.training(train_on),
    ):
        # the labels were scrubbed above as pii.embedded says (or kept, if it says so)
        gen.fit(*rules.fit_frame(clean), seed=seed, privacy=plan, embedded_pii="keep")
    # under DP the row count is not public: scale the DP estimate of the training rows
    n_source = len(df) if plan is None else round(gen.n_rows_ / (1 - recipe.holdout))
    n = sample_rows(recipe, n_source, schema)
    with clock.stage("sample", f"sampling {n:,} rows"):
        syn = rules.sample(
            gen,
            n,
            conditions=recipe.sample.condition_dict() or None,
            seed=seed,
            draw=draw,
            progress=True,
            locale=recipe.pii.locale,
            exclude=pii_exclusions(df, schema),
        )
        post = PostSampling(schema, recipe.pii, texts.models, pools)
        syn = rules.finish(post.apply_all(syn, seed), seed)
        texts.stats = post.text_stats
        pii.check_output(syn, warnings)
    with clock.stage("validate", f"validating with suite '{suite.name}'"):
        verdict = validate.run(
            suite,
            train,
            holdout,
            syn,
            schema,
            target=recipe.validate_.target,
            seed=seed,
            sensitive=recipe.validate_.sensitive,
            options=validate_options(recipe) | rules.options(),
            progress=True,
        )
        warnings += holdout_warnings(recipe.holdout, verdict["gates"])
    report = build_report(
        recipe.name,
        seed,
        schema,
        verdict,
        warnings,
        clock.timings,
        rows={
            "source": len(df),
            "train": len(train),
            "holdout": len(holdout),
            "synthetic": len(syn),
        },
        generator={"name": recipe.generator.name, "params": recipe.generator.params},
        privacy=plan.to_json() if plan is not None else None,
        pii=pii.summary(),
        text=texts.summary(),
        outputs=[_output_entry(o) for o in recipe.outputs],
        constraints=rules.summary(),
    )
    interrupt.check()
    if run_dir is None:  # asked to write nothing
        return RunResult(None, syn, report, verdict["passed"], [])
    with clock.stage("write", f"writing {run_dir}"), Staging() as stage:
        folder = stage.folder(run_dir, "run folder")  # put in place first, the outputs after
        outputs = _write_outputs(recipe, syn, report, stage, src) if verdict["passed"] else []
        _write_run_dir(folder, recipe, gen, syn, report, train, schema, src, texts, pools)
        rules.save(folder / "model")
        interrupt.check()
    return RunResult(run_dir, syn, report, verdict["passed"], outputs)


def _draw(recipe: Recipe, gen: Any) -> Callable[..., pd.DataFrame] | None:
    """What draws ``gen``'s rows (once fitted) in place of ``gen.sample`` (None: itself)."""
    ex = recipe.execution
    if ex.engine == "local":
        return None
    import functools

    from synthgen.scale.ray_engine import connect
    from synthgen.scale.run_sampling import ray_sample

    connect(ex.address, ex.workers)
    return functools.partial(ray_sample, gen, workers=ex.workers, address=ex.address)


def _run_dataset(
    recipe: Recipe, seed: int, run_dir: Path, src: SourceDataset, clock: StageClock
) -> RunResult:
    """Several tables: synthgen.relational.run learns and writes them all."""
    from synthgen.relational.run import finish, run_dataset

    warnings = list(src.dataset.warnings)
    syn, report, passed, model = run_dataset(recipe, src.dataset, seed, run_dir, clock, warnings)
    finish(recipe, run_dir, model, syn, report, passed, src.dataset.spec, clock)
    return RunResult(run_dir, pd.DataFrame(), report, passed, [], dataset=syn)


def holdout_warnings(holdout: float, gates: list[dict[str, Any]]) -> list[str]:
    """With ``holdout: 0`` the gates that need unseen real rows are skipped: say which."""
    skipped = [
        g["name"]
        for g in gates
        if g.get("status") == "skipped" and NEEDS_HOLDOUT in str(g.get("error") or "")
    ]
    if holdout > 0 or not skipped:
        return []
    return [
        f"holdout: 0 keeps no real rows aside, so the gate(s) {', '.join(skipped)} were "
        "skipped, not passed; holdout: 0.2 restores them"
    ]


def validate_options(recipe: Recipe) -> dict[str, dict[str, Any]]:
    gx = recipe.validate_.expectations
    return {"expectations_pass_rate": {"suite_path": str(recipe.resolve(gx))}} if gx else {}


def _write_run_dir(
    run_dir: Path,
    recipe: Recipe,
    gen: Any,
    syn: pd.DataFrame,
    report: dict[str, Any],
    train: pd.DataFrame,
    schema: Schema,
    src: SourceTable,
    texts: TextRun,
    pools: dict[str, Any],
) -> None:
    if src.file is not None:  # a one-file source: synthetic.csv / .parquet, as ever
        fmt = "parquet" if src.file.suffix.lower() in (".parquet", ".pq") else "csv"
        write_table(syn, run_dir / f"synthetic.{fmt}", fmt)
    elif src.in_memory:  # a DataFrame: Parquet keeps its dtypes
        write_table(syn, run_dir / "synthetic.parquet", "parquet")
    else:  # a dataset: one file per table under synthetic/
        (run_dir / "synthetic").mkdir()
        write_table(syn, run_dir / "synthetic" / f"{src.name}.csv", "csv")
    gen.save(run_dir / "model")
    for where in (run_dir, run_dir / "model"):
        (where / "dataset.json").write_text(src.dataset.model_dump_json(indent=2), encoding="utf-8")
    texts.save(run_dir / "model")
    settings = {
        "pii": recipe.pii.model_dump(mode="json"),
        "recipe": recipe.name,
        "seed": report["seed"],
    }
    (run_dir / "model" / "run.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    write_split(run_dir, recipe, report["seed"], src.df)
    save_key_pools(run_dir / "model", pools)
    write_manifest(run_dir / "model")  # the text models and run.json belong to it too
    write_report_files(run_dir, report, train, syn, schema)


def _output_entry(o: Any) -> dict[str, Any]:
    if o.url is not None:
        from synthgen.io.sql import mask_url

        return {"url": mask_url(o.url), "table": o.table, "mode": o.mode, "written": False}
    return {"path": o.path, "format": infer_format(Path(o.path), o.format), "written": False}


def _write_outputs(
    recipe: Recipe, syn: pd.DataFrame, report: dict[str, Any], stage: Staging, src: SourceTable
) -> list[Path]:
    """The recipe's outputs: files staged to be put in place after the run folder; a
    database written now, in one transaction (a failure leaves it and the run unchanged)."""
    written = []
    for o, entry in zip(recipe.outputs, report["outputs"], strict=True):
        if o.url is not None:
            write_database(syn, src, o.url, o.table or src.name, o.mode, o.db_schema)
        else:
            target = recipe.resolve(str(o.path))
            write_table(syn, stage.file(target), infer_format(target, o.format, "output"))
            written.append(target)
        entry["written"] = True
    return written
