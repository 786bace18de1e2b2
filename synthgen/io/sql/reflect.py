"""What a database says about its tables: columns with generic types, primary keys (one
column or several), foreign keys, unique keys and checks, as TableSpecs."""

from __future__ import annotations

import re
import warnings
from typing import Any

import sqlalchemy as sa

from synthgen.dataset.spec import CheckConstraint, ColumnInfo, ForeignKey, TableSpec, UniqueKey
from synthgen.io.sql.types import UnmappableType, column_info

_ENUM_CHECK = re.compile(
    r"^\s*\(?\s*\"?([^\"\s]+)\"?\s+IN\s*\((.*)\)\s*\)?\s*$", re.IGNORECASE | re.S
)
_LABEL = re.compile(r"\s*'((?:[^']|'')*)'\s*(?:,|$)")


def reflect_table(
    conn: sa.Connection,
    insp: sa.Inspector,
    schema: str | None,
    name: str,
    problems: list[str],
    elsewhere: list[str],
) -> TableSpec:
    """One table's spec. A column type we cannot map goes to ``problems`` and a foreign key
    into another schema to ``elsewhere`` (each reported together with the others)."""
    dialect = conn.dialect.name
    pk = insp.get_pk_constraint(name, schema=schema).get("constrained_columns") or []
    cols: list[ColumnInfo] = []
    with warnings.catch_warnings():  # "did not recognize type": we say so ourselves, below
        warnings.filterwarnings("ignore", "Did not recognize type", sa.exc.SAWarning)
        reflected = insp.get_columns(name, schema=schema)
    for col in reflected:
        try:
            cols.append(column_info(col["name"], dict(col), dialect, col["name"] in pk))
        except UnmappableType:
            problems.append(
                f"{name}.{col['name']} ({native_type(conn, schema, name, col['name'])})"
            )
    fks = []
    for fk in insp.get_foreign_keys(name, schema=schema):
        key = ForeignKey(
            columns=list(fk["constrained_columns"]),
            ref_table=fk["referred_table"],
            ref_columns=list(fk["referred_columns"]),
            name=fk.get("name"),
            origin="reflected",
        )
        if fk.get("referred_schema") not in (None, schema):
            elsewhere.append(f"{key.describe(name)} (in schema {fk['referred_schema']})")
            continue
        fks.append(key)
    checks = [
        CheckConstraint(name=c.get("name"), sql=c["sqltext"], origin="reflected")
        for c in insp.get_check_constraints(name, schema=schema)
    ]
    if dialect == "sqlite":
        checks = _sqlite_enums(cols, checks)
        _sqlite_identity(conn, name, pk, cols)
    return TableSpec(
        name=name,
        columns=cols,
        primary_key=list(pk),
        primary_key_origin="reflected" if pk else None,
        foreign_keys=fks,
        unique=_uniques(conn, insp, schema, name, pk),
        checks=checks,
    )


def native_type(conn: sa.Connection, schema: str | None, table: str, column: str) -> str:
    """The column's type as the database itself names it."""
    if conn.dialect.name == "postgresql":
        rel = (f"{_q(conn, schema)}." if schema else "") + _q(conn, table)
        found = conn.execute(
            sa.text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = CAST(:rel AS regclass) AND attname = :col"
            ),
            {"rel": rel, "col": column},
        ).scalar()
    else:
        pre = f"{_q(conn, schema)}." if schema else ""
        rows = conn.exec_driver_sql(f"PRAGMA {pre}table_info({_q(conn, table)})").fetchall()
        found = next((r[2] for r in rows if r[1] == column), None)
    return str(found or "unknown type")


def _uniques(
    conn: sa.Connection, insp: sa.Inspector, schema: str | None, name: str, pk: list[str]
) -> list[UniqueKey]:
    """Unique constraints and plain unique indexes (no expression, no WHERE)."""
    found: list[tuple[list[str], str | None]] = []
    if conn.dialect.name == "sqlite":
        found = _sqlite_uniques(conn, schema, name)
    else:
        found = [
            (list(u["column_names"]), u.get("name"))
            for u in insp.get_unique_constraints(name, schema=schema)
        ]
        for ix in insp.get_indexes(name, schema=schema):
            opts: dict[str, Any] = dict(ix.get("dialect_options") or {})
            cols: list[Any] = list(ix.get("column_names") or [])
            if (
                ix.get("unique")
                and not ix.get("duplicates_constraint")
                and not ix.get("expressions")
                and not opts.get("postgresql_where")
                and cols
                and all(c is not None for c in cols)
            ):
                found.append(([str(c) for c in cols], ix.get("name")))
    out: list[UniqueKey] = []
    seen = {tuple(sorted(pk))}
    for cols, uname in found:
        if tuple(sorted(cols)) not in seen:
            seen.add(tuple(sorted(cols)))
            out.append(UniqueKey(columns=cols, name=uname, origin="reflected"))
    return out


def _q(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _sqlite_uniques(
    conn: sa.Connection, schema: str | None, name: str
) -> list[tuple[list[str], str | None]]:
    """SQLite's own list: column-level UNIQUE, table-level UNIQUE and unique indexes.
    (SQLAlchemy's reflection misses the first, which shows only as an auto-index.)"""
    pre = f"{_q(conn, schema)}." if schema else ""
    out: list[tuple[list[str], str | None]] = []
    for row in conn.exec_driver_sql(f"PRAGMA {pre}index_list({_q(conn, name)})").mappings():
        if not row["unique"] or row["origin"] == "pk" or row["partial"]:
            continue
        info = conn.exec_driver_sql(f"PRAGMA {pre}index_info({_q(conn, row['name'])})")
        cols = [r[2] for r in sorted(info.fetchall(), key=lambda r: r[0])]
        if cols and all(c is not None for c in cols):
            auto = str(row["name"]).startswith("sqlite_autoindex_")
            out.append((cols, None if auto else row["name"]))
    return list(reversed(out))  # index_list lists the newest first


def _sqlite_enums(cols: list[ColumnInfo], checks: list[CheckConstraint]) -> list[CheckConstraint]:
    """``CHECK (col IN ('a', 'b'))`` on a text column is how an enum lives in SQLite (it is
    how we write one): read it back as the column's labels."""
    by_name = {c.name: c for c in cols}
    kept = []
    for chk in checks:
        m = _ENUM_CHECK.match(chk.sql)
        col = by_name.get(m.group(1)) if m else None
        labels = _labels(m.group(2)) if m and col is not None else None
        if col is None or labels is None or col.enum_values or col.sql_type == "TEXT":
            kept.append(chk)
            continue
        if not (col.sql_type or "").startswith("VARCHAR"):
            kept.append(chk)
            continue
        col.sql_type, col.length, col.enum_values = "ENUM", None, labels
    return kept


def _labels(body: str) -> list[str] | None:
    labels, pos = [], 0
    while pos < len(body):
        m = _LABEL.match(body, pos)
        if not m:
            return None
        labels.append(m.group(1).replace("''", "'"))
        pos = m.end()
    return labels or None


def _sqlite_identity(conn: sa.Connection, name: str, pk: list[str], cols: list[ColumnInfo]) -> None:
    """An INTEGER PRIMARY KEY declared AUTOINCREMENT is filled by SQLite: an identity."""
    if len(pk) != 1:
        return
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).scalar()
    if sql and "AUTOINCREMENT" in str(sql).upper():
        for c in cols:
            if c.name == pk[0] and c.sql_type == "INTEGER":
                c.identity = True
