"""`synthgen inspect` on a folder proposes sequence tables (issue 18): a child table whose
rows carry a datetime and whose parents have several rows each, at distinct times, with its
evidence and the recipe line that declares it. A proposal is not applied by `run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from synthgen.cli import cli
from tests.conftest import shared_csv


def test_chinooks_invoices_are_proposed_as_each_customers_sequence(tmp_path: Path):
    src = shared_csv("chinook/Invoice.csv").parent
    folder = tmp_path / "chinook"
    folder.mkdir()
    for t in ("Customer", "Invoice", "InvoiceLine"):
        shutil.copy(src / f"{t}.csv", folder / f"{t}.csv")
    got = CliRunner().invoke(cli, ["inspect", str(folder), "--json", str(tmp_path / "i.json")])
    assert got.exit_code == 0, got.output
    text = " ".join(got.output.split())
    assert "Invoice: each Customer row's events in InvoiceDate order (through CustomerId)" in text
    assert "declare: tables: {Invoice: {sequence: {order: InvoiceDate}}}" in text
    found = json.loads((tmp_path / "i.json").read_text())["sequences"]
    assert [p["table"] for p in found] == ["Invoice"]  # InvoiceLine has no time of its own
    ev = found[0]["evidence"]
    assert ev["rows"] == 412 and ev["median_per_parent"] == 7 and ev["several_share"] == 1.0


def test_rows_stamped_with_their_parents_time_are_not_a_sequence(tmp_path: Path):
    """An order's lines all carry the order's time: several rows per parent and a datetime,
    but no order among them; readings at distinct times are proposed."""
    r = np.random.default_rng(0)
    orders = pd.DataFrame({"order_id": np.arange(1, 61)})
    orders["placed"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 300, 60), "D")
    lines = orders.loc[np.repeat(orders.index, 4)].reset_index(drop=True)
    lines.insert(0, "line_id", np.arange(1, len(lines) + 1))
    lines["qty"] = r.integers(1, 5, len(lines))
    folder = tmp_path / "shop"
    folder.mkdir()
    orders.to_csv(folder / "orders.csv", index=False)
    lines.to_csv(folder / "lines.csv", index=False)
    got = CliRunner().invoke(cli, ["inspect", str(folder), "--json", "-"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.output)["sequences"] == []
    steps = pd.to_timedelta(lines.groupby("order_id").cumcount() * 6, "h")
    lines["placed"] = pd.to_datetime(lines["placed"]) + steps  # now each line its own time
    lines.to_csv(folder / "lines.csv", index=False)
    got = CliRunner().invoke(cli, ["inspect", str(folder), "--json", "-"])
    found = json.loads(got.output)["sequences"]
    assert [(p["table"], p["sequence"]["order"], p["entity"]) for p in found] == [
        ("lines", "placed", "order_id")
    ]


def test_the_starter_recipe_of_an_event_table_proposes_its_sequence_commented(tmp_path: Path):
    """`synthgen init` on Beijing's hours: a commented sequence: line with its evidence,
    which uncommented (with the sequential suite) is a valid recipe; none for a table of
    independent rows."""
    from synthgen import load_recipe
    from tests.conftest import ROOT

    out = tmp_path / "days.yaml"
    got = CliRunner().invoke(
        cli, ["init", str(ROOT / "data" / "beijing_days.csv"), "--out", str(out)]
    )
    assert got.exit_code == 0, got.output
    text = out.read_text()
    assert "# The rows look like each date's events in time order: 2,160 rows over" in text
    assert "# 90 date values, median 24 each, 100% with 2+, 100% at distinct times." in text
    line = '# sequence: {entity: "date", order: "time"}'
    assert line in text and load_recipe(out).sequence is None  # proposed, not applied
    out.write_text(text.replace(line, line[2:]).replace("suite: default", "suite: sequential"))
    recipe = load_recipe(out)
    assert recipe.sequence is not None and recipe.sequence.entity == "date"
    plain = tmp_path / "ins.yaml"
    got = CliRunner().invoke(cli, ["init", str(shared_csv("insurance.csv")), "--out", str(plain)])
    assert got.exit_code == 0 and "sequence" not in plain.read_text()
