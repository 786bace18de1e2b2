"""`synthgen run` on sources of several tables: the Chinook recipe end to end into SQLite,
and what a multi-table run refuses (exit 2, nothing written)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.pipeline import run
from synthgen.recipe import Output, load_recipe
from tests.conftest import ROOT, SHARED, write_recipe


@pytest.mark.slow
def test_chinook_recipe_writes_a_database_whose_keys_all_hold(tmp_path: Path) -> None:
    if not (SHARED / "chinook").is_dir():
        pytest.skip("the shared Chinook CSVs are not here")
    recipe = load_recipe(ROOT / "recipes" / "chinook.yaml")
    db = tmp_path / "chinook.db"
    recipe.outputs = [Output(url=f"sqlite:///{db}")]
    result = run(recipe, out=tmp_path / "run")
    assert result.passed, result.report["gates"]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["metrics"]["schema"]["referential_integrity"] == 1.0
    assert report["metrics"]["schema"]["key_uniqueness"] == 1.0
    assert set(report["tables"]) == {p.stem for p in (SHARED / "chinook").glob("*.csv")}
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("<section id='table-") == 11
    # children per parent, real and synthetic, per foreign key: numbers and a plot each
    per = report["tables"]["Invoice"]["children_per_parent"]
    (key,) = per
    assert "Customer" in key and abs(sum(per[key]["real"]) - 1) < 1e-6
    assert abs(sum(per[key]["synthetic"]) - 1) < 1e-6
    assert per[key]["values"][0] >= 1  # every Chinook customer has invoices: no empty bars
    assert html.count('<img alt="children per parent') == sum(
        len(t["children_per_parent"]) for t in report["tables"].values()
    )
    # and privacy at the entity level, by customer
    assert "customer" in str(report["metrics"]["privacy"]["entity_dcr_share_per_root"]).lower()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        dup = "SELECT COUNT(*) FROM (SELECT 1 FROM PlaylistTrack GROUP BY PlaylistId, TrackId HAVING COUNT(*) > 1)"
        assert con.execute(dup).fetchone() == (0,)
        for t in ("Artist", "Album", "Track", "Customer", "Invoice", "InvoiceLine", "Employee"):
            real = set(pd.read_csv(SHARED / "chinook" / f"{t}.csv")[f"{t}Id"])
            syn = {r[0] for r in con.execute(f'SELECT "{t}Id" FROM "{t}"')}
            assert syn and not real & syn, t
            rows = con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            assert 0.7 < rows / len(real) < 1.4, t
        # invoices drawn as each customer's sequence (tables.Invoice.sequence): in date order
        inv = pd.read_sql('SELECT "CustomerId", "InvoiceDate" FROM "Invoice"', con)
    ordered = inv.groupby("CustomerId")["InvoiceDate"].apply(lambda s: s.is_monotonic_increasing)
    assert ordered.all()
    # the model folder: JSON and safetensors only
    files = [p for p in (tmp_path / "run" / "model").rglob("*") if p.is_file()]
    assert {p.suffix for p in files if p.name != ".synthgen"} <= {".json", ".safetensors"}


def _two_tables(tmp_path: Path) -> Path:
    folder = tmp_path / "db"
    folder.mkdir()
    pd.DataFrame({"cid": range(1, 31), "city": ["a", "b", "c"] * 10}).to_csv(
        folder / "customer.csv", index=False
    )
    pd.DataFrame(
        {"oid": range(1, 61), "cid": [1 + i % 30 for i in range(60)], "amount": range(60)}
    ).to_csv(folder / "orders.csv", index=False)
    return folder


def test_a_multi_table_recipe_with_privacy_is_refused(tmp_path: Path) -> None:
    _two_tables(tmp_path)
    recipe = write_recipe(
        tmp_path,
        "name: two\nsource: {path: db}\nprivacy: {epsilon: 1}\nsample: {rows: 10}\n"
        "generator: {name: ctgan}\npii: {consistent: [cid]}\n",
    )
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert "privacy:" in res.output and "sample.rows" in res.output and "ctgan" in res.output
    assert "pii.consistent" in res.output and "who is in the source" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "run").exists()


def test_a_folder_of_two_tables_runs_from_the_cli(tmp_path: Path) -> None:
    _two_tables(tmp_path)
    recipe = write_recipe(
        tmp_path,
        "name: two\nseed: 3\nsource: {path: db}\ngenerator: {name: autoreg, params: {min_steps: 20}}\n"
        f"outputs: [{{url: 'sqlite:///{tmp_path / 'out.db'}'}}]\n",
    )
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    orders = pd.read_csv(tmp_path / "run" / "synthetic" / "orders.csv")
    customers = pd.read_csv(tmp_path / "run" / "synthetic" / "customer.csv")
    assert orders["cid"].isin(customers["cid"]).all()
    assert not set(orders["oid"]) & set(range(1, 61))
    with sqlite3.connect(tmp_path / "out.db") as con:
        assert con.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == len(orders)


def test_validate_takes_two_folders_or_a_database_and_fails_a_broken_reference(
    tmp_path: Path,
) -> None:
    real = _two_tables(tmp_path)
    recipe = write_recipe(
        tmp_path,
        "name: two\nseed: 3\nsource: {path: db}\ngenerator: {name: autoreg, params: {min_steps: 20}}\n"
        f"outputs: [{{url: 'sqlite:///{tmp_path / 'out.db'}'}}]\n",
    )
    assert (
        CliRunner().invoke(cli, ["run", str(recipe), "--out", str(tmp_path / "run")]).exit_code == 0
    )
    for synthetic in (str(tmp_path / "run" / "synthetic"), f"sqlite:///{tmp_path / 'out.db'}"):
        args = ["validate", "--real", str(real), "--synthetic", synthetic]
        res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "val")])
        assert res.exit_code == 0, res.output
        report = json.loads((tmp_path / "val" / "report.json").read_text())
        assert report["metrics"]["schema"]["referential_integrity"] == 1.0
    broken = tmp_path / "broken"
    broken.mkdir()
    orders = pd.read_csv(tmp_path / "run" / "synthetic" / "orders.csv")
    orders.loc[:2, "cid"] = 10_000  # three orders of nobody
    orders.to_csv(broken / "orders.csv", index=False)
    (broken / "customer.csv").write_text(
        (tmp_path / "run" / "synthetic" / "customer.csv").read_text()
    )
    args = ["validate", "--real", str(real), "--synthetic", str(broken)]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "val2")])
    assert res.exit_code == 3, res.output
    report = json.loads((tmp_path / "val2" / "report.json").read_text())
    assert report["metrics"]["schema"]["referential_integrity"] < 1.0


@pytest.mark.slow
def test_chinook_from_sqlite_into_postgres(
    chinook_sqlite: str, pg_db, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHINOOK_SQLITE_URL", chinook_sqlite)
    # the recipe reads one variable; a URL inside it is not expanded again
    url = pg_db.url.replace("${SYNTHGEN_TEST_PG_PASSWORD}", pg_db.server.password)
    monkeypatch.setenv("SYNTHETIC_PG_URL", url)
    recipe = load_recipe(ROOT / "recipes" / "chinook-sqlite-to-postgres.yaml")
    result = run(recipe, out=tmp_path / "run")
    assert result.passed, result.report["gates"]
    syn = result.dataset
    for t in syn.names:
        assert pg_db.scalar(f'SELECT count(*) FROM "{t}"') == len(syn[t]), t
    orphans = pg_db.scalar(
        'SELECT count(*) FROM "InvoiceLine" l LEFT JOIN "Track" t USING ("TrackId") '
        'WHERE t."TrackId" IS NULL'
    )
    assert orphans == 0
    assert pg_db.scalar('SELECT count(*) FROM "Employee" WHERE "ReportsTo" IS NULL') >= 1


def test_pii_inside_values_gets_the_same_fake_in_every_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SYNTHGEN_PII_SECRET", raising=False)
    from synthgen.dataset import Dataset
    from synthgen.recipe import parse_recipe
    from synthgen.relational.run import _scrubbed

    emails = [f"person{i}@mailhost{i % 7}.org" for i in range(40)]
    a = pd.DataFrame({"id": range(40), "note": [f"write to {e} soon" for e in emails]})
    b = pd.DataFrame({"id": range(40), "memo": [f"cc {e}" for e in emails[::-1]]})
    ds = Dataset.of_frames({"a": a, "b": b})
    recipe = parse_recipe({"name": "p", "source": {"path": "x"}})
    warnings: list[str] = []
    out = _scrubbed(recipe, ds, warnings)
    fake_a = out["a"]["note"].str.extract(r"write to (\S+) soon")[0]
    fake_b = out["b"]["memo"].str.extract(r"cc (\S+)")[0][::-1].reset_index(drop=True)
    assert not fake_a.isin(emails).any()
    assert (fake_a == fake_b).all()
    again = _scrubbed(recipe, ds, [])  # no SYNTHGEN_PII_SECRET: the same data, the same fakes
    pd.testing.assert_frame_equal(again["a"], out["a"])
