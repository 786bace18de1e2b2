"""Fitting at scale: the copula learnt from an N-row Adult-like Parquet dataset folder that is
never held in memory, locally and on Ray (`python benchmarks/scale.py --fit`).

A copula fitted on Adult's training split samples N rows into a dataset folder (50,000-row
part files, as `synthgen sample --out big/` writes them). Then `synthgen fit` (the library
call it makes) learns a copula from that folder with
- the local engine (the anchor): batches in one process;
- Ray with 1 and with 2 workers on a local Ray cluster of 2 CPUs.
Every configuration runs in its own child process (it starts its own Ray), so the driver's
peak RSS is its own; each Ray worker reports its own peak RSS at the end. The JSON quotes
medians of wall time, ratios to the local anchor, peak RSS per process, and whether every
run wrote the same model (bytes of encoder.json and weights.safetensors) as the anchor.
Several sizes (--rows 2000000,5000000) show memory flat in rows. The issue's target is
20M rows with peak memory under 2 GB per worker. Results: benchmarks/results/scale_fit.json.
``--privacy 1`` fits with differential privacy (three passes, the noise drawn once on the
driver): the models must still be the same bytes for every configuration.
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

OUT = ROOT / "benchmarks" / "results" / "scale_fit.json"
CONFIGS = ("local", "ray-1", "ray-2")


def model_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("encoder.json", "weights.safetensors", "schema.json"):
        h.update(hashlib.sha256((folder / name).read_bytes()).digest())
    return h.hexdigest()


def _child(config: str, recipe: str, out: str, q: Any) -> None:
    from synthgen.api import load_recipe
    from synthgen.fit_stream import fit_streamed
    from synthgen.progress import quiet
    from synthgen.scale.ray_engine import peak_rss_bytes

    r = load_recipe(recipe)
    stats: dict[str, Any] = {}
    if config != "local":
        import ray

        r = r.with_execution("ray", int(config.split("-")[1]), None)
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
        )
    t = time.perf_counter()
    with quiet():
        fit_streamed(r, out, say=lambda _m: None, stats=stats)
    seconds = time.perf_counter() - t
    driver = peak_rss_bytes()
    q.put({"seconds": seconds, "driver_rss": driver, "worker_rss": stats.get("peak_rss", [])})


def run(config: str, recipe: Path, out: Path) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(config, str(recipe), str(out), q))
    p.start()
    r = q.get()
    p.join()
    r["model"] = model_digest(out)
    return r


def make_source(work: Path, rows: int) -> Path:
    """``rows`` Adult-like rows as a Parquet dataset folder (sampled shard by shard)."""
    from synthgen.generators import create
    from synthgen.progress import quiet
    from synthgen.scale.engine import sample_to_dataset

    model = work / "adult-model"
    if not model.exists():
        train, _ = load_adult()
        create("copula").fit(train, seed=0).save(model)
    folder = work / f"source-{rows}"
    with quiet():
        sample_to_dataset(model, rows, folder, seed=1, say=lambda _m: None)
    return folder


def write_recipe(work: Path, folder: Path, epsilon: float | None = None) -> Path:
    p = work / f"{folder.name}.yaml"
    dp = "" if epsilon is None else f"privacy: {{epsilon: {epsilon}}}\n"
    p.write_text(
        f"name: scale-fit\nseed: 0\nsource: {{path: {folder}}}\nholdout: 0\n"
        f"generator: {{name: copula}}\n{dp}"
    )
    return p


def summarise(rows: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    base = statistics.median(r["seconds"] for r in runs["local"])
    anchor = runs["local"][0]["model"]
    out = {}
    for name, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        mb = [round(max([r["driver_rss"]] + r["worker_rss"]) / 2**20, 1) for r in rs]
        out[name] = {
            "median_seconds": round(sec, 2),
            "median_rows_per_s": round(rows / sec),
            "speed_vs_local": round(base / sec, 2),
            "peak_rss_mb_any_process_max": max(mb),
            "same_model_as_local_all_runs": all(r["model"] == anchor for r in rs),
            "runs": [
                {
                    "seconds": round(r["seconds"], 2),
                    "driver_peak_rss_mb": round(r["driver_rss"] / 2**20, 1),
                    "worker_peak_rss_mb": [round(x / 2**20, 1) for x in r["worker_rss"]],
                }
                for r in rs
            ],
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="2000000,5000000", help="comma-separated sizes")
    ap.add_argument("--repeats", default="3", help="per size, comma-separated (or one)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument(
        "--privacy",
        type=float,
        metavar="EPS",
        help="fit with privacy: {epsilon: EPS} (three passes); results under '<rows>-dp-EPS'",
    )
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import pyarrow
    import ray

    sizes = [int(x) for x in args.rows.split(",")]
    reps = [int(x) for x in args.repeats.split(",")]
    reps = reps * len(sizes) if len(reps) == 1 else reps
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    results = previous.get("results", {})
    work = Path(tempfile.mkdtemp(prefix="synthgen-scale-fit-"))
    try:
        for rows, repeats in zip(sizes, reps, strict=True):
            t = time.perf_counter()
            folder = make_source(work, rows)
            made = time.perf_counter() - t
            mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            print(f"{rows:,} rows written in {made:.0f} s ({mb:.0f} MB)", flush=True)
            recipe = write_recipe(work, folder, args.privacy)
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
            for rep in range(repeats):
                for config in CONFIGS:
                    out = work / f"model-{config}-{rep}"
                    runs[config].append(run(config, recipe, out))
                    print(rows, config, rep, runs[config][-1], flush=True)
                    shutil.rmtree(out)
            shutil.rmtree(folder)
            key = str(rows) if args.privacy is None else f"{rows}-dp-{args.privacy:g}"
            results[key] = {
                "source_parts": -(-rows // 50_000),
                "source_mb": round(mb, 1),
                "repeats": repeats,
                **summarise(rows, runs),
            }
            doc = {
                "what": "the copula fitted (synthgen fit, two map-reduce passes; three for the "
                "keys ending -dp-EPS, fitted with privacy: {epsilon: EPS}) on an N-row "
                "Adult-like Parquet dataset folder (50,000-row parts sampled from a copula "
                "fitted on Adult's train split); local engine vs Ray 1 and 2 workers on a "
                "local 2-CPU Ray cluster; each configuration in its own process",
                "issue_target": "20M rows, peak memory under 2 GB per worker",
                "batch_rows": 65_536,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs",
                "python": platform.python_version(),
                "ray": ray.__version__,
                "pyarrow": pyarrow.__version__,
                "results": dict(
                    sorted(results.items(), key=lambda kv: (int(kv[0].split("-")[0]), kv[0]))
                ),
            }
            Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
