"""A multi-table model sampled on a real local Ray cluster (2 CPUs), in shards of root
entities: the same bytes as the local engine for one or two workers, every reference of the
Ray output resolving, and `synthgen run` on a database source writing what the local run
writes (CSVs and a SQLite database)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.folders import sample_folders
from tests.integration import relational_data as rd
from tests.integration.test_relational import assert_integrity
from tests.ray_cluster import local_ray

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster():
    with local_ray() as r:
        yield r


@pytest.fixture(scope="module")
def chinook_dir(chinook_dataset, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    m = RelationalSynthesizer("copula").fit(chinook_dataset, seed=0)
    return m.save(tmp_path_factory.mktemp("m") / "model")


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read(folder: Path):  # type: ignore[no-untyped-def]
    from synthgen.dataset import Dataset, DatasetSpec

    spec = DatasetSpec.model_validate_json((folder / "dataset.json").read_text())
    return Dataset(spec, {t: pd.read_parquet(folder / t) for t in spec.names})


@pytest.mark.slow
def test_chinook_on_ray_gives_the_local_bytes_and_every_key_holds(
    cluster, chinook_dir, chinook_dataset, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    kw = {"seed": 7, "shard_rows": 25}  # 90 customers: 4 shards
    local = sample_folders(chinook_dir, 90, tmp_path / "local", **kw)
    assert local["root"] == "Customer" and local["shards"] == 4
    stats: dict = {}
    for w in (1, 2):
        top = sample_folders(
            chinook_dir, 90, tmp_path / f"ray{w}", engine="ray", workers=w, stats=stats, **kw
        )
        assert top == local
        assert _digests(tmp_path / f"ray{w}") == _digests(tmp_path / "local")
        assert len(stats["peak_rss"]) == w and min(stats["peak_rss"]) > 0
    syn = _read(tmp_path / "ray2")
    assert_integrity(syn)  # every foreign key resolves, every primary key is unique
    assert len(syn["Customer"]) == 90
    lines = syn["InvoiceLine"]
    assert lines["TrackId"].isin(syn["Track"]["TrackId"]).all()  # into the shared catalogue
    real = len(chinook_dataset["Invoice"]) / len(chinook_dataset["Customer"])
    per = syn["Invoice"]["CustomerId"].value_counts().reindex(syn["Customer"]["CustomerId"])
    assert abs(per.fillna(0).mean() / real - 1) < 0.1  # invoices per customer kept
    # a sharded table: a part per shard, sorting in row order, with the rows it says
    parts = sorted((tmp_path / "ray2" / "Invoice").glob("part-*.parquet"))
    assert [p.name for p in parts] == [f"part-0000{k}.parquet" for k in range(4)]
    inv = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert (
        inv["InvoiceId"].is_monotonic_increasing and len(inv) == local["tables"]["Invoice"]["rows"]
    )


def test_the_cli_samples_a_multi_table_model_on_ray_into_table_folders(
    cluster, chinook_dir, chinook_dataset, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    base = ["sample", str(chinook_dir), "-n", "30", "--seed", "3", "--out"]
    res = CliRunner().invoke(cli, [*base, f"{tmp_path}/local/"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, [*base, f"{tmp_path}/ray/", "--engine", "ray", "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "30 Customer rows" in res.output
    assert _digests(tmp_path / "ray") == _digests(tmp_path / "local")
    res = CliRunner().invoke(cli, [*base, f"{tmp_path}/x.csv"])
    assert res.exit_code == 2 and "folder of tables" in res.output
    assert not (tmp_path / "x.csv").exists()
    # 120 customers against the catalogue at the source's size
    res = CliRunner().invoke(
        cli, [*base[:3], "120", *base[4:], f"{tmp_path}/big/", "--shared-ratio", "1"]
    )
    assert res.exit_code == 0, res.output
    syn = _read(tmp_path / "big")
    assert len(syn["Customer"]) == 120 and len(syn["Track"]) == len(chinook_dataset["Track"])
    assert len(_read(tmp_path / "local")["Track"]) < len(
        chinook_dataset["Track"]
    )  # 30 of 59: scaled


@pytest.mark.slow
def test_unique_child_columns_hold_over_every_shard_on_ray(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Unique e-mails, phones and ids of a child table: unique over all shards, the same
    bytes from the local engine and from two Ray workers."""
    model = RelationalSynthesizer("copula").fit(rd.accounts(), seed=0).save(tmp_path / "m")
    kw = {"seed": 3, "shard_rows": 16}  # 120 customers: 8 shards
    local = sample_folders(model, 120, tmp_path / "local", **kw)
    assert local["shards"] == 8
    sample_folders(model, 120, tmp_path / "ray", engine="ray", workers=2, **kw)
    assert _digests(tmp_path / "ray") == _digests(tmp_path / "local")
    acc = _read(tmp_path / "ray")["account"]
    for c in ("email", "phone", "ref"):
        assert acc[c].is_unique, c


@pytest.mark.slow
def test_an_autoreg_multi_table_fit_on_ray_keeps_each_entity_on_one_worker(
    cluster, tmp_path: Path
) -> None:
    """Sharded by root entity: each worker holds only its customers' rows (and its share
    of the product catalogue); every table's model is as good as the local one on the same
    held-out rows, and the sample's keys all resolve. From a recipe, the same happens and
    the run says so."""
    from synthgen.generators.distributed import RayCluster, training

    src = rd.two_parents()
    kw = {"epochs": 4, "threads": 1}
    local = RelationalSynthesizer("autoreg", kw).fit(src, seed=3)
    said: list[str] = []
    with training(RayCluster(2, None, said.append)):
        model = RelationalSynthesizer("autoreg", kw).fit(src, seed=3, say=said.append)
    assert said[0].startswith("training on 2 Ray workers, sharded by customer")
    own = [s for s in said if "each holding its own rows" in s]
    assert len(own) == 3, said  # customer, product, line
    for t in ("customer", "product", "line"):
        ray_loss = model.models_[t].history_[-1]["validation_loss"]
        here = local.models_[t].history_[-1]["validation_loss"]
        assert ray_loss == pytest.approx(here, rel=0.05), (t, ray_loss, here)
    assert_integrity(model.sample(seed=1))
    (tmp_path / "db").mkdir()
    for t in src.names:
        src[t].to_csv(tmp_path / "db" / f"{t}.csv", index=False)
    (tmp_path / "r.yaml").write_text(
        "name: t\nseed: 3\nsource: {path: db}\n"
        "generator: {name: autoreg, params: {epochs: 2}}\n"
        "execution: {engine: ray, workers: 2}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "sharded by customer" in res.output and "each holding its own rows" in res.output


def _source(tmp_path: Path):  # type: ignore[no-untyped-def]
    src = rd.two_parents()
    (tmp_path / "db").mkdir()
    for t in src.names:
        src[t].to_csv(tmp_path / "db" / f"{t}.csv", index=False)
    return src


def _run(tmp_path: Path, engine: str, url: str) -> None:
    ex = "execution: {engine: ray, workers: 2}\n" if engine == "ray" else ""
    (tmp_path / f"{engine}.yaml").write_text(
        f"name: t\nseed: 3\nsource: {{path: db}}\ngenerator: {{name: copula}}\n{ex}"
        f"outputs: [{{url: '{url}'}}]\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        cli, ["run", str(tmp_path / f"{engine}.yaml"), "--out", str(tmp_path / engine)]
    )
    assert res.exit_code == 0, res.output


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Several shards (50 customers each), and a record of the shards drawn on Ray."""
    from synthgen.relational import ray_shards, shards

    monkeypatch.setattr(shards, "SHARD_ROOTS", 50)  # the driver's value goes to the workers
    counts: list[int] = []
    real = ray_shards.ray_shards
    monkeypatch.setattr(
        ray_shards, "ray_shards", lambda s, *a, **k: counts.append(s.count) or real(s, *a, **k)
    )
    return counts


@pytest.mark.slow
def test_a_multi_table_run_on_ray_writes_what_the_local_run_writes(
    cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers, four shards: the CSVs of the run folder and the SQLite database
    (written in one transaction) are the local run's."""
    counts = _spy(monkeypatch)
    src = _source(tmp_path)
    for engine in ("local", "ray"):
        _run(tmp_path, engine, f"sqlite:///{tmp_path / engine}.db")
    assert counts == [4]  # four shards of 50 customers, drawn on Ray
    for t in src.names:
        a = (tmp_path / "local" / "synthetic" / f"{t}.csv").read_bytes()
        assert (tmp_path / "ray" / "synthetic" / f"{t}.csv").read_bytes() == a, t
    with sqlite3.connect(tmp_path / "ray.db") as con, sqlite3.connect(tmp_path / "local.db") as loc:
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        for t in src.names:
            q = f'SELECT * FROM "{t}"'
            assert con.execute(q).fetchall() == loc.execute(q).fetchall(), t
        assert con.execute("SELECT COUNT(*) FROM customer").fetchone()[0] == 200


@pytest.mark.slow
def test_a_multi_table_run_on_ray_into_postgres(
    cluster, pg_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The same rows in PostgreSQL as the local run puts in SQLite, every key holding."""
    counts = _spy(monkeypatch)
    src = _source(tmp_path)
    _run(tmp_path, "local", f"sqlite:///{tmp_path / 'local'}.db")
    _run(tmp_path, "ray", pg_db.url)
    assert counts == [4]
    with sqlite3.connect(tmp_path / "local.db") as loc:
        for t, key in (("customer", "cid"), ("product", "pid"), ("line", "lid")):
            n = loc.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            assert (
                pg_db.scalar(f'SELECT count(*) FROM "{t}"')
                == n
                == len(pd.read_csv(tmp_path / "ray" / "synthetic" / f"{t}.csv"))
            ), t
            top = loc.execute(f'SELECT MAX("{key}") FROM "{t}"').fetchone()[0]
            assert pg_db.scalar(f'SELECT max("{key}") FROM "{t}"') == top, t
    orphans = pg_db.scalar(
        "SELECT count(*) FROM line l LEFT JOIN customer c USING (cid) WHERE c.cid IS NULL"
    )
    assert orphans == 0 and len(src.names) == 3
