"""``write_sql``: a Dataset into a database, in one transaction.

Missing tables are created with the source's types mapped to the target dialect and their
keys; rows go parents first (``DatasetSpec.order()``), a self-referencing table's rows each
after its parent row, and the foreign keys cut to break a cycle are inserted empty and
filled in at the end. Any error rolls everything back: the database is left as it was.
A new SQLite file is written beside its name and renamed into place only on success.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import ColumnInfo, ForeignKey
from synthgen.errors import DataError, SchemaError, UsageError
from synthgen.io.atomic import atomic_path
from synthgen.io.sql import bulk, target
from synthgen.io.sql.ddl import build_tables
from synthgen.io.sql.order import parents_first
from synthgen.io.sql.types import UnmappableType
from synthgen.io.sql.url import (
    DEFAULT_CONNECT_TIMEOUT,
    DbUrl,
    connect,
    driver_message,
    make_engine,
    parse_url,
)
from synthgen.io.sql.values import CSV_KINDS, arrow_values, db_values, put_nones

Mode = Literal["create", "append", "replace"]
MODES = ("create", "append", "replace")
CHUNK_ROWS = 100_000


@dataclass
class SqlWriteResult:
    url: str  # masked
    rows: dict[str, int]
    created: list[str]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    order: list[str]
    columns: dict[str, list[ColumnInfo]]
    row_order: dict[str, np.ndarray]  # self-referencing tables: parents first
    # references inserted empty and filled in after: (table, fk, rows mask or None = all)
    later: list[tuple[str, ForeignKey, np.ndarray | None]]


def write_sql(
    dataset: Dataset,
    url: str,
    mode: Mode = "create",
    schema: str | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> SqlWriteResult:
    """Write every table of ``dataset``. ``mode``: ``create`` refuses tables that already
    hold rows, ``append`` adds to them, ``replace`` empties them first (children first,
    in the same transaction). Identity / serial sequences are moved past the rows."""
    if mode not in MODES:
        raise UsageError(f"unknown write mode {mode!r}", hint="use create, append or replace")
    plan = _plan(dataset)
    db = parse_url(url)
    if db.is_sqlite and schema not in (None, "main"):
        raise UsageError(
            f"{db.shown} is a SQLite file: it has no schema {schema!r}",
            hint="leave the schema out for SQLite",
        )
    path = db.sqlite_path
    if path is not None and not path.exists():
        with atomic_path(path) as tmp:
            tmp_db = dataclasses.replace(db, url=db.url.set(database=str(tmp)))
            return _write(tmp_db, dataset, plan, mode, schema, chunk_rows, connect_timeout)
    return _write(db, dataset, plan, mode, schema, chunk_rows, connect_timeout)


def _plan(dataset: Dataset) -> _Plan:
    spec = dataset.spec
    problems = spec.problems()
    if problems:
        raise SchemaError(
            "the dataset's keys do not fit its tables:\n  - " + "\n  - ".join(problems),
            hint="fix or drop the keys named above",
        )
    columns: dict[str, list[ColumnInfo]] = {}
    for t in spec:
        frame = dataset[t.name]
        cols = t.columns or [
            ColumnInfo(name=str(c), nullable=bool(frame[c].isna().any())) for c in frame.columns
        ]
        absent = [c.name for c in cols if c.name not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in {x.name for x in cols}]
        if absent or extra:
            raise SchemaError(
                f"table {t.name}: its data and its spec disagree"
                + (f"; no data for {', '.join(absent)}" if absent else "")
                + (f"; not in the spec: {', '.join(extra)}" if extra else ""),
                hint="give every column of the spec, and only those",
            )
        columns[t.name] = cols
    order, cut = spec.order()
    later: list[tuple[str, ForeignKey, np.ndarray | None]] = [(t, fk, None) for t, fk in cut]
    row_order: dict[str, np.ndarray] = {}
    for t in spec:
        selfs = [fk for fk in t.foreign_keys if fk.ref_table == t.name]
        for i, fk in enumerate(selfs):
            if i == 0:
                row_order[t.name], mask = parents_first(dataset[t.name], fk)
            else:  # a second self-reference: filled in after, for every row
                mask = np.ones(len(dataset[t.name]), dtype=bool)
            if mask.any():
                if not t.nullable_fk(fk):
                    raise SchemaError(
                        f"rows of {t.name} reference each other in a cycle through "
                        f"{fk.describe(t.name)}, which cannot be empty",
                        hint="make the referencing column nullable, or break the cycle in the data",
                    )
                later.append((t.name, fk, mask))
    return _Plan(order=order, columns=columns, row_order=row_order, later=later)


def _driver_errors(db: DbUrl) -> tuple[type[BaseException], ...]:
    if db.is_sqlite:
        import sqlite3

        return (sa.exc.DBAPIError, sqlite3.Error)
    import psycopg

    return (sa.exc.DBAPIError, psycopg.Error)


def _write(
    db: DbUrl,
    dataset: Dataset,
    plan: _Plan,
    mode: str,
    schema: str | None,
    chunk: int,
    timeout: int,
) -> SqlWriteResult:
    engine = make_engine(db, timeout)
    step = ["connecting"]
    try:
        with connect(db, engine) as conn, conn.begin():
            return _write_in(conn, db, dataset, plan, mode, schema, max(1, chunk), step)
    except _driver_errors(db) as err:
        raise DataError(
            f"writing to {db.at(schema)} failed while {step[0]}: {driver_message(db, err)}; "
            "nothing was written (the transaction was rolled back)",
            hint="fix the data or the target named above and write again",
        ) from None
    finally:
        engine.dispose()


def _write_in(
    conn: sa.Connection,
    db: DbUrl,
    dataset: Dataset,
    plan: _Plan,
    mode: str,
    schema: str | None,
    chunk: int,
    step: list[str],
) -> SqlWriteResult:
    dialect = conn.dialect.name
    q = conn.dialect.identifier_preparer.quote_identifier
    insp = sa.inspect(conn)
    step[0] = "checking the target"
    if schema and dialect == "postgresql" and schema not in insp.get_schema_names():
        conn.exec_driver_sql(f"CREATE SCHEMA {q(schema)}")
        insp = sa.inspect(conn)
    existing = [n for n in plan.order if n in set(insp.get_table_names(schema=schema))]
    md = sa.MetaData()
    for name in existing:
        sa.Table(name, md, schema=schema, autoload_with=conn)
    target.check_existing(conn, db.at(schema), md, plan.columns, existing, mode, schema)
    missing = [n for n in plan.order if n not in existing]
    warnings: list[str] = []
    step[0] = "creating tables"
    # PostgreSQL: the keys of new tables are added after their rows (one index build, one
    # check of each foreign key); then row order does not matter for those tables
    defer = dialect == "postgresql"
    try:
        new, keys = build_tables(
            dataset.spec, dataset.tables, missing, md, dialect=dialect, schema=schema, quote=q,
            warnings=warnings, defer_keys=defer,
        )  # fmt: skip
    except UnmappableType as err:
        raise DataError(
            f"cannot create tables in {db.at(schema)}: no {dialect} type for {err.what}",
            hint="give those columns a generic sql_type (INTEGER, NUMERIC(p,s), VARCHAR(n), "
            "TEXT, BOOLEAN, DATE, TIMESTAMP...)",
        ) from None
    md.create_all(conn, tables=new)
    if mode == "replace" and existing:
        target.empty(conn, plan.order, plan.later, existing, schema, step)
    if defer:
        loose = set(missing)
        plan = dataclasses.replace(
            plan,
            later=[x for x in plan.later if x[0] not in loose],
            row_order={k: v for k, v in plan.row_order.items() if k not in loose},
        )
    rows: dict[str, int] = {}
    for name in plan.order:
        step[0] = f"writing table {name}"
        rows[name] = _insert(conn, dataset, plan, name, schema, chunk)
    target.add_keys(conn, md, schema, keys, step)
    for name, fk, mask in plan.later:
        step[0] = f"filling in {fk.describe(name)}"
        _fill(conn, dataset, plan, name, fk, mask, schema)
    if dialect == "postgresql":
        for name in plan.order:
            step[0] = f"moving the sequences of {name}"
            bulk.move_sequences(conn, bulk.quoted(conn, schema, name))
    step[0] = "committing"
    return SqlWriteResult(url=db.shown, rows=rows, created=missing, warnings=warnings)


def _frame(dataset: Dataset, plan: _Plan, name: str) -> pd.DataFrame:
    frame = dataset[name]
    order = plan.row_order.get(name)
    return frame.iloc[order] if order is not None else frame


def _insert(
    conn: sa.Connection, dataset: Dataset, plan: _Plan, name: str, schema: str | None, chunk: int
) -> int:
    frame = _frame(dataset, plan, name)
    filled = set(dataset.db_filled.get(name, ()))  # left to the database's DEFAULT
    cols = [c.name for c in plan.columns[name] if c.name not in filled]
    kinds = target.kinds(conn, name, schema, cols)
    empty: dict[str, np.ndarray | None] = {}
    for t, fk, mask in plan.later:
        if t == name:
            for c in fk.columns:
                empty[c] = mask if c not in empty or mask is None else (empty[c] | mask)  # type: ignore[operator]
    dialect = conn.dialect.name
    if dialect == "postgresql" and all(k in CSV_KINDS for k in kinds):
        with bulk.csv_copier(conn, bulk.quoted(conn, schema, name), cols) as put_csv:
            for start in range(0, len(frame), chunk):
                part = frame.iloc[start : start + chunk]
                put_csv(
                    [
                        arrow_values(
                            part[c], k, f"{name}.{c}", _rows_of(empty, c, start, len(part))
                        )
                        for c, k in zip(cols, kinds, strict=True)
                    ]
                )
        return len(frame)
    with bulk.row_writer(conn, bulk.quoted(conn, schema, name), cols) as put:
        for start in range(0, len(frame), chunk):
            part = frame.iloc[start : start + chunk]
            values = []
            for c, kind in zip(cols, kinds, strict=True):
                v = db_values(part[c], kind, dialect, f"{name}.{c}")
                if c in empty:
                    m = empty[c]
                    v = [None] * len(v) if m is None else put_nones(v, m[start : start + chunk])
                values.append(v)
            put(zip(*values, strict=True))
    return len(frame)


def _rows_of(empty: dict[str, np.ndarray | None], c: str, start: int, n: int) -> np.ndarray | None:
    """Rows ``start .. start + n`` whose ``c`` is written NULL now (a reference filled in
    after the insert): none, some (a mask), or all of them (the mask None in ``empty``)."""
    if c not in empty:
        return None
    m = empty[c]
    return np.ones(n, dtype=bool) if m is None else m[start : start + n]


def _fill(
    conn: sa.Connection,
    dataset: Dataset,
    plan: _Plan,
    name: str,
    fk: ForeignKey,
    mask: np.ndarray | None,
    schema: str | None,
) -> None:
    """Put back the references inserted empty, row by row, found by primary key."""
    t = dataset.spec[name]
    keys = t.primary_key or next((u.columns for u in t.unique), [])
    if not keys:
        raise SchemaError(
            f"{fk.describe(name)} must be filled in after its rows are written (it breaks a "
            f"cycle), but {name} has no primary or unique key to find those rows by",
            hint=f"declare a primary key for {name}",
        )
    frame = _frame(dataset, plan, name)
    if mask is not None:
        frame = frame[mask]
    frame = frame[frame[fk.columns].notna().all(axis=1)]
    if frame.empty:
        return
    cols = list(fk.columns) + list(keys)
    kinds = target.kinds(conn, name, schema, cols)
    dialect = conn.dialect.name
    values: list[Any] = [
        db_values(frame[c], k, dialect, f"{name}.{c}") for c, k in zip(cols, kinds, strict=True)
    ]
    bulk.update_rows(
        conn,
        bulk.quoted(conn, schema, name),
        list(keys),
        list(fk.columns),
        zip(*values, strict=True),
    )
