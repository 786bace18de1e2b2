"""The streamed copula fit on a real local Ray cluster (2 CPUs): the same model as the local
engine for one or two workers, with differential privacy too; a bad address is a clear error before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.privacy import DPPlan
from synthgen.scale.stream_fit import fit_copula_streamed
from synthgen.scale.stream_source import open_source
from synthgen.schema.detect import detect
from tests.ray_cluster import local_ray

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def source(adult, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("src")
    df = adult.iloc[:8000]
    for i, rows in enumerate(np.array_split(np.arange(len(df)), 4)):
        df.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False, row_group_size=1000)
    return folder


@pytest.mark.slow
def test_ray_fits_the_local_model_for_one_or_two_workers(source: Path) -> None:
    """Without and with differential privacy: under DP every noise is drawn on the driver
    after the reduce, so the DP model and its ledger do not depend on the worker count."""
    src = open_source(source)
    sample = src.sample()
    schema = detect(sample)
    dp = {"privacy": lambda n: DPPlan.build(1.0, None, n)}
    for extra in ({}, dp):
        kw = {"seed": 4, "say": lambda _m: None, **extra}
        local = fit_copula_streamed(src, schema, sample, **kw)
        with local_ray():
            for w in (1, 2):
                stats: dict = {}
                on_ray = fit_copula_streamed(
                    src, schema, sample, engine="ray", workers=w, stats=stats, **kw
                )
                assert on_ray.vars_ == local.vars_ and on_ray.side_ == local.side_
                assert on_ray.n_rows_ == local.n_rows_
                assert on_ray.privacy_ == local.privacy_
                for key, a in local.arrays_.items():  # bit for bit, the correlation too
                    assert np.array_equal(on_ray.arrays_[key], a), key
                assert len(stats["peak_rss"]) == w and min(stats["peak_rss"]) > 0
                rows = on_ray.sample(300, seed=2)
                pd.testing.assert_frame_equal(rows, local.sample(300, seed=2))
        if extra:  # the budget spent once, not once per worker
            assert local.privacy_ is not None and local.n_rows_ != 8000
            assert local.privacy_["epsilon_spent"] == pytest.approx(1.0, rel=1e-5)
        else:
            assert local.privacy_ is None and local.n_rows_ == 8000


def test_a_bad_address_is_refused_before_any_work(source: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: big\nsource: {{path: {source}}}\ngenerator: {{name: copula}}\n", encoding="utf-8"
    )
    args = ["fit", str(recipe), "--out", str(tmp_path / "m"), "--engine", "ray"]
    res = CliRunner().invoke(cli, [*args, "--address", "127.0.0.1:1"])
    assert res.exit_code == 2 and "cannot reach the Ray cluster" in res.output
    assert not (tmp_path / "m").exists()
    res = CliRunner().invoke(cli, ["fit", str(recipe), "--out", "m", "--workers", "2"])
    assert res.exit_code == 2 and "engine: ray" in res.output
