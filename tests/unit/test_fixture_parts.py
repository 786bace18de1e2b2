"""The pieces of fixtures on their own: counted randomness and the CHECK reader."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthgen.dataset import CheckConstraint, ColumnInfo, DatasetSpec, TableSpec
from synthgen.errors import SchemaError
from synthgen.fixtures import generate, rng
from synthgen.fixtures.checks import parse_table_checks


def _table(*checks: str, cols: tuple[str, ...] = ("a", "b", "c", "status")) -> TableSpec:
    return TableSpec(
        name="t",
        columns=[ColumnInfo(name=c, sql_type="INTEGER") for c in cols],
        checks=[CheckConstraint(name=f"ck{i}", sql=s) for i, s in enumerate(checks)],
    )


def test_a_row_value_does_not_depend_on_the_rows_asked_with_it():
    k = rng.key(1, "t", "a")
    whole = rng.integers(k, np.arange(1000), 0, 99)
    part = rng.integers(k, np.arange(500, 510), 0, 99)
    assert (whole[500:510] == part).all()
    assert rng.key(1, "t", "a") != rng.key(2, "t", "a") != rng.key(1, "t", "b")


def test_counted_draws_look_uniform():
    u = rng.uniform(rng.key(0, "x"), np.arange(200_000))
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 19_000 and counts.max() < 21_000


@pytest.mark.parametrize("size", [1, 2, 7, 10, 97, 1000, 4096])
def test_permute_is_a_bijection(size):
    out = rng.permute(rng.key(3, "p"), np.arange(size), size)
    assert sorted(out.tolist()) == list(range(size))


@pytest.mark.parametrize(
    ("sql", "col", "lo", "hi"),
    [
        ("a >= 0", "a", 0, math.inf),
        ("(a > 0) AND (a <= 5)", "a", 0, 5),
        ("a BETWEEN 1 AND 9", "a", 1, 9),
        ("10 > a", "a", -math.inf, 10),
        ("((a >= (1)::numeric) AND (a <= (7)::numeric))", "a", 1, 7),
    ],
)
def test_ranges(sql, col, lo, hi):
    b = parse_table_checks(_table(sql)).bounds[col]
    assert (b.lo, b.hi) == (lo, hi)


def test_lists_comparisons_and_lengths():
    r = parse_table_checks(
        _table(
            "status IN ('a', 'b''s', 'c')",
            "(status)::text = ANY ((ARRAY['a'::character varying, 'c'::character varying])::text[])",
            "a <= b",
            "c > b",
            "length(status) <= 3",
        )
    )
    assert r.choices["status"][0] == ["a", "c"]
    assert ("a", "<=", "b", "t: CHECK ck2 (a <= b)") in r.compare
    assert any(x[:3] == ("b", "<", "c") for x in r.compare)
    assert r.max_len["status"] == 3


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        (("a > 5 AND a < 2",), "ck0"),
        (("a > 5", "a < 2"), "ck0"),
        (("status IN (1, 2)", "status > 3"), "no allowed value"),
        (("a < b", "b < a"), "cycle"),
        (("a > 1 OR b > 1",), "not a range"),
        (("a <> 3",), "not a range"),
    ],
)
def test_checks_that_cannot_be_met_are_named(checks, message):
    with pytest.raises(SchemaError, match=message):
        parse_table_checks(_table(*checks))


def test_integer_range_with_no_integer_inside():
    spec = DatasetSpec(tables=[_table("a > 1 AND a < 2")])
    with pytest.raises(SchemaError, match="ck0"):
        generate(spec, rows=3)


def test_comparisons_hold_row_by_row():
    t = _table("a >= 0", "b <= 500", "a <= b", "b < c")
    data = generate(DatasetSpec(tables=[t]), rows=2000, seed=3)["t"].dropna()
    assert (data["a"] <= data["b"]).all() and (data["b"] < data["c"]).all()
    assert (data["b"] <= 500).all() and (data["a"] >= 0).all()
