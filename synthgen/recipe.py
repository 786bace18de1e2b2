"""Recipe format v1: a YAML file saying what to generate, validated all at once.

Paths inside a recipe (source, outputs, a suite file) are relative to the recipe file's folder,
so a recipe runs the same from any working directory.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from synthgen.constraints.spec import ConstraintsSpec, recipe_paths
from synthgen.errors import RecipeError, pydantic_problems
from synthgen.recipe_checks import check_generator, check_text_params
from synthgen.recipe_places import Output, SequenceDecl, Source, TableDecl, _Strict
from synthgen.schema.spec import Kind, PiiType
from synthgen.text.synth import TextColumnSpec
from synthgen.yamlio import load_yaml

RECIPE_VERSION = 1


class ColumnOverride(_Strict):
    kind: Kind | None = None
    pii_type: PiiType | None = None
    datetime_format: str | None = None
    min: float | None = Field(None, description="public lower bound (DP runs: spends nothing)")
    max: float | None = Field(None, description="public upper bound (DP runs: spends nothing)")
    categories: list[str | int | float | bool] | None = Field(
        None, min_length=1, description="public list of labels (DP runs: no threshold needed)"
    )

    @model_validator(mode="after")
    def _bounds_in_order(self) -> ColumnOverride:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self

    def stats_only(self) -> bool:
        """True when the override only carries DP bounds / categories, not a schema change."""
        return self.kind is None and self.pii_type is None and self.datetime_format is None


class GeneratorSpec(_Strict):
    name: str = "autoreg"
    params: dict[str, Any] = Field(default_factory=dict)


Scalar = str | int | float | bool


class ConditionRange(_Strict):
    """A range condition: ``{min: 30, max: 40}`` (dates as text); either end may be left out."""

    min: Scalar | None = None
    max: Scalar | None = None

    @model_validator(mode="after")
    def _an_end(self) -> ConditionRange:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class SampleSpec(_Strict):
    # strict: `rows: true` is not a count (lax pydantic read it as 1), nor is '1e12' text
    rows: StrictInt | None = Field(None, gt=0, description="number of synthetic rows")
    ratio: StrictFloat | None = Field(
        None, gt=0, description="rows as a multiple of the source's rows"
    )
    conditions: dict[str, Scalar | list[Scalar] | ConditionRange] = Field(
        default_factory=dict,
        description="fix columns in every sampled row: a value, a list of values (one of "
        "them) or a range {min, max}",
    )

    def condition_dict(self) -> dict[str, Any]:
        """The conditions as ``Generator.sample`` takes them (a range as a dict)."""
        return {
            k: v.model_dump(exclude_none=True) if isinstance(v, ConditionRange) else v
            for k, v in self.conditions.items()
        }

    @model_validator(mode="after")
    def _one_of(self) -> SampleSpec:
        if self.rows is not None and self.ratio is not None:
            raise ValueError("give either rows or ratio, not both")
        return self


class ExecutionSpec(_Strict):
    """Where a run's rows are drawn, and ``autoreg`` trained: here (``local``) or on a Ray
    cluster (the ``ray`` extra; training data-parallel, one CPU per worker). The rows of a
    model are the same either way."""

    engine: Literal["local", "ray"] = "local"
    address: str | None = Field(
        None,
        max_length=300,
        description="Ray cluster: auto (the one on this machine) or ray://host:10001; "
        "left out: start a local one",
    )
    workers: StrictInt | None = Field(None, ge=1, le=4096, description="Ray workers")

    @model_validator(mode="after")
    def _ray_only(self) -> ExecutionSpec:
        if self.engine == "local" and (self.address is not None or self.workers is not None):
            raise ValueError("address and workers are for engine: ray")
        return self


PiiStrategy = Literal["fake", "null", "drop"]


class PiiSpec(_Strict):
    locale: str = Field("en_US", description="Faker locale for replacement values")

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        from synthgen.pii.fake import check_locale

        return check_locale(v)

    default: PiiStrategy = "fake"
    strategies: dict[PiiType, PiiStrategy] = Field(
        default_factory=dict, description="per PII subtype: fake (default), null or drop"
    )
    embedded: Literal["replace", "flag", "ignore"] = Field(
        "replace",
        description="PII found inside text, labels and ids: replace it with fakes, only "
        "report it, or ignore it",
    )
    consistent: list[str] = Field(
        default_factory=list,
        description="PII / id columns pseudonymised with a keyed hash (SYNTHGEN_PII_SECRET): "
        "the same source value always maps to the same fake",
    )


class PrivacySpec(_Strict):
    epsilon: float = Field(..., gt=0, le=100, description="total budget of the whole pipeline")
    delta: float | None = Field(
        None, gt=0, lt=1e-2, description="default: min(1e-6, 1 / (10 rows))"
    )
    metadata_share: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="neural generators: share of epsilon for bounds, label sets and mixtures",
    )


class ValidateSpec(_Strict):
    suite: str = Field("default", description="a suite name from validators/ or a YAML path")
    gates: dict[str, float] = Field(default_factory=dict, description="gate -> new threshold")
    target: str | None = Field(None, description="target column for utility metrics")
    sensitive: list[str] = Field(
        default_factory=list, description="columns for attribute inference"
    )
    expectations: str | None = Field(
        None, description="a great-expectations suite (JSON) to run too"
    )


class Recipe(_Strict):
    version: Literal[1] = 1
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: StrictInt = Field(0, ge=0, le=2**32 - 1)
    source: Source
    holdout: float = Field(0.2, ge=0.0, lt=1.0, description="share kept aside for validation")
    schema_: dict[str, ColumnOverride] = Field(default_factory=dict, alias="schema")
    tables: dict[str, TableDecl] = Field(
        default_factory=dict,
        description="declared keys per table (a folder or database source); the recipe wins",
    )
    sequence: SequenceDecl | None = Field(
        None,
        description="a table of event streams (one-table source): sequences per entity, in "
        "order, learnt with their lengths, gaps and memory",
    )
    generator: GeneratorSpec = Field(default_factory=GeneratorSpec)
    sample: SampleSpec = Field(default_factory=SampleSpec)
    execution: ExecutionSpec = Field(
        default_factory=ExecutionSpec,
        description="where the rows are drawn: {engine: local | ray, address, workers}",
    )
    pii: PiiSpec = Field(default_factory=PiiSpec)
    privacy: PrivacySpec | None = Field(None, description="differential privacy for the run")
    text: dict[str, TextColumnSpec] = Field(
        default_factory=dict,
        description="per free-text column: backend, conditioning fields, options, leak guard",
    )
    constraints: ConstraintsSpec = Field(
        default_factory=ConstraintsSpec,
        description="rules every synthetic row obeys: a list, or {detect, drop, rules}",
    )
    validate_: ValidateSpec = Field(default_factory=ValidateSpec, alias="validate")
    outputs: list[Output] = Field(default_factory=list)

    # set by load_recipe, never by the YAML: where relative paths start, the recipe file
    _base_dir: Path = PrivateAttr(default=Path("."))
    _file: Path | None = PrivateAttr(default=None)

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the recipe start from (the recipe file's)."""
        return self._base_dir

    @property
    def file(self) -> Path | None:
        """The recipe file, when it was read from one."""
        return self._file

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(os.path.normpath(self.base_dir / p))

    def with_execution(
        self, engine: str | None, workers: int | None, address: str | None
    ) -> Recipe:
        """This recipe with ``execution`` changed by command-line options (checked as the
        YAML would be: a RecipeError naming the option)."""
        given = {"engine": engine, "workers": workers, "address": address}
        merged = self.execution.model_dump() | {k: v for k, v in given.items() if v is not None}
        try:
            ex = ExecutionSpec.model_validate(merged)
        except ValidationError as err:
            raise RecipeError(
                "bad --engine / --workers / --address:",
                problems=format_validation_error(err, prefix="execution"),
            ) from None
        return self.model_copy(update={"execution": ex})

    def schema_overrides(self) -> dict[str, dict[str, Any]]:
        keep = {"kind", "pii_type", "datetime_format"}
        out = {k: v.model_dump(exclude_none=True, include=keep) for k, v in self.schema_.items()}
        for col in self.text:  # a column given text settings is free text unless said otherwise
            out.setdefault(col, {}).setdefault("kind", "text")
        return {k: v for k, v in out.items() if v}


def format_validation_error(err: ValidationError, prefix: str = "") -> list[str]:
    """Every pydantic problem as 'dotted.path: message', with suggestions for misspelt keys
    (see errors.pydantic_problems: inputs are never quoted, credentials are masked)."""
    return pydantic_problems(err, prefix, suggest=None if prefix else _suggest_key)


def _model_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _suggest_key(loc: tuple[Any, ...]) -> str | None:
    models: dict[str, type[BaseModel]] = {
        "": Recipe,
        "source": Source,
        "generator": GeneratorSpec,
        "sample": SampleSpec,
        "execution": ExecutionSpec,
        "pii": PiiSpec,
        "privacy": PrivacySpec,
        "validate": ValidateSpec,
    }
    parent = str(loc[0]) if len(loc) > 1 else ""
    if parent == "schema" and len(loc) == 3:
        model: type[BaseModel] | None = ColumnOverride
    elif parent == "outputs" and len(loc) == 3:
        model = Output
    else:
        model = models.get(parent) if len(loc) <= 2 else None
    if model is None:
        return None
    near = difflib.get_close_matches(str(loc[-1]), _model_keys(model), n=1, cutoff=0.6)
    return near[0] if near else None


def parse_recipe(data: Any, *, where: str = "recipe", base_dir: Path | None = None) -> Recipe:
    """Validate a recipe mapping, the generator's params included; raise one RecipeError."""
    if not isinstance(data, dict):
        raise RecipeError(
            f"{where}: a recipe is a YAML mapping (key: value), got {type(data).__name__}"
        )
    problems: list[str] = []
    recipe: Recipe | None = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as err:
        problems.extend(recipe_paths(format_validation_error(err), data))
    gen = data.get("generator") if isinstance(data.get("generator"), dict) else {}
    problems.extend(check_generator(gen or {}))
    problems.extend(check_text_params(data.get("text")))
    if problems:
        raise RecipeError(f"{where} has {len(problems)} problem(s):", problems=problems)
    assert recipe is not None
    if base_dir is not None:
        recipe._base_dir = base_dir
    return recipe


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file; relative paths inside it resolve against its folder."""
    data, p = read_recipe_file(path)
    from synthgen.fixtures.recipe import is_fixtures_recipe

    if is_fixtures_recipe(data):
        raise RecipeError(
            f"{p} is a fixtures recipe (it has fixtures: and no source:)",
            hint=f"run it with `synthgen run {p}`",
        )
    recipe = parse_recipe(data, where=str(p), base_dir=p.resolve().parent)
    recipe._file = p.resolve()
    return recipe


def read_recipe_file(path: str | Path) -> tuple[Any, Path]:
    """A recipe file's YAML, read but not validated."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError(
            f"recipe file not found: {p}", hint="check the path; `synthgen list` shows the recipes"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RecipeError(f"{p}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        return load_yaml(text), p
    except RecursionError:
        raise RecipeError(f"{p}: nested too deeply to be a recipe") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise RecipeError(f"{p}: not valid YAML{where}: {problem}") from None
