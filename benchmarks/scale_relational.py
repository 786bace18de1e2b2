"""Multi-table sampling at scale: a Chinook model's root shards, locally and on Ray.

A copula relational model is fitted on Chinook (keys detected from the CSV folder) and
saved once; then `synthgen sample MODEL -n ROOTS --out db/ --shared-ratio 1` is run, as the
library call it makes (``relational.folders.sample_folders``): ROOTS root entities with every
row under them, in shards of --shard-rows roots. With the keys detected from the CSVs every
customer has a support rep, so the root is Employee (an employee, their customers, their
invoices and lines: a shard of 200 employees is about 70,000 rows); the
catalogue (artists, albums, tracks, playlists) and reference tables are drawn once at the
source's size and shared. Configurations:
- the local engine (the anchor), in its own child process so its peak RSS is its own;
- Ray with 1 worker and with 2 workers on a local 2-CPU Ray cluster started here (peak RSS
  per worker read in each actor at the end).
Each runs --repeats times, interleaved; the JSON quotes medians and ratios to the local
anchor, whether every run's folder (every part file and manifest) has the anchor's bytes,
and a referential-integrity check of the last Ray output (every foreign key resolves, every
primary key unique). Results: benchmarks/results/scale_relational.json.

By default the model leaves out the columns detected as personal data (names, addresses,
e-mails, phones): their fakes (Faker, about a millisecond a row) would be most of the time
and are the single-table path's cost, measured in benchmarks/scale.py; --keep-pii keeps them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "scale_relational.json"
CHINOOK = ROOT.parent / "shared" / "data" / "chinook"


def digest(folder: Path) -> str:
    """One hash of every file's path and bytes under ``folder``."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def chinook(keep_pii: bool) -> tuple[Any, dict[str, list[str]]]:
    """Chinook with keys detected from its CSVs; unless ``keep_pii``, the columns detected
    as personal data (keys aside) left out. The dataset and the columns left out."""
    from synthgen.dataset import Dataset, DatasetSpec
    from synthgen.dataset.keys import detect_keys
    from synthgen.io.folder import read_folder
    from synthgen.schema import detect

    ds = detect_keys(read_folder(CHINOOK))
    dropped: dict[str, list[str]] = {}
    if not keep_pii:
        specs, frames = [], {}
        for t in ds.spec:
            keys = set(t.primary_key) | {c for fk in t.foreign_keys for c in fk.columns}
            pii = [c.name for c in detect(ds[t.name], seed=0).of_kind("pii") if c.name not in keys]
            dropped[t.name] = pii
            cols = [c for c in t.columns if c.name not in pii]
            unique = [u for u in t.unique if not set(u.columns) & set(pii)]
            specs.append(t.model_copy(update={"columns": cols, "unique": unique}))
            frames[t.name] = ds[t.name].drop(columns=pii)
        ds = Dataset(DatasetSpec(tables=specs), frames)
    return ds, dropped


def fit_model(where: Path, keep_pii: bool) -> dict[str, Any]:
    from synthgen.relational import RelationalSynthesizer

    ds, dropped = chinook(keep_pii)
    t0 = time.perf_counter()
    RelationalSynthesizer("copula").fit(ds, seed=0).save(where)
    return {
        "fit_s": round(time.perf_counter() - t0, 1),
        "source_rows": {t: len(ds[t]) for t in ds.names},
        "columns_left_out_as_pii": {t: v for t, v in dropped.items() if v},
    }


def _sample(model: str, roots: int, out: str, seed: int, shard_rows: int, **kw: Any) -> Any:
    from synthgen.relational.folders import sample_folders

    stats: dict[str, Any] = {}
    t = time.perf_counter()
    top = sample_folders(
        Path(model), roots, Path(out), seed=seed, shard_rows=shard_rows, shared_ratio=1.0,
        stats=stats, say=lambda _s: None, **kw,
    )  # fmt: skip
    return time.perf_counter() - t, top, stats


def _local_child(model: str, roots: int, out: str, seed: int, shard_rows: int, q: Any) -> None:
    from synthgen.scale.ray_engine import peak_rss_bytes

    seconds, top, _ = _sample(model, roots, out, seed, shard_rows)
    rss = peak_rss_bytes()
    q.put({"seconds": seconds, "peak_rss": [rss], "top": top})


def run_local(model: Path, roots: int, out: Path, seed: int, shard_rows: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_local_child, args=(str(model), roots, str(out), seed, shard_rows, q))
    p.start()
    r = q.get()
    p.join()
    return dict(r)


def run_ray(
    model: Path, roots: int, out: Path, seed: int, shard_rows: int, workers: int
) -> dict[str, Any]:
    seconds, top, stats = _sample(
        str(model), roots, str(out), seed, shard_rows, engine="ray", workers=workers
    )
    return {"seconds": seconds, "peak_rss": stats["peak_rss"], "top": top}


def integrity(folder: Path) -> dict[str, Any]:
    """Every foreign key of the written tables resolves; every primary key is unique."""
    import pandas as pd

    from synthgen.dataset import DatasetSpec
    from synthgen.relational.frames import parent_index

    spec = DatasetSpec.model_validate_json((folder / "dataset.json").read_text())
    tables = {t: pd.read_parquet(folder / t) for t in spec.names}
    unresolved, duplicated = 0, 0
    for t in spec:
        for fk in t.foreign_keys:
            unresolved += int((parent_index(tables[t.name], fk, tables[fk.ref_table]) == -2).sum())
        if t.primary_key:
            duplicated += int(tables[t.name].duplicated(t.primary_key).sum())
    return {"unresolved_references": unresolved, "duplicate_primary_keys": duplicated}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roots", type=int, default=3_000, help="root entities (employees)")
    ap.add_argument("--shard-rows", type=int, default=200, help="root entities per shard")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-pii", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import ray

    work = Path(tempfile.mkdtemp(prefix="synthgen-scale-rel-"))
    try:
        model = work / "model"
        fitted = fit_model(model, args.keep_pii)
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
        )
        configs: dict[str, list[dict[str, Any]]] = {"local": [], "ray-1": [], "ray-2": []}
        anchor: str | None = None
        checked: dict[str, Any] = {}
        for rep in range(args.repeats):
            for name in configs:
                out = work / f"{name}-{rep}"
                a = (model, args.roots, out, args.seed, args.shard_rows)
                r = run_local(*a) if name == "local" else run_ray(*a, int(name.split("-")[1]))
                r["digest"] = digest(out)
                anchor = anchor or r["digest"]
                r["same_bytes_as_local"] = r["digest"] == anchor
                if name == "ray-2" and rep == args.repeats - 1:
                    checked = integrity(out)
                configs[name].append(r)
                print(name, rep, round(r["seconds"], 1), r["peak_rss"], flush=True)
                shutil.rmtree(out)
        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    top = configs["local"][0]["top"]
    rows = sum(t["rows"] for t in top["tables"].values())
    base = statistics.median(r["seconds"] for r in configs["local"])
    summary = {}
    for name, runs in configs.items():
        sec = statistics.median(r["seconds"] for r in runs)
        summary[name] = {
            "median_seconds": round(sec, 2),
            "median_rows_per_s": round(rows / sec),
            "speed_vs_local": round(base / sec, 2),
            "peak_rss_mb_per_process_max": round(max(max(r["peak_rss"]) for r in runs) / 2**20, 1),
            "identical_bytes_all_runs": all(r["same_bytes_as_local"] for r in runs),
            "runs": [
                {
                    "seconds": round(r["seconds"], 2),
                    "peak_rss_mb": [round(x / 2**20, 1) for x in r["peak_rss"]],
                }
                for r in runs
            ],  # fmt: skip
        }
    doc = {
        "what": "a Chinook relational model (copula) sampled as ROOTS root entities (an "
        "employee, their customers, invoices and lines) in root shards, the rest drawn once "
        "at the source's size, to one "
        "Parquet dataset folder per table; local engine vs Ray 1 and 2 workers on a local "
        "2-CPU Ray cluster",
        "root": top["root"],
        "roots": args.roots,
        "shard_rows": args.shard_rows,
        "shards": top["shards"],
        "rows_in_all": rows,
        "rows_per_table": {t: v["rows"] for t, v in top["tables"].items()},
        "model": fitted,
        "repeats": args.repeats,
        "integrity_of_last_ray_2_output": checked,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs",
        "python": platform.python_version(),
        "ray": ray.__version__,
        "results": summary,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
