"""A Parquet dataset folder from a saved model: part files in row order, a manifest, the
same rows `synthgen sample` writes to one file, and nothing at all when a part fails."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import DataError
from synthgen.scale.dataset import part_name, read_manifest, write_dataset
from synthgen.scale.engine import sample_to_dataset
from synthgen.scale.sampler import ShardSampler
from tests.scale_model import fit_small_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return fit_small_model(tmp_path_factory.mktemp("m") / "model", pii="ssn")


def test_a_dataset_folder_holds_the_rows_of_the_one_file_sample(model_dir: Path, tmp_path: Path):
    manifest = sample_to_dataset(model_dir, 2500, tmp_path / "big", seed=4, shard_rows=1000)
    files = sorted(p.name for p in (tmp_path / "big").iterdir())
    assert files == [".synthgen", "_manifest.json"] + [part_name(k, 3) for k in range(3)]
    assert [p["rows"] for p in manifest["parts"]] == [1000, 1000, 500]
    assert [p["first_row"] for p in manifest["parts"]] == [0, 1000, 2000]
    assert read_manifest(tmp_path / "big") == manifest and manifest["columns"] == [
        "id", "age", "city", "ssn"
    ]  # fmt: skip
    back = pd.read_parquet(tmp_path / "big")  # pandas reads the folder, parts in name order
    job = ShardSampler(model_dir, 2500, seed=4, shard_rows=1000)
    want = pd.concat([job.rows(k) for k in range(3)], ignore_index=True)
    pd.testing.assert_frame_equal(back, want, check_categorical=False)
    assert back["id"].tolist() == list(range(1, 2501)) and back["ssn"].is_unique
    assert back["ssn"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()


def test_the_cli_writes_a_folder_with_the_default_shards_equal_to_the_file(
    model_dir: Path, tmp_path: Path
):
    runner = CliRunner()
    res = runner.invoke(cli, ["sample", str(model_dir), "-n", "700", "--out", f"{tmp_path}/d/"])
    assert res.exit_code == 0, res.output
    assert "_manifest.json" in res.output
    res = runner.invoke(
        cli, ["sample", str(model_dir), "-n", "700", "--out", f"{tmp_path}/f.parquet"]
    )
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "d"), pd.read_parquet(tmp_path / "f.parquet")
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "2"], "are for the Ray engine"),
        (["--address", "auto"], "are for the Ray engine"),
        (["--engine", "ray", "--out", "x.parquet"], "writes a Parquet dataset folder"),
    ],
)
def test_options_that_do_not_fit_are_clear_errors(model_dir: Path, tmp_path, args, message):
    base = ["sample", str(model_dir), "-n", "10"]
    out = [] if "--out" in args else ["--out", str(tmp_path / "o/")]
    res = CliRunner().invoke(cli, base + out + args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_a_failed_or_missing_part_leaves_no_folder(tmp_path: Path):
    def parts(fail: bool):
        yield 0, 10, _parquet(10)
        if fail:
            raise RuntimeError("a worker died")

    with pytest.raises(RuntimeError):
        write_dataset(tmp_path / "d", 20, parts(True), seed=0, shard_rows=10)
    with pytest.raises(DataError, match=r"shards \[1\] never came back"):
        write_dataset(tmp_path / "d", 20, parts(False), seed=0, shard_rows=10)
    with pytest.raises(DataError, match="shard 0 came back wrong"):
        write_dataset(tmp_path / "d", 20, iter([(0, 9, _parquet(9))]), seed=0, shard_rows=10)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_someone_else_filled_is_not_replaced(model_dir: Path, tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine", encoding="utf-8")
    res = CliRunner().invoke(cli, ["sample", str(model_dir), "-n", "5", "--out", f"{tmp_path}/d"])
    assert res.exit_code == 2 and "notes.txt" in res.output
    assert json.loads(json.dumps(sorted(p.name for p in (tmp_path / "d").iterdir()))) == [
        "notes.txt"
    ]


def _parquet(n: int) -> bytes:
    from synthgen.scale.sampler import parquet_bytes

    return parquet_bytes(pd.DataFrame({"a": range(n)}))
