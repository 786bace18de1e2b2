"""A recipe whose one table is a sequence table (``sequence: {entity, order}``): whole
entities held out, a :class:`SequenceModel` fitted and sampled, the suite run with the
sequence metrics told the entity and order, the run folder written like any run's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen import interrupt, validate
from synthgen.constraints.stage import ConstraintRun
from synthgen.errors import DataError, RecipeError
from synthgen.io import write_table
from synthgen.io.atomic import Staging, write_manifest
from synthgen.report.assemble import build_report, write_report_files
from synthgen.runsplit import holdout_positions
from synthgen.schema.spec import Schema
from synthgen.sequences.model import SequenceModel
from synthgen.sequences.rules import StepRules

if TYPE_CHECKING:
    from pathlib import Path

    from synthgen.pipeline import RunResult
    from synthgen.progress import StageClock
    from synthgen.recipe import Recipe
    from synthgen.source import SourceTable


def unsupported(recipe: Recipe) -> list[str]:
    """What a sequence recipe cannot have yet, one problem each (with its recipe key)."""
    out = []
    if recipe.generator.name != "autoreg":
        out.append("generator.name: a sequence table is learnt by autoreg only")
    if recipe.privacy is not None:
        out.append("privacy: sequences cannot be learnt under differential privacy yet")
    if recipe.text:
        out.append("text: free-text columns of a sequence table are not modelled yet")
    entity = recipe.sequence.entity if recipe.sequence is not None else None
    out += rule_problems(recipe.constraints.rules, entity, "constraints.rules")
    if recipe.sample.rows is not None:
        out.append("sample.rows: a sequence table samples entities; use sample.ratio")
    if recipe.pii.consistent:
        out.append("pii.consistent: pseudonymised keys are not kept in sequence tables yet")
    return out


def rule_problems(
    rules: list[Any], entity: str | None, where: str, indices: list[int] | None = None
) -> list[str]:
    """Rules a sequence table cannot keep: ``unique`` (events are drawn entity by entity)
    and any naming the entity key (made fresh for every synthetic entity). ``indices``: the
    rules' positions in the recipe (default: in ``rules``)."""
    out = []
    for j, r in enumerate(rules):
        i = indices[j] if indices is not None else j
        if r.type == "unique":
            out.append(
                f"{where}.{i}: unique is not kept on a sequence table's events; declare the "
                "column a key (primary_key) or drop the rule"
            )
        elif entity is not None and entity in r.columns():
            out.append(
                f"{where}.{i}: '{entity}' is the sequence's entity key, made fresh for every "
                "synthetic entity: no rule may name it"
            )
    return out


def check_source_shape(recipe: Recipe, run_dir: Path | None, dataset: bool) -> None:
    """A recipe's sequence declarations fit its source: ``sequence:`` a one-table source,
    ``tables.T.sequence`` a dataset's child table; a sequence run writes its folder."""
    from synthgen.errors import UsageError

    if dataset:
        if recipe.sequence is not None:
            raise DataError(
                "sequence: is for a one-table source; a dataset's sequence tables are not "
                "declared yet",
                hint="name the table (source.tables: [TABLE]) to run it as a sequence table",
            )
        return
    declared = [f"tables.{t}.sequence" for t, d in recipe.tables.items() if d.sequence]
    if declared:
        raise RecipeError(
            f"{', '.join(declared)}: a sequence under tables: is a child table of a dataset "
            "(its entity the parent); this source is one table",
            hint="declare sequence: {entity: COLUMN, order: COLUMN} at the top of the recipe",
        )
    if recipe.sequence is None:
        return
    if run_dir is None:
        raise UsageError("a sequence run writes its model as it goes: give out=FOLDER")
    if recipe.execution.engine != "local":
        raise RecipeError(
            "execution: engine ray does not draw sequences yet",
            hint="remove execution: (or set engine: local) for a sequence run",
        )


def as_key(schema: Schema, entity: str) -> Schema:
    """The entity column is a key (fresh in the output), whatever its values look like (a
    day's date): no metric compares it as a column."""
    cols = [
        c.model_copy(update={"kind": "id", "reason": "the sequence's entity key"})
        if c.name == entity
        else c
        for c in schema.columns
    ]
    return schema.model_copy(update={"columns": cols})


def check_conditions(
    conditions: dict[str, Any] | None, df: pd.DataFrame, schema: Schema, entity: str, order: str
) -> None:
    """A condition names an entity's own column (or the order column, for the first event):
    refused before any fit otherwise, with the columns it may name."""
    if not conditions:
        return
    from synthgen.generators.context import MODELLED_KINDS
    from synthgen.sequences import statics

    cands = [
        c.name for c in schema.columns
        if c.name not in (entity, order) and c.kind in MODELLED_KINDS and c.name in df
    ]  # fmt: skip
    static = statics.detect(df, entity, cands)
    statics.split_conditions(conditions, static, entity, order, [str(c) for c in df.columns])


def split_entities(
    df: pd.DataFrame, entity: str, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Whole entities on one side: a day's hours are all trained on or all held out."""
    keys = pd.Index(pd.unique(df[entity].astype(str)))
    hold = keys[holdout_positions(len(keys), fraction, seed)]
    out = df[entity].astype(str).isin(hold).to_numpy()
    if (~out).sum() < 2:
        raise DataError(f"too few events left to learn from after holding out {len(hold)} entities")
    return df[~out].reset_index(drop=True), df[out].reset_index(drop=True)


def run_sequence(
    recipe: Recipe, seed: int, run_dir: Path, src: SourceTable, clock: StageClock
) -> RunResult:
    from synthgen.pipeline import (
        RunResult,
        _output_entry,
        _write_outputs,
        build_schema,
        validate_options,
    )

    assert recipe.sequence is not None
    problems = unsupported(recipe)
    if problems:
        raise RecipeError("this recipe cannot run on a sequence table:", problems=problems)
    entity, order = recipe.sequence.entity, recipe.sequence.order
    suite = validate.apply_overrides(
        validate.load_suite(recipe.validate_.suite, recipe.base_dir), recipe.validate_.gates
    )
    df = src.df
    with clock.stage("schema", "detecting schema"):
        schema, warnings = build_schema(recipe, df)
        warnings = src.warnings + warnings
        for c in (entity, order):
            if c not in df.columns:
                raise RecipeError(
                    f"sequence: no column {c!r} in {src.where}",
                    problems=[f"its columns: {', '.join(map(str, df.columns))}"],
                )
        schema = as_key(schema, entity)
        conditions = recipe.sample.condition_dict() or None
        check_conditions(conditions, df, schema, entity, order)
        train, holdout = split_entities(df, entity, recipe.holdout, seed)
    from synthgen.pii.stage import PiiRun

    pii = PiiRun(recipe.pii, schema, df, seed)
    clean = pii.scrub(train, warnings)  # PII inside labels, as pii.embedded says
    crun = ConstraintRun(
        recipe.constraints, schema, clean, private=False, table=src.name, warnings=warnings,
        hidden=[entity], protect=[order],
    )  # fmt: skip
    model = SequenceModel(entity, order, recipe.generator.params)
    n_ent = int(train[entity].nunique())
    with clock.stage("fit", f"fitting sequences of {n_ent:,} entities ({len(train):,} events)"):
        frame, fschema = crun.fit_frame(clean)  # events breaking a declared rule left out
        model.fit(frame, schema=fschema, seed=seed, table=src.name, embedded_pii="keep")
        if crun.sampler is not None:  # the rules kept as the events are drawn
            model.rules_ = StepRules(crun.sampler, model, src.name)
    n = max(1, int(np.rint((recipe.sample.ratio or 1.0) * df[entity].nunique())))
    with clock.stage("sample", f"sampling {n:,} sequences"):
        syn = model.sample(
            n, seed=seed, conditions=conditions, locale=recipe.pii.locale, progress=True
        )
        pii.check_output(syn, warnings)
        if crun.sampler is not None:
            crun.sampler.resampled = model.rules_.redrawn
    options: dict[str, dict[str, Any]] = {"sequence": {"entity": entity, "order": order}}
    options |= crun.options()
    with clock.stage("validate", f"validating with suite '{suite.name}'"):
        verdict = validate.run(
            suite, train, holdout, syn, schema, target=recipe.validate_.target, seed=seed,
            sensitive=recipe.validate_.sensitive, options=validate_options(recipe) | options,
            progress=True,
        )  # fmt: skip
    rows = {"source": len(df), "train": len(train), "holdout": len(holdout), "synthetic": len(syn)}
    report = build_report(
        recipe.name, seed, schema, verdict, warnings, clock.timings, rows=rows,
        generator={"name": "autoreg", "params": recipe.generator.params,
                   "sequence": {"entity": entity, "order": order}},
        outputs=[_output_entry(o) for o in recipe.outputs], pii=pii.summary(),
        constraints=crun.summary(),
    )  # fmt: skip
    interrupt.check()
    with clock.stage("write", f"writing {run_dir}"), Staging() as stage:
        folder = stage.folder(run_dir, "run folder")
        outputs = _write_outputs(recipe, syn, report, stage, src) if verdict["passed"] else []
        write_table(syn, folder / "synthetic.csv", "csv")
        model.save(folder / "model")
        crun.save(folder / "model")
        write_manifest(folder / "model")
        write_report_files(folder, report, train, syn, schema)
    return RunResult(run_dir, syn, report, verdict["passed"], outputs)


def sample_saved(
    model_dir: Path, n: int, out: Path, *, seed: int = 0, conditions: dict[str, Any] | None = None
) -> int:
    """`synthgen sample` on a sequence model folder: ``n`` entities' sequences into ``out``
    (a CSV or Parquet file, or ``-`` for CSV on standard output); returns the events."""
    import sys

    from synthgen.constraints.stage import load_rules
    from synthgen.io.sources import infer_format

    model = SequenceModel.load(model_dir)
    sampler = load_rules(model_dir)
    if sampler is not None:
        model.rules_ = StepRules(sampler, model)
    syn = model.sample(n, seed=seed, conditions=conditions or None, progress=True)
    if str(out) == "-":
        syn.to_csv(sys.stdout, index=False)
    else:
        write_table(syn, out, infer_format(out, None, "output"))
    return len(syn)
