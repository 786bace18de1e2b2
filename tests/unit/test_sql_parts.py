"""The pieces of synthgen.io.sql that need no database: URLs and masks, generic types,
portable checks and defaults, parents-first row order, value conversion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from synthgen.dataset import ForeignKey
from synthgen.errors import DataError, MissingExtraError, UsageError
from synthgen.io.sql import mask_url, parse_url
from synthgen.io.sql.ddl import portable_check, portable_default
from synthgen.io.sql.order import parents_first
from synthgen.io.sql.types import Generic, UnmappableType, parse_type
from synthgen.io.sql.values import db_values, to_series


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql+psycopg://bob:s3cret@db:5432/x", "postgresql+psycopg://bob:***@db:5432/x"),
        (
            "postgresql://bob:p%40ss@db/x?sslmode=require",
            "postgresql://bob:***@db/x?sslmode=require",
        ),
        ("postgresql://bob@db/x?password=s3cret&x=1", "postgresql://bob@db/x?password=***&x=1"),
        ("postgresql://db/x?Token=abc", "postgresql://db/x?Token=***"),
        ("sqlite:///data/x.db", "sqlite:///data/x.db"),
    ],
)
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_vars_filled_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_PW", "p@ss:/word")  # needs no quoting inside ${}
    monkeypatch.setenv("DB_HOST", "db.example")
    db = parse_url("postgresql://bob:${DB_PW}@${DB_HOST}:5433/shop")
    assert db.url.password == "p@ss:/word" and db.url.host == "db.example"
    assert db.url.drivername == "postgresql+psycopg"
    assert "p@ss" not in db.shown and db.shown.startswith("postgresql+psycopg://bob:***@db.example")
    assert db.scrub("failed for p@ss:/word") == "failed for ***"
    monkeypatch.setenv("WHOLE", "sqlite:///w.db")
    assert parse_url("${WHOLE}").sqlite_path is not None
    monkeypatch.setenv("PORT", "6000")
    assert parse_url("postgresql://u@h:${PORT}/d").url.port == 6000


def test_missing_var_is_named_never_its_neighbours(monkeypatch):
    monkeypatch.delenv("NOPE_PW", raising=False)
    with pytest.raises(UsageError, match=r"\$\{NOPE_PW\}.*NOPE_PW is not set") as info:
        parse_url("postgresql://bob:${NOPE_PW}@h/d")
    assert info.value.exit_code == 2


def test_pgpassword_is_scrubbed_too(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "from-env-pw")
    assert parse_url("postgresql://bob@h/d").scrub("x from-env-pw y") == "x *** y"


def test_missing_postgres_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "psycopg" else real(n, *a)
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'synthgen\[postgres\]'"):
        parse_url("postgresql://u@h/d")
    assert parse_url("sqlite:///x.db").is_sqlite  # SQLite needs nothing


@pytest.mark.parametrize(
    "text, generic",
    [
        ("int", Generic("INTEGER")),
        ("int8", Generic("BIGINT")),
        ("NVARCHAR(120)", Generic("VARCHAR", length=120)),
        ("character varying(40)", Generic("VARCHAR", length=40)),
        ("numeric(10, 2)", Generic("NUMERIC", precision=10, scale=2)),
        ("DECIMAL", Generic("NUMERIC")),
        ("DATETIME", Generic("TIMESTAMP")),
        ("timestamp with time zone", Generic("TIMESTAMPTZ")),
        ("double precision", Generic("DOUBLE")),
        ("bytea", Generic("BLOB")),
    ],
)
def test_parse_type(text, generic):
    assert parse_type(text) == generic


def test_parse_type_refuses_what_it_does_not_know():
    for text in ("GEOMETRY", "int[]", "INTERVAL", ""):
        with pytest.raises(UnmappableType):
            parse_type(text)
    assert parse_type("numeric(10,2)").text() == "NUMERIC(10,2)"


def q(name: str) -> str:
    return f'"{name}"'


@pytest.mark.parametrize(
    "sql, portable",
    [
        ("price > 0::numeric", '"Price" > 0'),
        ("(qty >= 1) AND (qty <= 10)", '( "qty" >= 1 ) AND ( "qty" <= 10 )'),
        ('"Price" BETWEEN 0 AND 9.5', '"Price" BETWEEN 0 AND 9.5'),
        ("kind IN ('a', 'b''c')", "\"kind\" IN ( 'a' , 'b''c' )"),
        ("length(kind) > 2", None),  # a function
        ("other > 0", None),  # not a column of the table
        ("kind ~ '^a'", None),  # an operator only PostgreSQL has
        ("(kind)::text = ANY ((ARRAY['a'::character varying])::text[])", None),
    ],
)
def test_portable_check(sql, portable):
    assert portable_check(sql, ["Price", "qty", "kind"], q) == portable


def test_portable_default():
    g_text, g_bool = Generic("TEXT"), Generic("BOOLEAN")
    assert portable_default("'none'::character varying", g_text, "sqlite") == "'none'"
    assert portable_default("now()", Generic("TIMESTAMP"), "sqlite") == "CURRENT_TIMESTAMP"
    assert portable_default("1", g_bool, "postgresql") == "TRUE"
    assert portable_default("false", g_bool, "sqlite") == "0"
    assert portable_default("(-2.5)", Generic("DOUBLE"), "postgresql") == "-2.5"
    assert portable_default("gen_random_uuid()", Generic("UUID"), "sqlite") is None


def test_parents_first_orders_rows_and_defers_cycles():
    fk = ForeignKey(columns=["boss"], ref_table="t", ref_columns=["id"])
    df = pd.DataFrame({"id": [4, 3, 2, 1, 8, 9, 5], "boss": [3, 2, 1, None, 9, 8, 5]})
    order, deferred = parents_first(df, fk)
    ids = df["id"].to_numpy()[order].tolist()
    for child, parent in [(4, 3), (3, 2), (2, 1)]:
        assert ids.index(parent) < ids.index(child)
    assert sorted(ids) == sorted(df["id"])
    # 8 <-> 9 is a cycle: both go in with the reference empty; 5 references itself: fine
    assert sorted(np.asarray(ids)[deferred].tolist()) == [8, 9]


def test_values_read_back_with_sensible_dtypes():
    ints = to_series([1, None, 3], "int", True, "t.c")
    assert str(ints.dtype) == "Int64" and ints.isna().tolist() == [False, True, False]
    assert to_series([1, 2], "int", False, "t.c").dtype == np.int64
    assert str(to_series([Decimal("1.25"), None], "decimal", True, "t.c").dtype) == "float64"
    dates = to_series(["2020-01-02", None], "date", True, "t.c")
    assert str(dates.dtype) in ("datetime64[ns]", "datetime64[us]")  # pandas 3 infers us
    far = to_series([dt.date(9999, 12, 31)], "date", True, "t.c")  # beyond nanoseconds
    assert far.iloc[0].year == 9999
    assert to_series([1, 0, None], "bool", True, "t.c").tolist()[:2] == [True, False]
    with pytest.raises(DataError, match="t.c .*fraction"):
        to_series([1.5], "int", True, "t.c")


def test_values_written_for_each_dialect():
    s = pd.Series(pd.to_datetime(["2020-01-02 03:04:05", None]))
    assert db_values(s, "timestamp", "sqlite", "w") == ["2020-01-02 03:04:05", None]
    assert db_values(s, "date", "postgresql", "w") == [dt.date(2020, 1, 2), None]
    price = pd.Series([0.99, np.nan])
    assert db_values(price, "decimal", "postgresql", "w") == [Decimal("0.99"), None]
    assert db_values(price, "decimal", "sqlite", "w") == [0.99, None]
    assert db_values(pd.Series([1.0, np.nan]), "int", "sqlite", "w") == [1, None]
    assert db_values(pd.Series(["a", None, 3]), "text", "sqlite", "w") == ["a", None, "3"]
    with pytest.raises(DataError, match="w goes to an integer column but holds 2.5"):
        db_values(pd.Series([2.5]), "int", "sqlite", "w")
