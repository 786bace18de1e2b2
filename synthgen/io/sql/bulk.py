"""Fast row paths, inside the caller's transaction: PostgreSQL ``COPY ... FROM STDIN``
(binary where every column's type allows it) and SQLite batched ``executemany``; keyed
updates for references filled in after insert; PostgreSQL sequences moved past the rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

# PostgreSQL types psycopg writes in binary from the values ``values.db_values`` gives;
# the text-like ones (and enums) are sent as text, whose binary form they share
_BINARY = {
    "int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date", "time",
    "timestamp", "timestamptz", "bytea", "uuid", "text", "varchar",
}  # fmt: skip
# not json / jsonb: a binary COPY would encode the JSON text once more, as a JSON string
_AS_TEXT = {"bpchar", "name", "citext"}

Rows = Iterable[tuple[Any, ...]]


def quoted(conn: sa.Connection, schema: str | None, name: str) -> str:
    q = conn.dialect.identifier_preparer.quote_identifier
    return (f"{q(schema)}." if schema else "") + q(name)


def pg_copy_types(conn: sa.Connection, table: str, columns: list[str]) -> list[str] | None:
    """The type name binary COPY sends for each column, or None when one of them has no
    binary path here (then the table goes as text COPY)."""
    rows = conn.execute(
        sa.text(
            "SELECT a.attname, t.typname, t.typtype FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = CAST(:rel AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        {"rel": table},
    ).all()
    by_name = {r[0]: (r[1], r[2]) for r in rows}
    out = []
    for c in columns:
        typname, typtype = by_name[c]
        if typname in _BINARY:
            out.append(typname)
        elif typname in _AS_TEXT or typtype == "e":
            out.append("text")
        else:
            return None
    return out


@contextmanager
def row_writer(
    conn: sa.Connection, table: str, columns: list[str]
) -> Iterator[Callable[[Rows], None]]:
    """Yield ``put(rows)``, called once per batch; all batches go in one COPY (PostgreSQL)
    or as executemany batches (SQLite), on the connection's open transaction."""
    q = conn.dialect.identifier_preparer.quote_identifier
    cols = ", ".join(q(c) for c in columns)
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a closed connection
        raise RuntimeError("the database connection is closed")
    if conn.dialect.name == "postgresql":
        types = pg_copy_types(conn, table, columns)
        fmt = "BINARY" if types is not None else "TEXT"
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT {fmt})") as cp,
        ):
            if types is not None:
                cp.set_types(types)

            def put_pg(rows: Rows) -> None:
                for row in rows:
                    cp.write_row(row)

            yield put_pg
        return
    sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in columns)})"
    cur = raw.cursor()
    try:

        def put_sqlite(rows: Rows) -> None:
            cur.executemany(sql, rows)

        yield put_sqlite
    finally:
        cur.close()


@contextmanager
def csv_copier(
    conn: sa.Connection, table: str, columns: list[str]
) -> Iterator[Callable[[Any], None]]:
    """PostgreSQL only: yield ``put(arrays)``, one Arrow array per column per batch, sent in
    one ``COPY ... (FORMAT csv)`` written by Arrow's C++ CSV writer: several times faster than
    encoding row by row in Python, for the plain types ``values.CSV_KINDS`` lists."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    q = conn.dialect.identifier_preparer.quote_identifier
    cols = ", ".join(q(c) for c in columns)
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a closed connection
        raise RuntimeError("the database connection is closed")
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    names = [f"c{i}" for i in range(len(columns))]
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:

        def put(arrays: list[Any]) -> None:
            buf = io.BytesIO()
            pacsv.write_csv(pa.Table.from_arrays(arrays, names=names), buf, options)
            cp.write(buf.getbuffer())

        yield put


def update_rows(
    conn: sa.Connection, table: str, keys: list[str], sets: list[str], rows: Rows
) -> None:
    """``UPDATE table SET sets WHERE keys`` for each row ``(*set values, *key values)``,
    values as ``values.db_values`` gives them (so through the driver, not SQLAlchemy)."""
    q = conn.dialect.identifier_preparer.quote_identifier
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = (
        f"UPDATE {table} SET {', '.join(f'{q(c)} = {mark}' for c in sets)} "
        f"WHERE {' AND '.join(f'{q(c)} = {mark}' for c in keys)}"
    )
    raw = conn.connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, list(rows))
    finally:
        cur.close()


def move_sequences(conn: sa.Connection, table: str) -> None:
    """Move every sequence behind a column of ``table`` (serial or identity) past the
    largest value in it, so the next row the database numbers does not collide. Never
    moves a sequence back."""
    seqs = conn.execute(
        sa.text(
            "SELECT a.attname, pg_get_serial_sequence(:rel, a.attname) FROM pg_attribute a "
            "WHERE a.attrelid = CAST(:rel AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        {"rel": table},
    ).all()
    q = conn.dialect.identifier_preparer.quote_identifier
    for col, seq in seqs:
        if not seq:
            continue
        top = conn.exec_driver_sql(f"SELECT max({q(col)}) FROM {table}").scalar()
        if top is None:
            continue
        last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {seq}").one()
        if top > last or (top == last and not called):
            conn.execute(sa.text("SELECT setval(:seq, :v, true)"), {"seq": seq, "v": int(top)})
