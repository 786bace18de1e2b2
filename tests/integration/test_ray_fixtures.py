"""`synthgen fixtures --engine ray`: the chunks of schema-made values and of parent picks
made by Ray workers, on a real local 2-CPU cluster; the same rows as the local engine for
any worker count, into a database in one transaction; clear errors before any work."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import UsageError
from synthgen.fixtures.command import run_fixtures
from tests.integration.fixtures_schemas import SQLITE_SCHEMA
from tests.ray_cluster import local_ray

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster():
    with local_ray() as r:
        yield r


@pytest.fixture
def schema_sql(tmp_path: Path) -> Path:
    p = tmp_path / "schema.sql"
    p.write_text(SQLITE_SCHEMA, encoding="utf-8")
    return p


def _tables(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_the_same_rows_on_ray_with_1_or_2_workers_as_here(cluster, schema_sql, tmp_path):
    rows = ("400",)
    here = run_fixtures(str(schema_sql), str(tmp_path / "here"), rows, seed=5)
    for w in (1, 2):  # chunks of 97 rows: many chunks per table, on either worker
        got = run_fixtures(
            str(schema_sql), str(tmp_path / f"ray{w}"), rows, seed=5, chunk_rows=97,
            engine="ray", workers=w,
        )  # fmt: skip
        assert got.rows == here.rows
        assert _tables(tmp_path / f"ray{w}") == _tables(tmp_path / "here")
    assert sum(here.rows.values()) > 1000


def test_fixtures_into_sqlite_on_ray_keep_every_key(cluster, schema_sql, tmp_path):
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SQLITE_SCHEMA)
    res = CliRunner().invoke(
        cli,
        ["fixtures", "--schema", str(schema_sql), "--rows", "300", "--to", f"sqlite:///{db}",
         "--seed", "5", "--engine", "ray", "--workers", "2"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        got = {t: pd.read_sql(f"SELECT * FROM {t}", conn) for t in ("employee",)}
    assert len(got["employee"]) > 0


def test_bad_ray_options_are_clear_errors_before_any_work(schema_sql, tmp_path):
    with pytest.raises(UsageError, match="cannot reach the Ray cluster"):
        run_fixtures(str(schema_sql), str(tmp_path / "o"), ("10",), engine="ray",
                     address="127.0.0.1:1")  # fmt: skip
    res = CliRunner().invoke(
        cli,
        ["fixtures", "--schema", str(schema_sql), "--to", str(tmp_path / "o"), "--workers", "2"],
    )
    assert res.exit_code == 2 and "add --engine ray" in res.output
    assert not (tmp_path / "o").exists()
