"""Sampling on a real local Ray cluster (2 CPUs, started once for this module): the same
bytes as the local engine for any worker count, unique ids and fakes across shards, clear
errors for a bad address or a missing extra."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import MissingExtraError
from synthgen.scale.engine import sample_to_dataset
from tests.ray_cluster import local_ray
from tests.scale_model import fit_small_model

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster():
    with local_ray() as r:
        yield r


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return fit_small_model(tmp_path_factory.mktemp("m") / "model", pii="email")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_ray_gives_the_local_bytes_for_one_or_two_workers(cluster, model_dir, tmp_path: Path):
    kw = {"seed": 5, "shard_rows": 400}
    local = sample_to_dataset(model_dir, 2000, tmp_path / "local", **kw)
    stats: dict = {}
    for w in (1, 2):
        on_ray = sample_to_dataset(
            model_dir, 2000, tmp_path / f"ray{w}", engine="ray", workers=w, stats=stats, **kw
        )
        assert on_ray == local
        assert _digests(tmp_path / f"ray{w}") == _digests(tmp_path / "local")
        assert len(stats["peak_rss"]) == w and min(stats["peak_rss"]) > 0
    rows = pd.read_parquet(tmp_path / "ray2")
    assert len(rows) == 2000 and [p["rows"] for p in local["parts"]] == [400] * 5
    # ids from the row number, fakes owned by one shard: unique with no set shared
    assert rows["id"].tolist() == list(range(1, 2001)) and rows["email"].is_unique
    other = sample_to_dataset(model_dir, 2000, tmp_path / "seed6", seed=6, shard_rows=400)
    assert other["parts"][0]["rows"] == 400
    assert _digests(tmp_path / "seed6") != _digests(tmp_path / "local")


@pytest.mark.slow
def test_the_cli_samples_on_ray_into_a_folder(cluster, model_dir, tmp_path: Path):
    args = ["sample", str(model_dir), "-n", "1200", "--seed", "2", "--out"]
    res = CliRunner().invoke(cli, [*args, f"{tmp_path}/big/", "--engine", "ray", "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "on Ray with 2 worker(s)" in res.output and "1 part file(s)" in res.output
    res = CliRunner().invoke(cli, [*args, f"{tmp_path}/one.parquet"])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "big"), pd.read_parquet(tmp_path / "one.parquet")
    )


def test_a_bad_address_is_a_clear_error_before_any_work(cluster, model_dir, tmp_path: Path):
    for address, message in [
        ("127.0.0.1:1", "cannot reach the Ray cluster at '127.0.0.1:1'"),
        ("ray://127.0.0.1:1", "cannot reach the Ray cluster"),
        ("nonsense", "bad Ray address 'nonsense'"),
    ]:
        res = CliRunner().invoke(
            cli,
            ["sample", str(model_dir), "-n", "10", "--out", f"{tmp_path}/o/"]
            + ["--engine", "ray", "--address", address],
        )
        assert res.exit_code == 2, res.output
        assert message in res.output and "Traceback" not in res.output
        assert not (tmp_path / "o").exists()


def test_without_ray_the_error_names_the_extra(monkeypatch, model_dir, tmp_path: Path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name.split(".")[0] == "ray" else real(name, *a, **k),
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'synthgen\[ray\]'"):
        sample_to_dataset(model_dir, 10, tmp_path / "o", engine="ray")
    res = CliRunner().invoke(
        cli, ["sample", str(model_dir), "-n", "10", "--out", f"{tmp_path}/o/", "--engine", "ray"]
    )
    assert res.exit_code == 2 and "synthgen[ray]" in res.output and not (tmp_path / "o").exists()


def _recipe(tmp_path: Path, execution: str) -> Path:
    rng = np.random.default_rng(3)
    n = 400
    pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(20, 70, n),
            "group": rng.choice(["a", "b", "c"], n),
            "phone": [f"+1 555 {rng.integers(10**6, 10**7)}" for i in range(n)],
        }
    ).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "suite.yaml").write_text(
        "name: shapes\ngates:\n  - {name: shapes, metric: column_shapes, op: '>=', "
        "threshold: 0.5}\n",
        encoding="utf-8",
    )
    (tmp_path / "r.yaml").write_text(
        "name: t\nseed: 4\nsource: {path: data.csv}\ngenerator: {name: copula}\n"
        "sample: {rows: 120000}\nvalidate: {suite: suite.yaml}\n"
        "constraints: {detect: false}\n" + execution,
        encoding="utf-8",
    )
    return tmp_path / "r.yaml"


@pytest.mark.slow
def test_a_recipe_run_on_ray_gives_the_local_rows(cluster, tmp_path: Path, monkeypatch):
    from synthgen.pipeline import run
    from synthgen.recipe import load_recipe
    from synthgen.scale import run_sampling

    calls = []
    real = run_sampling.ray_sample
    monkeypatch.setattr(
        run_sampling, "ray_sample", lambda *a, **k: calls.append(k["workers"]) or real(*a, **k)
    )
    local = run(load_recipe(_recipe(tmp_path, "")), out=tmp_path / "local")
    assert calls == []
    rec = load_recipe(_recipe(tmp_path, "execution: {engine: ray, workers: 2}\n"))
    on_ray = run(rec, out=tmp_path / "ray")
    assert calls == [2]  # the rows were drawn on Ray
    assert len(on_ray.synthetic) == 120_000  # three shards of 50,000 rows, the last shorter
    pd.testing.assert_frame_equal(on_ray.synthetic, local.synthetic)
    assert on_ray.synthetic["id"].is_unique and on_ray.synthetic["phone"].notna().all()


def test_execution_options_are_checked_like_the_recipe(tmp_path: Path):
    from synthgen.errors import RecipeError
    from synthgen.recipe import load_recipe

    path = _recipe(tmp_path, "execution: {engine: local, workers: 2}\n")
    with pytest.raises(RecipeError, match="address and workers are for engine: ray"):
        load_recipe(path)
    rec = load_recipe(_recipe(tmp_path, ""))
    assert rec.with_execution("ray", 3, None).execution.workers == 3
    with pytest.raises(RecipeError, match="execution"):
        rec.with_execution(None, 2, None)
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "r.yaml"), "--address", "auto"])
    assert res.exit_code == 2 and "engine: ray" in res.output and "Traceback" not in res.output


def test_more_workers_than_cpus_are_capped_not_left_waiting(cluster, model_dir, tmp_path: Path):
    said: list[str] = []
    manifest = sample_to_dataset(
        model_dir, 300, tmp_path / "o", engine="ray", workers=5, say=said.append, shard_rows=100
    )
    assert "using 2 worker(s), not 5" in said[0] and len(manifest["parts"]) == 3
