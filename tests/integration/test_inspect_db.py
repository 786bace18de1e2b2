"""`synthgen inspect URL`: Chinook from a SQLite file and from PostgreSQL shows its 11
tables, every primary key and all 11 foreign keys; a password never reaches the output."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.dataset import DatasetSpec
from tests.integration.conftest import CHINOOK_FKS, chinook_pk


def invoke(*args: object):
    runner = CliRunner(env={"COLUMNS": "300"})
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def check_chinook(doc: dict) -> None:
    spec = DatasetSpec.model_validate(doc["dataset"])
    assert sorted(spec.names) == sorted(
        {t for t, *_ in CHINOOK_FKS} | {"Genre", "MediaType", "Artist", "Playlist"}
    )
    assert len(spec.names) == 11
    for t in spec.names:
        assert spec[t].primary_key == chinook_pk(t), t
        assert spec[t].primary_key_origin == "reflected", t
    fks = {(t, tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns)) for t, fk in spec.edges()}
    assert fks == {(t, tuple(c), p, tuple(pc)) for t, c, p, pc in CHINOOK_FKS}
    assert ("Employee", ("ReportsTo",), "Employee", ("EmployeeId",)) in fks


def test_inspect_a_sqlite_url(chinook_sqlite: str, tmp_path):
    res = invoke("inspect", chinook_sqlite, "--json", "-")
    assert res.exit_code == 0, res.output
    check_chinook(json.loads(res.output))
    res = invoke("inspect", chinook_sqlite, "--html", tmp_path / "c.html")
    assert res.exit_code == 0, res.output
    assert "11 tables" in res.output and "Employee.ReportsTo -> Employee.EmployeeId" in res.output
    assert (tmp_path / "c.html").stat().st_size > 1000
    some = invoke("inspect", chinook_sqlite, "--table", "Artist", "--table", "Album", "--json", "-")
    assert sorted(DatasetSpec.model_validate(json.loads(some.output)["dataset"]).names) == [
        "Album",
        "Artist",
    ]


def test_database_options_need_a_url(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n", encoding="utf-8")
    res = invoke("inspect", tmp_path / "a.csv", "--table", "a")
    assert res.exit_code == 2 and "--table and --db-schema are for a database URL" in res.output


@pytest.mark.postgres
def test_inspect_a_postgres_url_without_showing_its_password(chinook_dataset, pg_db):
    from synthgen.io.sql import write_sql

    write_sql(chinook_dataset, pg_db.url)
    res = invoke("inspect", pg_db.url, "--json", "-")
    assert res.exit_code == 0, res.output
    check_chinook(json.loads(res.output))
    shown = invoke("inspect", pg_db.url)
    assert shown.exit_code == 0 and "11 tables" in shown.output
    assert pg_db.server.password not in res.output + shown.output
