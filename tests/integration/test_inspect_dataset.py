"""`synthgen inspect FOLDER`: the dataset view, its JSON and its page, with CliRunner."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.dataset import DatasetSpec
from tests.conftest import SHARED


def invoke(*args: object):
    runner = CliRunner(env={"COLUMNS": "300"})  # wide enough that no cell wraps
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def chinook() -> Path:
    folder = SHARED / "chinook"
    if not folder.exists():
        pytest.skip("public data set chinook not found beside the repository")
    return folder


def test_chinook_shows_tables_relationships_and_writes_json_and_html(chinook: Path, tmp_path: Path):
    res = invoke("inspect", chinook, "--json", tmp_path / "d.json", "--html", tmp_path / "d.html")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "chinook: 11 tables" in out and "relationships: 11 foreign keys" in out
    assert "PlaylistId + TrackId (detected)" in out
    assert "Customer.SupportRepId -> Employee.EmployeeId" in out
    assert "warning:" not in out  # every table has a key, no orphans, no cycle

    doc = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert doc["format_version"] == 1
    spec = DatasetSpec.model_validate(doc["dataset"])
    assert len(list(spec.edges())) == 11 and spec["PlaylistTrack"].primary_key_origin == "detected"
    assert doc["schemas"]["Customer"]["columns"][11]["pii_type"] == "email"
    rel = {(r["child"], r["columns"][0]): r for r in doc["profile"]["relationships"]}[
        ("Invoice", "CustomerId")
    ]
    assert (rel["children_min"], rel["children_median"], rel["children_max"]) == (6, 7, 7)

    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
    assert "Employee.ReportsTo -&gt; Employee.EmployeeId" in page


def test_json_to_stdout_is_only_json(chinook: Path):
    res = invoke("inspect", chinook, "--json", "-")
    assert res.exit_code == 0
    assert len(json.loads(res.stdout)["profile"]["tables"]) == 11


def test_warnings_for_a_table_without_key_and_orphans(tmp_path: Path):
    rng = np.random.default_rng(0)
    pd.DataFrame({"store_id": range(1, 11), "city": list("abcdefghij")}).to_csv(
        tmp_path / "stores.csv", index=False
    )
    sales = pd.DataFrame(
        {
            "store_id": np.r_[rng.integers(1, 11, 95), [11, 11, 12, 13, 13]],
            "amount": rng.random(100),
        }
    )
    sales.to_parquet(tmp_path / "sales.parquet")
    res = invoke("inspect", tmp_path)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "relationships: 1 foreign key " in text
    assert "warning: sales has no primary key" in text
    assert (
        "warning: sales.store_id -> stores.store_id: 5 orphaned references (5.0 % of 100)" in text
    )
    assert "to 3 values missing from stores (e.g. 11, 13, 12)" in text


def test_bad_folders_and_html_for_a_file_are_exit_2(tmp_path: Path):
    res = invoke("inspect", tmp_path)
    assert res.exit_code == 2 and "has no table files" in res.output
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert "relationships: no foreign keys found" in invoke("inspect", tmp_path).output
    (tmp_path / "a.tsv").write_text("x\n1\n")
    res = invoke("inspect", tmp_path)
    assert res.exit_code == 2 and "same table: a.csv and a.tsv" in res.output
    res = invoke("inspect", tmp_path / "a.csv", "--html", tmp_path / "x.html")
    assert res.exit_code == 2 and "give a folder, not a file" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "x.html").exists()
