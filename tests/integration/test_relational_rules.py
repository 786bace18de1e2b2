"""Rules on the tables of a multi-table run (issue 17): each rule names its table, the
synthetic dataset breaks none of them while its keys all resolve, a child row drawn again
keeps its parent, real rows breaking a rule are reported and left out, a rule on an unknown
table or on a key is refused before any work (exit 2), the same seed gives the same tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.constraints.spec import ConstraintsSpec
from synthgen.dataset import Dataset, DatasetSpec
from synthgen.errors import DataError, RecipeError
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.rules import split_rules
from synthgen.stats import tv_complement
from tests.conftest import SHARED, write_recipe
from tests.integration import relational_data as rd

CHINOOK = SHARED / "chinook"
RULES = """constraints:
  - {type: range, table: Invoice, column: Total, min: 1.5}
  - {type: fixed_combinations, table: Invoice, columns: [BillingState, BillingCountry]}
  - {type: expression, table: Invoice, expr: "Total <= 4 or Total >= 8"}
  - {type: inequality, table: Track, low: Milliseconds, high: Bytes}
  - {type: expression, table: Track, expr: "Bytes >= 30 * Milliseconds"}
"""


def invoke(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def chinook_recipe(tmp: Path, rules: str = RULES) -> Path:
    if not CHINOOK.is_dir():
        pytest.skip("the shared Chinook CSVs are not here")
    body = (
        f"name: chinook-rules\nseed: 3\nsource: {{path: {CHINOOK}}}\nholdout: 0\n"
        f"generator: {{name: copula}}\nvalidate: {{suite: relational}}\n{rules}"
    )
    return write_recipe(tmp, body)


def read(run: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(run / "synthetic" / f"{table}.csv", keep_default_na=False, na_values=[""])


def test_chinook_rules_on_child_tables_hold_and_keys_resolve(tmp_path: Path) -> None:
    res = invoke("run", chinook_recipe(tmp_path), "--out", tmp_path / "run", "-q")
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    inv, track, cust = read(run, "Invoice"), read(run, "Track"), read(run, "Customer")
    # every rule, counted here from the written files (not by the run's own checker)
    assert (inv["Total"] >= 1.5).all()
    assert not ((inv["Total"] > 4) & (inv["Total"] < 8)).any()
    assert (track["Milliseconds"] <= track["Bytes"]).all()
    assert (track["Bytes"] >= 30 * track["Milliseconds"]).all()
    src = pd.read_csv(CHINOOK / "Invoice.csv", keep_default_na=False, na_values=[""])
    real = set(zip(src["BillingState"].fillna("-"), src["BillingCountry"], strict=True))
    states = set(src["BillingState"].dropna())  # a state written as PII gets a fake name
    pairs = zip(inv["BillingState"].fillna("-"), inv["BillingCountry"], strict=True)
    assert all(p in real for p in pairs if p[0] in states or p[0] == "-")
    # keys: every invoice's customer exists, every line's invoice and track exist
    assert inv["CustomerId"].isin(cust["CustomerId"]).all()
    assert not inv["InvoiceId"].duplicated().any()
    lines = read(run, "InvoiceLine")
    assert lines["InvoiceId"].isin(inv["InvoiceId"]).all()
    assert lines["TrackId"].isin(track["TrackId"]).all()
    report = json.loads((run / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["name"] == "constraints")
    assert gate["status"] == "pass" and gate["value"] == 0
    c = report["constraints"]
    assert "Invoice: 1.5 <= Total" in [r["id"] for r in c["rules"]]
    low = next(v for v in c["real_violations"] if v["rule"].startswith("constraints[0]"))
    assert low["table"] == "Invoice" and low["rows"] == int((src["Total"] < 1.5).sum())
    assert c["resampled_rows"] > 0  # child rows drawn again (given their parents)
    assert "<h2>Rules</h2>" in (run / "report.html").read_text()


def test_a_combination_rule_keeps_the_chinook_countries(chinook_dataset: Dataset) -> None:
    """Invoices of Germany, France, the UK and Portugal have no BillingState: each pair
    with a missing state is a combination of its own. They were one (a NUL in the key),
    and every such invoice came out German (Germany 178 of 412, France gone)."""
    keep = ("Customer", "Invoice")
    tables = [
        t.model_copy(update={"foreign_keys": [f for f in t.foreign_keys if f.ref_table in keep]})
        for t in chinook_dataset.spec.tables
        if t.name in keep
    ]
    ds = Dataset(DatasetSpec(tables=tables), {t: chinook_dataset[t] for t in keep})
    cols = ["BillingState", "BillingCountry"]
    pair = {"type": "fixed_combinations", "table": "Invoice", "columns": cols}
    real = ds["Invoice"]["BillingCountry"]
    tv = {}
    for name, rules in (("free", []), ("rule", [pair])):
        spec = split_rules(ConstraintsSpec.model_validate({"detect": False, "rules": rules}), ds)
        syn = RelationalSynthesizer("copula").fit(ds, seed=1, rules=spec).sample(seed=1)
        tv[name] = tv_complement(real, syn["Invoice"]["BillingCountry"])
    assert tv["rule"] >= tv["free"] - 0.05, tv
    assert syn["Invoice"]["BillingCountry"].isin(["France", "United Kingdom", "Portugal"]).any()


def test_a_rule_on_an_unknown_table_or_a_key_exits_2(tmp_path: Path) -> None:
    rules = """constraints:
  - {type: range, table: Invoices, column: Total, min: 0}
  - {type: positive, table: Invoice, column: CustomerId}
  - {type: range, table: Track, column: Seconds, min: 0}
  - {type: range, column: Total, min: 0}
"""
    res = invoke("run", chinook_recipe(tmp_path, rules), "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert "no table 'Invoices' in the source" in out and "did you mean 'Invoice'?" in out
    assert "'CustomerId' is a key of table Invoice" in out
    assert "no column 'Seconds' in table Track" in out
    assert "constraints[3] (range 0 <= Total): name its table (table: TABLE)" in out
    assert "Invoice" in out.split("constraints[3]")[1]  # the table that has the column
    assert "Traceback" not in res.output and not (tmp_path / "run").exists()


def shops(seed: int = 0) -> Dataset:
    """Shops of the north sell for about 100, of the south for about 1000."""
    r = np.random.default_rng(seed)
    shop = pd.DataFrame({"sid": np.arange(1, 121), "region": r.choice(["north", "south"], 120)})
    rows = []
    for sid, region in zip(shop["sid"], shop["region"], strict=True):
        mu = 100 if region == "north" else 1000
        rows += [(sid, round(float(r.normal(mu, mu / 10)), 2)) for _ in range(r.integers(2, 9))]
    sale = pd.DataFrame(rows, columns=["sid", "amount"])
    sale.insert(0, "id", np.arange(1, len(sale) + 1))
    spec = DatasetSpec(
        tables=[
            rd.table("shop", shop, ["sid"]),
            rd.table("sale", sale, ["id"], [("sid", "shop", "sid")]),
        ]
    )
    return Dataset(spec, {"shop": shop, "sale": sale})


HALF = {
    "detect": False,
    "rules": [{"type": "expression", "table": "sale", "expr": "amount % 2 >= 1"}],
}


def fit(ds: Dataset, spec: dict, seed: int = 1) -> RelationalSynthesizer:  # type: ignore[type-arg]
    rules = split_rules(ConstraintsSpec.model_validate(spec), ds)
    return RelationalSynthesizer("autoreg", {"min_steps": 40}).fit(ds, seed=seed, rules=rules)


def test_a_child_row_drawn_again_keeps_its_parent(tmp_path: Path) -> None:
    """Half the sales break the rule however they are drawn: each is drawn again given
    its own shop, so a northern shop still sells for about 100 (drawn given another shop's
    context, about one in six sales would go to the wrong region)."""
    ds = shops()
    m = fit(ds, HALF)
    assert any("real row(s) break it" in w and "sale" in w for w in m.warnings_)
    syn = m.sample(seed=1)
    assert m.rules_["sale"].resampled > 100
    sale = syn["sale"].merge(syn["shop"], on="sid", how="left", validate="many_to_one")
    assert sale["region"].notna().all()  # every sale's shop exists
    assert (sale["amount"] % 2 >= 1).all()
    north = sale["region"] == "north"
    wrong = (north & (sale["amount"] > 500)) | (~north & (sale["amount"] < 500))
    assert wrong.mean() < 0.08, wrong.mean()
    # the same seed, the same tables, from the fitted model and from its saved folder
    again = fit(ds, HALF).sample(seed=1)
    loaded = RelationalSynthesizer.load(m.save(tmp_path / "model")).sample(seed=1)
    for t in ("shop", "sale"):
        pd.testing.assert_frame_equal(syn[t], again[t])
        pd.testing.assert_frame_equal(syn[t], loaded[t])


def test_detected_rules_are_kept_per_table_never_on_keys_and_dropped_per_table() -> None:
    ds = shops()
    large = ds["sale"]["amount"] > 500
    ds["sale"]["size"] = large.map({True: "large", False: "small"})
    ds["sale"]["size_code"] = large.astype(int) + 1  # size -> size_code, always
    ds["shop"]["code"] = ds["shop"]["region"].map({"north": "N", "south": "S"})
    m = fit(ds, {"detect": True, "rules": []})
    kept = {t: [r.key() for r in run.rules] for t, run in m.runs_.items()}
    assert kept == {"shop": ["region -> code"], "sale": ["size -> size_code"]}
    assert all(r.table == t for t, run in m.runs_.items() for r in run.rules)
    syn = m.sample(seed=1)["sale"]
    assert syn.groupby("size")["size_code"].nunique().max() == 1
    dropped = fit(ds, {"detect": True, "drop": ["shop: region"], "rules": []})
    assert {t: [r.key() for r in run.rules] for t, run in dropped.runs_.items()} == {
        "sale": ["size -> size_code"]
    }


def test_inspect_proposes_each_tables_rules_without_keys(tmp_path: Path) -> None:
    if not CHINOOK.is_dir():
        pytest.skip("the shared Chinook CSVs are not here")
    res = invoke("inspect", CHINOOK, "--json", tmp_path / "chinook.json")
    assert res.exit_code == 0, res.output
    found = json.loads((tmp_path / "chinook.json").read_text())["constraints"]
    assert found["Customer"][0]["rule"]["table"] == "Customer"
    invoice = [f["id"] for f in found["Invoice"]]
    assert not any("CustomerId" in i or "InvoiceId" in i for i in invoice), invoice


def test_split_rules_sends_each_rule_and_drop_to_its_table() -> None:
    ds = rd.two_parents()
    spec = ConstraintsSpec.model_validate(
        {
            "drop": ["line: qty", "age"],
            "rules": [
                {"type": "range", "table": "line", "column": "qty", "min": 1},
                {"type": "positive", "table": "product", "column": "price"},
            ],
        }
    )
    split = split_rules(spec, ds)
    assert [r.key() for r in split["line"].spec.rules] == ["1 <= qty"]
    assert split["product"].indices == [1]
    assert split["line"].spec.drop == ["qty", "age"] and split["customer"].spec.drop == ["age"]
    bad = ConstraintsSpec.model_validate(
        {"rules": [{"type": "unique", "table": "line", "columns": ["lid"]}]}
    )
    with pytest.raises(RecipeError, match="'lid' is a key of table line"):
        split_rules(bad, ds)


def test_a_rule_no_real_row_of_a_child_table_obeys_is_a_clear_error() -> None:
    never = {
        "detect": False,
        "rules": [{"type": "range", "table": "sale", "column": "amount", "max": -1}],
    }
    with pytest.raises(DataError, match="training row\\(s\\) of sale obey every declared rule"):
        fit(shops(), never)


def test_a_combination_of_a_faked_column_is_refused_before_sampling(tmp_path: Path) -> None:
    rules = """constraints:
  - {type: fixed_combinations, table: Invoice, columns: [BillingCity, BillingCountry]}
"""
    res = invoke("run", chinook_recipe(tmp_path, rules), "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert "column 'BillingCity' is pii" in out and "remove the rule" in out
    assert "Traceback" not in res.output and not (tmp_path / "run").exists()
