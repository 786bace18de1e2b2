"""`synthgen validate --engine local|ray`: tables read in parts, never whole. Exact counts
equal the in-memory metrics over the same rows; a planted leak fails with its exact count,
clean data passes; the report is the same for the local engine and 1 or 2 Ray workers;
bad options and inputs are clear exit-2 errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.evaluation_scale import validate_at_scale
from synthgen.metrics import REGISTRY, Context
from synthgen.schema.spec import Schema
from tests.scale_model import small_frame

QUIET = {"say": lambda _m: None}
COPIES_SUITE = """name: copies
gates:
  - {name: exact_copies, metric: exact_copy_excess, op: "<=", threshold: 0.02}
  - {name: pii_replay, metric: pii_replay, op: "<=", threshold: 0}
metrics: [exact_copy_rate]
"""


def write_parts(df: pd.DataFrame, folder: Path, parts: int, group: int) -> Path:
    folder.mkdir(parents=True)
    for i, rows in enumerate(np.array_split(np.arange(len(df)), parts)):
        df.iloc[rows].to_parquet(
            folder / f"part-{i:05d}.parquet", index=False, row_group_size=group
        )
    return folder


@pytest.fixture(scope="module")
def tables(adult, tmp_path_factory) -> dict[str, Path]:
    """Adult cut in three: train, holdout and unseen rows as clean synthetic data; the leak
    is the unseen rows plus 900 training rows copied verbatim."""
    root = tmp_path_factory.mktemp("scale")
    train, hold, unseen = adult.iloc[:9000], adult.iloc[9000:12000], adult.iloc[12000:21000]
    leak = pd.concat([unseen, train.iloc[:900]]).sample(frac=1.0, random_state=1)
    return {
        "train": write_parts(train, root / "train", 3, 1000),
        "holdout": write_parts(hold, root / "holdout", 2, 1000),
        "clean": write_parts(unseen, root / "clean", 4, 700),
        "leak": write_parts(leak, root / "leak", 4, 700),
    }


def _suite(tmp_path: Path) -> str:
    p = tmp_path / "copies.yaml"
    p.write_text(COPIES_SUITE, encoding="utf-8")
    return str(p)


def _in_memory(report: dict, train: pd.DataFrame, hold: pd.DataFrame, syn: pd.DataFrame) -> Context:
    schema = Schema(columns=report["schema"])
    return Context(train, hold, syn, schema, seed=0)


def test_exact_counts_equal_the_in_memory_metrics_over_every_row(adult, tables, tmp_path):
    rep = validate_at_scale(
        tables["train"], tables["leak"], holdout=tables["holdout"], suite=_suite(tmp_path),
        out=tmp_path / "v", sample_rows=500, bootstrap=0, **QUIET,
    )  # fmt: skip
    ctx = _in_memory(
        rep,
        pd.read_parquet(tables["train"]),
        pd.read_parquet(tables["holdout"]),
        pd.read_parquet(tables["leak"]),
    )
    whole = REGISTRY["exact_copy_rate"].compute(ctx)
    privacy = rep["metrics"]["privacy"]
    assert privacy["exact_copy_rate_copies"] == whole.details["copies"] >= 900
    assert rep["scale"]["exact"]["copies"] == whole.details["copies"]
    assert privacy["exact_copy_rate"] == pytest.approx(whole.value, abs=0)
    excess = REGISTRY["exact_copy_excess"].compute(ctx)
    assert privacy["exact_copy_excess"] == pytest.approx(excess.value, rel=1e-12)
    assert privacy["exact_copy_excess_ci_high"] == pytest.approx(excess.details["ci_high"])
    assert rep["rows"] == {"source": 12000, "train": 9000, "holdout": 3000, "synthetic": 9900}
    assert rep["scale"]["sample_rows"] == {"train": 500, "holdout": 500, "synthetic": 500}
    assert not rep["passed"]  # the leak fails its gate, on the exact count


def test_pii_replay_is_counted_over_every_cell(tmp_path):
    real = small_frame(("email",))
    train, hold = real.iloc[:200], real.iloc[200:]
    syn = pd.concat([real] * 4, ignore_index=True)
    syn["email"] = [f"made.up{i}@example.net" for i in range(len(syn))]
    picked = np.arange(0, 1200, 40)  # 30 cells replaying a real address
    syn.loc[picked, "email"] = real["email"].iloc[picked % 300].str.upper().to_numpy()
    paths = {
        "train": write_parts(train, tmp_path / "t", 2, 50),
        "hold": write_parts(hold, tmp_path / "h", 1, 50),
        "syn": write_parts(syn, tmp_path / "s", 3, 100),
    }
    rep = validate_at_scale(
        paths["train"], paths["syn"], holdout=paths["hold"], suite=_suite(tmp_path),
        out=tmp_path / "v", sample_rows=100, bootstrap=0, **QUIET,
    )  # fmt: skip
    privacy = rep["metrics"]["privacy"]
    assert privacy["pii_replay"] == 30 and privacy["pii_replay_per_column"] == {"email": 30}
    assert privacy["pii_replay_share"]["email"] == pytest.approx(30 / 1200)
    whole = REGISTRY["pii_replay"].compute(_in_memory(rep, train, hold, syn))
    assert whole.value == 30
    assert not rep["passed"] and rep["verdict"] == "fail"


def test_a_missing_label_is_not_a_copy_of_an_empty_one(tmp_path):
    train = pd.DataFrame({"a": ["", "x", "y"] * 20, "n": np.arange(60) % 7})
    syn = train.copy()
    syn["a"] = syn["a"].replace("", None)
    rep = validate_at_scale(
        write_parts(train, tmp_path / "t", 2, 10), write_parts(syn, tmp_path / "s", 3, 7),
        suite=_suite(tmp_path), out=tmp_path / "v", sample_rows=100, bootstrap=0, **QUIET,
    )  # fmt: skip
    assert rep["scale"]["exact"]["copies"] == 40  # the 20 rows whose label was "" are not


@pytest.mark.slow
def test_cli_fails_a_planted_leak_and_passes_clean_data(tables, tmp_path):
    args = ["validate", "--real", str(tables["train"]), "--holdout", str(tables["holdout"])]
    args += ["--engine", "local", "--sample-rows", "1500", "--bootstrap", "3", "-q"]
    res = CliRunner().invoke(
        cli, [*args, "--synthetic", str(tables["leak"]), "--out", str(tmp_path / "a")]
    )
    assert res.exit_code == 3, res.output
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    gate = next(g for g in rep["gates"] if g["name"] == "exact_copies")
    assert gate["status"] == "fail" and rep["scale"]["exact"]["copies"] >= 900
    html = (tmp_path / "a" / "report.html").read_text()
    assert "At scale" in html and "synthetic rows equal to a training row" in html
    res = CliRunner().invoke(
        cli, [*args, "--synthetic", str(tables["clean"]), "--out", str(tmp_path / "b")]
    )
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    assert rep["passed"] and rep["scale"]["sample_rows"]["synthetic"] == 1500
    quality = rep["scale"]["intervals"]["quality"]
    assert (
        quality["method"] == "bootstrap"
        and quality["ci_low"] <= rep["metrics"]["fidelity"]["quality"] <= quality["ci_high"]
    )
    assert rep["scale"]["intervals"]["dcr_share"]["method"] == "analytic"
    assert rep["scale"]["intervals"]["exact_copy_rate"]["scope"] == "exact"


def _stable(report: dict) -> dict:
    """A report without what differs between runs of the same validation: clock times."""
    return {k: v for k, v in report.items() if k not in ("created", "timings", "engine")}


@pytest.mark.slow
@pytest.mark.ray
def test_ray_gives_the_local_report_for_one_or_two_workers(tables, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    from tests.ray_cluster import local_ray

    kw = {"holdout": tables["holdout"], "sample_rows": 800, "bootstrap": 2, "seed": 5, **QUIET}
    local = validate_at_scale(tables["train"], tables["leak"], out=tmp_path / "l", **kw)
    again = validate_at_scale(tables["train"], tables["leak"], out=tmp_path / "l2", **kw)
    assert _stable(again) == _stable(local)  # same seed, same report
    with local_ray():
        for w in (1, 2):
            stats: dict = {}
            on_ray = validate_at_scale(
                tables["train"], tables["leak"], out=tmp_path / f"r{w}", engine="ray",
                workers=w, stats=stats, **kw,
            )  # fmt: skip
            assert _stable(on_ray) == _stable(local), w
            assert on_ray["engine"] == {"engine": "ray", "workers": w}
            assert len(stats["peak_rss"]) == w and min(stats["peak_rss"]) > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--engine", "ray", "--address", "127.0.0.1:1"], "cannot reach the Ray cluster"),
        (["--workers", "2"], "add --engine local or --engine ray"),
        (["--engine", "local", "--workers", "2"], "--workers and --address are for the Ray engine"),
    ],
)
def test_bad_options_are_clear_errors_before_any_work(tables, tmp_path, extra, message):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    args = ["validate", "--real", str(tables["train"]), "--synthetic", str(tables["clean"])]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o"), *extra])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_a_folder_of_mixed_tables_is_a_clear_error(tables, adult, tmp_path):
    mixed = write_parts(adult.iloc[:100], tmp_path / "mixed", 1, 50)
    adult.iloc[:50, :3].to_parquet(mixed / "part-00009.parquet", index=False)
    args = ["validate", "--real", str(tables["train"]), "--synthetic", str(mixed)]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o"), "--engine", "local"])
    assert res.exit_code == 2, res.output
    assert "part-00009.parquet has columns" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".synthgen-validate-*"))


def test_without_ray_the_error_names_the_extra(monkeypatch, tables, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name.split(".")[0] == "ray" else real(name, *a, **k),
    )
    args = ["validate", "--real", str(tables["train"]), "--synthetic", str(tables["clean"])]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o"), "--engine", "ray"])
    assert res.exit_code == 2 and "synthgen[ray]" in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_exact_counts_do_not_depend_on_parts_or_hash_ranges(adult, tables, tmp_path, monkeypatch):
    """The same rows cut into other parts and row groups, reduced in 1 range or in 16:
    the same whole-number counts (the samples may differ: their keys follow the parts)."""
    from synthgen.scale import exact_reduce

    leak = pd.read_parquet(tables["leak"])
    other = write_parts(leak, tmp_path / "other", 7, 333)
    kw = {"holdout": tables["holdout"], "suite": _suite(tmp_path), "sample_rows": 200}
    kw |= {"bootstrap": 0, **QUIET}
    first = validate_at_scale(tables["train"], tables["leak"], out=tmp_path / "a", **kw)
    monkeypatch.setattr(exact_reduce, "MIN_RANGES", 1)
    second = validate_at_scale(tables["train"], other, out=tmp_path / "b", **kw)
    assert second["scale"]["exact"]["hash_ranges"] == 1 < first["scale"]["exact"]["hash_ranges"]
    for key in ("copies", "holdout_copies"):
        assert second["scale"]["exact"][key] == first["scale"]["exact"][key]
    one, two = first["metrics"]["privacy"], second["metrics"]["privacy"]
    assert two["exact_copy_excess"] == one["exact_copy_excess"]


def test_a_big_csv_file_is_read_in_batches_and_counted_exactly(adult, tmp_path, monkeypatch):
    """One CSV file is one unit read batch by batch (each batch's hashes written as read):
    the counts are the in-memory metric's over the same rows."""
    from synthgen.scale import stream_source

    monkeypatch.setattr(stream_source, "BATCH_ROWS", 1000)
    train, syn = adult.iloc[:6000], pd.concat([adult.iloc[6000:10000], adult.iloc[:500]])
    train.to_csv(tmp_path / "real.csv", index=False)
    syn.to_csv(tmp_path / "syn.csv", index=False)
    rep = validate_at_scale(
        tmp_path / "real.csv", tmp_path / "syn.csv", suite=_suite(tmp_path),
        out=tmp_path / "v", sample_rows=300, bootstrap=0, **QUIET,
    )  # fmt: skip
    ctx = _in_memory(rep, train, train.iloc[:0], syn)
    whole = REGISTRY["exact_copy_rate"].compute(ctx)
    assert rep["scale"]["exact"]["copies"] == whole.details["copies"] >= 500
    assert rep["rows"]["synthetic"] == 4500 and rep["scale"]["sample_rows"]["synthetic"] == 300
