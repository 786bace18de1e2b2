"""Validation at scale: `synthgen validate --engine local|ray` on Adult-like Parquet dataset
folders that are never held in memory (`python benchmarks/scale_validate.py`).

A copula fitted on Adult's training split samples three dataset folders (50,000-row part
files, as `synthgen sample --out big/` writes them): the "real" table (--real-rows), a
holdout (a quarter of that) and the synthetic table (--rows). One part of the real folder
are copied into the synthetic folder (--planted-parts: a planted leak of 50,000 verbatim
training rows each).
Then the validation runs with
- the local engine (the anchor): one process;
- Ray with 1 and with 2 workers on a local Ray cluster of 2 CPUs.
Every configuration runs in its own child process (it starts its own Ray), so the driver's
peak RSS is its own; each Ray worker reports its own. The JSON quotes medians of wall time,
ratios to the local anchor, peak RSS per process, the exact counts (which must include the
planted copies) and whether every run wrote the same report as the anchor (the report
minus clock times). Results: benchmarks/results/scale_validate.json.
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

OUT = ROOT / "benchmarks" / "results" / "scale_validate.json"
CONFIGS = ("local", "ray-1", "ray-2")
PART_ROWS = 50_000  # rows of one part file of the real folder


def report_digest(report: dict[str, Any]) -> str:
    stable = {k: v for k, v in report.items() if k not in ("created", "timings", "engine")}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def _child(config: str, paths: dict[str, str], options: dict[str, Any], q: Any) -> None:
    from synthgen.evaluation_scale import validate_at_scale
    from synthgen.progress import quiet
    from synthgen.scale.ray_engine import peak_rss_bytes

    engine = {"engine": "local"}
    if config != "local":
        import ray

        engine = {"engine": "ray", "workers": int(config.split("-")[1])}
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
        )
    stats: dict[str, Any] = {}
    t = time.perf_counter()
    with quiet():
        report = validate_at_scale(
            Path(paths["real"]),
            Path(paths["synthetic"]),
            holdout=Path(paths["holdout"]),
            out=Path(paths["out"]),
            say=lambda _m: None,
            stats=stats,
            **engine,
            **options,
        )
    seconds = time.perf_counter() - t
    driver = peak_rss_bytes()
    q.put(
        {
            "seconds": seconds,
            "stage_seconds": report["timings"],
            "driver_rss": driver,
            "worker_rss": stats["peak_rss"] if config != "local" else [],
            "digest": report_digest(report),
            "exact": report["scale"]["exact"],
            "rows": report["rows"],
            "verdict": report["verdict"],
            "gates": {g["name"]: g["status"] for g in report["gates"]},
            "exact_copy_excess": report["metrics"]["privacy"]["exact_copy_excess"],
        }
    )


def run(config: str, paths: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(config, paths, options, q))
    p.start()
    r = q.get()
    p.join()
    return r


def make_tables(work: Path, real_rows: int, rows: int, planted: int) -> dict[str, str]:
    from synthgen.generators import create
    from synthgen.progress import quiet
    from synthgen.scale.engine import sample_to_dataset

    model = work / "adult-model"
    train, _ = load_adult()
    create("copula").fit(train, seed=0).save(model)
    paths = {}
    for name, n, seed in (
        ("real", real_rows, 1),
        ("holdout", real_rows // 4, 2),
        ("synthetic", rows, 3),
    ):
        with quiet():
            sample_to_dataset(model, n, work / name, seed=seed, say=lambda _m: None)
        paths[name] = str(work / name)
    for i, part in enumerate(sorted((work / "real").glob("part-*.parquet"))[:planted]):
        shutil.copy(part, work / "synthetic" / f"part-planted-{i}.parquet")  # the leak
    return paths


def summarise(runs: dict[str, list[dict[str, Any]]], scanned: int) -> dict[str, Any]:
    base = statistics.median(r["seconds"] for r in runs["local"])
    anchor = runs["local"][0]
    out = {}
    for name, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        mb = [round(max([r["driver_rss"]] + r["worker_rss"]) / 2**20, 1) for r in rs]
        out[name] = {
            "median_seconds": round(sec, 2),
            "median_rows_scanned_per_s": round(scanned / sec),
            "speed_vs_local": round(base / sec, 2),
            "peak_rss_mb_any_process_max": max(mb),
            "same_report_as_local_all_runs": all(r["digest"] == anchor["digest"] for r in rs),
            "same_exact_counts_as_local_all_runs": all(r["exact"] == anchor["exact"] for r in rs),
            "runs": [
                {
                    "seconds": round(r["seconds"], 2),
                    "stage_seconds": r["stage_seconds"],
                    "driver_peak_rss_mb": round(r["driver_rss"] / 2**20, 1),
                    "worker_peak_rss_mb": [round(x / 2**20, 1) for x in r["worker_rss"]],
                }
                for r in rs
            ],
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="synthetic rows")
    ap.add_argument("--real-rows", type=int, default=2_000_000, help="real rows")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--planted-parts", type=int, default=1, help="real parts copied")
    ap.add_argument("--sample-rows", type=int, default=100_000)
    ap.add_argument("--bootstrap", type=int, default=10)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import pyarrow
    import ray

    work = Path(tempfile.mkdtemp(prefix="synthgen-scale-validate-"))
    options = {"sample_rows": args.sample_rows, "bootstrap": args.bootstrap, "seed": 0}
    try:
        t = time.perf_counter()
        paths = make_tables(work, args.real_rows, args.rows, args.planted_parts)
        print(f"tables written in {time.perf_counter() - t:.0f} s", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
        for rep in range(args.repeats):
            for config in CONFIGS:
                paths["out"] = str(work / f"report-{config}-{rep}")
                runs[config].append(run(config, paths, options))
                print(config, rep, json.dumps(runs[config][-1], default=str), flush=True)
        anchor = runs["local"][0]
        scanned = sum(anchor["rows"][k] for k in ("train", "holdout", "synthetic"))
        previous = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
        results = previous.get("results", {})
        results[str(args.rows)] = {
            "rows": anchor["rows"],
            "planted_copies": args.planted_parts * PART_ROWS,
            "exact": anchor["exact"],
            "exact_copy_excess": anchor["exact_copy_excess"],
            "verdict": anchor["verdict"],
            "gates": anchor["gates"],
            "options": options,
            "repeats": args.repeats,
            **summarise(runs, scanned),
        }
        doc = {
            "what": "synthgen validate --engine on Adult-like Parquet dataset folders (50,000-row "
            "parts sampled from a copula fitted on Adult's train split) with one real part "
            "copied into the synthetic folder; local engine vs Ray 1 and 2 workers on a local "
            "2-CPU Ray cluster; each configuration in its own process",
            "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs",
            "python": platform.python_version(),
            "ray": ray.__version__,
            "pyarrow": pyarrow.__version__,
            "results": dict(sorted(results.items(), key=lambda kv: int(kv[0]))),
        }
        Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps(results[str(args.rows)], indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
