"""``synthgen fit`` under differential privacy: the in-memory DP copula's mechanism on a
source read in parts, its noise drawn once on the driver after the reduce. The same DP
marginals and ledger as the in-memory DP copula for the same table and seed; a rare label
and an outlier the exact fit learns are not learnt; bad privacy settings are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.generators.base import Generator
from synthgen.generators.copula import CopulaGenerator
from synthgen.generators.copula_dp import score_clip
from synthgen.privacy import DPPlan, gdp_mu
from synthgen.privacy.marginals import MAX_DEPTH, _child_edges, tree_grid
from synthgen.privacy.plan import LABEL_DELTA_SHARE
from synthgen.scale.stream_fit import fit_copula_streamed
from synthgen.scale.stream_source import open_source
from synthgen.schema.detect import detect

EPSILON = 1.0


def _parts(df: pd.DataFrame, folder: Path, k: int = 4, fmt: str = "parquet") -> Path:
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(df)), k)):
        if fmt == "csv":
            df.iloc[rows].to_csv(folder / f"part-{i}.csv", index=False)
        else:
            part = df.iloc[rows]
            part.to_parquet(folder / f"part-{i}.parquet", index=False, row_group_size=1000)
    return folder


def _fit(folder: Path, seed: int = 0, epsilon: float | None = EPSILON) -> CopulaGenerator:
    src = open_source(folder)
    sample = src.sample()
    privacy = None if epsilon is None else (lambda n: DPPlan.build(epsilon, None, n))
    return fit_copula_streamed(
        src, detect(sample), sample, seed=seed, say=lambda _m: None, privacy=privacy
    )


@pytest.fixture(scope="module")
def adult_6k(adult) -> pd.DataFrame:
    return adult.iloc[:6000].reset_index(drop=True)


def test_the_tree_grid_holds_every_node_as_the_tree_computes_it() -> None:
    """Counts in the grid's cells answer any node of the tree exactly only if each node's
    edges are grid edges, the same floats: checked against the tree's own recursion."""

    def by_recursion(lo: float, hi: float, integer: bool) -> np.ndarray:
        nodes = [(lo, hi)]
        for _ in range(MAX_DEPTH - 1):
            nxt = []
            for a, b in nodes:
                leaf = integer and b - a <= 1.0 + 1e-9
                e = np.array([a, b]) if leaf else _child_edges(a, b, integer)
                nxt += list(zip(e[:-1].tolist(), e[1:].tolist(), strict=True))
            nodes = nxt
        return np.array([lo] + [b for _, b in nodes])

    for lo, hi, integer in [(-0.5, 2.0**21 + 0.5, True), (15.5, 128.5, True), (-4096.5, 65536.5, True), (-3.5, 12.5, True), (0.0, 1024.0, False), (-1e-3, 7.3, False)]:  # fmt: skip
        grid = tree_grid(lo, hi, integer)
        assert np.array_equal(grid, by_recursion(lo, hi, integer)), (lo, hi)
        assert len(grid) <= 16 ** (MAX_DEPTH - 1) + 1


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streamed_dp_model_is_the_in_memory_dp_copulas(adult_6k, tmp_path, fmt) -> None:
    streamed = _fit(_parts(adult_6k, tmp_path / "src", fmt=fmt), seed=5)
    plan = DPPlan.build(EPSILON, None, len(adult_6k))
    ref = CopulaGenerator().fit(
        adult_6k, streamed.schema_, seed=5, privacy=plan, embedded_pii="keep"
    )
    # the DP marginals, the DP row count and missing rates: bit for bit
    assert streamed.vars_ == ref.vars_ and streamed.side_ == ref.side_
    assert streamed.n_rows_ == ref.n_rows_ != len(adult_6k)  # a noisy count
    assert streamed.dp_missing_ == ref.dp_missing_
    for key, a in ref.arrays_.items():
        if key != "corr":
            np.testing.assert_array_equal(streamed.arrays_[key], a, err_msg=key)
    # the same ledger: the budget spent once, split as in memory
    assert streamed.privacy_ == ref.privacy_
    led = streamed.privacy_
    assert led["epsilon_spent"] == pytest.approx(EPSILON, rel=1e-5)
    label, hist, corr = led["mechanisms"]
    assert label["delta"] == pytest.approx(LABEL_DELTA_SHARE * led["delta"])
    assert hist["share_of_gaussian"] == corr["share_of_gaussian"] == 0.5
    mu = gdp_mu(EPSILON, led["delta"] - label["delta"])
    assert led["gaussian_mu"] == pytest.approx(mu, rel=1e-5)
    d = len(streamed.vars_)
    assert corr["detail"]["sigma"] == pytest.approx(score_clip(d) ** 2 / corr["mu"], abs=1e-4)
    # the correlation: another draw of the same noise (the rows' tie-breaking draws differ
    # too). Two independent draws of noise sigma / n per entry differ by sqrt(2) of it in
    # root mean square (measured 1.30-1.47 over 5 seeds); no noise gives ~0, noise added
    # per unit (8 here) ~3, noise twice too large ~2.8
    scale = corr["detail"]["sigma"] / len(adult_6k)
    diff = (streamed.arrays_["corr"] - ref.arrays_["corr"])[np.triu_indices(d, 1)]
    assert 1.0 < np.sqrt(np.mean(diff**2)) / scale < 2.0
    exact = _fit(tmp_path / "src", seed=5, epsilon=None)
    assert np.abs(streamed.arrays_["corr"] - exact.arrays_["corr"]).max() > 0.5 * scale


def test_public_bounds_and_labels_are_used_as_in_memory(adult_6k, tmp_path) -> None:
    """Given bounds and label lists cost nothing and replace the data's: the same model."""
    public = {
        "bounds": {"age": (17.0, 90.0), "hours-per-week": (1.0, 99.0)},
        "categories": {"workclass": ["Private", "State-gov", "Mars"], "sex": ["Male", "Female"]},
    }
    src = open_source(_parts(adult_6k, tmp_path / "src"))
    sample = src.sample()
    schema = detect(sample)
    streamed = fit_copula_streamed(
        src,
        schema,
        sample,
        seed=1,
        say=lambda _m: None,
        privacy=lambda n: DPPlan.build(3.0, None, n, **public),
    )
    plan = DPPlan.build(3.0, None, len(adult_6k), **public)
    ref = CopulaGenerator().fit(adult_6k, schema, seed=1, privacy=plan, embedded_pii="keep")
    assert streamed.vars_ == ref.vars_ and streamed.privacy_ == ref.privacy_
    for key, a in ref.arrays_.items():
        if key != "corr":
            np.testing.assert_array_equal(streamed.arrays_[key], a, err_msg=key)
    work = next(v for v in streamed.vars_ if v["name"] == "workclass")
    assert set(work["labels"]) == {"Private", "State-gov", "Mars"}  # the list, not the data
    age = next(v for v in streamed.vars_ if v["name"] == "age")
    knots = streamed.arrays_[f"knots.{age['index']}"]
    assert knots.min() >= 16.5 and knots.max() <= 90.5


def test_a_rare_label_and_an_outlier_the_exact_fit_learns_are_not_learnt(
    adult_6k, tmp_path
) -> None:
    df = adult_6k.copy()
    df.loc[[10, 2000, 4000], "native-country"] = "Atlantis"  # three people, one per part
    df.loc[4321, "capital-gain"] = 48_000_000  # one outlier (the rest: at most 99,999)
    folder = _parts(df, tmp_path / "src")

    def leaks(model: CopulaGenerator) -> list[str]:
        found = []
        for v in model.vars_:
            if v["name"] == "native-country" and "Atlantis" in v["labels"]:
                found.append("label")
            top = model.arrays_.get(f"knots.{v['index']}", np.zeros(1)).max()
            if v["name"] == "capital-gain" and v["type"] == "numeric" and top > 1_000_000:
                found.append("outlier")
        return found

    assert sorted(leaks(_fit(folder, epsilon=None))) == ["label", "outlier"]  # planted
    for seed in range(3):
        dp = _fit(folder, seed=seed, epsilon=3.0)
        assert leaks(dp) == [], seed
        rows = dp.sample(20_000, seed=seed)
        assert "Atlantis" not in set(rows["native-country"])
        assert rows["capital-gain"].max() < 1_000_000


def _recipe(tmp: Path, extra: str) -> Path:
    p = tmp / "big.yaml"
    p.write_text(f"name: big\nsource: {{path: src}}\ngenerator: {{name: copula}}\n{extra}")
    return p


def test_synthgen_fit_with_privacy_writes_the_ledger_and_says_the_spend(adult_6k, tmp_path) -> None:
    _parts(adult_6k, tmp_path / "src")
    recipe = _recipe(tmp_path, "seed: 2\nprivacy: {epsilon: 1}\n")
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    assert "epsilon 1 of 1 spent" in res.output
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["privacy"]["epsilon_spent"] == pytest.approx(1.0, rel=1e-5)
    schema = json.loads((tmp_path / "model" / "schema.json").read_text())
    assert all(c["cardinality"] == 0 for c in schema["columns"])  # statistics withheld
    model = Generator.load(tmp_path / "model")
    again = _fit(tmp_path / "src", seed=2)
    for key, a in again.arrays_.items():
        np.testing.assert_array_equal(model.arrays_[key], a, err_msg=key)
    rows = model.sample(1000, seed=1)
    assert list(rows.columns) == list(adult_6k.columns)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("privacy: {}\n", "epsilon"),
        ("privacy: {epsilon: 0}\n", "epsilon"),
        ("privacy: {epsilon: 1, delta: 0.5}\n", "delta"),
        ("privacy: {epsilon: 1}\nschema: {age: {min: 0}}\n", "give both min and max"),
        ("privacy: {epsilon: 1}\npii: {consistent: [age]}\n", "pii.consistent"),
        ("privacy: {epsilon: 1}\nschema: {workclass: {kind: text}}\n", "free-text column"),
        ("privacy: {epsilon: 0.002}\n", "too small to find its range"),
    ],
)
def test_bad_privacy_settings_are_refused_without_a_model(adult_6k, tmp_path, extra, named) -> None:
    _parts(adult_6k, tmp_path / "src")
    recipe = _recipe(tmp_path, extra)
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", str(tmp_path / "m")])
    assert res.exit_code == 2, res.output
    assert named in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m").exists()
