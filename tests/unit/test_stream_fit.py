"""Fitting the copula on a source read in batches (``synthgen fit``): the same model as the
in-memory fit on a table that fits in memory, from Parquet parts or CSV files; the mergeable
value counts behind its numeric marginals; what is refused, and how."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.generators.base import Generator
from synthgen.generators.copula import CopulaGenerator
from synthgen.scale import stream_copula
from synthgen.scale.sketch import ValueCounts
from synthgen.scale.stream_fit import fit_copula_streamed
from synthgen.scale.stream_source import open_source
from synthgen.schema.detect import detect


def _parts(df: pd.DataFrame, folder: Path, k: int, fmt: str = "parquet") -> Path:
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(df)), k)):
        part = df.iloc[rows]
        if fmt == "parquet":
            part.to_parquet(folder / f"part-{i}.parquet", index=False, row_group_size=1500)
        else:
            part.to_csv(folder / f"part-{i}.csv", index=False)
    return folder


def _streamed(folder: Path, seed: int = 0, rows: int = 50_000, **kw):
    src = open_source(folder, **kw)
    sample = src.sample(rows)
    return fit_copula_streamed(src, detect(sample), sample, seed=seed, say=lambda _m: None)


@pytest.fixture(scope="module")
def adult_small(adult) -> pd.DataFrame:
    return adult.iloc[:6000].reset_index(drop=True)


# ---- the mergeable counts ------------------------------------------------------------------
def test_value_counts_give_numpy_quantiles_and_merge_in_any_order() -> None:
    rng = np.random.default_rng(0)
    x = np.round(rng.lognormal(8, 1.5, 30_000))
    x[:500] = 0.0  # a point mass
    q = np.linspace(0, 1, 1001)
    whole = ValueCounts()
    whole.add(x)
    np.testing.assert_allclose(whole.quantiles(q), np.quantile(x, q), rtol=1e-12, atol=0)
    # three workers, parts given out in another order, merged in another: the same counts
    workers = [ValueCounts(cap=2000) for _ in range(3)]
    for i, part in enumerate(np.array_split(x, 10)):
        workers[(7 * i) % 3].add(part)
    merged = ValueCounts(cap=2000)
    for w in reversed(workers):
        merged.merge(w)
    direct = ValueCounts(cap=2000)
    direct.add(x)
    merged.compact(), direct.compact()
    assert merged.bucketed and direct.bucketed  # past the cap: relative buckets
    assert np.array_equal(merged.values, direct.values)
    assert np.array_equal(merged.counts, direct.counts) and merged.n == len(x)
    exact = np.quantile(x, q)
    err = np.abs(merged.quantiles(q) - exact) / np.maximum(np.abs(exact), 1e-300)
    assert err.max() <= 1e-4 and (merged.quantiles(q)[exact == 0] == 0).all()


def test_value_counts_steps_are_the_empirical_cdf() -> None:
    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0])
    vc = ValueCounts()
    vc.add(x)
    below, step = vc.steps(np.array([1.0, 2.0, 3.0]))
    assert below.tolist() == [0, 1, 2] and step.tolist() == [1, 1, 3]


# ---- the same model as in memory -----------------------------------------------------------
def _assert_same_model(streamed: CopulaGenerator, ref: CopulaGenerator, corr_tol: float) -> None:
    assert streamed.vars_ == ref.vars_  # same variables, labels in the same order
    assert streamed.n_rows_ == ref.n_rows_ and streamed.side_ == ref.side_
    assert set(streamed.arrays_) == set(ref.arrays_)
    for key, a in ref.arrays_.items():
        if key != "corr":
            np.testing.assert_array_equal(streamed.arrays_[key], a, err_msg=key)
    diff = np.abs(streamed.arrays_["corr"] - ref.arrays_["corr"]).max()
    assert diff < corr_tol, diff


def test_streamed_parquet_fit_agrees_with_the_in_memory_fit(adult_small, tmp_path) -> None:
    streamed = _streamed(_parts(adult_small, tmp_path / "src", 4))
    ref = CopulaGenerator().fit(adult_small, streamed.schema_, seed=0, embedded_pii="keep")
    # marginals exact; the correlation differs only by the draws that break ties (the in-memory
    # fit with another seed moves as much)
    other = CopulaGenerator().fit(adult_small, streamed.schema_, seed=1, embedded_pii="keep")
    seeds = np.abs(other.arrays_["corr"] - ref.arrays_["corr"]).max()
    _assert_same_model(streamed, ref, corr_tol=max(0.03, 2 * seeds))
    assert streamed.schema_ == ref.schema_


def test_streamed_csv_folder_reads_as_synthgen_run_reads_a_csv(adult_small, tmp_path) -> None:
    raw = adult_small.copy()
    raw["workclass"] = raw["workclass"].fillna("?").map(lambda v: f" {v}")  # as in adult.csv
    folder = _parts(raw, tmp_path / "csv", 3, fmt="csv")
    streamed = _streamed(folder, na_values=["?"], strip=True)
    ref = CopulaGenerator().fit(adult_small, streamed.schema_, seed=0, embedded_pii="keep")
    _assert_same_model(streamed, ref, corr_tol=0.05)


def test_numbers_past_the_cap_are_within_the_stated_error(
    adult_small, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(stream_copula, "ValueCounts", lambda: ValueCounts(cap=100))
    streamed = _streamed(_parts(adult_small, tmp_path / "src", 2))
    ref = CopulaGenerator().fit(adult_small, streamed.schema_, seed=0, embedded_pii="keep")
    i = streamed.modelled_.index("fnlwgt")  # thousands of distinct values: bucketed
    a, b = streamed.arrays_[f"knots.{i}"], ref.arrays_[f"knots.{i}"]
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert (np.abs(a - b) / np.abs(b)).max() <= 1e-4


def test_ids_and_missing_rates_come_from_every_row(small_frame, tmp_path) -> None:
    df = small_frame.drop(columns=["email"]).iloc[::-1].reset_index(drop=True)
    df.loc[350:, "city"] = None  # missing only in the last part
    # the schema from the first 100 rows: no id below 301 and no missing city in them
    streamed = _streamed(_parts(df, tmp_path / "src", 4), rows=100)
    assert streamed.side_["id"]["start"] == 1  # the smallest id is in the last part
    ref = CopulaGenerator().fit(df, streamed.schema_, seed=0)
    _assert_same_model(streamed, ref, corr_tol=0.1)
    city = next(v for v in streamed.vars_ if v["name"] == "city")
    assert None in city["labels"] and streamed.n_rows_ == len(df)


# ---- the command ---------------------------------------------------------------------------
def _recipe(tmp: Path, source: str, extra: str = "") -> Path:
    p = tmp / "big.yaml"
    p.write_text(
        f"name: big\nsource: {{path: {source}}}\ngenerator: {{name: copula}}\n{extra}",
        encoding="utf-8",
    )
    return p


def test_synthgen_fit_writes_a_model_that_samples_as_a_fitted_one(adult_small, tmp_path) -> None:
    folder = _parts(adult_small, tmp_path / "src", 3)
    recipe = _recipe(tmp_path, "src", "seed: 3\n")
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    loaded = Generator.load(tmp_path / "model")
    again = _streamed(folder, seed=3)  # the same fit, by the library, twice: one model
    for key, a in again.arrays_.items():
        np.testing.assert_array_equal(loaded.arrays_[key], a)
    pd.testing.assert_frame_equal(loaded.sample(500, seed=9), again.sample(500, seed=9))
    rows = loaded.sample(2000, seed=1)
    assert list(rows.columns) == list(adult_small.columns)
    assert rows["age"].dtype == adult_small["age"].dtype
    assert set(rows["income"]) <= set(adult_small["income"])


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("text: {workclass: {}}\n", "text: free-text models"),
        ("constraints: [{type: inequality, low: age, high: hours-per-week}]\n", "constraints"),
    ],
)
def test_unsupported_recipes_are_refused_before_any_work(
    adult_small, tmp_path, extra, named
) -> None:
    _parts(adult_small, tmp_path / "src", 2)
    recipe = _recipe(tmp_path, "src", extra)
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and named in res.output and "synthgen run" in res.output
    assert not (tmp_path / "m").exists()


def test_another_generator_is_refused_naming_the_fix(adult_small, tmp_path) -> None:
    _parts(adult_small, tmp_path / "src", 2)
    p = tmp_path / "r.yaml"
    p.write_text("name: big\nsource: {path: src}\ngenerator: {name: tvae}\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["fit", str(p), "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and "generator.name: 'tvae'" in res.output
    assert "{name: copula}" in res.output and "Traceback" not in res.output


def test_a_folder_of_different_tables_is_refused_naming_the_part(small_frame, tmp_path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    small_frame.to_parquet(folder / "a.parquet")
    small_frame.drop(columns=["email"]).to_parquet(folder / "b.parquet")
    recipe = _recipe(tmp_path, "src")
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and "b.parquet" in res.output and "synthgen run" in res.output


def test_run_on_a_part_files_folder_points_to_synthgen_fit(adult_small, tmp_path) -> None:
    from synthgen.scale.engine import sample_to_dataset

    model = CopulaGenerator().fit(adult_small, seed=0, embedded_pii="keep").save(tmp_path / "m")
    sample_to_dataset(model, 1000, tmp_path / "big", shard_rows=500, say=lambda _m: None)
    recipe = _recipe(tmp_path, "big")
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "one table in part files" in res.output
    assert "synthgen fit" in res.output
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    assert Generator.load(tmp_path / "model").n_rows_ == 1000
