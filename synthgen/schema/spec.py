"""Schema: what each column is, as plain JSON (with a schema_version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Kind = Literal["numeric", "integer", "categorical", "boolean", "datetime", "id", "pii", "text"]
KINDS: tuple[str, ...] = (
    "numeric",
    "integer",
    "categorical",
    "boolean",
    "datetime",
    "id",
    "pii",
    "text",
)
PiiType = Literal[
    "email",
    "phone",
    "person_name",
    "first_name",
    "last_name",
    "address",
    "street_address",
    "city",
    "postcode",
    "ssn",
    "credit_card",
    "iban",
    "ip",
    "date_of_birth",
    "url",
    "username",
    "other",
]
PII_TYPES: tuple[str, ...] = PiiType.__args__  # type: ignore[attr-defined]


class ColumnSpec(BaseModel):
    """One column: its kind, how the source stored it, and why it was classified so."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Kind
    pii_type: PiiType | None = Field(None, description="subtype when kind == 'pii'")
    dtype: str = Field("object", description="the source's pandas dtype, restored on decode")
    null_fraction: float = Field(0.0, ge=0.0, le=1.0)
    cardinality: int = Field(0, ge=0, description="distinct non-null values")
    datetime_format: str | None = Field(None, description="strftime format of a text datetime")
    decimals: int | None = Field(
        None, ge=0, le=6, description="numbers: the decimals the source writes (output rounded)"
    )
    reason: str = ""


class Schema(BaseModel):
    """An ordered list of columns; the order is the source's."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    columns: list[ColumnSpec]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def of_kind(self, *kinds: str) -> list[ColumnSpec]:
        return [c for c in self.columns if c.kind in kinds]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls.model_validate(json.loads(text))

    @classmethod
    def load(cls, path: str | Path, *, what: str = "schema file") -> Schema:
        """Read a schema.json we may not have written: every problem in one SchemaError that
        names the file (``what`` says how the user gave it, e.g. '--schema file')."""
        from synthgen.errors import SchemaError
        from synthgen.io.jsonfile import BadJson, read_json

        p = Path(path)
        fix = "write one with `synthgen inspect DATA --json schema.json`"
        if not p.is_file():
            raise SchemaError(f"{what} not found: {p}", hint=fix)
        try:
            schema, problems = parse_schema(read_json(p, max_bytes=MAX_SCHEMA_BYTES))
        except BadJson as err:
            schema, problems = None, [err.reason]
        if schema is None or problems:
            raise SchemaError(
                f"{what} {p} is not a synthgen schema:\n" + "\n".join(f"  - {x}" for x in problems),
                hint=fix,
            )
        return schema


MAX_SCHEMA_BYTES = 256 << 20
MAX_PROBLEMS = 10  # listed in one message; the rest are counted


def parse_schema(data: object, *, complete: bool = False) -> tuple[Schema | None, list[str]]:
    """Parsed schema JSON as a Schema, and what is wrong with it (a Schema only when nothing
    is): pydantic's checks (strict: no '5' for 5), one name per column, a version we read,
    pandas dtypes; with ``complete`` every field present, as ``to_json`` writes them (a
    saved model's schema: a missing field means a damaged file, not a default)."""
    from pydantic import ValidationError

    from synthgen.errors import pydantic_problems

    try:
        schema = Schema.model_validate(data, strict=True)
    except ValidationError as err:
        return None, cap_problems(pydantic_problems(err))
    problems = []
    if schema.schema_version != SCHEMA_VERSION:
        problems.append(
            f"schema_version: {schema.schema_version} is not supported (this synthgen reads "
            f"{SCHEMA_VERSION})"
        )
    if complete and schema.model_fields_set != set(Schema.model_fields):
        problems.append(
            f"(top level): missing {sorted(set(Schema.model_fields) - schema.model_fields_set)}"
        )
    seen: set[str] = set()
    for i, c in enumerate(schema.columns):
        lacking = sorted(set(ColumnSpec.model_fields) - c.model_fields_set) if complete else []
        if lacking:
            problems.append(f"columns.{i}: missing {', '.join(lacking)}")
        if c.name in seen:
            problems.append(f"columns.{i}.name: {c.name[:40]!r} names two columns")
        seen.add(c.name)
        if not _is_dtype(c.dtype):
            problems.append(f"columns.{i}.dtype: {c.dtype[:40]!r} is not a pandas dtype")
    return (None if problems else schema), cap_problems(problems)


def cap_problems(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more"]


def _is_dtype(name: str) -> bool:
    if len(name) > 64:
        return False
    try:
        pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError):
        return False
    return True


def dtype_kind(s: pd.Series) -> str:
    """A best-effort kind from a pandas dtype alone, for columns no schema describes."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    return "categorical"
