"""Generic SQL types: what a database column is, in words every dialect understands.

Reading maps a reflected SQLAlchemy type to a generic string (``INTEGER``, ``NUMERIC(10,2)``,
``VARCHAR(40)``, ``TIMESTAMPTZ``, ``ENUM`` with its labels...); writing maps the string
back to a type of the target dialect. A type outside this list (arrays, intervals, network
addresses, geometry...) is refused by name, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from synthgen.dataset.spec import ColumnInfo

# generic name -> the kind of values it holds (what pandas gets, what the writer sends)
KINDS = {
    "SMALLINT": "int",
    "INTEGER": "int",
    "BIGINT": "int",
    "NUMERIC": "decimal",
    "REAL": "float",
    "DOUBLE": "float",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMPTZ": "timestamptz",
    "CHAR": "text",
    "VARCHAR": "text",
    "TEXT": "text",
    "ENUM": "text",
    "UUID": "uuid",
    "JSON": "json",
    "BLOB": "blob",
}
_ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "MEDIUMINT": "INTEGER",
    "INT2": "SMALLINT",
    "TINYINT": "SMALLINT",
    "INT8": "BIGINT",
    "DECIMAL": "NUMERIC",
    "FLOAT4": "REAL",
    "FLOAT": "DOUBLE",
    "FLOAT8": "DOUBLE",
    "DOUBLE PRECISION": "DOUBLE",
    "BOOL": "BOOLEAN",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "TIME WITHOUT TIME ZONE": "TIME",
    "CHARACTER": "CHAR",
    "NCHAR": "CHAR",
    "BPCHAR": "CHAR",
    "CHARACTER VARYING": "VARCHAR",
    "NVARCHAR": "VARCHAR",
    "STRING": "TEXT",
    "CLOB": "TEXT",
    "JSONB": "JSON",
    "BYTEA": "BLOB",
}
_TYPE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")


class UnmappableType(Exception):
    """A column type with no generic equivalent; ``what`` names it."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Generic:
    name: str  # a key of KINDS
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    @property
    def kind(self) -> str:
        return KINDS[self.name]

    def text(self) -> str:
        if self.name in ("VARCHAR", "CHAR") and self.length:
            return f"{self.name}({self.length})"
        if self.name == "NUMERIC" and self.precision is not None:
            return f"NUMERIC({self.precision},{self.scale or 0})"
        return self.name


def parse_type(text: str) -> Generic:
    """``varchar(40)``, ``int4``, ``DATETIME``, ``numeric(10, 2)``... as a Generic."""
    m = _TYPE.match(text or "")
    if not m:
        raise UnmappableType(text)
    name = re.sub(r"\s+", " ", m.group(1).upper())
    name = _ALIASES.get(name, name)
    if name not in KINDS:
        raise UnmappableType(text)
    a = int(m.group(2)) if m.group(2) else None
    b = int(m.group(3)) if m.group(3) else None
    if name in ("VARCHAR", "CHAR"):
        return Generic(name, length=a)
    if name == "NUMERIC":
        return Generic(name, precision=a, scale=b if a is not None else None)
    return Generic(name)


def from_sqlalchemy(t: sa.types.TypeEngine[Any], dialect: str) -> tuple[Generic, list[str] | None]:
    """A reflected type as a Generic (and the labels of an enum)."""
    if isinstance(t, sa.Enum):
        return Generic("ENUM"), [str(e) for e in t.enums]
    if isinstance(t, sa.Boolean):
        return Generic("BOOLEAN"), None
    if isinstance(t, sa.SmallInteger):
        return Generic("SMALLINT"), None
    if isinstance(t, sa.BigInteger):
        return Generic("BIGINT"), None
    if isinstance(t, sa.Integer):
        return Generic("INTEGER"), None
    if isinstance(t, sa.Float):
        # SQLite's REAL is 8 bytes: only a real 4-byte float is REAL elsewhere
        four = dialect == "postgresql" and isinstance(t, sa.REAL)
        return Generic("REAL" if four else "DOUBLE"), None
    if isinstance(t, sa.Numeric):
        return Generic("NUMERIC", precision=t.precision, scale=t.scale), None
    if isinstance(t, sa.DateTime):
        return Generic("TIMESTAMPTZ" if t.timezone else "TIMESTAMP"), None
    if isinstance(t, sa.Date):
        return Generic("DATE"), None
    if isinstance(t, sa.Time) and not getattr(t, "timezone", False):
        return Generic("TIME"), None
    if isinstance(t, (sa.Text, sa.UnicodeText)):
        return Generic("TEXT"), None
    if isinstance(t, sa.CHAR | sa.NCHAR):
        return Generic("CHAR", length=t.length), None
    if isinstance(t, sa.String):  # VARCHAR, NVARCHAR, and text-like types such as CITEXT
        return Generic("VARCHAR", length=t.length), None
    if isinstance(t, sa.Uuid):
        return Generic("UUID"), None
    if isinstance(t, sa.JSON):
        return Generic("JSON"), None
    if isinstance(t, sa.LargeBinary):
        return Generic("BLOB"), None
    raise UnmappableType(_type_name(t))


def _type_name(t: sa.types.TypeEngine[Any]) -> str:
    try:
        return str(t.compile())
    except Exception:  # noqa: BLE001 - NullType and friends cannot render themselves
        return type(t).__name__


def column_info(name: str, col: dict[str, Any], dialect: str, in_pk: bool) -> ColumnInfo:
    """ColumnInfo of one reflected column (``Inspector.get_columns`` entry)."""
    g, labels = from_sqlalchemy(col["type"], dialect)
    default = col.get("default")
    identity = "identity" in col and col["identity"] is not None
    if default and str(default).lower().startswith("nextval("):  # serial
        identity, default = True, None
    return ColumnInfo(
        name=name,
        sql_type=g.text(),
        nullable=bool(col.get("nullable", True)) and not in_pk,
        default=str(default) if default is not None else None,
        length=g.length,
        precision=g.precision,
        scale=g.scale,
        identity=identity,
        enum_values=labels,
    )


def generic_of(info: ColumnInfo, series: pd.Series | None = None) -> Generic:
    """The generic type to create for a column: its sql_type, else one read off its values."""
    if info.sql_type:
        g = parse_type(info.sql_type)
        if g.name in ("VARCHAR", "CHAR") and g.length is None and info.length:
            g = Generic(g.name, length=info.length)
        if g.name == "NUMERIC" and g.precision is None and info.precision:
            g = Generic("NUMERIC", precision=info.precision, scale=info.scale)
        return g
    if info.enum_values:
        return Generic("ENUM")
    if series is None:
        return Generic("TEXT")
    dt = series.dtype
    if pd.api.types.is_bool_dtype(dt):
        return Generic("BOOLEAN")
    if pd.api.types.is_integer_dtype(dt):
        return Generic("BIGINT")
    if pd.api.types.is_float_dtype(dt):
        return Generic("DOUBLE")
    if isinstance(dt, pd.DatetimeTZDtype):
        return Generic("TIMESTAMPTZ")
    if pd.api.types.is_datetime64_dtype(dt):
        return Generic("TIMESTAMP")
    return Generic("TEXT")


def target_type(
    g: Generic, dialect: str, *, enum_values: list[str] | None, enum_name: str, schema: str | None
) -> sa.types.TypeEngine[Any]:
    """A type of the target dialect for a generic type."""
    n = g.name
    if n == "ENUM":
        labels = list(enum_values or [])
        if dialect == "postgresql":
            return postgresql.ENUM(*labels, name=enum_name, schema=schema)
        # elsewhere: VARCHAR with a CHECK listing the labels
        return sa.Enum(
            *labels,
            name=enum_name,
            native_enum=False,
            create_constraint=True,
            length=max((len(x) for x in labels), default=1),
        )
    if n == "UUID":
        return postgresql.UUID(as_uuid=False) if dialect == "postgresql" else sa.String(36)
    if n == "JSON":
        return postgresql.JSONB() if dialect == "postgresql" else sa.JSON()
    simple: dict[str, sa.types.TypeEngine[Any]] = {
        "SMALLINT": sa.SmallInteger(),
        "INTEGER": sa.Integer(),
        "BIGINT": sa.BigInteger(),
        "REAL": sa.REAL(),
        "DOUBLE": sa.Double(),
        "BOOLEAN": sa.Boolean(),
        "DATE": sa.Date(),
        "TIME": sa.Time(),
        "TIMESTAMP": sa.DateTime(),
        "TIMESTAMPTZ": sa.DateTime(timezone=True),
        "TEXT": sa.Text(),
        "BLOB": sa.LargeBinary(),
    }
    if n in simple:
        return simple[n]
    if n == "NUMERIC":
        return sa.Numeric(g.precision, g.scale) if g.precision else sa.Numeric()
    if n == "CHAR":
        return sa.CHAR(g.length)
    return sa.String(g.length)  # VARCHAR
