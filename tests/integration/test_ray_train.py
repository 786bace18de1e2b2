"""autoreg trained data-parallel on a real local Ray cluster (2 CPUs, Ray Train + DDP over
gloo): the same model bytes for the same seed and worker count, a model within noise of the
single-process one for the same seed and global batch, a recipe run that trains on Ray, and
DP-SGD on two workers spending what a local run spends, and clear errors before any work
(more workers than CPUs, a bad address, no ray)."""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import UsageError
from synthgen.generators import create
from synthgen.generators.distributed import RayCluster, training
from synthgen.stats import ks_complement, tv_complement
from tests.ray_cluster import local_ray

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.ray

FIT = {"epochs": 3, "threads": 1}


@pytest.fixture(scope="module")
def cluster():
    with local_ray() as r:
        yield r


def _quality(real: pd.DataFrame, syn: pd.DataFrame) -> float:
    """Mean per-column KS / TV complement (1: the same marginals)."""
    scores = []
    for c in real.columns:
        if real[c].dtype.kind in "if":
            scores.append(ks_complement(real[c].to_numpy(float), syn[c].to_numpy(float)))
        else:
            scores.append(tv_complement(real[c], syn[c]))
    return float(np.mean(scores))


def _weights(gen, folder: Path) -> bytes:
    return (gen.save(folder) / "weights.safetensors").read_bytes()


@pytest.mark.slow
def test_two_workers_give_the_same_bytes_and_the_local_model_within_noise(
    cluster, adult, tmp_path: Path
):
    df = adult.iloc[:4000]
    local = create("autoreg", **FIT).fit(df, seed=7)
    said: list[str] = []
    stats: dict = {}
    runs = []
    handler = signal.getsignal(signal.SIGINT)
    for _ in range(2):
        with training(RayCluster(2, None, said.append, stats)):
            runs.append(create("autoreg", **FIT).fit(df, seed=7))
    assert signal.getsignal(signal.SIGINT) is handler  # Ray Train's own one is taken out
    assert "training on Ray: 2 worker(s)" in said[0] and said[1].startswith("trained 3 epoch(s)")
    assert len(stats["cpu_s"]) == len(stats["peak_rss"]) == 2 and min(stats["peak_rss"]) > 0
    # same seed, same worker count: the same model, byte for byte
    a, b = runs
    assert _weights(a, tmp_path / "a") == _weights(b, tmp_path / "b")
    pd.testing.assert_frame_equal(a.sample(500, seed=1), b.sample(500, seed=1))
    # against one process on the same global batches: the same loss figures up to float
    # summation order (1e-4 relative), the same held-out loss to 0.1%
    assert len(a.history_) == len(local.history_) == 3
    for h, h1 in zip(a.history_, local.history_, strict=True):
        assert h["loss"] == pytest.approx(h1["loss"], rel=1e-4)
        assert h["validation_loss"] == pytest.approx(h1["validation_loss"], rel=1e-3)
    assert _weights(a, tmp_path / "c") != _weights(local, tmp_path / "d")  # not a copy of it
    q_ray = _quality(df, a.sample(4000, seed=3))
    q_local = _quality(df, local.sample(4000, seed=3))
    assert q_local > 0.85 and abs(q_ray - q_local) < 0.02, (q_ray, q_local)


@pytest.mark.slow
def test_tvae_trains_on_ray_one_worker_as_here_two_within_noise(cluster, adult, tmp_path: Path):
    """tvae's own loop on each worker's share of every batch: one worker is the local fit
    byte for byte (the same states, the same sums); two workers give the same bytes twice
    and the local fit's losses up to float summation order (every worker draws the whole
    batch's noise and takes its share)."""
    df = adult.iloc[:3000]
    kw = {"epochs": 3, "threads": 1, "batch_size": 250}
    local = create("tvae", **kw).fit(df, seed=7)
    said: list[str] = []
    with training(RayCluster(1, None, said.append)):
        one = create("tvae", **kw).fit(df, seed=7)
    assert said[-1] == "trained 3 epoch(s) of tvae on Ray"
    assert _weights(one, tmp_path / "one") == _weights(local, tmp_path / "local")
    pd.testing.assert_frame_equal(one.sample(300, seed=2), local.sample(300, seed=2))
    runs = []
    for _ in range(2):
        with training(RayCluster(2, None, said.append)):
            runs.append(create("tvae", **kw).fit(df, seed=7))
    a, b = runs
    assert _weights(a, tmp_path / "a") == _weights(b, tmp_path / "b")
    assert _weights(a, tmp_path / "a2") != _weights(local, tmp_path / "l2")
    for h, h1 in zip(a.history_, local.history_, strict=True):
        assert h["loss"] == pytest.approx(h1["loss"], rel=1e-4)
    q_ray = _quality(df, a.sample(3000, seed=3))
    q_local = _quality(df, local.sample(3000, seed=3))
    assert q_local > 0.7 and abs(q_ray - q_local) < 0.03, (q_ray, q_local)


@pytest.mark.slow
def test_ctgan_trains_on_ray_one_worker_as_here_two_within_noise(cluster, adult, tmp_path: Path):
    """ctgan's critic and generator steps on each worker's share of the packs (the whole
    batch's rows, noise, mixing weights and dropout masks drawn in every worker, gradients
    summed by hand because the gradient penalty differentiates twice): one worker is the
    local fit byte for byte; two give the same bytes twice and a model as real as the
    local one; a batch with fewer packs than workers is refused before any worker starts."""
    df = adult.iloc[:3000]
    kw = {"epochs": 4, "threads": 1, "batch_size": 500}
    local = create("ctgan", **kw).fit(df, seed=7)
    said: list[str] = []
    with training(RayCluster(1, None, said.append)):
        one = create("ctgan", **kw).fit(df, seed=7)
    assert said[-1] == "trained 4 epoch(s) of ctgan on Ray"
    assert _weights(one, tmp_path / "one") == _weights(local, tmp_path / "local")
    runs = []
    for _ in range(2):
        with training(RayCluster(2, None, said.append)):
            runs.append(create("ctgan", **kw).fit(df, seed=7))
    a, b = runs
    assert _weights(a, tmp_path / "a") == _weights(b, tmp_path / "b")
    assert _weights(a, tmp_path / "a2") != _weights(local, tmp_path / "l2")
    assert len(a.history_) == 4
    # the first epoch's generator loss: the same objective on the same batches, so close
    assert a.history_[0]["loss"] == pytest.approx(local.history_[0]["loss"], rel=0.05)
    for seed in (3, 4):
        q_ray = _quality(df, a.sample(3000, seed=seed))
        q_local = _quality(df, local.sample(3000, seed=seed))
        assert q_local > 0.75 and abs(q_ray - q_local) < 0.03, (q_ray, q_local)
    said.clear()
    with training(RayCluster(2, None, said.append)), pytest.raises(UsageError) as err:
        create("ctgan", epochs=1, batch_size=10, pac=10).fit(df.iloc[:200], seed=1)
    assert "a worker would get no rows" in str(err.value) and "batch_size" in err.value.hint
    assert not any("training on Ray" in s for s in said)


def _recipe(tmp_path: Path, extra: str = "") -> Path:
    rng = np.random.default_rng(3)
    n = 1500
    age = rng.integers(20, 70, n)
    pd.DataFrame(
        {
            "age": age,
            "income": np.round(age * 800 + rng.normal(0, 5000, n), 2),
            "group": rng.choice(["a", "b", "c"], n),
        }
    ).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "suite.yaml").write_text(
        "name: shapes\ngates:\n  - {name: shapes, metric: column_shapes, op: '>=', "
        "threshold: 0.5}\n",
        encoding="utf-8",
    )
    (tmp_path / "r.yaml").write_text(
        "name: t\nseed: 4\nsource: {path: data.csv}\n"
        "generator: {name: autoreg, params: {epochs: 2}}\n"
        "validate: {suite: suite.yaml}\nconstraints: {detect: false}\n" + extra,
        encoding="utf-8",
    )
    return tmp_path / "r.yaml"


@pytest.mark.slow
def test_a_recipe_run_trains_on_ray(cluster, tmp_path: Path):
    from synthgen.generators import Generator

    recipe = _recipe(tmp_path)
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", f"{tmp_path}/local"])
    assert res.exit_code == 0, res.output
    args = ["run", str(recipe), "--out", f"{tmp_path}/ray", "--engine", "ray", "--workers", "2"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (
        "training on Ray: 2 worker(s)" in res.output and "trained 2 epoch(s) on Ray" in res.output
    )
    on_ray = Generator.load(tmp_path / "ray" / "model")
    local = Generator.load(tmp_path / "local" / "model")
    for h, h1 in zip(on_ray.history_, local.history_, strict=True):  # type: ignore[attr-defined]
        assert h["validation_loss"] == pytest.approx(h1["validation_loss"], rel=1e-3)


@pytest.mark.slow
def test_a_dp_recipe_run_trains_on_ray_and_spends_what_the_local_run_spends(
    cluster, tmp_path: Path
):
    """DP-SGD on two workers: the same Poisson batches everywhere, each clipping its share,
    the noise added once; the same steps and epsilon in the ledger as the local run, and
    (the same sums up to float order) the local model's losses."""
    import json

    from synthgen.generators import Generator

    recipe = _recipe(
        tmp_path,
        "privacy: {epsilon: 3}\nschema: {age: {min: 20, max: 70}, "
        "income: {min: -20000, max: 80000}, group: {categories: [a, b, c]}}\n",
    )
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", f"{tmp_path}/local"])
    assert res.exit_code == 0, res.output
    args = ["run", str(recipe), "--out", f"{tmp_path}/ray", "--engine", "ray", "--workers", "2"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "training on Ray: 2 worker(s)" in res.output
    spent = {}
    for run in ("local", "ray"):
        p = json.loads((tmp_path / run / "report.json").read_text())["privacy"]
        sgd = [m for m in p["mechanisms"] if m["mechanism"] == "DP-SGD"]
        assert len(sgd) == 1 and 0 < p["epsilon_spent"] <= 3
        spent[run] = (p["epsilon_spent"], sgd[0]["sgd"]["steps"], sgd[0]["sgd"]["noise_multiplier"])
    assert spent["ray"] == spent["local"] and spent["ray"][1] > 0
    on_ray = Generator.load(tmp_path / "ray" / "model")
    local = Generator.load(tmp_path / "local" / "model")
    assert len(on_ray.history_) == len(local.history_)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        ("", ["--workers", "3"], "the Ray cluster has 2 CPU(s)"),
        ("", ["--address", "127.0.0.1:1"], "cannot reach the Ray cluster"),
    ],
)
def test_what_cannot_train_on_ray_is_refused_before_any_work(
    cluster, tmp_path: Path, extra: str, args: list[str], message: str
):
    recipe = _recipe(tmp_path, extra)
    res = CliRunner().invoke(
        cli, ["run", str(recipe), "--out", f"{tmp_path}/o", "--engine", "ray", *args]
    )
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert "fitting autoreg" not in res.output and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("name", "private", "said"),
    [
        ("copula", False, "copula trains here (not data-parallel on Ray)"),
        ("tvae", True, "tvae's DP-SGD trains here (not data-parallel on Ray)"),
        ("ctgan", True, "ctgan's DP-SGD trains here (not data-parallel on Ray)"),
    ],
)
def test_what_does_not_train_on_ray_trains_here_saying_so(
    cluster, tmp_path: Path, name: str, private: bool, said: str
):
    from synthgen.recipe import load_recipe
    from synthgen.scale.ray_train import train_cluster

    recipe = load_recipe(_recipe(tmp_path, "execution: {engine: ray, workers: 2}\n"))
    lines: list[str] = []
    assert train_cluster(recipe.model_copy(update={"generator": recipe.generator.model_copy(
        update={"name": name})}), create(name), private, lines.append) is None  # fmt: skip
    assert lines == [f"{said}; the rows are drawn on Ray"]
    on = train_cluster(recipe, create("ctgan"), False, lines.append)
    assert on is not None and on.workers == 2


def test_without_ray_a_run_names_the_extra(monkeypatch, tmp_path: Path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name.split(".")[0] == "ray" else real(name, *a, **k),
    )
    recipe = _recipe(tmp_path)
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", f"{tmp_path}/o", "--engine", "ray"])
    assert res.exit_code == 2 and "synthgen[ray]" in res.output and not (tmp_path / "o").exists()


def test_a_ray_without_the_train_v2_api_is_refused_saying_so(cluster, monkeypatch, tmp_path: Path):
    from ray.train import Result

    monkeypatch.delitem(Result.__dataclass_fields__, "return_value")
    recipe = _recipe(tmp_path)
    res = CliRunner().invoke(
        cli, ["run", str(recipe), "--out", f"{tmp_path}/o", "--engine", "ray", "--workers", "1"]
    )
    assert res.exit_code == 2 and "RAY_TRAIN_V2_ENABLED" in res.output, res.output
    assert not (tmp_path / "o").exists()
