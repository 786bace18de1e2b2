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
    def load(cls, path: str | Path) -> Schema:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


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
