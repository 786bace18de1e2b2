"""Recipes on databases and folders: a table read from SQLite or PostgreSQL (its URL with
${VAR}), synthesised, written into a database in one transaction; the dataset's keys saved
with the run; a password never written anywhere."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from tests.conftest import SHARED, write_recipe

GATES = (
    "validate: {gates: {quality: 0, column_shapes: 0, dcr_share: 1, membership: 1, "
    "exact_copies: 1, pii_replay: 100000}}\n"
)


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_a_table_from_sqlite_into_sqlite(chinook_sqlite: str, tmp_path: Path) -> None:
    out_db = tmp_path / "out.db"
    recipe = write_recipe(
        tmp_path,
        f"name: customers\nseed: 2\nsource: {{url: '{chinook_sqlite}', tables: [Customer]}}\n"
        "sample: {rows: 150}\n" + GATES + f"outputs:\n  - {{url: 'sqlite:///{out_db}'}}\n",
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    assert (run / "synthetic" / "Customer.csv").is_file()
    for where in (run, run / "model"):
        ds = json.loads((where / "dataset.json").read_text(encoding="utf-8"))
        (customer,) = ds["tables"]
        assert customer["name"] == "Customer" and customer["primary_key"] == ["CustomerId"]
    with sqlite3.connect(out_db) as conn:
        n, distinct = conn.execute(
            'SELECT count(*), count(DISTINCT "CustomerId") FROM "Customer"'
        ).fetchone()
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name='Customer'").fetchone()[0]
    assert n == distinct == 150 and "PRIMARY KEY" in ddl
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert report["outputs"][0]["written"] is True
    # a second run into the same table: refused (it holds rows), the database unchanged
    again = invoke("run", recipe, "--out", tmp_path / "run2")
    assert again.exit_code == 2 and "Customer" in again.output
    with sqlite3.connect(out_db) as conn:
        assert conn.execute('SELECT count(*) FROM "Customer"').fetchone()[0] == 150


def test_several_tables_run_together_unless_asked_what_they_cannot_and_unknown_ones_are_named(
    chinook_sqlite: str, tmp_path: Path
) -> None:
    # a whole database runs (test_relational_runs.py); under privacy it is refused, at once
    recipe = write_recipe(
        tmp_path, f"name: all\nsource: {{url: '{chinook_sqlite}'}}\nprivacy: {{epsilon: 1}}\n"
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2 and "holds 11 tables" in res.output and "source.tables" in res.output
    assert not (tmp_path / "run").exists()
    folder = SHARED / "chinook"
    if not folder.is_dir():
        pytest.skip("public data set chinook not found beside the repository")
    shutil.copytree(folder, tmp_path / "chinook")
    recipe = write_recipe(
        tmp_path, "name: f\nsource: {path: chinook, tables: [Genre, Nope]}\n", "f.yaml"
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2 and "no table 'Nope'" in res.output and "MediaType" in res.output


def test_a_folder_table(tmp_path: Path) -> None:
    folder = SHARED / "chinook"
    if not folder.is_dir():
        pytest.skip("public data set chinook not found beside the repository")
    shutil.copytree(folder, tmp_path / "chinook")
    recipe = write_recipe(
        tmp_path,
        "name: tracks\nseed: 1\nsource: {path: chinook, tables: [Track]}\n"
        "sample: {rows: 300}\n" + GATES,
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "synthetic" / "Track.csv").is_file()


@pytest.mark.postgres
def test_postgres_in_and_out_with_the_password_in_the_environment(
    chinook_dataset, pg_db, tmp_path: Path
) -> None:
    from synthgen.io.sql import write_sql

    write_sql(chinook_dataset, pg_db.url)
    recipe = write_recipe(
        tmp_path,
        f"name: inv\nseed: 4\nsource: {{url: '{pg_db.url}', tables: [Invoice]}}\n"
        "sample: {rows: 200}\n"
        + GATES
        + f"outputs:\n  - {{url: '{pg_db.url}', table: synthetic_invoice}}\n",
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    assert pg_db.scalar('SELECT count(*) FROM "synthetic_invoice"') == 200
    assert pg_db.scalar('SELECT count(*) FROM "Invoice"') == 412  # the source is untouched
    password = pg_db.server.password
    assert password not in res.output
    for f in (tmp_path / "run").rglob("*"):
        if f.is_file():
            assert password.encode() not in f.read_bytes(), f


def test_declared_keys_win_and_bad_ones_are_named(tmp_path: Path) -> None:
    folder = SHARED / "chinook"
    if not folder.is_dir():
        pytest.skip("public data set chinook not found beside the repository")
    shutil.copytree(folder, tmp_path / "chinook")
    recipe = write_recipe(
        tmp_path,
        "name: g\nseed: 1\nsource: {path: chinook, tables: [Genre]}\nsample: {rows: 50}\n"
        "tables: {Genre: {primary_key: GenreId, unique: [[Name]]}}\n" + GATES,
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    (genre,) = json.loads((tmp_path / "run" / "dataset.json").read_text())["tables"]
    assert genre["primary_key"] == ["GenreId"] and genre["primary_key_origin"] == "declared"
    assert [u["columns"] for u in genre["unique"]] == [["Name"]]
    bad = write_recipe(
        tmp_path,
        "name: g\nsource: {path: chinook, tables: [Genre]}\n"
        "tables:\n  Genre: {primary_key: [Nope], foreign_keys: [{columns: Name, ref_table: "
        "Artist, ref_columns: ArtistId}]}\n  Patients: {primary_key: [id]}\n",
        "bad.yaml",
    )
    res = invoke("run", bad, "--out", tmp_path / "run2")
    assert res.exit_code == 2
    assert "tables.Patients: no table 'Patients'" in res.output
    assert "tables.Genre.primary_key: no column 'Nope'" in res.output
    assert not (tmp_path / "run2").exists()
