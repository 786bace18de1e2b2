"""Multi-table synthesis on datasets whose structure is known (issue 14): every reference
resolves, keys are fresh, and the relations the data has are the relations the output has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.relational import RelationalSynthesizer, make_plan
from synthgen.relational.frames import depths, parent_index
from tests.integration import relational_data as rd

FAST = {"min_steps": 40}


def synth(ds, seed=0, params=FAST):  # type: ignore[no-untyped-def]
    m = RelationalSynthesizer("autoreg", params).fit(ds, seed=seed)
    return m, m.sample(seed=seed)


def assert_integrity(syn) -> None:  # type: ignore[no-untyped-def]
    for t in syn.spec:
        for fk in t.foreign_keys:
            idx = parent_index(syn[t.name], fk, syn[fk.ref_table])
            assert (idx != -2).all(), f"{fk.describe(t.name)} has unresolved references"
            if not t.nullable_fk(fk):
                assert (idx >= 0).all(), f"{fk.describe(t.name)} is empty where it may not be"
        if t.primary_key:
            assert not syn[t.name][t.primary_key].duplicated().any(), t.name


def assert_fresh_keys(src, syn) -> None:  # type: ignore[no-untyped-def]
    for t in src.spec:
        for c in t.primary_key:
            if any(c in fk.columns for fk in t.foreign_keys):
                continue
            real = set(src[t.name][c].dropna().astype(str))
            assert not real & set(syn[t.name][c].dropna().astype(str)), f"{t.name}.{c}"


def ks_complement(a: np.ndarray, b: np.ndarray) -> float:
    from synthgen.stats import ks_complement as ks

    return ks(np.asarray(a, float), np.asarray(b, float))


def degree(df: pd.DataFrame, col: str, parent: pd.DataFrame, pcol: str) -> np.ndarray:
    return parent[pcol].map(df[col].value_counts()).fillna(0).to_numpy()


def test_two_parents_keep_degree_and_follow_the_joint_structure_better_than_uniform() -> None:
    src = rd.two_parents()
    _m, syn = synth(src)
    assert_integrity(syn)
    assert_fresh_keys(src, syn)

    def agreement(ds, pid: pd.Series) -> float:  # type: ignore[no-untyped-def]
        line = ds["line"].assign(pid=pid.to_numpy())
        j = line.merge(ds["customer"], on="cid").merge(ds["product"], on="pid")
        return float(((j.segment == "A") == (j.category == "X")).mean())

    real = agreement(src, src["line"]["pid"])
    matched = agreement(syn, syn["line"]["pid"])
    r = np.random.default_rng(0)
    uniform = agreement(syn, pd.Series(r.choice(syn["product"]["pid"], len(syn["line"]))))
    assert real > 0.85
    assert matched > uniform + 0.2, (matched, uniform)
    assert matched > 0.7, matched
    # the second parent's degree distribution is kept (popular products stay popular)
    d_real = degree(src["line"], "pid", src["product"], "pid")
    d_syn = degree(syn["line"], "pid", syn["product"], "pid")
    assert ks_complement(d_real, d_syn) > 0.75


def test_lines_of_one_order_are_as_alike_as_in_the_source() -> None:
    """The lines of one order share a theme the order's columns do not tell: the synthetic
    lines of one order ask for alike products (not independent draws) and get them."""
    src = rd.baskets()
    _m, syn = synth(src)
    assert_integrity(syn)

    def same_category(ds, pid: pd.Series) -> float:  # type: ignore[no-untyped-def]
        j = ds["line"].assign(pid=pid.to_numpy()).merge(ds["product"], on="pid")
        same = j.groupby(["oid", "category"]).size()
        n = j.groupby("oid").size()
        return float((same * (same - 1)).sum() / (n * (n - 1)).sum())

    real = same_category(src, src["line"]["pid"])
    matched = same_category(syn, syn["line"]["pid"])
    r = np.random.default_rng(0)
    uniform = same_category(syn, pd.Series(r.choice(syn["product"]["pid"], len(syn["line"]))))
    assert real > 0.65 and uniform < 0.35, (real, uniform)
    assert matched > max(uniform + 0.25, real - 0.2), (matched, real, uniform)
    # every product keeps its degree shape all the same
    d_real = degree(src["line"], "pid", src["product"], "pid")
    d_syn = degree(syn["line"], "pid", syn["product"], "pid")
    assert ks_complement(d_real, d_syn) > 0.7


def test_self_reference_is_a_forest_with_the_source_depths() -> None:
    src = rd.self_reference()
    _m, syn = synth(src)
    assert_integrity(syn)
    assert_fresh_keys(src, syn)
    emp = syn["emp"]
    assert emp["eid"].str.match(r"^E-\d{4}$").all()  # the key's own format
    fk = syn.spec["emp"].foreign_keys[0]
    idx = parent_index(emp, fk, emp)
    d = depths(idx)
    # a forest: every walk up ends at a root (a cycle would give depth 0 to a non-root)
    assert ((d == 0) == (idx == -1)).all()
    real = np.bincount(depths(parent_index(src["emp"], fk, src["emp"])), minlength=6)[:6]
    got = np.bincount(d, minlength=6)[:6]
    assert 0.5 * np.abs(real / real.sum() - got / got.sum()).sum() < 0.25, (real, got)


def test_many_to_many_has_no_duplicate_pairs_and_keeps_both_degrees() -> None:
    src = rd.many_to_many()
    _m, syn = synth(src)
    assert_integrity(syn)
    en = syn["enrol"]
    assert not en.duplicated(["sid", "code"]).any()
    assert syn["course"]["code"].str.match(r"^C\d{3}$").all()
    for col, parent, pcol in (("sid", "student", "sid"), ("code", "course", "code")):
        a = degree(src["enrol"], col, src[parent], pcol)
        b = degree(en, col, syn[parent], pcol)
        assert ks_complement(a, b) > 0.6, col


def test_a_cycle_through_a_nullable_key_is_cut_and_filled_afterwards() -> None:
    src = rd.cycle()
    plan = make_plan(src.spec)
    assert plan.tables["dept"].cut == ["manager"]
    _m, syn = synth(src)
    assert_integrity(syn)
    share = syn["dept"]["manager"].notna().mean()
    assert 0.3 < share < 1.0, share


def test_a_deep_schema_of_25_tables_runs() -> None:
    src = rd.deep()
    plan = make_plan(src.spec)
    assert max(plan.depth(t) for t in plan.order) == 5 and len(plan.order) == 25
    _m, syn = synth(src, params={"min_steps": 10})
    assert_integrity(syn)
    assert_fresh_keys(src, syn)
    assert syn["t05"]["id"].map(lambda v: isinstance(v, str) and v.count("-") == 4).all()
    assert syn["t01"]["id"].str.match(r"^K-\d{5}$").all()
    for t in src.names:  # every level keeps about the source's size
        assert 0.5 < len(syn[t]) / max(1, len(src[t])) < 2, t


def test_an_orphaned_reference_is_reported_not_a_crash() -> None:
    src = rd.two_parents()
    line = src["line"].copy()
    line.loc[:4, "cid"] = 9999  # five lines of a customer who does not exist
    from synthgen.dataset import Dataset

    m, syn = synth(Dataset(src.spec, {**src.tables, "line": line}))
    assert any("5 row(s) reference no existing customer" in w for w in m.warnings_)
    assert_integrity(syn)


def test_same_seed_same_database_dump_and_the_model_folder_reloads(tmp_path: Path) -> None:
    from synthgen.io.sql import write_sql

    src = rd.many_to_many()
    dumps = []
    for i in range(2):
        m, syn = synth(src, seed=5)
        url = f"sqlite:///{tmp_path / f'db{i}.sqlite'}"
        write_sql(syn, url)
        with sqlite3.connect(tmp_path / f"db{i}.sqlite") as con:
            dumps.append("\n".join(con.iterdump()))
    assert dumps[0] == dumps[1]
    m.save(tmp_path / "model")
    files = [p for p in (tmp_path / "model").rglob("*") if p.is_file() and p.name != ".synthgen"]
    assert {p.suffix for p in files} <= {
        ".json",
        ".safetensors",
    }
    again = RelationalSynthesizer.load(tmp_path / "model").sample(seed=5)
    for t in syn.names:
        pd.testing.assert_frame_equal(again[t], syn[t], check_dtype=False)
    other = m.sample(seed=6)
    assert not other["enrol"].equals(syn["enrol"])


def test_an_empty_table_is_written_empty() -> None:
    from synthgen.dataset import Dataset

    src = rd.two_parents()
    m, syn = synth(Dataset(src.spec, {**src.tables, "line": src["line"].iloc[:0]}))
    assert len(syn["line"]) == 0 and list(syn["line"].columns) == list(src["line"].columns)
    assert len(syn["customer"]) == len(src["customer"])


def test_a_unique_email_is_faked_as_an_email_not_numbered_like_a_key() -> None:
    src = rd.two_parents()
    cust = src["customer"].copy()
    first = ["ann", "bob", "cyd", "dee", "eve", "fay", "gus", "hal", "ivy", "jon"]
    cust["email"] = [f"{first[i % 10]}.{i}@shop{i % 7}.com" for i in range(len(cust))]
    spec = src.spec.model_dump()
    table = next(t for t in spec["tables"] if t["name"] == "customer")
    table["columns"].append({"name": "email", "nullable": False})
    table["unique"] = [{"columns": ["email"]}]
    from synthgen.dataset import Dataset, DatasetSpec

    ds = Dataset(
        DatasetSpec.model_validate(spec),
        {"customer": cust, "product": src["product"], "line": src["line"]},
    )
    _m, syn = synth(ds)
    emails = syn["customer"]["email"]
    assert emails.str.contains("@").all() and emails.is_unique
    assert not set(emails) & set(cust["email"])
    assert_integrity(syn)


def test_the_copula_learns_child_tables_given_their_parents() -> None:
    """A conditional Gaussian on the parent's scores: keys intact, and customers of segment
    A still buy category X more often than chance (0.5; the source: 0.9)."""
    src = rd.two_parents()
    m = RelationalSynthesizer("copula").fit(src, seed=0)
    syn = m.sample(seed=0)
    assert_integrity(syn)
    j = syn["line"].merge(syn["customer"], on="cid").merge(syn["product"], on="pid")
    assert ((j.segment == "A") == (j.category == "X")).mean() > 0.6
    assert syn["line"].groupby("cid").size().nunique() > 2  # children per parent vary


def test_tvae_learns_child_tables_given_their_parents() -> None:
    """A conditional VAE: the parent's encoded attributes go into encoder and decoder."""
    src = rd.two_parents()
    syn = RelationalSynthesizer("tvae", {"epochs": 300}).fit(src, seed=0).sample(seed=0)
    assert_integrity(syn)
    j = syn["line"].merge(syn["customer"], on="cid").merge(syn["product"], on="pid")
    assert ((j.segment == "A") == (j.category == "X")).mean() > 0.75
