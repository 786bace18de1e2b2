"""The dataset model: named tables, their keys and how they relate, as plain JSON.

A dataset is one or more tables. Each table has SQL-side facts about its columns (type,
length, not-null, default, identity), a primary key (one column or several), foreign keys
(several per table, self-references and nullable ones included), unique keys and check
constraints. Every key says where it came from: ``reflected`` from a database, ``declared``
in a recipe, or ``detected`` in files, with the evidence a user needs to confirm it.

``DatasetSpec.order()`` gives the tables parents first, breaking each cycle at a nullable
foreign key (filled in after both tables exist).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthgen.errors import SchemaError

DATASET_FORMAT_VERSION = 1

Origin = Literal["reflected", "declared", "detected"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnInfo(_Strict):
    """What a database (or a file) says about one column, beside its detected kind."""

    name: str
    sql_type: str | None = Field(None, description="generic SQL type, e.g. INTEGER, VARCHAR(40)")
    nullable: bool = True
    default: str | None = Field(None, description="server-side default, as SQL text")
    length: int | None = Field(None, ge=0, description="maximum length of a string type")
    precision: int | None = Field(None, ge=0)
    scale: int | None = Field(None, ge=0)
    identity: bool = Field(False, description="filled by the database (serial / identity)")
    enum_values: list[str] | None = Field(None, description="allowed labels of an enum type")


class ForeignKey(_Strict):
    """``columns`` of this table reference ``ref_columns`` of ``ref_table``."""

    columns: list[str] = Field(min_length=1)
    ref_table: str
    ref_columns: list[str] = Field(min_length=1)
    name: str | None = None
    origin: Origin = "declared"
    evidence: str | None = Field(None, description="why a detected key was proposed")

    @model_validator(mode="after")
    def _same_width(self) -> ForeignKey:
        if len(self.columns) != len(self.ref_columns):
            raise ValueError(
                f"foreign key {self.columns} -> {self.ref_table}{self.ref_columns}: both sides "
                "need the same number of columns"
            )
        return self

    def describe(self, table: str) -> str:
        left = ", ".join(f"{table}.{c}" for c in self.columns)
        right = ", ".join(f"{self.ref_table}.{c}" for c in self.ref_columns)
        return f"{left} -> {right}"


class UniqueKey(_Strict):
    columns: list[str] = Field(min_length=1)
    name: str | None = None
    origin: Origin = "declared"
    evidence: str | None = None


class CheckConstraint(_Strict):
    name: str | None = None
    sql: str = Field(description="the constraint's expression, as the database gives it")
    origin: Origin = "reflected"


class TableSpec(_Strict):
    name: str = Field(min_length=1)
    columns: list[ColumnInfo] = Field(default_factory=list)
    primary_key: list[str] = Field(default_factory=list)
    primary_key_origin: Origin | None = None
    primary_key_evidence: str | None = None
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    unique: list[UniqueKey] = Field(default_factory=list)
    checks: list[CheckConstraint] = Field(default_factory=list)
    rows: int | None = Field(None, ge=0, description="row count when it was read")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def parents(self) -> list[str]:
        """Tables this one references (itself included for a self-reference), in order."""
        return list(dict.fromkeys(fk.ref_table for fk in self.foreign_keys))

    def nullable_fk(self, fk: ForeignKey) -> bool:
        """Can every referencing column be empty (so the row can exist before its parent)?"""
        names = set(self.column_names)
        return all(c in names and self.column(c).nullable for c in fk.columns)


class DatasetSpec(_Strict):
    format_version: Literal[1] = 1
    tables: list[TableSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- lookups --------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    def __getitem__(self, name: str) -> TableSpec:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tables)

    def __iter__(self) -> Iterator[TableSpec]:  # type: ignore[override]
        return iter(self.tables)

    def edges(self) -> Iterator[tuple[str, ForeignKey]]:
        """Every foreign key with the name of the table that holds it."""
        for t in self.tables:
            for fk in t.foreign_keys:
                yield t.name, fk

    def children(self, name: str) -> list[tuple[str, ForeignKey]]:
        """Foreign keys that reference ``name`` (the child table and the key)."""
        return [(t, fk) for t, fk in self.edges() if fk.ref_table == name]

    # ---- checks ---------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every inconsistency at once: duplicate tables, keys naming missing columns or
        tables, a reference whose width differs from the referenced key."""
        out: list[str] = []
        seen: set[str] = set()
        for t in self.tables:
            if t.name in seen:
                out.append(f"table {t.name!r} appears twice")
            seen.add(t.name)
        for t in self.tables:
            cols = set(t.column_names)
            if cols:
                out += [
                    f"{t.name}: primary key column {c!r} is not a column of the table"
                    for c in t.primary_key
                    if c not in cols
                ]
                for u in t.unique:
                    out += [
                        f"{t.name}: unique key column {c!r} is not a column of the table"
                        for c in u.columns
                        if c not in cols
                    ]
            for fk in t.foreign_keys:
                where = f"{t.name}: foreign key {fk.describe(t.name)}"
                if cols:
                    out += [f"{where}: no column {c!r}" for c in fk.columns if c not in cols]
                if fk.ref_table not in seen:
                    out.append(f"{where}: no table {fk.ref_table!r} in the dataset")
                    continue
                ref = self[fk.ref_table]
                ref_cols = set(ref.column_names)
                if ref_cols:
                    out += [
                        f"{where}: {fk.ref_table} has no column {c!r}"
                        for c in fk.ref_columns
                        if c not in ref_cols
                    ]
        return out

    # ---- order ----------------------------------------------------------------------------
    def order(self) -> tuple[list[str], list[tuple[str, ForeignKey]]]:
        """Tables parents first, and the foreign keys cut to get there (each one nullable:
        its rows are inserted empty and the reference filled in afterwards). A cycle with no
        nullable key to cut is an error naming the tables. Self-references are never cut
        here: a table's rows are ordered among themselves when written."""
        names = self.names
        cut: list[tuple[str, ForeignKey]] = []
        while True:
            deps = {
                t.name: {
                    fk.ref_table
                    for fk in t.foreign_keys
                    if fk.ref_table != t.name and (t.name, fk) not in cut
                }
                for t in self.tables
            }
            done: list[str] = []
            remaining = list(names)
            while remaining:
                ready = [n for n in remaining if deps[n] <= set(done)]
                if not ready:
                    break
                done += ready  # in the dataset's own order within a level
                remaining = [n for n in remaining if n not in ready]
            if not remaining:
                return done, cut
            edge = self._edge_to_cut(remaining, deps, cut)
            if edge is None:
                raise SchemaError(
                    f"tables {', '.join(sorted(remaining))} reference each other in a cycle "
                    "with no nullable foreign key to break it",
                    hint="make one of the foreign keys in the cycle nullable, or drop it",
                )
            cut.append(edge)

    def _edge_to_cut(
        self, remaining: list[str], deps: dict[str, set[str]], cut: list[tuple[str, ForeignKey]]
    ) -> tuple[str, ForeignKey] | None:
        stuck = set(remaining)
        for name in remaining:
            t = self[name]
            for fk in t.foreign_keys:
                if (
                    fk.ref_table in stuck
                    and fk.ref_table != name
                    and (name, fk) not in cut
                    and t.nullable_fk(fk)
                ):
                    return name, fk
        return None

    # ---- JSON -----------------------------------------------------------------------------
    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> DatasetSpec:
        return cls.model_validate(json.loads(text))

    @classmethod
    def load(cls, path: str | Path) -> DatasetSpec:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def single(cls, name: str, columns: list[str]) -> DatasetSpec:
        """A dataset of one table (a single CSV): no keys."""
        return cls(tables=[TableSpec(name=name, columns=[ColumnInfo(name=c) for c in columns])])
