"""`synthgen sample MULTI_TABLE_MODEL -n ROOTS --out db/ [--engine ray]`: one Parquet
dataset folder per table, drawn in root shards (``relational.shards``).

::

    db/
      Customer/part-00000.parquet ...   one part per shard (root rows k * shard_rows ..)
      Customer/_manifest.json           {"rows", "columns", "parts": [{file, first_row, rows}]}
      Genre/part-00000.parquet          a shared table: one part
      _manifest.json                    {"root", "roots", "shard_rows", "tables": {...}}
      dataset.json                      the tables, keys and row counts (DatasetSpec)

Part files sort in row order; shards are written as they come back, in order, so the
driver holds the shared tables and one shard. The folder is written under a temp name and
renamed at the end: it appears whole or not at all. The bytes are the same for the local
engine and Ray with any number of workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen import logs
from synthgen.relational.shards import DatasetSampler, KeyWriter, Shard
from synthgen.scale.dataset import DATASET_FORMAT, MANIFEST_FILE, part_name
from synthgen.scale.sampler import parquet_bytes

DATABASE_FORMAT = "synthgen-parquet-tables"


class _Table:
    """One table's folder as its parts come in."""

    def __init__(self, root: Path, name: str, count: int) -> None:
        self.folder = root / _safe(name)
        if self.folder.exists():  # two names cleaned alike: the second numbered
            self.folder = root / f"{_safe(name)}-{len(list(root.iterdir()))}"
        self.folder.mkdir()
        self.count, self.rows, self.parts = count, 0, []  # type: ignore[var-annotated]
        self.columns: list[str] = []

    def add(self, k: int, df: pd.DataFrame) -> None:
        self.columns = [str(c) for c in df.columns]
        name = part_name(k, self.count)
        (self.folder / name).write_bytes(parquet_bytes(df))
        self.parts.append({"file": name, "first_row": self.rows, "rows": len(df)})
        self.rows += len(df)

    def manifest(self, seed: int, shard_rows: int) -> dict[str, Any]:
        body = {
            "format": DATASET_FORMAT, "version": 1, "rows": self.rows, "seed": seed,
            "shard_rows": shard_rows, "columns": self.columns, "parts": self.parts,
        }  # fmt: skip
        (self.folder / MANIFEST_FILE).write_text(json.dumps(body, indent=2), encoding="utf-8")
        return body


def sample_folders(
    model_dir: Path,
    roots: int,
    out: Path,
    *,
    seed: int = 0,
    conditions: dict[str, Any] | None = None,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    shard_by: str | None = None,
    shard_rows: int | None = None,
    shared_ratio: float | None = None,
    say: Callable[[str], None] = logs.say,
    stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``roots`` root entities of a saved multi-table model and every row under them, as
    one dataset folder per table under ``out``; returns the top manifest. ``shared_ratio``:
    the scale of the tables drawn once (default: the roots' scale against the source)."""
    from synthgen.io.atomic import atomic_dir, check_replaceable
    from synthgen.relational.model import RelationalSynthesizer
    from synthgen.relational.ray_shards import draw_shards
    from synthgen.scale.engine import check_engine

    check_engine(engine, workers, address)
    check_replaceable(out, "dataset folder")  # before any work
    if engine == "ray":
        from synthgen.scale.ray_engine import connect, worker_count

        ray = connect(address, workers)  # Ray missing or a bad address: said before any work
        workers = worker_count(ray, workers, say)
    m = RelationalSynthesizer.load(model_dir)
    options: dict[str, Any] = {
        "seed": seed, "conditions": conditions, "shard_by": shard_by, "roots": roots,
        "shard_rows": shard_rows, "shared_ratio": shared_ratio,
    }  # fmt: skip
    sampler = m.sampler(**options)
    options["shard_rows"] = sampler.shard_rows
    plan = sampler.plan
    if plan.root is None:
        say("no table can be sharded (each root's rows are referenced from outside it): "
            "every table is drawn in one piece")  # fmt: skip
    else:
        where = f"on Ray with {workers} worker(s)" if engine == "ray" else "here"
        say(f"sampling {sampler.total:,} {plan.root} rows in {sampler.count} shard(s) {where}; "
            f"{len(plan.shared)} table(s) drawn once and shared")  # fmt: skip
    shards_of = draw_shards(
        sampler, options, engine=engine, workers=workers, address=address, stats=stats,
        progress=True,
    )  # fmt: skip
    with atomic_dir(out, "dataset folder") as tmp:
        manifest = _write(tmp, m, sampler, shards_of)
    return manifest


def _write(tmp: Path, m: Any, sampler: DatasetSampler, shards_of: Any) -> dict[str, Any]:
    plan = sampler.plan
    st = sampler.shared()
    folders = {t: _Table(tmp, t, 1) for t in plan.shared}
    for t, df in sampler.shared_tables(st).items():
        folders[t].add(0, df)
    if plan.root is not None:
        folders |= {t: _Table(tmp, t, sampler.count) for t in plan.sharded}
        writer = KeyWriter(m, plan, sampler.seed)
        shard: Shard
        for shard in shards_of(st.state(plan.shared)):
            for t, df in writer.place(shard).items():
                folders[t].add(shard.k, df)
    tables = {}
    for t in m.plan_.order:
        body = folders[t].manifest(sampler.seed, sampler.shard_rows)
        tables[t] = {"folder": folders[t].folder.name, "rows": body["rows"],
                     "sharded": t in plan.sharded}  # fmt: skip
    spec = m.as_dataset_spec({t: v["rows"] for t, v in tables.items()})
    (tmp / "dataset.json").write_text(spec.model_dump_json(indent=2), encoding="utf-8")
    top = {
        "format": DATABASE_FORMAT, "version": 1, "seed": sampler.seed, "root": plan.root,
        "roots": sampler.total, "shards": sampler.count, "shard_rows": sampler.shard_rows,
        "shared_ratio": sampler.shared_ratio,
        "tables": tables,
    }  # fmt: skip
    (tmp / MANIFEST_FILE).write_text(json.dumps(top, indent=2), encoding="utf-8")
    return top


def _safe(t: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in t) or "_"
