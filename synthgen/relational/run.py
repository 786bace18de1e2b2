"""A recipe whose source holds several tables: every table learnt and written, keys intact.

Called by ``synthgen.pipeline.run`` once the source is read. The holdout is drawn by entity
(a customer and every row under them on one side), the relational model is fitted on the
rest, the synthetic dataset is validated with the ``relational`` suite and written: the run
folder (``synthetic/<table>.csv``, ``model/``, ``report.json``, ``report.html``), then every
database output in one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen import interrupt, validate
from synthgen.dataset.data import Dataset
from synthgen.dataset.split import split_by_entity
from synthgen.errors import RecipeError
from synthgen.generators import create, distributed
from synthgen.io import write_table
from synthgen.io.atomic import Staging, write_manifest
from synthgen.progress import StageClock
from synthgen.recipe import Recipe
from synthgen.relational import rules
from synthgen.relational.model import RelationalSynthesizer
from synthgen.relational.rules import split_rules

DEFAULT_SUITE = "relational"


def refuse_unsupported(recipe: Recipe, names: list[str]) -> None:
    """What a multi-table run cannot do yet, every item at once (exit 2, nothing written)."""
    problems = []
    if recipe.privacy is not None:
        problems.append(
            "privacy: a multi-table run has no differential-privacy accounting yet (child "
            "counts, key assignment and the per-table models would each spend budget); "
            "remove privacy:, or synthesise one table with source.tables: [TABLE]"
        )
    if recipe.sample.rows is not None:
        problems.append("sample.rows: give sample.ratio (the same ratio for every root table)")
    if recipe.pii.consistent:
        problems.append(
            "pii.consistent: a multi-table run makes every key fresh; a pseudonym of a real "
            "key on a synthetic row would stand for an entity the row is not, and the set of "
            "pseudonyms would list who is in the source. Remove it (references still resolve; "
            "PII columns are faked)"
        )
    from synthgen.generators.registry import get_class

    if not getattr(get_class(recipe.generator.name), "supports_context", False):
        problems.append(
            f"generator: '{recipe.generator.name}' cannot learn a table given its parents; "
            "use autoreg (the default), copula or tvae"
        )
    if recipe.text:
        problems.append("text: language-model text columns are for one-table runs for now")
    problems += [
        f"outputs.{i}: a multi-table run writes databases (url:); its CSVs are in the run "
        "folder's synthetic/"
        for i, o in enumerate(recipe.outputs)
        if o.url is None
    ]
    problems += [
        f"outputs.{i}.table: a multi-table run writes every table under its own name"
        for i, o in enumerate(recipe.outputs)
        if o.url is not None and o.table
    ]
    if problems:
        raise RecipeError(
            f"the source holds {len(names)} tables ({', '.join(names[:6])}"
            f"{', ...' if len(names) > 6 else ''}); this recipe asks for what a multi-table "
            "run cannot do:",
            problems=problems,
        )


def sequence_orders(recipe: Recipe) -> dict[str, str]:
    """The tables the recipe declares as sequences (``tables.T.sequence``): T -> order."""
    return {t: d.sequence.order for t, d in recipe.tables.items() if d.sequence is not None}


def check_sequences(recipe: Recipe, ds: Dataset) -> None:
    """Declared sequence tables that cannot be ones and conditions no table can take,
    refused before any work (exit 2)."""
    from synthgen.relational.model import personal_unique
    from synthgen.relational.plan import make_plan
    from synthgen.relational.sequence_tables import problems

    orders = sequence_orders(recipe)
    conditions = recipe.sample.condition_dict()
    if not orders and not conditions:
        return
    from synthgen.relational.conditions import by_table

    plan = make_plan(ds.spec, personal_unique(ds, recipe.seed))
    named = {t: d.sequence.entity for t, d in recipe.tables.items() if d.sequence is not None}
    columns = {t: [str(c) for c in ds[t].columns] for t in ds.names}
    by_table(plan, columns, conditions)  # a condition no table can take: refused now
    bad = problems(plan, columns, orders, recipe.generator.name, named)
    if bad:
        raise RecipeError("these tables cannot be learnt as sequences:", problems=bad)


def run_dataset(
    recipe: Recipe,
    ds: Dataset,
    seed: int,
    run_dir: Path,
    clock: StageClock,
    warnings: list[str],
) -> tuple[Dataset, dict[str, Any], bool, RelationalSynthesizer]:
    """Fit, sample, validate and write; returns the synthetic dataset and the report."""
    refuse_unsupported(recipe, ds.names)
    check_sequences(recipe, ds)
    tables_rules = split_rules(recipe.constraints, ds)  # a bad rule: said before any work
    from synthgen.sequences.run import rule_problems

    bad = [
        p
        for t in sequence_orders(recipe)
        for p in rule_problems(
            tables_rules[t].spec.rules, None, "constraints.rules", tables_rules[t].indices
        )
    ]
    if bad:
        raise RecipeError("these rules cannot be kept on sequence tables:", problems=bad)
    name = recipe.validate_.suite
    suite = validate.apply_overrides(
        validate.load_suite(DEFAULT_SUITE if name == "default" else name, recipe.base_dir),
        recipe.validate_.gates,
    )
    with clock.stage("split", "holding out entities"):
        if recipe.holdout > 0:
            split = split_by_entity(ds, recipe.holdout, seed)
            train, holdout, entity = split.train, split.holdout, split.entity
        else:
            train, holdout, entity = (
                ds,
                Dataset(ds.spec, {t: ds[t].iloc[:0] for t in ds.names}),
                None,
            )
        train = _scrubbed(recipe, train, warnings)
    ex = recipe.execution
    train_on = None
    if ex.engine == "ray":  # Ray missing or a bad address: said before the fit
        from synthgen.scale.ray_engine import connect
        from synthgen.scale.ray_train import train_cluster

        connect(ex.address, ex.workers)
        gen = create(recipe.generator.name, **recipe.generator.params)
        train_on = train_cluster(recipe, gen, recipe.privacy is not None, clock.say)
    model = RelationalSynthesizer(
        recipe.generator.name, recipe.generator.params, sequence_orders(recipe)
    )
    rows = sum(len(train[t]) for t in train.names)
    with (
        clock.stage("fit", f"fitting {len(ds.names)} tables ({rows:,} rows)"),
        distributed.training(train_on),
    ):
        model.fit(
            train,
            seed=seed,
            rows={t: len(ds[t]) for t in ds.names},
            say=clock.say,
            rules=tables_rules,
            private=recipe.privacy is not None,
        )
        warnings += model.warnings_
    with clock.stage("sample", "sampling every table"):
        from synthgen.relational.ray_shards import sample_dataset

        syn = sample_dataset(
            model, engine=ex.engine, workers=ex.workers, address=ex.address, progress=True,
            seed=seed, ratio=recipe.sample.ratio or 1.0,
            conditions=recipe.sample.condition_dict() or None,
        )  # fmt: skip
        syn = rules.finish(model.runs_, _pii_strategies(recipe, train, syn), seed)
    with clock.stage("validate", f"validating with suite '{suite.name}'"):
        verdict = validate.run(
            suite,
            pd.DataFrame(),
            pd.DataFrame(),
            pd.DataFrame(),
            _empty_schema(),
            seed=seed,
            options=rules.options(model.runs_),
            datasets=(train, holdout, syn, ds),
        )
    from synthgen.report.relational import build_dataset_report

    report = build_dataset_report(
        recipe, seed, ds, train, syn, verdict, warnings, clock.timings, entity
    )
    if model.runs_:
        report["constraints"] = rules.summary(model.runs_)
    for t, order in sequence_orders(recipe).items():  # sequence tables: their own figures
        from synthgen.metrics.sequential import table_figures

        ctx = model.plan_.tables[t].context
        assert ctx is not None
        keys = model.plan_.tables[t].key_columns
        report["tables"][t]["sequence"] = table_figures(
            train[t], syn[t], ctx.columns[0], order, keys
        )
    return syn, report, bool(verdict["passed"]), model


def _empty_schema() -> Any:
    from synthgen.schema.spec import Schema

    return Schema(columns=[])


def _scrubbed(recipe: Recipe, train: Dataset, warnings: list[str]) -> Dataset:
    """PII inside the values of every table replaced before the fit, by one keyed
    pseudonymiser: the same real value gets the same fake in every table."""
    from synthgen.pii.pseudonym import Pseudonymiser
    from synthgen.pii.stage import PiiRun, source_pii
    from synthgen.schema import detect

    shared = Pseudonymiser.from_environment(recipe.pii.locale)
    if not shared.from_env:  # same data and seed, same fakes: the key is the data's digest
        shared = Pseudonymiser(_data_key(train, recipe.seed), recipe.pii.locale)
    runs = {}
    known: dict[str, str] = {}
    for t in train.names:
        df = train[t]
        if not df.empty:
            runs[t] = PiiRun(recipe.pii, detect(df, seed=recipe.seed), df)
            known.update(source_pii(df, runs[t].schema))
    out = {}
    for t in train.names:
        df = train[t]
        if t not in runs:
            out[t] = df
            continue
        pii = runs[t]
        pii.pseudo, pii.known = shared, known  # one key, every table's PII values
        found: list[str] = []
        out[t] = pii.scrub(df, found)
        warnings += [f"{t}: {w}" for w in found]
    return Dataset(train.spec, out, train.warnings)


def _data_key(ds: Dataset, seed: int) -> bytes:
    """A pseudonymiser key from the training rows and the seed: a run is repeatable, and
    nobody without every training row can recompute the key to test a guessed value."""
    import hashlib

    h = hashlib.blake2b(str(seed).encode(), digest_size=32)
    for t in ds.names:
        h.update(t.encode("utf-8"))
        h.update(pd.util.hash_pandas_object(ds[t], index=False).to_numpy().tobytes())
    return h.digest()


def _pii_strategies(recipe: Recipe, train: Dataset, syn: Dataset) -> Dataset:
    """pii.strategies / pii.default (null, drop) applied table by table, keys untouched."""
    if recipe.pii.default == "fake" and not recipe.pii.strategies:
        return syn
    from synthgen.pii.stage import apply_pii_strategies
    from synthgen.schema import detect

    out = {}
    for t in syn.names:
        spec = syn.spec[t]
        keep = set(spec.primary_key) | {c for fk in spec.foreign_keys for c in fk.columns}
        schema = detect(train[t], seed=recipe.seed)
        schema = schema.model_copy(
            update={"columns": [c for c in schema.columns if c.name not in keep]}
        )
        done = apply_pii_strategies(syn[t], schema, recipe.pii)
        out[t] = done
    return Dataset(syn.spec, out)


def write_run_folder(
    folder: Path,
    recipe: Recipe,
    model: RelationalSynthesizer,
    syn: Dataset,
    report: dict[str, Any],
    src_spec: Any,
) -> None:
    from synthgen.report.relational import write_dataset_report

    (folder / "synthetic").mkdir()
    for t in syn.names:
        write_table(syn[t], folder / "synthetic" / f"{_safe(t)}.csv", "csv")
    model.save(folder / "model")
    for where in (folder, folder / "model"):
        (where / "dataset.json").write_text(src_spec.model_dump_json(indent=2), encoding="utf-8")
    settings = {
        "pii": recipe.pii.model_dump(mode="json"),
        "recipe": recipe.name,
        "seed": report["seed"],
    }
    (folder / "model" / "run.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    write_manifest(folder / "model")
    write_dataset_report(folder, report, syn)


def _safe(t: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in t)


def write_outputs(recipe: Recipe, syn: Dataset, report: dict[str, Any]) -> None:
    from synthgen.io.sql import write_sql

    for o, entry in zip(recipe.outputs, report["outputs"], strict=True):
        assert o.url is not None
        write_sql(syn, o.url, o.mode, o.db_schema)
        entry["written"] = True


def finish(
    recipe: Recipe,
    run_dir: Path,
    model: RelationalSynthesizer,
    syn: Dataset,
    report: dict[str, Any],
    passed: bool,
    src_spec: Any,
    clock: StageClock,
) -> None:
    interrupt.check()
    with clock.stage("write", f"writing {run_dir}"), Staging() as stage:
        folder = stage.folder(run_dir, "run folder")
        if passed:
            write_outputs(recipe, syn, report)
        write_run_folder(folder, recipe, model, syn, report, src_spec)
        interrupt.check()
