"""One run: recipe -> source -> schema -> fit -> sample -> PII -> validate -> write.

Each stage is one call; ``run`` times them and returns a RunResult. Nothing lands in the run
folder until everything in it is ready (temp folder + rename); the recipe's ``outputs`` are
written only when every gate passes.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen import __version__, interrupt, validate
from synthgen.errors import DataError, RecipeError
from synthgen.generators import create
from synthgen.generators.memory import check_rows
from synthgen.io import atomic_dir, read_table, write_table
from synthgen.io.atomic import Staging, check_replaceable, exclusive, write_manifest
from synthgen.io.destinations import check_destinations, check_writable
from synthgen.io.sources import infer_format, option
from synthgen.metrics.base import NEEDS_HOLDOUT
from synthgen.privacy import DPPlan
from synthgen.privacy.pii_stage import (
    check_consistent,
    pseudonymise_columns,
    scan_output,
    scrub_frame,
    source_pii,
)
from synthgen.privacy.pseudonym import Pseudonymiser
from synthgen.recipe import PiiSpec, Recipe
from synthgen.schema import Schema, apply_overrides, detect
from synthgen.text.stage import DEFAULT_BUDGET_S, TextRun

MIN_TRAIN_ROWS = 2


@dataclass
class RunResult:
    run_dir: Path
    synthetic: pd.DataFrame
    report: dict[str, Any]
    passed: bool
    outputs: list[Path] = field(default_factory=list)


class _Clock:
    def __init__(self, say: Callable[[str], None]) -> None:
        self.timings: dict[str, float] = {}
        self.say = say

    @contextmanager
    def stage(self, name: str, message: str) -> Iterator[None]:
        interrupt.check()
        self.say(message)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 4)
        interrupt.check()


def read_source(recipe: Recipe) -> tuple[pd.DataFrame, Path]:
    src = recipe.source
    path = recipe.resolve(src.path)
    df = read_table(
        path,
        format=src.format,
        na_values=src.na_values,
        strip_whitespace=src.strip_whitespace,
        sep=src.sep,
        encoding=src.encoding,
    )
    return df, path


def check_recipe_against_data(recipe: Recipe, df: pd.DataFrame, path: Path) -> None:
    """Everything the recipe says about columns must fit the data: all problems at once."""
    cols = [str(c) for c in df.columns]
    problems = []

    def nope(where: str, name: str) -> str:
        near = difflib.get_close_matches(name, cols, n=1)
        hint = f"did you mean '{near[0]}'?" if near else f"columns: {', '.join(cols[:20])}"
        return f"{where}: no column '{name}' in {path.name}; {hint}"

    problems += [nope(f"schema.{c}", c) for c in recipe.schema_ if c not in cols]
    problems += [
        nope(f"sample.conditions.{c}", c) for c in recipe.sample.conditions if c not in cols
    ]
    problems += [nope(f"text.{c}", c) for c in recipe.text if c not in cols]
    target = recipe.validate_.target
    if target is not None and target not in cols:
        problems.append(nope("validate.target", target))
    problems += [
        nope(f"validate.sensitive.{i}", c)
        for i, c in enumerate(recipe.validate_.sensitive)
        if c not in cols
    ]
    gx = recipe.validate_.expectations
    if gx is not None and not recipe.resolve(gx).is_file():
        problems.append(f"validate.expectations: file not found: {recipe.resolve(gx)}")
    if problems:
        raise RecipeError("the recipe does not fit the data:", problems=problems)


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
    df: pd.DataFrame, fraction: float, seed: int, path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_hold = int(round(len(df) * fraction))
    if len(df) - n_hold < MIN_TRAIN_ROWS:
        raise DataError(
            f"source {path} has {len(df)} row(s): too few to learn from after keeping "
            f"{n_hold} aside for validation",
            hint=f"give at least {MIN_TRAIN_ROWS + (1 if fraction else 0)} rows (far more for a useful model), or set holdout: 0",
        )
    order = np.random.default_rng([seed, 1]).permutation(len(df))
    hold, train = order[:n_hold], order[n_hold:]
    return df.iloc[np.sort(train)].reset_index(drop=True), df.iloc[np.sort(hold)].reset_index(
        drop=True
    )


def sample_rows(recipe: Recipe, n_source: int, schema: Schema) -> int:
    """The rows to sample, when that many fit in memory (else a UsageError with the limit)."""
    s = recipe.sample
    if s.rows is not None:
        return check_rows(s.rows, schema, what="sample.rows", setting="sample.rows")
    ratio = s.ratio or 1.0
    want = max(1.0, float(np.rint(ratio * n_source)))
    what = f"sample.ratio ({ratio:g} x {n_source:,} source rows)"
    return check_rows(want, schema, what=what, setting="sample.rows or sample.ratio")


def pii_exclusions(df: pd.DataFrame, schema: Schema) -> dict[str, set[str]]:
    """Real PII values, kept in memory only, that no fake may take."""
    return {c.name: set(df[c.name].dropna().astype(str)) for c in schema.of_kind("pii")}


def apply_pii_strategies(syn: pd.DataFrame, schema: Schema, recipe: Recipe) -> pd.DataFrame:
    out = syn.copy()
    for c in schema.of_kind("pii"):
        how = recipe.pii.strategies.get(c.pii_type or "other", recipe.pii.default)  # type: ignore[call-overload]
        if how == "null":
            out[c.name] = pd.Series([None] * len(out), dtype=object)
        elif how == "drop":
            out = out.drop(columns=[c.name])
    return out


def run(
    recipe: Recipe,
    *,
    seed: int | None = None,
    out: Path | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> RunResult:
    """Run a recipe end to end and write its run folder; see the module docstring.

    Every destination is checked (and locked against other synthgen processes) before any
    work; the run folder and then the outputs are put in place together at the end."""
    run_dir = Path(out) if out is not None else Path("runs") / recipe.name
    outputs = [(recipe.resolve(o.path), o.format) for o in recipe.outputs]
    check_destinations(
        run_dir,
        outputs,
        protected=[recipe.resolve(recipe.source.path)] + ([recipe.file] if recipe.file else []),
    )
    with exclusive([run_dir] + [p for p, _ in outputs]):
        return _run(recipe, recipe.seed if seed is None else seed, run_dir, say)


def _run(recipe: Recipe, seed: int, run_dir: Path, say: Callable[[str], None]) -> RunResult:
    suite = validate.apply_overrides(
        validate.load_suite(recipe.validate_.suite, recipe.base_dir), recipe.validate_.gates
    )
    clock = _Clock(say)
    with clock.stage("read", "reading source"):
        df, path = read_source(recipe)
        check_recipe_against_data(recipe, df, path)
    with clock.stage("schema", "detecting schema"):
        schema, warnings = build_schema(recipe, df)
        train, holdout = split_holdout(df, recipe.holdout, seed, path)
        sample_rows(recipe, len(df), schema)  # too many rows for memory: say so before the fit
    gen = create(recipe.generator.name, **recipe.generator.params)
    plan = dp_plan(recipe, len(train))
    if plan is not None:
        warnings.append(DP_REPORT_NOTE)
        if schema.of_kind("pii"):
            plan.uncovered.append(
                "PII fakes are redrawn when one equals a real value of its column, so that "
                "no fake is ever real"
            )
    pii = PiiRun(recipe, schema, df)
    texts = TextRun(recipe.text, schema, plan)
    if plan is not None:
        dp_preflight(recipe, schema, texts)
    warnings += [
        f"column '{c}' is free text: written by the local text model trained for "
        f"{DEFAULT_BUDGET_S:.0f} s; configure it under text.{c} (backend, budget, fields)"
        for c in texts.defaulted
    ]
    clean = pii.scrub(train, warnings)
    if texts.specs:
        with clock.stage("fit_text", f"learning {len(texts.specs)} text column(s)"):
            texts.fit(clean, seed, say)
    with clock.stage("fit", f"fitting {recipe.generator.name} on {len(train):,} rows"):
        gen.fit(clean, schema, seed=seed, privacy=plan)
    # under DP the row count is not public: scale the DP estimate of the training rows
    n_source = len(df) if plan is None else round(gen.n_rows_ / (1 - recipe.holdout))
    n = sample_rows(recipe, n_source, schema)
    with clock.stage("sample", f"sampling {n:,} rows"):
        syn = gen.sample(
            n,
            conditions=recipe.sample.conditions or None,
            seed=seed,
            progress=True,
            locale=recipe.pii.locale,
            exclude=pii_exclusions(df, schema),
        )
        syn = texts.generate(syn, seed)
        syn = pii.finish(apply_pii_strategies(syn, schema, recipe), train, seed, warnings)
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
            options=_validate_options(recipe),
            progress=True,
        )
        warnings += holdout_warnings(recipe.holdout, verdict["gates"])
    report = _report(
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
        outputs=[{"path": o.path, "format": o.format, "written": False} for o in recipe.outputs],
    )
    interrupt.check()
    with clock.stage("write", f"writing {run_dir}"), Staging() as stage:
        folder = stage.folder(run_dir, "run folder")  # put in place first, the outputs after
        outputs = _write_outputs(recipe, syn, report, stage) if verdict["passed"] else []
        _write_run_dir(folder, recipe, gen, syn, report, train, schema, path, texts)
        interrupt.check()
    return RunResult(run_dir, syn, report, verdict["passed"], outputs)


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


DP_REPORT_NOTE = (
    "differential privacy covers the model and the synthetic table; this report compares "
    "them with the real rows and is not private: share it only with people who may see the data"
)


class PiiRun:
    """The run's PII steps: scrub PII inside values before the fit, pseudonymise the
    columns kept joinable, scan the output; what was found goes in the report."""

    def __init__(self, recipe: Recipe, schema: Schema, df: pd.DataFrame) -> None:
        self.spec = recipe.pii
        self.schema = schema
        check_consistent(self.spec.consistent, schema)
        self.pseudo = Pseudonymiser.from_environment(self.spec.locale)
        self.known = source_pii(df, schema)
        self.found_in: dict[str, dict[str, int]] = {}
        self.found_out: dict[str, dict[str, int]] = {}

    def scrub(self, train: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
        out, self.found_in = scrub_frame(
            train, self.schema, self.known, self.spec.embedded, self.pseudo
        )
        for col, kinds in self.found_in.items():
            what = ", ".join(sorted(kinds))
            if self.spec.embedded == "replace":
                warnings.append(f"column '{col}' holds PII inside its values ({what}): replaced")
            else:
                warnings.append(
                    f"column '{col}' holds PII inside its values ({what}): NOT replaced "
                    f"(pii.embedded: {self.spec.embedded})"
                )
        for c in self.spec.consistent:
            warnings.append(
                f"column '{c}' is pseudonymised, not synthetic: each fake stands for a real key"
            )
        return out

    def finish(
        self, syn: pd.DataFrame, train: pd.DataFrame, seed: int, warnings: list[str]
    ) -> pd.DataFrame:
        cols = [c for c in self.spec.consistent if c in syn.columns]
        syn = pseudonymise_columns(syn, train, self.schema, cols, self.pseudo, seed)
        skip = {c.name for c in self.schema.of_kind("pii")} | set(cols)
        self.found_out = scan_output(syn, self.known, skip)
        for col, kinds in self.found_out.items():
            if "source_value" in kinds:
                warnings.append(
                    f"synthetic column '{col}' repeats {kinds['source_value']} value(s) of the "
                    "source's PII columns"
                )
            elif self.spec.embedded != "replace":
                warnings.append(f"synthetic column '{col}' holds PII-shaped values: {kinds}")
        return syn

    def summary(self) -> dict[str, Any]:
        return {
            "embedded": self.spec.embedded,
            "found_in_source": self.found_in,
            "found_in_output": self.found_out,
            "consistent": self.spec.consistent,
            "secret": (
                "from SYNTHGEN_PII_SECRET"
                if self.pseudo.from_env
                else "random for this run, never written"
            ),
        }


def dp_preflight(recipe: Recipe, schema: Schema, texts: TextRun) -> None:
    """Every part of a DP recipe that would read data outside the budget, all at once."""
    from synthgen.errors import PrivacyBudgetError
    from synthgen.generators import registry

    problems = []
    if not getattr(registry.get_class(recipe.generator.name), "supports_dp", False):
        problems.append(
            f"generator.name: '{recipe.generator.name}' cannot train with differential "
            "privacy; use copula, ctgan or tvae"
        )
    problems += texts.dp_problems()
    if problems:
        raise PrivacyBudgetError(
            "this recipe would read data outside its privacy budget:", problems=problems
        )


def dp_plan(recipe: Recipe, n_train: int) -> DPPlan | None:
    """The run's DP plan from ``privacy:`` and the public bounds / labels under ``schema:``."""
    if recipe.privacy is None:
        return None
    problems = [
        f"pii.consistent: '{c}' maps real keys to fakes one to one, which no privacy budget "
        "covers; remove it from a DP recipe"
        for c in recipe.pii.consistent
    ]
    problems += [
        f"schema.{c}: give both min and max (one bound alone cannot be used)"
        for c, o in recipe.schema_.items()
        if (o.min is None) != (o.max is None)
    ]
    if problems:
        raise RecipeError("the privacy settings are incomplete:", problems=problems)
    p = recipe.privacy
    return DPPlan.build(
        p.epsilon,
        p.delta,
        n_train,
        metadata_share=p.metadata_share,
        bounds={
            c: (float(o.min), float(o.max))
            for c, o in recipe.schema_.items()
            if o.min is not None and o.max is not None
        },
        categories={c: list(o.categories) for c, o in recipe.schema_.items() if o.categories},
    )


def _validate_options(recipe: Recipe) -> dict[str, dict[str, Any]]:
    gx = recipe.validate_.expectations
    return {"expectations_pass_rate": {"suite_path": str(recipe.resolve(gx))}} if gx else {}


def _report(
    name: str,
    seed: int,
    schema: Schema,
    verdict: dict[str, Any],
    warnings: list[str],
    timings: dict[str, float],
    rows: dict[str, int],
    **extra: Any,
) -> dict[str, Any]:
    """The report both `run` and `validate` write; ``extra`` adds their own keys."""
    return {
        "synthgen_version": __version__,
        "recipe": name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "passed": verdict["passed"],
        "verdict": verdict["verdict"],
        "gates": verdict["gates"],
        "suite": verdict["suite"],
        "rows": rows,
        "timings": timings,
        "metrics": verdict["metrics"],
        "schema": [c.model_dump() for c in schema.columns],
        "warnings": warnings,
        "outputs": [],
        **extra,
    }


def _write_run_dir(
    run_dir: Path,
    recipe: Recipe,
    gen: Any,
    syn: pd.DataFrame,
    report: dict[str, Any],
    train: pd.DataFrame,
    schema: Schema,
    source: Path,
    texts: TextRun,
) -> None:
    fmt = "parquet" if source.suffix.lower() in (".parquet", ".pq") else "csv"
    write_table(syn, run_dir / f"synthetic.{fmt}", fmt)
    gen.save(run_dir / "model")
    texts.save(run_dir / "model")
    settings = {
        "pii": recipe.pii.model_dump(mode="json"),
        "recipe": recipe.name,
        "seed": report["seed"],
    }
    (run_dir / "model" / "run.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    write_manifest(run_dir / "model")  # the text models and run.json belong to it too
    write_report_files(run_dir, report, train, syn, schema)


class RunSettings(BaseModel):
    """run.json in a model folder: what `synthgen sample` needs from the run that saved it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    pii: PiiSpec
    recipe: str = Field(max_length=200)
    seed: int = Field(ge=0, le=2**32 - 1)


def load_run_settings(model_dir: Path) -> RunSettings | None:
    """The model folder's run.json, checked (a pickle or a damaged file is a UsageError
    naming it); None when there is none (a model saved from the Python API)."""
    from synthgen.errors import pydantic_problems
    from synthgen.generators.folder import damaged
    from synthgen.io.jsonfile import BadJson, MiB, read_json

    p = Path(model_dir) / "run.json"
    if not p.exists():
        return None
    try:
        return RunSettings.model_validate(read_json(p, max_bytes=16 * MiB))
    except BadJson as err:
        raise damaged(Path(model_dir), [f"run.json: {err.reason}"]) from None
    except ValidationError as err:
        problems = [f"run.json: {x}" for x in pydantic_problems(err)]
        raise damaged(Path(model_dir), problems) from None


def write_report_files(
    folder: Path,
    report: dict[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
) -> None:
    """report.json for machines and report.html for people, into ``folder``."""
    from synthgen.report import render_html

    text = json.dumps(report, indent=2, default=_json_default)
    (folder / "report.json").write_text(text, encoding="utf-8")
    html = render_html(report, real=real, synthetic=synthetic, schema=schema)
    (folder / "report.html").write_text(html, encoding="utf-8")


def validate_files(
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
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Validate any synthetic table (ours, SDV's, anyone's) against the real one it imitates."""
    the_suite = validate.load_suite(suite, Path.cwd(), given_by="--suite")
    check_replaceable(out, "validation folder")
    check_writable([out])
    clock = _Clock(say)
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
    report = _report(
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
    syn_path: Path,
    hold: pd.DataFrame,
    hold_path: Path | None,
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


def _write_outputs(
    recipe: Recipe, syn: pd.DataFrame, report: dict[str, Any], stage: Staging
) -> list[Path]:
    """The recipe's outputs, staged to be put in place after the run folder."""
    written = []
    for o, entry in zip(recipe.outputs, report["outputs"], strict=True):
        target = recipe.resolve(o.path)
        write_table(syn, stage.file(target), infer_format(target, o.format, "output"))
        written.append(target)
        entry["written"] = True
    return written


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
