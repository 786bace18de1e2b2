"""Sampling at scale: N Adult-like rows to a Parquet dataset folder, locally and on Ray.

A copula fitted on Adult's training split (15 columns) is saved once; then `synthgen sample
--out folder/` is run, as the library call it makes, with
- the local engine (the anchor), in its own child process so its peak RSS is its own;
- Ray with 1 worker and with 2 workers, on a local Ray cluster of 2 CPUs started here
  (peak RSS per worker is each actor's own, read in the actor at the end).
Each configuration runs --repeats times, interleaved; the JSON quotes medians of wall time
and rows/s, ratios to the local anchor, the seconds to the first part (loading the model,
starting workers) and rows/s after it, and whether every run's folder has the same bytes
(the part files and the manifest) as the anchor's. Results: benchmarks/results/scale.json.

The issue's target is 100M rows (--rows 100000000); on the shared 2-core machine the
committed run uses fewer (the JSON says how many). Shards are 50,000 rows, as in `sample`.

`--multi [--roots 3000 --repeats 3]`: a multi-table model (Chinook) in root shards instead
(benchmarks/scale_relational.py, benchmarks/results/scale_relational.json).

`--fit [--rows 2000000,5000000 --repeats 3]`: fitting instead, on a Parquet dataset folder of
that many rows (benchmarks/scale_fit.py, benchmarks/results/scale_fit.json).

`--train [--repeats 3]`: autoreg trained on Adult here vs data-parallel on Ray
(benchmarks/scale_train.py, benchmarks/results/scale_train.json).
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

from benchmarks.common import ROOT, load_adult  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "scale.json"
SHARD_ROWS = 50_000  # generators.shards.SHARD_ROWS


def digest(folder: Path) -> str:
    """One hash of every file's name and bytes (the folder's own .synthgen list included)."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        h.update(p.name.encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _local_child(model: str, n: int, out: str, seed: int, q: Any) -> None:
    from synthgen.scale.engine import sample_to_dataset
    from synthgen.scale.ray_engine import peak_rss_bytes

    stats: dict[str, Any] = {}
    t = time.perf_counter()
    sample_to_dataset(Path(model), n, Path(out), seed=seed, stats=stats)
    seconds = time.perf_counter() - t
    rss = [peak_rss_bytes() // 1024]
    q.put({"seconds": seconds, "peak_rss": rss, **_phases(stats, n)})


def run_local(model: Path, n: int, out: Path, seed: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_local_child, args=(str(model), n, str(out), seed, q))
    p.start()
    r = q.get()
    p.join()
    r["peak_rss"] = [kib * 1024 for kib in r["peak_rss"]]
    return r


def run_ray(model: Path, n: int, out: Path, seed: int, workers: int) -> dict[str, Any]:
    from synthgen.scale.engine import sample_to_dataset

    stats: dict[str, Any] = {}
    t = time.perf_counter()
    sample_to_dataset(model, n, out, seed=seed, engine="ray", workers=workers, stats=stats)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_rss": stats["peak_rss"], **_phases(stats, n)}


def _phases(stats: dict[str, Any], n: int) -> dict[str, float]:
    """Seconds to the first part (model loaded, workers started) and rows/s after it."""
    rest = stats["all_parts_s"] - stats["first_part_s"]
    return {
        "first_part_s": stats["first_part_s"],
        "rows_per_s_after_first_part": (n - SHARD_ROWS) / rest if rest > 0 else float("nan"),
    }


def main() -> None:
    if "--multi" in sys.argv[1:]:
        from benchmarks.scale_relational import main as multi_main

        return multi_main([a for a in sys.argv[1:] if a != "--multi"])
    if "--fit" in sys.argv[1:]:
        from benchmarks.scale_fit import main as fit_main

        return fit_main([a for a in sys.argv[1:] if a != "--fit"])
    if "--train" in sys.argv[1:]:
        from benchmarks.scale_train import main as train_main

        return train_main([a for a in sys.argv[1:] if a != "--train"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows per run (issue: 100M)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import ray

    from synthgen.generators import create

    work = Path(tempfile.mkdtemp(prefix="synthgen-scale-"))
    try:
        train, _ = load_adult()
        model = work / "model"
        create("copula").fit(train, seed=0).save(model)
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
        )
        configs: dict[str, list[dict[str, Any]]] = {"local": [], "ray-1": [], "ray-2": []}
        anchor: str | None = None
        for rep in range(args.repeats):
            for name in configs:
                out = work / f"{name}-{rep}"
                load_before = os.getloadavg()[0]  # other jobs on the cores: the seconds follow
                if name == "local":
                    r = run_local(model, args.rows, out, args.seed)
                else:
                    r = run_ray(model, args.rows, out, args.seed, int(name.split("-")[1]))
                r["load_avg_1m"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
                r["digest"] = digest(out)
                anchor = anchor or r["digest"]
                r["same_bytes_as_local"] = r["digest"] == anchor
                r["folder_mb"] = round(sum(p.stat().st_size for p in out.iterdir()) / 2**20, 1)
                configs[name].append(r)
                print(name, rep, {k: r[k] for k in ("seconds", "peak_rss")}, flush=True)
                shutil.rmtree(out)
        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(r["seconds"] for r in configs["local"])
    summary = {}
    for name, runs in configs.items():
        sec = statistics.median(r["seconds"] for r in runs)
        summary[name] = {
            "median_seconds": round(sec, 2),
            "median_rows_per_s": round(args.rows / sec),
            "speed_vs_local": round(base / sec, 2),
            "peak_rss_mb_per_worker_max": round(max(max(r["peak_rss"]) for r in runs) / 2**20, 1),
            "identical_bytes_all_runs": all(r["same_bytes_as_local"] for r in runs),
            "median_first_part_s": round(statistics.median(r["first_part_s"] for r in runs), 2),
            "median_rows_per_s_after_first_part": round(
                statistics.median(r["rows_per_s_after_first_part"] for r in runs)
            ),
            "runs": [
                {
                    "seconds": round(r["seconds"], 2),
                    "peak_rss_mb": [round(x / 2**20, 1) for x in r["peak_rss"]],
                    "folder_mb": r["folder_mb"],
                    "load_avg_1m_before_after": r["load_avg_1m"],
                }
                for r in runs
            ],
        }
    doc = {
        "what": "N Adult-like rows (copula fitted on Adult's train split) to a Parquet "
        "dataset folder; local engine vs Ray 1 and 2 workers on a local 2-CPU Ray cluster",
        "rows": args.rows,
        "issue_target_rows": 100_000_000,
        "shard_rows": 50_000,
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs",
        "python": platform.python_version(),
        "ray": ray.__version__,
        "results": summary,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
