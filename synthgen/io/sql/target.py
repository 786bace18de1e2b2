"""The target database around a write: what it holds before (columns, rows), emptying it
for ``replace``, the kinds of its columns, and the keys added once the rows are in."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from synthgen.dataset.spec import ColumnInfo, ForeignKey
from synthgen.errors import DataError
from synthgen.io.sql import bulk
from synthgen.io.sql.types import UnmappableType, from_sqlalchemy


def add_keys(
    conn: sa.Connection,
    md: sa.MetaData,
    schema: str | None,
    keys: dict[str, list[sa.Constraint]],
    step: list[str],
) -> None:
    """The deferred keys: primary and unique keys of every table first, as foreign keys
    need the index of the key they reference."""
    for fks in (False, True):
        for name, constraints in keys.items():
            table = md.tables[f"{schema}.{name}" if schema else name]
            for c in constraints:
                if isinstance(c, sa.ForeignKeyConstraint) == fks:
                    step[0] = f"adding the keys of table {name}"
                    table.append_constraint(c)
                    conn.execute(sa.schema.AddConstraint(c))


def check_existing(
    conn: sa.Connection,
    where: str,
    md: sa.MetaData,
    columns: dict[str, list[ColumnInfo]],
    existing: list[str],
    mode: str,
    schema: str | None,
) -> None:
    """Before anything changes: the existing tables have every column we write, and in
    ``create`` mode hold no rows. ``where`` names the target (masked) in messages."""
    lacking = []
    for name in existing:
        have = set(md.tables[f"{schema}.{name}" if schema else name].c.keys())
        gone = [c.name for c in columns[name] if c.name not in have]
        if gone:
            lacking.append(f"{name} has no column {', '.join(gone)}")
    if lacking:
        raise DataError(
            f"the tables in {where} do not fit the data: {'; '.join(lacking)}",
            hint="write into a fresh database or schema, or drop those tables first",
        )
    if mode != "create":
        return
    full = [
        n
        for n in existing
        if conn.exec_driver_sql(f"SELECT 1 FROM {bulk.quoted(conn, schema, n)} LIMIT 1").first()
    ]
    if full:
        raise DataError(
            f"{where} already holds rows in {', '.join(full)}; nothing was written",
            hint="write with mode='replace' to empty those tables first, or mode='append' to "
            "add to them",
        )


def empty(
    conn: sa.Connection,
    order: list[str],
    later: list[tuple[str, ForeignKey, Any]],
    existing: list[str],
    schema: str | None,
    step: list[str],
) -> None:
    """Empty the tables we are about to write, children first; a reference cut to break a
    cycle is emptied before any table is."""
    q = conn.dialect.identifier_preparer.quote_identifier
    if conn.dialect.name == "postgresql":
        # one TRUNCATE of them all: DELETE checks every row against each referencing table
        # (seconds for Chinook). Without CASCADE it fails, touching nothing, when a table
        # outside the dataset references one of them: then DELETE says which row is held.
        step[0] = "emptying the tables"
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(
                    "TRUNCATE " + ", ".join(bulk.quoted(conn, schema, n) for n in existing)
                )
            return
        except sa.exc.DBAPIError:
            pass
    for name, fk, _mask in later:
        if name in existing:
            step[0] = f"emptying {fk.describe(name)}"
            sets = ", ".join(f"{q(c)} = NULL" for c in fk.columns)
            conn.exec_driver_sql(f"UPDATE {bulk.quoted(conn, schema, name)} SET {sets}")
    for name in reversed(order):
        if name in existing:
            step[0] = f"emptying table {name}"
            conn.exec_driver_sql(f"DELETE FROM {bulk.quoted(conn, schema, name)}")


def kinds(conn: sa.Connection, name: str, schema: str | None, cols: list[str]) -> list[str]:
    """What each column of the target table holds (as the target says, not the source)."""
    types = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns(name, schema=schema)}
    out = []
    for c in cols:
        try:
            out.append(from_sqlalchemy(types[c], conn.dialect.name)[0].kind)
        except UnmappableType as err:
            raise DataError(
                f"cannot write {name}.{c}: its type in the target ({err.what}) is not one "
                "synthgen can fill",
                hint="write into a table whose column has a plain type, or leave the column out",
            ) from None
    return out
