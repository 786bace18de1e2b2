"""A fixtures recipe (``fixtures:`` and no ``source:``) run by ``synthgen run``: the shipped
example fills its database, the same seed gives the same dump, bad settings are named."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import RecipeError
from synthgen.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "fixtures-shop" / "fixtures.yaml"


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _dump(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def test_the_shipped_fixtures_recipe_fills_its_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("run", RECIPE)
    assert res.exit_code == 0, res.output
    db = tmp_path / "out" / "shop-fixtures.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM order_item").fetchone() == (4000,)
        statuses = {r[0] for r in conn.execute('SELECT DISTINCT status FROM "order"')}
    assert statuses <= {"new", "paid", "shipped", "cancelled"}  # the overrides file was read
    summary = json.loads((tmp_path / "runs" / "shop-fixtures" / "fixtures.json").read_text())
    assert summary["rows"]["order_item"] == 4000 and summary["seed"] == 7
    first = _dump(db)
    assert invoke("run", RECIPE, "-q").exit_code == 0  # mode: replace, the same seed
    assert _dump(db) == first
    assert invoke("run", RECIPE, "--seed", "8", "-q").exit_code == 0
    assert _dump(db) != first


def _recipe(tmp_path: Path, body: str) -> Path:
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n BETWEEN 1 AND 9));\n"
    )
    p = tmp_path / "r.yaml"
    p.write_text("version: 1\nname: fx\nfixtures:\n" + body)
    return p


def test_a_recipe_to_a_folder_of_csv_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = _recipe(tmp_path, "  schema: schema.sql\n  rows: 12\n  to: csv/\n")
    res = invoke("run", p)
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "csv" / "t.csv").read_text().splitlines()
    assert lines[0] == "id,n" and len(lines) == 13


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        ("  schema: schema.sql\n  rows: 5\n", (), "fixtures.to"),
        ("  schema: schema.sql\n  rowz: 5\n  to: x/\n", (), "rowz"),
        ("  schema: nope.sql\n  to: x/\n", (), "nope.sql"),
        ("  schema: schema.sql\n  to: x/\n", ("--where", "n=3"), "--where"),
        ("  schema: schema.sql\n  to: x/\n  mode: append\n", (), "for databases"),
    ],
)
def test_bad_fixtures_recipes_are_named(tmp_path, monkeypatch, body, args, message):
    monkeypatch.chdir(tmp_path)
    res = invoke("run", _recipe(tmp_path, body), *args)
    assert res.exit_code == 2, res.output
    assert message in res.output.replace("\n", " ")
    assert not (tmp_path / "x").exists()


def test_load_recipe_points_a_fixtures_recipe_to_run():
    with pytest.raises(RecipeError, match="fixtures recipe"):
        load_recipe(RECIPE)
