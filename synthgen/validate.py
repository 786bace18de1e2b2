"""Validation suites: metrics with thresholds (release gates), read from YAML: the suites
shipped in synthgen/validators/, or your own (./validators/NAME.yaml, or any path)."""

from __future__ import annotations

import difflib
import operator
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen.errors import RecipeError
from synthgen.metrics import REGISTRY, Context
from synthgen.metrics.evidence import decide
from synthgen.progress import Progress
from synthgen.schema.spec import Schema
from synthgen.yamlio import load_yaml

_NEGATED = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN threshold never passes

    name: str
    metric: str
    field: str | None = Field(None, description="judge this detail (e.g. ci_high), not the value")
    op: Literal[">=", "<=", ">", "<", "=="]
    threshold: float
    judge: Literal["evidence", "value"] = Field(
        "evidence",
        description="evidence: a metric estimated from a sample passes, fails or is "
        "inconclusive on its confidence bounds; value: the estimate alone decides",
    )
    meaning: str = ""


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    description: str = ""
    gates: list[Gate] = Field(min_length=1)
    metrics: list[str] = Field(default_factory=list, description="computed and reported, no gate")
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="metric -> settings"
    )


def suite_dirs() -> list[Path]:
    """Where suite names are looked up: your own ./validators first, then the suites shipped
    inside the package (package data, found the same way in a wheel or a checkout)."""
    from importlib.resources import files

    shipped = Path(str(files("synthgen").joinpath("validators")))
    return [Path("validators"), shipped]


def available_suites() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in reversed(suite_dirs()):
        if d.is_dir():
            found.update({p.stem: p for p in sorted(d.glob("*.yaml"))})
    return found


def load_suite(
    name_or_path: str, base_dir: Path | None = None, *, given_by: str = "validate.suite"
) -> Suite:
    """A suite by name (validators/NAME.yaml) or by path (relative to ``base_dir``);
    ``given_by`` is the recipe key or command-line option that named it, for messages."""
    where = given_by
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        path = path if path.is_absolute() or base_dir is None else base_dir / path
        if not path.is_file():
            raise RecipeError(f"{where}: suite file not found: {path}")
    else:
        known = available_suites()
        if name_or_path not in known:
            near = difflib.get_close_matches(name_or_path, list(known), n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise RecipeError(
                f"{where}: unknown suite '{name_or_path}'; {hint}known: {', '.join(sorted(known))}"
            )
        path = known[name_or_path]
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
        suite = Suite.model_validate(data)
    except yaml.YAMLError as err:
        raise RecipeError(f"{where}: {path}: not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise RecipeError(f"{where}: {path}: not UTF-8 text (byte {err.start})") from None
    except RecursionError:
        raise RecipeError(f"{where}: {path}: nested too deeply to be a suite") from None
    except ValidationError as err:
        from synthgen.recipe import format_validation_error

        raise RecipeError(
            f"{where}: {path}: not a valid suite:", problems=format_validation_error(err)
        ) from None
    unknown = [
        f"gates.{i}.metric: unknown metric '{g.metric}'"
        for i, g in enumerate(suite.gates)
        if g.metric not in REGISTRY
    ]
    if unknown:
        raise RecipeError(f"{where}: {path}: not a valid suite:", problems=unknown)
    return suite


def apply_overrides(suite: Suite, overrides: dict[str, float]) -> Suite:
    """New thresholds from a recipe; every unknown gate name reported at once."""
    names = [g.name for g in suite.gates]
    problems = []
    for key in overrides:
        if key not in names:
            near = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; gates: {', '.join(names)}"
            problems.append(f"validate.gates.{key}: no such gate in suite '{suite.name}'{hint}")
    if problems:
        raise RecipeError("the recipe's gate overrides do not fit the suite:", problems=problems)
    gates = [
        g.model_copy(update={"threshold": overrides.get(g.name, g.threshold)}) for g in suite.gates
    ]
    return suite.model_copy(update={"gates": gates})


def run(
    suite: Suite,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    *,
    target: str | None = None,
    seed: int = 0,
    sensitive: list[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
    datasets: tuple[Any, ...] | None = None,
    given: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``datasets`` (train, holdout, synthetic[, whole source]): for the relational metrics.
    ``given`` (metric -> Result): results computed elsewhere (exact counts over tables too
    large for memory), filed and judged as if computed here.
    Compute each metric the suite names once; judge every gate. Returns a JSON-ready dict.
    ``options`` (metric -> settings) add to the suite's own; ``progress``: report the metrics
    done on stderr as they go (a long validation says where it is)."""
    merged = {k: dict(v) for k, v in suite.options.items()}
    for k, v in (options or {}).items():
        merged.setdefault(k, {}).update(v)
    ctx = Context(
        train,
        holdout,
        synthetic,
        schema,
        target,
        seed,
        sensitive=list(sensitive or []),
        options=merged,
    )
    if datasets is not None:
        ctx.cache["datasets"] = datasets
    metrics: dict[str, dict[str, Any]] = {}
    results = {}
    timings: dict[str, float] = {}
    names = list(dict.fromkeys([g.metric for g in suite.gates] + list(suite.metrics)))
    with Progress("validating", len(names), unit="metric", enabled=progress) as bar:
        for done, name in enumerate(names, start=1):
            results[name] = _compute(name, ctx, metrics, timings, (given or {}).get(name))
            bar.update(done)
    gates = [judge(g, results[g.metric]) for g in suite.gates]
    outcome = verdict(gates)
    return {
        "suite": suite.name,
        "metrics": metrics,
        "gates": gates,
        "verdict": outcome,
        "passed": outcome == "pass",
        "metric_seconds": timings,
    }


def _compute(
    name: str,
    ctx: Context,
    metrics: dict[str, dict[str, Any]],
    timings: dict[str, float],
    given: Any = None,
) -> Any:
    """One metric (or its ``given`` result), its value and details filed under its group,
    its time noted."""
    m = REGISTRY[name]
    t0 = time.perf_counter()
    result = given if given is not None else m.compute(ctx)
    timings[name] = round(time.perf_counter() - t0, 4)
    from synthgen.logs import LOGGER

    LOGGER.debug("metric %s: %s (%.2f s)", name, result.value, timings[name])
    group = metrics.setdefault(m.group, {})
    group[name] = result.value
    for key, val in result.details.items():
        group[f"{name}_{key}"] = val
    if result.skipped:
        group[f"{name}_skipped"] = result.skipped
    return result


def verdict(gates: list[dict[str, Any]]) -> Literal["pass", "fail", "inconclusive"]:
    """fail if any gate fails; else inconclusive if any gate cannot decide; else pass
    (skipped gates count as passed: they do not apply)."""
    statuses = {g["status"] for g in gates}
    if "fail" in statuses:
        return "fail"
    return "inconclusive" if "inconclusive" in statuses else "pass"


def judge(g: Gate, result: Any) -> dict[str, Any]:
    """One gate's entry: status pass / fail / inconclusive / skipped, the value and, for a
    metric with evidence, the confidence bounds that decided (see metrics.evidence)."""
    value = result.value if g.field is None else result.details.get(g.field)
    entry: dict[str, Any] = {
        "name": g.name,
        "metric": g.metric,
        "value": value,
        "op": g.op,
        "threshold": g.threshold,
        "meaning": g.meaning,
        "direction": REGISTRY[g.metric].direction,
    }
    if result.skipped:
        entry.update(passed=True, status="skipped", error=f"skipped: {result.skipped}")
        return entry
    if value is None:
        entry.update(passed=False, status="fail")
        entry["error"] = "the metric could not be computed on this data"
        return entry
    ev = result.evidence
    if ev is not None and g.field is None and g.judge == "evidence" and g.op != "==":
        decision = decide(ev, g.op, g.threshold)
        entry.update(decision)
        entry["passed"] = decision["status"] == "pass"
        if decision["status"] == "inconclusive":
            entry["error"] = _inconclusive_reason(entry)
        return entry
    passed = bool(_OPS[g.op](value, g.threshold))
    entry.update(passed=passed, status="pass" if passed else "fail")
    base: float | None = result.baseline if g.field is None else None
    if base is None:
        return entry
    entry["baseline"] = base
    if not passed and not _OPS[g.op](base, g.threshold):
        entry["status"] = "inconclusive"
        entry["error"] = (
            f"the data cannot tell: real unseen rows score {base:.4g} here too (the gate "
            f"needs {g.op} {g.threshold:g}), so the table is too small or too varied for "
            "this gate to tell synthetic rows from real ones"
        )
    return entry


def _inconclusive_reason(entry: dict[str, Any]) -> str:
    """E.g. 'the sample cannot tell: estimate 0.608, 95% bound 0.69 (must be <= 0.6 to
    pass), 99.5% bound 0.52 (must be > 0.6 to fail); about 1,200 holdout rows would decide'."""
    conf, t = entry["confidence"], f"{entry['threshold']:g}"
    text = (
        f"the sample cannot tell: estimate {entry['value']:.4g}, "
        f"{conf['pass']:.0%} bound {entry['pass_bound']:.4g} (must be {entry['op']} {t} to "
        f"pass), {conf['fail']:.1%} bound {entry['fail_bound']:.4g} (must be "
        f"{_NEGATED[entry['op']]} {t} to fail)"
    )
    rows = entry.get("rows_to_decide")
    if rows is None:
        return text + "; the estimate sits too close to the threshold for any sample to decide"
    return text + f"; about {rows:,} {entry.get('rows_unit', 'rows')} would decide"
