"""pandas 3 reads text as its `str` dtype (missing = NaN), not `object`. pandas 2.3 does the
same under `future.infer_string`, so these run in CI on either: text is stripped, scanned for
PII, and given back in the source's dtype."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.generators import create
from synthgen.io import read_table
from synthgen.pii.stage import scan_output
from synthgen.schema import detect


@pytest.fixture
def infer_str():
    if not hasattr(pd.options.future, "infer_string"):
        pytest.skip("this pandas has no str dtype")
    with pd.option_context("future.infer_string", True):
        yield


def test_str_columns_are_stripped_and_come_back_as_str(infer_str, tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    ages, groups = rng.integers(0, 90, 300), rng.choice(["A", "B"], 300)
    rows = [f"{a}, {c} ,x" for a, c in zip(ages, groups, strict=True)]
    p.write_text("age,group,pad\n" + "\n".join(rows) + "\n", encoding="utf-8")
    df = read_table(p, strip_whitespace=True)
    assert str(df["group"].dtype) == "str" and set(df["group"]) == {"A", "B"}
    syn = create("copula").fit(df, detect(df), seed=1).sample(200, seed=2)
    assert str(syn["group"].dtype) == "str" and set(syn["group"]) <= {"A", "B"}
    assert syn["age"].dtype == df["age"].dtype


def test_pii_in_a_str_column_of_the_output_is_found(infer_str) -> None:
    syn = pd.DataFrame({"note": ["mail me at ann.lee@example.org", None], "n": [1, 2]})
    assert str(syn["note"].dtype) == "str"
    assert scan_output(syn, {}, set()) == {"note": {"email": 1}}
