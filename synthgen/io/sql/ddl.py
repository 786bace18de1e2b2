"""Tables to create in a target database, from a dataset's specs: columns with types of the
target dialect, primary, foreign and unique keys, and the checks and defaults that mean the
same thing in every dialect (comparisons, IN lists, literals, CURRENT_TIMESTAMP). What
cannot be carried over (a check calling a function, a default computed by one) is left out
with a warning, never half-translated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa

from synthgen.dataset.spec import DatasetSpec, TableSpec
from synthgen.io.sql.types import Generic, UnmappableType, generic_of, target_type

# PostgreSQL casts as it prints them in checks and defaults: 'x'::character varying
_CAST = re.compile(
    r"::\s*(?:\"[^\"]+\"|character varying|double precision|"
    r"time(?:stamp)?(?: with(?:out)? time zone)?|[A-Za-z_][A-Za-z0-9_.]*)"
    r"(?:\s*\(\s*\d+\s*(?:,\s*\d+\s*)?\))?(?:\[\])?"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<qid>\"(?:[^\"]|\"\")+\")"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><>|!=|<=|>=|=|<|>|\+|-|\*|/|%|\(|\)|,))"
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "TRUE", "FALSE"}
_NOW = {"CURRENT_TIMESTAMP", "NOW()", "LOCALTIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"}


def strip_casts(sql: str) -> str:
    return _CAST.sub("", sql)


def portable_check(sql: str, columns: list[str], quote: Callable[[str], str]) -> str | None:
    """A check rewritten in plain SQL that every dialect reads the same (comparisons, AND /
    OR / NOT, IN lists, literals, this table's columns), or None when it uses anything else."""
    s, pos, out = strip_casts(sql), 0, []
    by_lower = {c.lower(): c for c in columns}
    while pos < len(s):
        if not s[pos:].strip():
            break
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            return None
        pos = m.end()
        if m.group("id") is not None:
            word = m.group("id")
            if word.upper() in _KEYWORDS:
                out.append(word.upper())
                continue
            if s[pos:].lstrip().startswith("("):  # a function call
                return None
            col = by_lower.get(word.lower())
            if col is None:
                return None
            out.append(quote(col))
        elif m.group("qid") is not None:
            name = m.group("qid")[1:-1].replace('""', '"')
            if name not in columns:
                return None
            out.append(quote(name))
        else:
            out.append(m.group(0).strip())
    return " ".join(out) or None


def portable_default(text: str | None, g: Generic, target: str) -> str | None:
    """A server default as the target dialect writes it, or None when not portable."""
    if text is None:
        return None
    s = strip_casts(text).strip()
    while s.startswith("(") and s.endswith(")"):
        s = s[1:-1].strip()
    up = s.upper()
    if g.kind == "bool" and up in ("0", "1", "TRUE", "FALSE", "'0'", "'1'", "'T'", "'F'"):
        yes = up in ("1", "TRUE", "'1'", "'T'")
        return ("TRUE" if yes else "FALSE") if target == "postgresql" else ("1" if yes else "0")
    if re.fullmatch(r"-?\d+(?:\.\d+)?", s) or re.fullmatch(r"'(?:[^']|'')*'", s) or up == "NULL":
        return s
    if up in _NOW:
        return {"NOW()": "CURRENT_TIMESTAMP", "LOCALTIMESTAMP": "CURRENT_TIMESTAMP"}.get(up, up)
    return None


def enum_name(table: str, column: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f"{table}_{column}".lower())[:63]


def build_tables(
    spec: DatasetSpec,
    frames: dict[str, pd.DataFrame],
    names: list[str],
    md: sa.MetaData,
    *,
    dialect: str,
    schema: str | None,
    quote: Callable[[str], str],
    warnings: list[str],
    defer_keys: bool = False,
) -> tuple[list[sa.Table], dict[str, list[sa.Constraint]]]:
    """Tables ``names`` defined in ``md`` (which already holds the target's existing tables
    they may reference). Primary, unique and foreign keys are part of each table, or, with
    ``defer_keys``, returned per table to be added once the rows are in: a key checked row
    by row costs far more than one built or checked once (PostgreSQL loads 1M child rows
    5x faster with the foreign key added after)."""
    problems: list[str] = []
    made, keys = [], {}
    for n in names:
        table, keys[n] = _table(spec[n], frames[n], md, dialect, schema, quote, warnings, problems)
        made.append(table)
    if problems:
        raise UnmappableType("; ".join(problems))
    for n in names:
        for fk in spec[n].foreign_keys:
            parent = md.tables[_key(schema, fk.ref_table)]
            keys[n].append(
                sa.ForeignKeyConstraint(
                    fk.columns, [parent.c[c] for c in fk.ref_columns], name=fk.name
                )
            )
    if not defer_keys:
        for table, n in zip(made, names, strict=True):
            for key in keys[n]:
                table.append_constraint(key)
        keys = {n: [] for n in names}
    return made, keys


def _key(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _table(
    t: TableSpec,
    frame: pd.DataFrame,
    md: sa.MetaData,
    dialect: str,
    schema: str | None,
    quote: Callable[[str], str],
    warnings: list[str],
    problems: list[str],
) -> tuple[sa.Table, list[sa.Constraint]]:
    pk = list(t.primary_key)
    items: list[sa.schema.SchemaItem] = []
    auto = False
    for info in t.columns:
        try:
            g = generic_of(info, frame.get(info.name))
        except UnmappableType as err:
            problems.append(f"{t.name}.{info.name} ({err.what})")
            continue
        typ = target_type(
            g,
            dialect,
            enum_values=info.enum_values,
            enum_name=enum_name(t.name, info.name),
            schema=schema,
        )
        args: list[sa.schema.SchemaItem] = []
        identity = info.identity and g.kind == "int"
        if identity and dialect == "postgresql":
            args.append(sa.Identity())  # BY DEFAULT: our values go in, the sequence follows
        auto = auto or (identity and dialect == "sqlite" and pk == [info.name])
        default = portable_default(info.default, g, dialect)
        if info.default and default is None:
            warnings.append(
                f"{t.name}.{info.name}: default {info.default!r} has no equivalent in "
                f"{dialect}; the column was created without it"
            )
        items.append(
            sa.Column(
                info.name,
                typ,
                *args,
                nullable=info.nullable and info.name not in pk,
                server_default=sa.text(default) if default else None,
                autoincrement=bool(identity) and (dialect == "postgresql" or pk == [info.name]),
            )
        )
    keys: list[sa.Constraint] = [sa.PrimaryKeyConstraint(*pk)] if pk else []
    keys += [sa.UniqueConstraint(*u.columns, name=u.name) for u in t.unique]
    for c in t.checks:
        sql = portable_check(c.sql, t.column_names, quote)
        if sql is None:
            warnings.append(
                f"{t.name}: check {c.name or c.sql!r} is not portable to {dialect}; the table "
                "was created without it"
            )
            continue
        items.append(sa.CheckConstraint(sa.text(sql), name=c.name))
    kw: dict[str, bool] = {"sqlite_autoincrement": True} if auto else {}
    table = sa.Table(t.name, md, *items, schema=schema, **kw)  # type: ignore[call-overload]
    return table, keys
