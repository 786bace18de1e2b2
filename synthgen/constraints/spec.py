"""The recipe's ``constraints:``: one pydantic model per kind of rule, and the block itself.

A recipe gives either a list of rules, or a mapping ``{detect, drop, rules}``: ``detect``
(default true) keeps the rules the training rows always obey, ``drop`` leaves out detected
rules by id (as `synthgen inspect` and the report show them) or every one on a column.
In a multi-table run every rule names its table (``table: Invoice``) and a ``drop`` entry
may too (``"Invoice: Total"``; without a table it applies to every table).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    table: str | None = Field(
        None,
        min_length=1,
        description="the table the rule is about: required when the source holds several "
        "tables, optional with one",
    )

    @model_serializer(mode="wrap")
    def _no_empty_table(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A rule's JSON names its table only when it has one (one-table runs: as before)."""
        out: dict[str, Any] = handler(self)
        if out.get("table") is None:
            out.pop("table", None)
        return out

    def columns(self) -> list[str]:
        """Every column the rule reads."""
        raise NotImplementedError

    def key(self) -> str:
        """A short stable id: what a ``drop:`` entry names and messages show."""
        raise NotImplementedError

    def numeric_columns(self) -> list[str]:
        """The columns that must hold numbers or dates."""
        return []


class Positive(_Rule):
    type: Literal["positive"]
    column: str = Field(min_length=1)
    strict: bool = Field(True, description="true: > 0; false: >= 0")

    def columns(self) -> list[str]:
        return [self.column]

    def numeric_columns(self) -> list[str]:
        return [self.column]

    def key(self) -> str:
        return f"{self.column} {'>' if self.strict else '>='} 0"


class Negative(Positive):
    type: Literal["negative"]  # type: ignore[assignment]

    def key(self) -> str:
        return f"{self.column} {'<' if self.strict else '<='} 0"


Bound = float | str


class Range(_Rule):
    type: Literal["range"]
    column: str = Field(min_length=1)
    min: Bound | None = Field(None, description="a number, or another column's name")
    max: Bound | None = Field(None, description="a number, or another column's name")
    inclusive: bool = Field(True, description="false: the bounds themselves are outside")

    @model_validator(mode="after")
    def _an_end(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if isinstance(self.min, float) and isinstance(self.max, float) and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self

    def bound_columns(self) -> list[str]:
        return [b for b in (self.min, self.max) if isinstance(b, str)]

    def columns(self) -> list[str]:
        return [self.column, *self.bound_columns()]

    def numeric_columns(self) -> list[str]:
        return self.columns()

    def key(self) -> str:
        lo, hi = ("<=", "<=") if self.inclusive else ("<", "<")
        left = f"{self.min:g} {lo} " if isinstance(self.min, float) else ""
        left = f"{self.min} {lo} " if isinstance(self.min, str) else left
        right = f" {hi} {self.max:g}" if isinstance(self.max, float) else ""
        right = f" {hi} {self.max}" if isinstance(self.max, str) else right
        return f"{left}{self.column}{right}"


class Inequality(_Rule):
    type: Literal["inequality"]
    low: str = Field(min_length=1)
    high: str = Field(min_length=1)
    strict: bool = Field(False, description="true: low < high; false: low <= high")

    def columns(self) -> list[str]:
        return [self.low, self.high]

    def numeric_columns(self) -> list[str]:
        return self.columns()

    def key(self) -> str:
        return f"{self.low} {'<' if self.strict else '<='} {self.high}"


class FixedCombinations(_Rule):
    type: Literal["fixed_combinations"]
    columns_: list[str] = Field(alias="columns", min_length=2)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def columns(self) -> list[str]:
        return list(self.columns_)

    def key(self) -> str:
        return f"combinations of {', '.join(self.columns_)}"


class DeterminedBy(_Rule):
    type: Literal["determined_by"]
    column: str = Field(min_length=1)
    by: list[str] = Field(min_length=1)

    _by = field_validator("by", mode="before")(_as_list)

    def columns(self) -> list[str]:
        return [*self.by, self.column]

    def key(self) -> str:
        return f"{', '.join(self.by)} -> {self.column}"


class Unique(_Rule):
    type: Literal["unique"]
    columns_: list[str] = Field(alias="columns", min_length=1)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    _cols = field_validator("columns_", mode="before")(_as_list)

    def columns(self) -> list[str]:
        return list(self.columns_)

    def key(self) -> str:
        return f"unique {', '.join(self.columns_)}"


class Format(_Rule):
    type: Literal["format"]
    column: str = Field(min_length=1)
    regex: str = Field(min_length=1, max_length=500)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        from synthgen.constraints.regexgen import check_pattern

        try:
            re.compile(v)
        except re.error as err:
            raise ValueError(f"not a regular expression: {err}") from None
        problem = check_pattern(v)
        if problem:
            raise ValueError(problem)
        return v

    def columns(self) -> list[str]:
        return [self.column]

    def key(self) -> str:
        return f"{self.column} ~ {self.regex}"


class Sum(_Rule):
    type: Literal["sum"]
    columns_: list[str] = Field(alias="columns", min_length=1)
    equals: str = Field(min_length=1)
    tolerance: float = Field(0.0, ge=0, description="largest |sum - equals| still counted equal")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    def columns(self) -> list[str]:
        return [*self.columns_, self.equals]

    def numeric_columns(self) -> list[str]:
        return self.columns()

    def key(self) -> str:
        return f"{' + '.join(self.columns_)} = {self.equals}"


class NullIfNull(_Rule):
    type: Literal["null_if_null"]
    column: str = Field(min_length=1)
    if_null: str = Field(min_length=1)

    def columns(self) -> list[str]:
        return [self.if_null, self.column]

    def key(self) -> str:
        return f"{self.column} null if {self.if_null} null"


class Expression(_Rule):
    type: Literal["expression"]
    expr: str = Field(min_length=1, max_length=1000)

    @field_validator("expr")
    @classmethod
    def _parses(cls, v: str) -> str:
        from synthgen.constraints.expr import parse

        parse(v)  # a ValueError names what is not allowed
        return v

    def columns(self) -> list[str]:
        from synthgen.constraints.expr import names

        return names(self.expr)

    def numeric_columns(self) -> list[str]:
        return []

    def key(self) -> str:
        return self.expr


Rule = Annotated[
    Positive
    | Negative
    | Range
    | Inequality
    | FixedCombinations
    | DeterminedBy
    | Unique
    | Format
    | Sum
    | NullIfNull
    | Expression,
    Field(discriminator="type"),
]
RULE_TYPES = (
    "positive",
    "negative",
    "range",
    "inequality",
    "fixed_combinations",
    "determined_by",
    "unique",
    "format",
    "sum",
    "null_if_null",
    "expression",
)


class ConstraintsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detect: bool = Field(
        True, description="keep the rules the training rows always obey (not under privacy:)"
    )
    drop: list[str] = Field(
        default_factory=list,
        description="detected rules to leave out: an id as `synthgen inspect` shows it, or a "
        "column (every detected rule on it); with several tables 'TABLE: ID' or 'TABLE: "
        "COLUMN' for one table's only",
    )
    rules: list[Rule] = Field(default_factory=list, description="declared rules, one per entry")

    @model_validator(mode="before")
    @classmethod
    def _a_list(cls, v: Any) -> Any:
        return {"rules": v} if isinstance(v, list) else v


def describe(index: int, rule: _Rule) -> str:
    """How messages name a declared rule: ``constraints[2] (inequality low <= high)``."""
    return f"constraints[{index}] ({title(rule)})"


def title(rule: _Rule) -> str:
    """'inequality low <= high'; 'unique visit_id' (the type is not said twice); with its
    table first when it names one ('Invoice: range 0 <= Total')."""
    kind, key = str(getattr(rule, "type", "?")), rule.key()
    text = key if key.startswith(kind) else f"{kind} {key}"
    return f"{rule.table}: {text}" if rule.table else text


def rule_from_json(data: dict[str, Any]) -> Any:
    """A rule from its JSON form (model folders, inspection files)."""
    from pydantic import TypeAdapter

    return TypeAdapter(Rule).validate_python(data)


def recipe_paths(problems: list[str], data: dict[str, Any]) -> list[str]:
    """'constraints.rules.2.range.max: ...' -> 'constraints[2] (range).max: ...' (and
    without 'rules' when the recipe gave a plain list)."""
    plain = isinstance(data.get("constraints"), list)
    pat = re.compile(r"^constraints\.rules\.(\d+)(?:\.([a-z_]+))?")

    def sub(m: re.Match[str]) -> str:
        head = "constraints" if plain else "constraints.rules"
        kind = f" ({m.group(2)})" if m.group(2) else ""
        return f"{head}[{m.group(1)}]{kind}"

    return [pat.sub(sub, p) for p in problems]
