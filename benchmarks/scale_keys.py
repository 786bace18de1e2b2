"""A whole dataset's keys validated at scale: `synthgen validate --engine` on table folders.

A Chinook copula model (``scale_relational.fit_model``: keys detected from the CSVs, PII
columns left out) is sampled once as ROOTS root entities with
``relational.folders.sample_folders`` (about 345 rows per root employee); then the
relational key gates are computed on it four ways, interleaved, --repeats times each:
- in memory (the anchor): every table read whole, the in-memory metrics
  ``referential_integrity``, ``key_uniqueness`` and ``cardinality_similarity``;
- ``validate_dataset_at_scale`` with the local engine (each in its own child process, so
  its peak RSS is its own);
- the same on Ray with 1 and 2 workers (a local 2-CPU cluster started here).
The JSON quotes medians, ratios to the anchor, the peak RSS of the local processes, and
whether every configuration computed the same figures as the anchor.
Results: benchmarks/results/scale_keys.json.
"""

from __future__ import annotations

import argparse
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
from benchmarks.scale_relational import CHINOOK, fit_model  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "scale_keys.json"
METRICS = ("referential_integrity", "key_uniqueness", "cardinality_similarity")


def in_memory(db: str) -> dict[str, Any]:
    """The anchor: every table in memory, the in-memory metrics."""
    import pandas as pd

    from synthgen.dataset import Dataset, DatasetSpec
    from synthgen.dataset.keys import detect_keys
    from synthgen.io.folder import read_folder
    from synthgen.metrics import relational as rel
    from synthgen.metrics.base import Context

    spec = DatasetSpec.model_validate_json((Path(db) / "dataset.json").read_text())
    syn = Dataset(spec, {t: pd.read_parquet(Path(db) / t) for t in spec.names})
    real = detect_keys(read_folder(CHINOOK))
    ctx = Context(*(pd.DataFrame(),) * 3, None, None, 0)  # type: ignore[arg-type]
    ctx.cache["datasets"] = (real, real, syn)
    return {m: getattr(rel, m)(ctx).value for m in METRICS}


def at_scale(db: str, out: str, engine: str = "local", workers: int | None = None) -> dict:
    from synthgen.evaluation_dataset_scale import validate_dataset_at_scale

    report = validate_dataset_at_scale(
        CHINOOK, Path(db), out=Path(out), engine=engine, workers=workers, say=lambda _s: None
    )
    m = report["metrics"]
    return {
        "referential_integrity": m["schema"]["referential_integrity"],
        "key_uniqueness": m["schema"]["key_uniqueness"],
        "cardinality_similarity": m["fidelity"]["cardinality_similarity"],
    }


def _child(fn: str, args: tuple[Any, ...], q: Any) -> None:
    from synthgen.scale.ray_engine import peak_rss_bytes

    t = time.perf_counter()
    got = globals()[fn](*args)
    seconds = time.perf_counter() - t
    q.put({"seconds": seconds, "figures": got,
           "peak_rss_mb": peak_rss_bytes() / 2**20})  # fmt: skip


def in_child(fn: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn, args, q))
    p.start()
    r = q.get()
    p.join()
    return dict(r)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roots", type=int, default=3_000, help="root entities (employees)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import ray

    from synthgen.relational.folders import sample_folders

    work = Path(tempfile.mkdtemp(prefix="synthgen-scale-keys-"))
    try:
        fitted = fit_model(work / "model", keep_pii=False)
        db = work / "db"
        top = sample_folders(work / "model", args.roots, db, seed=0, shard_rows=200,
                             shared_ratio=1.0, say=lambda _s: None)  # fmt: skip
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}})  # fmt: skip
        runs: dict[str, list[dict[str, Any]]] = {
            "in-memory": [],
            "local": [],
            "ray-1": [],
            "ray-2": [],
        }
        for rep in range(args.repeats):
            for name in runs:
                out = str(work / f"val-{name}-{rep}")
                if name == "in-memory":
                    r = in_child("in_memory", str(db))
                elif name == "local":
                    r = in_child("at_scale", str(db), out)
                else:
                    t = time.perf_counter()
                    figures = at_scale(str(db), out, "ray", int(name[-1]))
                    r = {"seconds": time.perf_counter() - t, "figures": figures}
                runs[name].append(r)
                print(name, rep, round(r["seconds"], 2), r.get("peak_rss_mb"), flush=True)
        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    anchor = runs["in-memory"][0]["figures"]
    base = statistics.median(r["seconds"] for r in runs["in-memory"])
    summary = {}
    for name, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        summary[name] = {
            "median_seconds": round(sec, 2),
            "speed_vs_in_memory": round(base / sec, 2),
            "peak_rss_mb_max": max((r.get("peak_rss_mb") or 0) for r in rs) or None,
            "figures": rs[0]["figures"],
            "same_figures_as_in_memory": all(
                abs(r["figures"][m] - anchor[m]) < 1e-12 for r in rs for m in METRICS
            ),
            "seconds": [round(r["seconds"], 2) for r in rs],
        }
    rows = sum(t["rows"] for t in top["tables"].values())
    doc = {
        "what": "the relational key gates of a sampled Chinook dataset (table folders): "
        "in memory vs validate --engine local / ray 1 / ray 2 workers",
        "roots": args.roots,
        "rows_in_all": rows,
        "rows_per_table": {t: v["rows"] for t, v in top["tables"].items()},
        "model": fitted,
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs",
        "python": platform.python_version(),
        "ray": ray.__version__,
        "note": "ray-N peak RSS is not read (tasks, not actors); the local engine's process "
        "holds one hash range at a time",
        "results": summary,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
