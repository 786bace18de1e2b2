"""The places a recipe names: its source (a file, a folder of tables, a database) with the
keys it declares, and its outputs (files or database tables). Part of the recipe format v1
(``synthgen.recipe`` re-exports every name)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Source(_Strict):
    path: str | None = Field(
        None,
        description="CSV or Parquet file, or a folder of them (one table each), relative to "
        "the recipe's folder",
    )
    url: str | None = Field(
        None,
        description="a database: sqlite:///file.db or postgresql+psycopg://user@host/db; "
        "${VAR} is read from the environment (keep passwords there)",
    )
    tables: list[str] | None = Field(
        None,
        min_length=1,
        description="the tables to read from a folder or database (default: all)",
    )
    db_schema: str | None = Field(
        None, alias="schema", description="for a PostgreSQL url: the schema (default: public)"
    )
    format: Literal["csv", "parquet"] | None = Field(None, description="default: from the suffix")
    na_values: list[str] = Field(default_factory=list, description="extra strings read as missing")
    strip_whitespace: bool = Field(False, description="strip spaces around text values")
    sep: str | None = Field(
        None, min_length=1, max_length=1, description="default: a tab for .tsv/.tab, else ','"
    )
    encoding: str = "utf-8"

    @model_validator(mode="after")
    def _one_place(self) -> Source:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (a file or folder) or url (a database), not both")
        if self.url is not None and self.format is not None:
            raise ValueError("format is for files; a database's tables come typed")
        if self.db_schema is not None and self.url is None:
            raise ValueError("schema is for a database url")
        return self

    @property
    def where(self) -> str:
        """How messages name the source: the path, or the masked URL."""
        if self.url is not None:
            from synthgen.io.sql import mask_url

            return mask_url(self.url)
        return str(self.path)


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class ForeignKeyDecl(_Strict):
    columns: list[str] = Field(min_length=1, description="this table's column(s)")
    ref_table: str = Field(min_length=1)
    ref_columns: list[str] = Field(min_length=1, description="the referenced key's column(s)")

    _lists = field_validator("columns", "ref_columns", mode="before")(_as_list)


class SequenceDecl(_Strict):
    """A table of per-entity event streams: each entity's events, in order."""

    entity: str = Field(min_length=1, description="the column naming each event's entity")
    order: str = Field(min_length=1, description="the datetime or number ordering its events")


class TableSequenceDecl(_Strict):
    """A child table of a dataset whose rows are its parent's events, in order."""

    order: str = Field(min_length=1, description="the datetime or number ordering the events")
    entity: str | None = Field(
        None,
        description="the foreign key column to the parent (default: the key every row fills)",
    )


class TableDecl(_Strict):
    """Keys a recipe declares for one table; each given field replaces what the database
    declares or synthgen detects for that table."""

    primary_key: list[str] | None = Field(None, description="column(s); [] for none")
    foreign_keys: list[ForeignKeyDecl] | None = None
    unique: list[list[str]] | None = Field(None, description="each entry: column(s)")
    sequence: TableSequenceDecl | None = Field(
        None, description="learn the table as each parent's events in order"
    )

    _pk = field_validator("primary_key", mode="before")(_as_list)


class Output(_Strict):
    path: str | None = Field(None, description="a CSV or Parquet file, relative to the recipe")
    format: Literal["csv", "parquet"] | None = None
    url: str | None = Field(
        None, description="a database to write the table into, in one transaction (${VAR} read)"
    )
    table: str | None = Field(None, description="for a url: the table (default: the source's)")
    mode: Literal["create", "append", "replace"] = Field(
        "create",
        description="for a url: create refuses a table that holds rows; append adds; "
        "replace empties it first",
    )
    db_schema: str | None = Field(None, alias="schema", description="for a PostgreSQL url")

    @model_validator(mode="after")
    def _one_place(self) -> Output:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (a file) or url (a database), not both")
        if self.url is None and (self.table or self.db_schema or self.mode != "create"):
            raise ValueError("table, schema and mode are for a database url")
        if self.url is not None and self.format is not None:
            raise ValueError("format is for files")
        return self
