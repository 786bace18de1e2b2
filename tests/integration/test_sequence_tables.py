"""Sequence tables inside a dataset (issue 18): Chinook's invoices as each customer's
sequence by InvoiceDate (`tables: {Invoice: {sequence: {order: InvoiceDate}}}`), drawn per
synthetic customer given the customer, instead of invoices drawn one by one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from synthgen import load_recipe
from synthgen.cli import cli
from synthgen.dataset import Dataset, DatasetSpec
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.frames import parent_index
from synthgen.source import SourceDataset, read_source
from synthgen.stats import ks_complement
from tests.conftest import SHARED

FAST = {"min_steps": 40}
SEQUENCE = {"Invoice": {"sequence": {"order": "InvoiceDate"}}}


def recipe_file(tmp: Path, **changes: object) -> Path:
    data: dict = {
        "version": 1,
        "name": "chinook-invoices",
        "seed": 3,
        "source": {"path": str(SHARED / "chinook"), "tables": ["Customer", "Invoice"]},
        "tables": SEQUENCE,
        "holdout": 0,
        "generator": {"name": "autoreg", "params": FAST},
        "validate": {"suite": "relational"},
    }
    data.update(changes)
    path = tmp / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def chinook(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not (SHARED / "chinook").is_dir():
        pytest.skip("public data set chinook not found")
    read = read_source(load_recipe(recipe_file(tmp_path_factory.mktemp("c"))), many=True)
    assert isinstance(read, SourceDataset)
    return read.dataset


@pytest.fixture(scope="module")
def model(chinook) -> RelationalSynthesizer:  # type: ignore[no-untyped-def]
    return RelationalSynthesizer("autoreg", FAST, {"Invoice": "InvoiceDate"}).fit(chinook, seed=1)


def gaps(invoices: pd.DataFrame) -> np.ndarray:
    t = pd.to_datetime(invoices["InvoiceDate"])
    return t.groupby(invoices["CustomerId"]).diff().dropna().dt.days.to_numpy(float)


def test_each_customers_invoices_are_a_sequence_with_the_sources_gaps(chinook, model):
    syn = model.sample(seed=2)
    inv, cus = syn["Invoice"], syn["Customer"]
    idx = parent_index(inv, syn.spec["Invoice"].foreign_keys[0], cus)
    assert (idx >= 0).all()  # every invoice's customer exists
    assert not inv["InvoiceId"].duplicated().any()
    # the customers' invoice counts follow the learnt count model (7 each but one in Chinook)
    real_n = chinook["Invoice"].groupby("CustomerId").size()
    syn_n = inv.groupby("CustomerId").size()
    assert len(syn_n) == len(cus) and abs(syn_n.mean() - real_n.mean()) < 0.5
    # in time order within each customer, gaps as the source's (94, 41, 233... days)
    t = pd.to_datetime(inv["InvoiceDate"])
    assert (t.groupby(inv["CustomerId"]).diff().dropna() >= pd.Timedelta(0)).all()
    real_gaps = gaps(chinook["Invoice"])
    assert ks_complement(real_gaps, gaps(inv)) > 0.85
    # an invoice drawn on its own (the table learnt row by row) has no such order
    iid = RelationalSynthesizer("autoreg", FAST).fit(chinook, seed=1).sample(seed=2)["Invoice"]
    assert ks_complement(real_gaps, np.abs(gaps(iid))) < ks_complement(real_gaps, gaps(inv))
    # a column each customer keeps on every invoice (billing country) stays one per customer
    assert "BillingCountry" in model.seq_models_["Invoice"].statics_
    assert (inv.groupby("CustomerId")["BillingCountry"].nunique(dropna=False) == 1).all()


def test_same_seed_same_dataset_and_the_saved_model_draws_it_again(model, tmp_path):
    a = model.sample(seed=4)
    b = model.sample(seed=4)
    for t in a.names:
        pd.testing.assert_frame_equal(a[t], b[t])
    model.save(tmp_path / "m")
    c = RelationalSynthesizer.load(tmp_path / "m").sample(seed=4)
    # (a saved model keeps no source PII, so the fakes it avoids are not known after loading)
    learnt = ["InvoiceId", "CustomerId", "InvoiceDate", "BillingCountry", "Total"]
    pd.testing.assert_frame_equal(a["Invoice"][learnt], c["Invoice"][learnt])
    assert not model.sample(seed=5)["Invoice"].equals(a["Invoice"])


def test_a_recipe_runs_it_and_a_bad_declaration_is_refused_before_any_work(chinook, tmp_path):
    got = CliRunner().invoke(
        cli, ["run", str(recipe_file(tmp_path)), "--out", str(tmp_path / "run")]
    )
    assert got.exit_code == 0, got.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    seq = report["tables"]["Invoice"]["sequence"]  # the table's own sequence figures
    assert seq["entity"] == "CustomerId" and seq["gap_similarity"] > 0.85
    assert "Total" in seq["lag1_error"] and "InvoiceId" not in seq["lag1_error"]
    assert (
        "sequence per CustomerId by InvoiceDate" in (tmp_path / "run" / "report.html").read_text()
    )
    inv = pd.read_csv(tmp_path / "run" / "synthetic" / "Invoice.csv")
    assert (
        inv.groupby("CustomerId")["InvoiceDate"].apply(lambda s: s.is_monotonic_increasing)
    ).all()
    tables = {
        "Invoice": {"sequence": {"order": "When", "entity": "BillingCity"}},
        "Customer": {"sequence": {"order": "Country"}},
    }
    bad = recipe_file(tmp_path, tables=tables, generator={"name": "copula"})
    got = CliRunner().invoke(cli, ["run", str(bad), "--out", str(tmp_path / "bad")])
    assert got.exit_code == 2, got.output
    for part in (
        "tables.Invoice.sequence.entity",
        "through CustomerId, not 'BillingCity'",
        "tables.Customer.sequence: Customer has no parent",
        "generator.name: sequence tables are learnt by autoreg only",
    ):
        assert part in got.output
    assert "Traceback" not in got.output and not (tmp_path / "bad").exists()


def clinical(seed: int = 0) -> tuple[Dataset, dict[str, str]]:
    """Patients, their admissions (months apart) and each admission's lab readings (hours
    apart, each value near the one before): two sequence tables, one inside the other."""
    from tests.integration.relational_data import table

    r = np.random.default_rng(seed)
    pat = pd.DataFrame({"pid": np.arange(1, 121), "sex": r.choice(["F", "M"], 120)})
    adm, lab = [], []
    for pid in pat["pid"]:
        t = pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(r.integers(0, 300)))
        for _ in range(int(r.integers(1, 5))):
            aid = len(adm) + 1
            adm.append((aid, pid, t, r.choice(["sepsis", "cardiac"])))
            base = 140.0 if adm[-1][3] == "sepsis" else 100.0
            value, ct = base + r.normal(0, 5), t
            for _ in range(int(r.integers(3, 9))):
                ct = ct + pd.Timedelta(hours=int(r.choice([4, 6, 8])))
                value = 0.9 * value + 0.1 * base + r.normal(0, 2)
                lab.append((len(lab) + 1, aid, ct, round(value, 1)))
            t = t + pd.Timedelta(days=int(r.integers(30, 200)))
    adm_df = pd.DataFrame(adm, columns=["aid", "pid", "admittime", "diagnosis"])
    lab_df = pd.DataFrame(lab, columns=["lid", "aid", "charttime", "value"])
    spec = DatasetSpec(
        tables=[
            table("patient", pat, ["pid"]),
            table("admission", adm_df, ["aid"], [("pid", "patient", "pid")]),
            table("lab", lab_df, ["lid"], [("aid", "admission", "aid")]),
        ]
    )
    frames = {"patient": pat, "admission": adm_df, "lab": lab_df}
    return Dataset(spec, frames), {"admission": "admittime", "lab": "charttime"}


def lag1(df: pd.DataFrame, entity: str, col: str) -> float:
    prev = df.groupby(entity)[col].shift(1)
    ok = prev.notna()
    return float(np.corrcoef(df.loc[ok, col], prev[ok])[0, 1])


def test_a_patients_admissions_and_each_admissions_lab_events_are_sequences():
    src, orders = clinical()
    m = RelationalSynthesizer("autoreg", FAST, orders).fit(src, seed=0)
    syn = m.sample(seed=1)
    adm, lab = syn["admission"], syn["lab"]
    assert adm["pid"].isin(syn["patient"]["pid"]).all() and lab["aid"].isin(adm["aid"]).all()
    for df, entity, order in ((adm, "pid", "admittime"), (lab, "aid", "charttime")):
        t = pd.to_datetime(df[order])
        assert (t.groupby(df[entity]).diff().dropna() > pd.Timedelta(0)).all(), order
    # the labs' gaps are the source's 4, 6 or 8 hours; a value follows the one before it
    hours = pd.to_datetime(lab["charttime"]).groupby(lab["aid"]).diff().dropna().dt.seconds / 3600
    assert hours.isin([4, 6, 8]).mean() > 0.9
    assert lag1(lab, "aid", "value") > 0.7 * lag1(src["lab"], "aid", "value")
    # each admission's labs start after it as the source's do (4 to 8 hours): the start is
    # learnt from the admit time (the anchor), not as a date of its own
    assert m.seq_models_["lab"].anchor_ == "admittime"
    both = lab.merge(adm, on="aid")
    after = pd.to_datetime(both["charttime"]) - pd.to_datetime(both["admittime"])
    first = after.groupby(both["aid"]).min()
    assert first.between(pd.Timedelta(hours=4), pd.Timedelta(hours=8)).mean() > 0.9
    # events per admission still follow the learnt count model
    per_real = src["lab"].groupby("aid").size().mean()
    assert abs(lab.groupby("aid").size().mean() - per_real) < 1.0
    again = m.sample(seed=1)
    for t in syn.names:
        pd.testing.assert_frame_equal(syn[t], again[t])


def test_where_on_the_patient_gives_matching_patients_with_their_whole_sequences(tmp_path):
    from synthgen.errors import UsageError

    src, orders = clinical()
    m = RelationalSynthesizer("autoreg", FAST, orders).fit(src, seed=0)
    syn = m.sample(seed=1, conditions={"sex": "F"})
    pat, adm, lab = syn["patient"], syn["admission"], syn["lab"]
    assert len(pat) == len(src["patient"]) and (pat["sex"] == "F").all()
    assert adm["pid"].isin(pat["pid"]).all() and lab["aid"].isin(adm["aid"]).all()
    assert len(adm) > len(pat) and len(lab) > len(adm)  # their admissions, their labs
    again = m.sample(seed=1, conditions={"patient.sex": ["F"]})
    for t in syn.names:
        pd.testing.assert_frame_equal(syn[t], again[t])
    for where, why in (
        ({"diagnosis": "sepsis"}, "admission's rows are drawn per their patient"),
        ({"pid": 3}, "it is a key"),
        ({"nope": 1}, "no table has that column"),
    ):
        with pytest.raises(UsageError, match=why) as err:
            m.sample(seed=1, conditions=where)
        assert "patient.sex" in str(err.value.hint)
    # from the command line: a folder of the three tables, keys declared, --where
    for t in src.names:
        src[t].to_csv(tmp_path / f"{t}.csv", index=False)
    fks = {"admission": ("pid", "patient"), "lab": ("aid", "admission")}
    tables: dict = {
        t: {"foreign_keys": [{"columns": [c], "ref_table": p, "ref_columns": [c]}]}
        for t, (c, p) in fks.items()
    }
    for t, order in orders.items():
        tables[t]["sequence"] = {"order": order}
    path = recipe_file(tmp_path, source={"path": str(tmp_path)}, tables=tables, name="clinic")
    out = tmp_path / "run"
    got = CliRunner().invoke(cli, ["run", str(path), "--out", str(out), "--where", "sex=M"])
    assert got.exit_code in (0, 3), got.output
    assert (pd.read_csv(out / "synthetic" / "patient.csv")["sex"] == "M").all()
    got = CliRunner().invoke(
        cli, ["run", str(path), "--out", str(tmp_path / "r2"), "--where", "value=1"]
    )
    assert got.exit_code == 2 and "lab's rows are drawn per their admission" in got.output
    assert not (tmp_path / "r2").exists()


def test_a_sequence_tables_fakes_avoid_the_values_they_must(model):
    """PII fakes of a sequence table never take an excluded (source) value, as in any table."""
    first = model.sample(seed=6)["Invoice"]["BillingAddress"]
    saved = model.exclude_.get("Invoice")
    model.exclude_["Invoice"] = {"BillingAddress": set(first.dropna())}
    try:
        again = model.sample(seed=6)["Invoice"]["BillingAddress"]
    finally:
        model.exclude_["Invoice"] = saved
    assert not set(again.dropna()) & set(first.dropna())


@pytest.mark.slow
def test_rules_on_the_invoice_sequence_hold_in_a_multi_table_run(chinook, tmp_path):
    """Invoice as each customer's sequence with rules (issue 17 on a sequence table): a
    range on Total (real invoices above it are left out and reported), its billing country
    and state only in combinations the source has; both hold on every synthetic invoice."""
    rules = [
        {"type": "range", "table": "Invoice", "column": "Total", "min": 0.5, "max": 15},
        {"type": "fixed_combinations", "table": "Invoice",
         "columns": ["BillingCountry", "BillingState"]},
    ]  # fmt: skip
    path = recipe_file(tmp_path, constraints=rules)
    got = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "run")])
    assert got.exit_code == 0, got.output
    inv = pd.read_csv(tmp_path / "run" / "synthetic" / "Invoice.csv")
    assert inv["Total"].between(0.5, 15).all()
    real = chinook["Invoice"]
    key = ["BillingCountry", "BillingState"]
    seen = set(real[key].astype(str).itertuples(index=False, name=None))
    assert set(inv[key].astype(str).itertuples(index=False, name=None)) <= seen
    dates = pd.to_datetime(inv["InvoiceDate"])
    assert dates.groupby(inv["CustomerId"]).apply(lambda s: s.is_monotonic_increasing).all()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["name"] == "constraints")
    assert gate["status"] == "pass" and gate["value"] == 0
    assert any(v["table"] == "Invoice" for v in report["constraints"]["real_violations"])
    again = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    same = pd.read_csv(tmp_path / "again" / "synthetic" / "Invoice.csv")
    pd.testing.assert_frame_equal(inv, same)  # same recipe and seed, same invoices
    loaded = RelationalSynthesizer.load(tmp_path / "run" / "model").sample(seed=11)["Invoice"]
    assert loaded["Total"].between(0.5, 15).all()  # the saved model keeps the rules too
    assert set(loaded[key].astype(str).itertuples(index=False, name=None)) <= seen
