from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import NotFittedError, UsageError
from synthgen.generators import Generator, create
from synthgen.generators.copula import CopulaGenerator
from synthgen.schema import detect
from synthgen.stats import ks_complement


def test_sample_before_fit_raises_not_fitted():
    gen = create("copula")
    with pytest.raises(NotFittedError):
        gen.sample(5)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_output_keeps_columns_dtypes_and_null_rates(small_frame: pd.DataFrame):
    schema = detect(small_frame)
    syn = CopulaGenerator().fit(small_frame, schema, seed=1).sample(4000, seed=2)
    assert list(syn.columns) == list(small_frame.columns)
    assert syn["age"].dtype == np.int64
    assert syn["income"].dtype == np.float64
    assert syn["member"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(syn["joined"])
    assert set(syn["city"]) <= {"Lyon", "Paris", "Nice"}
    assert abs(syn["income"].isna().mean() - small_frame["income"].isna().mean()) < 0.03
    assert syn["id"].is_unique
    assert syn["age"].between(18, 89).all()


def test_pii_column_is_faked_never_copied(small_frame: pd.DataFrame):
    schema = detect(small_frame)
    assert schema["email"].kind == "pii"
    syn = CopulaGenerator().fit(small_frame, schema).sample(400, seed=3)
    real = set(small_frame["email"])
    assert syn["email"].str.contains("@").all()
    assert not set(syn["email"]) & real


def test_marginals_and_dependence_are_learned(adult: pd.DataFrame):
    schema = detect(adult)
    syn = CopulaGenerator().fit(adult, schema, seed=0).sample(len(adult), seed=0)
    for col in ("age", "fnlwgt", "hours-per-week", "capital-gain"):
        assert ks_complement(adult[col].to_numpy(float), syn[col].to_numpy(float)) > 0.95, col
    # education-num determines education: the pair must stay strongly associated
    real_r = np.corrcoef(adult["age"], adult["education-num"])[0, 1]
    syn_r = np.corrcoef(syn["age"], syn["education-num"])[0, 1]
    assert abs(real_r - syn_r) < 0.05
    share = lambda d: (d["capital-gain"] == 0).mean()  # noqa: E731
    assert abs(share(adult) - share(syn)) < 0.01  # the point mass at 0 survives


def test_same_seed_same_rows_other_seed_other_rows(small_frame: pd.DataFrame):
    a = CopulaGenerator().fit(small_frame, seed=5).sample(300, seed=9)
    b = CopulaGenerator().fit(small_frame, seed=5).sample(300, seed=9)
    c = CopulaGenerator().fit(small_frame, seed=5).sample(300, seed=10)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_chunking_does_not_change_rows(small_frame: pd.DataFrame):
    gen = CopulaGenerator().fit(small_frame, seed=5)
    one = gen.sample(1000, seed=4, chunk_size=1000)
    many = gen.sample(1000, seed=4, chunk_size=1000)
    pd.testing.assert_frame_equal(one, many)
    assert len(gen.sample(1001, seed=4, chunk_size=250)) == 1001


def test_save_load_gives_the_same_samples(small_frame: pd.DataFrame, tmp_path: Path):
    gen = CopulaGenerator(max_knots=64).fit(small_frame, seed=5)
    gen.save(tmp_path / "model")
    names = sorted(p.name for p in (tmp_path / "model").iterdir() if p.name != ".synthgen")
    assert names == ["config.json", "encoder.json", "schema.json", "weights.safetensors"]
    loaded = Generator.load(tmp_path / "model")
    assert isinstance(loaded, CopulaGenerator) and loaded.params.max_knots == 64
    pd.testing.assert_frame_equal(gen.sample(500, seed=1), loaded.sample(500, seed=1))


def test_no_real_pii_value_is_in_the_saved_model(small_frame: pd.DataFrame, tmp_path: Path):
    CopulaGenerator().fit(small_frame, seed=5).save(tmp_path / "m")
    blob = b"".join(p.read_bytes() for p in (tmp_path / "m").iterdir())
    assert not any(e.encode() in blob for e in small_frame["email"])


def test_constant_and_all_missing_columns_survive():
    df = pd.DataFrame({"x": np.arange(50.0), "k": ["same"] * 50, "gone": [np.nan] * 50})
    syn = CopulaGenerator().fit(df).sample(80, seed=1)
    assert (syn["k"] == "same").all()
    assert syn["gone"].isna().all()


def test_conditions_by_rejection_and_infeasible_ones(small_frame: pd.DataFrame):
    gen = CopulaGenerator().fit(small_frame, seed=5)
    nice = gen.sample(200, seed=1, conditions={"city": "Nice"})
    assert len(nice) == 200 and (nice["city"] == "Nice").all()
    with pytest.raises(UsageError, match="too rare") as err:
        gen.sample(10, seed=1, conditions={"city": "nice"})
    assert "did you mean 'Nice'" in str(err.value) and "'Lyon'" in str(err.value)
    with pytest.raises(UsageError, match="not a modelled column"):
        gen.sample(10, conditions={"email": "a@b.c"})


def test_one_row_cannot_be_learned():
    from synthgen.errors import DataError

    with pytest.raises(DataError, match="at least 2 rows"):
        CopulaGenerator().fit(pd.DataFrame({"x": [1.0]}))
