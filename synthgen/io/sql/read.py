"""``read_sql``: a whole database (or some of its tables) as a Dataset, keys included."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa

from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import DatasetSpec, TableSpec
from synthgen.errors import DataError
from synthgen.io.sql.reflect import reflect_table
from synthgen.io.sql.types import parse_type
from synthgen.io.sql.url import (
    DEFAULT_CONNECT_TIMEOUT,
    DbUrl,
    connect,
    driver_message,
    make_engine,
    parse_url,
)
from synthgen.io.sql.values import to_series

CHUNK_ROWS = 50_000


def read_sql(
    url: str,
    tables: list[str] | None = None,
    schema: str | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
    outside_keys: Literal["refuse", "drop"] = "refuse",
) -> Dataset:
    """Read ``tables`` (default: every table of ``schema``, or of the default schema) with
    their columns, keys and checks, and their rows (ordered by primary key). All tables are
    read in one transaction, so their keys agree even while others write. ``warnings`` on
    the result lists what a user should know (e.g. a table without a primary key). A
    foreign key to a table not read is refused, or with ``outside_keys="drop"`` left out
    (and said in the warnings)."""
    db = parse_url(url)
    path = db.sqlite_path
    if db.is_sqlite and (path is None or not path.is_file()):
        raise DataError(
            f"no SQLite database file at {db.shown}",
            hint="check the path (sqlite:///relative.db or sqlite:////absolute/path.db)",
        )
    engine = make_engine(db, connect_timeout)
    try:
        with connect(db, engine) as conn:
            if not db.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return _read(conn, db, tables, schema, max(1, chunk_rows), outside_keys)
    except sa.exc.DBAPIError as err:
        raise DataError(
            f"reading {db.at(schema)} failed: {driver_message(db, err)}",
            hint="check that the URL points at the database you mean and that you may read it",
        ) from None
    finally:
        engine.dispose()


def _pick(
    db: DbUrl, available: list[str], wanted: list[str] | None, schema: str | None
) -> list[str]:
    where = db.at(schema)
    if wanted is None:
        if not available:
            raise DataError(
                f"{where} holds no tables",
                hint="check the URL's database name and the schema",
            )
        return sorted(available)
    missing = [t for t in wanted if t not in available]
    if missing:
        near = {t: [a for a in available if a.lower() == t.lower()] for t in missing}
        hints = [f"{t} (did you mean {near[t][0]}?)" if near[t] else t for t in missing]
        shown = ", ".join(sorted(available)[:20]) + (" ..." if len(available) > 20 else "")
        raise DataError(
            f"{where} has no table {', '.join(hints)}",
            hint=f"name tables that exist: {shown or '(none)'}",
        )
    return list(dict.fromkeys(wanted))


def _read(
    conn: sa.Connection,
    db: DbUrl,
    tables: list[str] | None,
    schema: str | None,
    chunk: int,
    outside_keys: str = "refuse",
) -> Dataset:
    insp = sa.inspect(conn)
    if schema is not None:
        schemas = insp.get_schema_names()
        if schema not in schemas:
            raise DataError(
                f"schema {schema!r} does not exist in {db.shown}",
                hint=f"use one of: {', '.join(schemas)} (or leave the schema out)",
            )
    names = _pick(db, insp.get_table_names(schema=schema), tables, schema)
    problems: list[str] = []
    elsewhere: list[str] = []
    specs = [reflect_table(conn, insp, schema, n, problems, elsewhere) for n in names]
    if problems:
        raise DataError(
            f"{db.at(schema)}: synthgen cannot map the type of {', '.join(problems)}",
            hint="leave those tables out (tables=[...]), or read from a view that casts the "
            "columns to text, numbers or dates",
        )
    missing = elsewhere + [
        f"{fk.describe(t.name)} (table {fk.ref_table} is not read)"
        for t in specs
        for fk in t.foreign_keys
        if fk.ref_table not in names
    ]
    dropped: list[str] = []
    if missing and outside_keys == "drop" and not elsewhere:
        dropped = [f"{m}: left out" for m in missing]
        for t in specs:
            t.foreign_keys = [fk for fk in t.foreign_keys if fk.ref_table in names]
        missing = []
    if missing:
        raise DataError(
            f"{db.at(schema)}: foreign keys point at tables outside what is read: {'; '.join(missing)}",
            hint="read the referenced tables too (add them to tables=[...]), or leave out the "
            "tables that reference them",
        )
    warnings = dropped + [
        f"table {t.name} has no primary key: its rows cannot be told apart or referenced"
        for t in specs
        if not t.primary_key
    ]
    frames = {t.name: _rows(conn, schema, t, chunk) for t in specs}
    for t in specs:
        t.rows = len(frames[t.name])
    return Dataset(DatasetSpec(tables=specs), frames, warnings=warnings)


def _rows(conn: sa.Connection, schema: str | None, t: TableSpec, chunk: int) -> pd.DataFrame:
    q = conn.dialect.identifier_preparer.quote_identifier
    table = (f"{q(schema)}." if schema else "") + q(t.name)
    cols = t.column_names
    sql = f"SELECT {', '.join(q(c) for c in cols)} FROM {table}"
    if t.primary_key:
        sql += " ORDER BY " + ", ".join(q(c) for c in t.primary_key)
    kinds = [parse_type(c.sql_type or "TEXT").kind for c in t.columns]
    parts: list[pd.DataFrame] = []
    result = conn.execution_options(stream_results=True, max_row_buffer=chunk).exec_driver_sql(sql)
    for rows in result.partitions(chunk):
        columns: list[Any] = list(zip(*rows, strict=True))
        parts.append(_frame(t, kinds, columns or [[] for _ in cols]))
    if not parts:
        parts.append(_frame(t, kinds, [[] for _ in cols]))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _frame(t: TableSpec, kinds: list[str], columns: list[Any]) -> pd.DataFrame:
    data = {
        c.name: to_series(vals, kind, c.nullable, f"{t.name}.{c.name}")
        for c, kind, vals in zip(t.columns, kinds, columns, strict=True)
    }
    return pd.DataFrame(data)
