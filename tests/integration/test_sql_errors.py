"""Bad input to read_sql / write_sql: each one a clear error with exit code 2 that names
the (masked) database, the table and the fix; nothing half-written; no secret anywhere."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import _Group
from synthgen.dataset import ColumnInfo, Dataset, DatasetSpec, ForeignKey, TableSpec
from synthgen.errors import SchemaError, SynthgenError
from synthgen.io.sql import read_sql, write_sql

pg = pytest.mark.postgres
SECRET = "Zq9-not-a-real-pw-7Xk"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("SYNTHGEN_TEST_SECRET", SECRET)
    return "${SYNTHGEN_TEST_SECRET}"


def run_cli(fn) -> tuple[int, str]:
    """Run ``fn`` as a synthgen command would (the CLI's own error handling)."""

    @click.group(cls=_Group)
    def g() -> None:
        pass

    @g.command()
    def go() -> None:
        click.echo(repr(fn()))

    result = CliRunner().invoke(g, ["go"])
    return result.exit_code, result.output


def expect_exit2(fn, *words: str) -> str:
    with pytest.raises(SynthgenError) as info:
        fn()
    err = info.value
    assert err.exit_code == 2, err
    text = str(err)
    for w in words:
        assert w in text, (w, text)
    assert SECRET not in text
    code, output = run_cli(fn)
    assert code == 2 and "Traceback" not in output and SECRET not in output, output
    return text


# ---- SQLite and URLs: no server needed ----------------------------------------------------
def test_unknown_sqlite_file_and_table(tmp_path, chinook_sqlite):
    expect_exit2(lambda: read_sql(f"sqlite:///{tmp_path / 'nope.db'}"), "nope.db", "fix:")
    assert not (tmp_path / "nope.db").exists()  # reading never creates a file
    text = expect_exit2(lambda: read_sql(chinook_sqlite, tables=["track", "Nope"]), "Nope")
    assert "did you mean Track?" in text
    expect_exit2(lambda: read_sql(chinook_sqlite, schema="nope"), "schema 'nope'", "main")


def test_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not a database, just text\n" * 100)
    expect_exit2(lambda: read_sql(f"sqlite:///{bad}"), "notes.db", "not a database")
    t = TableSpec(name="T", columns=[ColumnInfo(name="n", sql_type="INTEGER")])
    ds = Dataset(DatasetSpec(tables=[t]), {"T": pd.DataFrame({"n": [1]})})
    expect_exit2(lambda: write_sql(ds, f"sqlite:///{bad}"), "notes.db")
    assert bad.read_text().startswith("not a database")


def test_foreign_key_to_a_table_not_read(chinook_sqlite):
    expect_exit2(
        lambda: read_sql(chinook_sqlite, tables=["Album"]),
        "Album.ArtistId -> Artist.ArtistId",
        "table Artist is not read",
        "add them to tables=",
    )


def test_foreign_key_to_a_missing_table_on_write(tmp_path):
    t = TableSpec(
        name="child",
        columns=[ColumnInfo(name="id"), ColumnInfo(name="pid")],
        foreign_keys=[ForeignKey(columns=["pid"], ref_table="ghost", ref_columns=["id"])],
    )
    spec = DatasetSpec.model_construct(format_version=1, tables=[t])  # skips the spec's check
    ds = Dataset(spec, {"child": pd.DataFrame({"id": [1], "pid": [2]})})
    out = tmp_path / "o.db"
    with pytest.raises(SchemaError, match="no table 'ghost'"):
        write_sql(ds, f"sqlite:///{out}")
    assert not out.exists()


def test_type_we_cannot_map_on_write(tmp_path):
    t = TableSpec(name="Shop", columns=[ColumnInfo(name="geo", sql_type="GEOMETRY(POINT)")])
    ds = Dataset(DatasetSpec(tables=[t]), {"Shop": pd.DataFrame({"geo": ["x"]})})
    out = tmp_path / "o.db"
    expect_exit2(lambda: write_sql(ds, f"sqlite:///{out}"), "Shop.geo", "GEOMETRY(POINT)", "fix:")
    assert not out.exists()


def test_output_that_holds_rows_is_refused(chinook_sqlite, chinook_dataset, tmp_path):
    copy = tmp_path / "c.db"
    shutil.copy(chinook_sqlite.removeprefix("sqlite:///"), copy)
    before = list(sqlite3.connect(copy).iterdump())
    text = expect_exit2(
        lambda: write_sql(chinook_dataset, f"sqlite:///{copy}"), "already holds rows", "replace"
    )
    assert "Artist" in text and "InvoiceLine" in text
    assert list(sqlite3.connect(copy).iterdump()) == before


def _broken_chinook(ds: Dataset) -> Dataset:
    """Chinook whose last table (InvoiceLine) references a track that does not exist."""
    lines = ds["InvoiceLine"].copy()
    lines.loc[lines.index[-1], "TrackId"] = 999_999
    return Dataset(ds.spec, {**ds.tables, "InvoiceLine": lines})


def test_failure_in_last_table_leaves_sqlite_as_it_was(chinook_sqlite, chinook_dataset, tmp_path):
    broken = _broken_chinook(chinook_dataset)
    assert broken.spec.order()[0][-1] == "InvoiceLine"
    # a new file: nothing appears, no temp file is left
    out = tmp_path / "new" / "o.db"
    out.parent.mkdir()
    expect_exit2(lambda: write_sql(broken, f"sqlite:///{out}"), "InvoiceLine", "rolled back")
    assert list(out.parent.iterdir()) == []
    # an existing file emptied by replace: every row is still there
    copy = tmp_path / "c.db"
    shutil.copy(chinook_sqlite.removeprefix("sqlite:///"), copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("CREATE TABLE keep (x INTEGER)")
        conn.execute("INSERT INTO keep VALUES (1), (2)")
    before = list(sqlite3.connect(copy).iterdump())
    expect_exit2(
        lambda: write_sql(broken, f"sqlite:///{copy}", mode="replace"),
        "writing table InvoiceLine",
        "FOREIGN KEY constraint failed",
    )
    assert list(sqlite3.connect(copy).iterdump()) == before


def test_bad_values_name_the_column(tmp_path):
    t = TableSpec(name="T", columns=[ColumnInfo(name="n", sql_type="INTEGER")])
    ds = Dataset(DatasetSpec(tables=[t]), {"T": pd.DataFrame({"n": [1.0, 2.5]})})
    expect_exit2(lambda: write_sql(ds, f"sqlite:///{tmp_path / 'o.db'}"), "T.n", "2.5")
    expect_exit2(lambda: write_sql(ds, f"sqlite:///{tmp_path / 'o.db'}", mode="merge"), "merge")


def test_urls_refused_before_any_work(secret_env):
    expect_exit2(lambda: read_sql("mysql://u:" + SECRET + "@h/db"), "not supported", "***")
    expect_exit2(lambda: read_sql("postgresql+psycopg2://u:" + SECRET + "@h/db"), "psycopg 3")
    expect_exit2(lambda: read_sql("not a url " + SECRET), "not a database URL")
    expect_exit2(lambda: read_sql("sqlite:///${SYNTHGEN_NOT_SET_ANYWHERE}"), "SYNTHGEN_NOT_SET")


def test_unreachable_host_fails_fast(secret_env):
    pytest.importorskip("psycopg")
    start = time.monotonic()
    text = expect_exit2(
        lambda: read_sql(f"postgresql+psycopg://u:{secret_env}@127.0.0.1:1/db"),
        "cannot reach",
        "127.0.0.1:1",
        "u:***@",
    )
    assert "make pg" in text
    # a host that never answers: the connect timeout ends it
    expect_exit2(
        lambda: read_sql(f"postgresql+psycopg://u:{secret_env}@192.0.2.1/db", connect_timeout=1),
        "192.0.2.1",
    )
    assert time.monotonic() - start < 15


# ---- PostgreSQL ---------------------------------------------------------------------------
@pg
def test_wrong_password_unknown_database_and_schema(pg_db, secret_env, monkeypatch):
    user_host = pg_db.url.split("//", 1)[1].split(":", 1)[0]
    port = pg_db.url.rsplit(":", 1)[1].split("/")[0]
    bad = f"postgresql+psycopg://{user_host}:{secret_env}@127.0.0.1:{port}/{pg_db.name}"
    expect_exit2(lambda: read_sql(bad), "cannot log in", "refused the password", "PGPASSWORD")
    nodb = pg_db.url.rsplit("/", 1)[0] + "/no_such_db_here"
    expect_exit2(lambda: read_sql(nodb), "'no_such_db_here' does not exist", "createdb")
    expect_exit2(lambda: read_sql(pg_db.url, schema="nowhere"), "schema 'nowhere'", "public")
    expect_exit2(lambda: read_sql(pg_db.url), "holds no tables")
    # no password in the URL: libpq takes PGPASSWORD, as psql would
    monkeypatch.setenv("PGPASSWORD", pg_db.server.password)
    bare = pg_db.url.replace(":${SYNTHGEN_TEST_PG_PASSWORD}@", "@")
    with pg_db.connect() as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    assert read_sql(bare).names == ["t"]
    monkeypatch.setenv("PGPASSWORD", SECRET)
    text = expect_exit2(lambda: read_sql(bare), "cannot log in")
    assert SECRET not in text


@pg
def test_type_we_cannot_map_on_read(pg_db):
    with pg_db.connect() as conn:
        conn.execute("CREATE TABLE spots (id int PRIMARY KEY, tags int[], at point, n int)")
    expect_exit2(
        lambda: read_sql(pg_db.url), "spots.tags (integer[])", "spots.at (point)", "view that casts"
    )


@pg
def test_failure_in_last_table_leaves_postgres_as_it_was(chinook_dataset, pg_db):
    def snapshot():
        with pg_db.connect() as conn:
            objs = conn.execute(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                "'information_schema', 'pg_toast') ORDER BY 1"
            ).fetchall()
            counts = {
                r: conn.execute(f'SELECT count(*) FROM "{r}"').fetchone()[0]
                for r, k in objs
                if k == "r"
            }
            types = conn.execute("SELECT count(*) FROM pg_type WHERE typtype = 'e'").fetchone()
        return objs, counts, types

    with pg_db.connect() as conn:
        conn.execute("CREATE TABLE keep (x int); INSERT INTO keep VALUES (1), (2)")
    broken = _broken_chinook(chinook_dataset)
    before = snapshot()
    text = expect_exit2(lambda: write_sql(broken, pg_db.url), "violates foreign key", "999999")
    assert "adding the keys of table InvoiceLine" in text  # new tables get keys after rows
    assert snapshot() == before
    # replace over a full copy: the emptying is rolled back with the rest
    write_sql(chinook_dataset, pg_db.url)
    before = snapshot()
    expect_exit2(lambda: write_sql(broken, pg_db.url, mode="replace"), "InvoiceLine")
    assert snapshot() == before
    expect_exit2(lambda: write_sql(chinook_dataset, pg_db.url), "already holds rows")
    expect_exit2(
        lambda: write_sql(chinook_dataset, pg_db.url, mode="append"), "duplicate key", "Artist"
    )
    assert snapshot() == before


@pg
def test_no_secret_in_messages_logs_output_or_files(
    pg_db, chinook_dataset, tmp_path, caplog, capfd
):
    """The password (filled from ${VAR}) appears in no message, log line, CLI output or
    written file, through a full round trip and its failures."""
    password = pg_db.server.password
    logging.getLogger("sqlalchemy").setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out.db"
    try:
        texts = []
        code, output = run_cli(lambda: write_sql(chinook_dataset, pg_db.url, schema="s"))
        texts.append(output)
        assert code == 0, output
        code, output = run_cli(
            lambda: write_sql(read_sql(pg_db.url, schema="s"), f"sqlite:///{out}")
        )
        texts.append(output)
        code, output = run_cli(lambda: write_sql(chinook_dataset, pg_db.url, schema="s"))
        texts.append(output)
        assert code == 2
        wrong = pg_db.url.replace(f"${{{'SYNTHGEN_TEST_PG_PASSWORD'}}}", password + "x")
        code, output = run_cli(lambda: read_sql(wrong))
        texts.append(output)
        assert code == 2 and "***" in output
    finally:
        logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    captured = capfd.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    for text in texts:
        assert password not in text
    assert out.exists()
    for root, _dirs, files in os.walk(tmp_path):
        for f in files:
            assert password.encode() not in Path(root, f).read_bytes(), f
