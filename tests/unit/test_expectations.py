"""Schema checks with great-expectations: a suite derived from the real table, a user's suite,
and a clean skip when GX is not installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.io import read_table
from synthgen.metrics import expectations as E
from synthgen.metrics.base import REGISTRY, Context
from synthgen.schema import detect

pytest.importorskip("great_expectations")

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def data_file(name: str) -> Path:
    """A public data set: the bundled copy, else the one beside the repository."""
    for p in (Path(__file__).resolve().parents[2] / "data" / name, SHARED / name):
        if p.exists():
            return p
    pytest.skip(f"public data set {name} not found")


def run(real: pd.DataFrame, synth: pd.DataFrame, schema=None, **kw):
    ctx = Context(real, real.iloc[:0], synth, schema or detect(real), seed=0, **kw)
    return REGISTRY["expectations_pass_rate"].compute(ctx)


def failed(res) -> set[tuple[str, str | None]]:
    return {(r["expectation"], r["column"]) for r in res.details["results"] if not r["success"]}


@pytest.fixture(scope="module")
def adult_halves() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = read_table(data_file("adult.csv"), na_values=["?"], strip_whitespace=True)
    idx = np.random.default_rng(0).permutation(len(df))
    return df.iloc[idx[:10000]].reset_index(drop=True), df.iloc[idx[10000:20000]].reset_index(
        drop=True
    )


@pytest.fixture
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": rng.integers(18, 80, n),
            "score": rng.normal(50, 10, n),
            "city": rng.choice(["Lyon", "Paris", "Nice"], n),
            "member": rng.random(n) < 0.4,
            "joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
        }
    )


def test_real_split_passes(adult_halves):
    real, other = adult_halves
    res = run(real, other)
    assert res.skipped is None and res.value > 0.9
    assert res.details["evaluated"] == len(res.details["results"]) > 30
    kinds = {r["expectation"] for r in res.details["results"]}
    assert {
        "expect_table_columns_to_match_ordered_list",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
    } <= kinds
    assert all(r["source"] == "derived" for r in res.details["results"])


def test_identical_frame_passes_everything(small):
    res = run(small, small)
    assert res.value == 1.0 and res.details["failed"] == 0
    names = {(r["expectation"], r["column"]) for r in res.details["results"]}
    assert ("expect_column_values_to_be_unique", "customer_id") in names
    assert ("expect_column_values_to_be_between", "joined") in names


def test_new_category_out_of_range_and_missing_column_fail(small):
    schema = detect(small)
    bad = small.copy()
    bad.loc[:4, "city"] = "Atlantis"
    bad.loc[:4, "age"] = 150
    bad.loc[:4, "joined"] = pd.Timestamp("2030-01-01")
    res = run(small, bad, schema)
    assert failed(res) == {
        ("expect_column_values_to_be_in_set", "city"),
        ("expect_column_values_to_be_between", "age"),
        ("expect_column_values_to_be_between", "joined"),
    }
    city = next(r for r in res.details["results"] if r["column"] == "city" and not r["success"])
    assert "Atlantis" in city["observed"]

    gone = run(small, small.drop(columns=["score"]), schema)
    assert ("expect_table_columns_to_match_ordered_list", None) in failed(gone)
    assert {r["observed"] for r in gone.details["results"] if r["column"] == "score"} == {
        "column missing"
    }
    assert gone.value < 1.0


def test_nulls_duplicate_ids_and_wrong_types_fail(small):
    schema = detect(small)
    bad = small.copy()
    bad["customer_id"] = 7
    bad.loc[: len(bad) // 2, "city"] = None
    bad["score"] = bad["score"].round(1).astype(str)
    res = run(small, bad, schema)
    got = failed(res)
    assert ("expect_column_values_to_be_unique", "customer_id") in got
    assert ("expect_column_values_to_not_be_null", "city") in got
    assert ("expect_column_values_to_be_in_type_list", "score") in got
    between = [
        r
        for r in res.details["results"]
        if r["column"] == "score" and "between" in r["expectation"]
    ]
    assert not between[0]["success"] and between[0]["observed"].startswith("error: ")


def test_columns_often_missing_in_real_get_no_not_null_check(small):
    real = small.assign(score=small["score"].where(small.index % 2 == 0))
    suite = E.derive_suite(real, detect(real))
    not_null = {
        e.column: e.mostly for e in suite.expectations if "not_be_null" in e.expectation_type
    }
    assert "score" not in not_null and not_null["age"] == pytest.approx(1 - E.NULL_TOLERANCE)


def test_suite_round_trip_and_user_suite(tmp_path: Path, small):
    schema = detect(small)
    path = E.save_suite(E.derive_suite(small, schema, name="mine"), tmp_path / "suite.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["name"] == "mine" and data["expectations"][0]["type"].startswith("expect_table")
    assert len(E.load_suite(path).expectations) == len(data["expectations"])

    user = {
        "name": "user rules",
        "expectations": [
            {
                "expectation_type": "expect_column_values_to_be_between",  # a GX 0.x entry
                "kwargs": {"column": "score", "min_value": 0, "max_value": 60},
            },
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "city"}},
        ],
    }
    (tmp_path / "user.json").write_text(json.dumps(user), encoding="utf-8")
    opts = {"expectations_pass_rate": {"suite_path": str(tmp_path / "user.json")}}
    res = run(small, small, schema, options=opts)
    user_rows = [r for r in res.details["results"] if r["source"] == "user"]
    assert [r["success"] for r in user_rows] == [False, True]  # scores above 60 exist
    assert res.details["user_pass_rate"] == 0.5
    assert res.value == pytest.approx(1 - 1 / res.details["evaluated"])


def test_rows_are_capped_with_a_seeded_sample(adult_halves):
    real, other = adult_halves
    res = run(real, other, options={"expectations_pass_rate": {"max_rows": 2000}})
    assert res.details["rows_validated"] == 2000 and res.value > 0.9


def test_missing_great_expectations_is_a_skip(monkeypatch, small):
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # import now fails
    res = run(small, small)
    assert res.value is None and res.skipped == E.NOT_INSTALLED
    with pytest.raises(E.UsageError, match="not installed"):
        E.derive_suite(small, detect(small))


def test_metric_declares_group_direction_range():
    m = REGISTRY["expectations_pass_rate"]
    assert (m.group, m.direction, m.range) == ("schema", "higher", (0.0, 1.0))
    assert m.summary and m.compute.__doc__
