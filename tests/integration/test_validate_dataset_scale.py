"""`synthgen validate --engine` on a whole dataset larger than memory (table folders with
their dataset.json, as `synthgen sample -n ROOTS --out db/` writes them): every reference,
key value and parent's children counted exactly over every row, equal to the in-memory
metrics on the same tables; planted dangling references and repeated keys counted to the
row and failing the gates; the same report from two Ray workers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.evaluation_dataset_scale import validate_dataset_at_scale
from synthgen.metrics.base import Context
from synthgen.metrics.relational import cardinality_similarity, referential_integrity
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.folders import sample_folders
from tests.integration.conftest import SHARED

CHINOOK = SHARED / "chinook"
LINES = "InvoiceLine.InvoiceId -> Invoice.InvoiceId"


@pytest.fixture(scope="module")
def db(chinook_dataset, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("dataset")
    model = RelationalSynthesizer("copula").fit(chinook_dataset, seed=0).save(tmp / "model")
    sample_folders(model, 90, tmp / "db", seed=7, shard_rows=25)  # 4 root shards
    return tmp / "db"


def _load(folder: Path):  # type: ignore[no-untyped-def]
    from synthgen.dataset import Dataset, DatasetSpec

    spec = DatasetSpec.model_validate_json((folder / "dataset.json").read_text())
    return Dataset(spec, {t: pd.read_parquet(folder / t) for t in spec.names})


def test_keys_counted_over_every_row_equal_the_in_memory_metrics(
    db: Path, chinook_dataset, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    report = validate_dataset_at_scale(CHINOOK, db, out=tmp_path / "val")
    gates = {g["name"]: g for g in report["gates"]}
    assert gates["referential_integrity"]["status"] == "pass"
    assert gates["key_uniqueness"]["status"] == "pass"
    assert gates["table_quality"]["status"] == "skipped"  # needs whole tables: said so
    syn = _load(db)
    ctx = Context(*(pd.DataFrame(),) * 3, None, None, 0)  # type: ignore[arg-type]
    ctx.cache["datasets"] = (chinook_dataset, chinook_dataset, syn)
    card = cardinality_similarity(ctx)
    fid = report["metrics"]["fidelity"]
    assert fid["cardinality_similarity"] == pytest.approx(card.value, abs=1e-12)
    for k, v in card.details["per_key"].items():
        assert fid["cardinality_similarity_per_key"][k] == pytest.approx(v, abs=1e-12), k
    assert report["metrics"]["schema"]["referential_integrity"] == referential_integrity(ctx).value
    exact = report["scale"]["exact"]
    assert exact["references"][LINES] == len(syn["InvoiceLine"])
    assert set(exact["dangling_references"].values()) == {0}
    assert report["tables"]["InvoiceLine"]["rows"]["synthetic"] == len(syn["InvoiceLine"])
    html = (tmp_path / "val" / "report.html").read_text()
    assert "children per parent" in html and "not computed at scale" in html


def _planted(db: Path, to: Path) -> Path:
    """7 lines pointing at no invoice, 3 lines repeating another line's key."""
    shutil.copytree(db, to)
    part = sorted((to / "InvoiceLine").glob("part-*.parquet"))[1]
    df = pd.read_parquet(part)
    df.loc[df.index[:7], "InvoiceId"] = 10**9 + pd.RangeIndex(7)
    df.loc[df.index[10:13], "InvoiceLineId"] = df["InvoiceLineId"].iloc[20]
    df.to_parquet(part, index=False)
    return to


def test_planted_dangling_references_and_repeated_keys_are_counted_and_fail(
    db: Path, tmp_path: Path
) -> None:
    bad = _planted(db, tmp_path / "bad")
    out = tmp_path / "val"
    res = CliRunner().invoke(
        cli,
        ["validate", "--real", str(CHINOOK), "--synthetic", str(bad), "--engine", "local",
         "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 3, res.output
    import json

    report = json.loads((out / "report.json").read_text())
    exact = report["scale"]["exact"]
    assert exact["dangling_references"][LINES] == 7
    assert sum(exact["dangling_references"].values()) == 7
    assert exact["repeated_key_values"]["InvoiceLine(InvoiceLineId)"] == 3
    assert sum(exact["repeated_key_values"].values()) == 3
    gates = {g["name"]: g["status"] for g in report["gates"]}
    assert gates["referential_integrity"] == "fail" and gates["key_uniqueness"] == "fail"


def test_a_missing_table_folder_is_named(db: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(db, broken)
    shutil.rmtree(broken / "Invoice")
    res = CliRunner().invoke(
        cli, ["validate", "--real", str(CHINOOK), "--synthetic", str(broken), "--engine", "local",
              "--out", str(tmp_path / "v")],
    )  # fmt: skip
    assert res.exit_code == 2 and "no table Invoice" in res.output
    assert not (tmp_path / "v").exists()


@pytest.mark.slow
@pytest.mark.ray
def test_two_ray_workers_count_what_the_local_engine_counts(db: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    from tests.ray_cluster import local_ray

    bad = _planted(db, tmp_path / "bad")
    local = validate_dataset_at_scale(CHINOOK, bad, out=tmp_path / "local")
    with local_ray():
        on_ray = validate_dataset_at_scale(
            CHINOOK, bad, out=tmp_path / "ray", engine="ray", workers=2
        )
    assert on_ray["engine"] == {"engine": "ray", "workers": 2}
    assert on_ray["scale"] == local["scale"] and on_ray["metrics"] == local["metrics"]
    assert [g["status"] for g in on_ray["gates"]] == [g["status"] for g in local["gates"]]


def test_one_table_options_are_refused_for_a_dataset(db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["validate", "--real", str(CHINOOK), "--synthetic", str(db), "--engine", "local",
              "--bootstrap", "5", "--target", "Total", "--out", str(tmp_path / "v")],
    )  # fmt: skip
    assert res.exit_code == 2 and "--bootstrap, --target apply to one table" in res.output
    assert not (tmp_path / "v").exists()
