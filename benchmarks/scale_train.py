"""Training at scale: autoreg (or tvae / ctgan: --generator) on Adult, in this process and
data-parallel on Ray (Ray Train + DDP over gloo) with 1 and 2 workers, the same seed, epochs
and global batch.
Each configuration fits --repeats times, interleaved; the JSON quotes the median fit
seconds (wall), CPU seconds (this process's, plus every training worker's whole process,
its start-up included; Ray's own daemons are left out), the seconds to the first epoch's end
(encoding, and on Ray starting the workers) and the steady seconds per epoch after it, the
training and held-out loss of the last epoch, and, once per configuration (a model is the
same bytes for a seed and worker count), SDMetrics quality and detection AUC of len(train)
sampled rows (``benchmarks.realism``, as benchmarks/tabular.py measures them).

On this shared 2-core machine no speed-up is expected (two workers share two cores with
the driver, the cluster's own processes and other jobs); the point is equal quality and a
working path. ``python benchmarks/scale.py --train [--repeats 3]``, or this file.
Results: benchmarks/results/scale_train.json.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realism  # noqa: E402
from benchmarks.common import ROOT, load_adult, one_thread, write_ray_result  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "scale_train.json"
CONFIGS = {"local": None, "ray-1": 1, "ray-2": 2}


def fit_once(
    train: Any, workers: int | None, seed: int, epochs: int, generator: str = "autoreg"
) -> tuple[Any, dict]:
    from synthgen.generators import create
    from synthgen.generators.distributed import RayCluster, training

    stats: dict[str, Any] = {}
    cluster = RayCluster(workers, None, lambda _m: None, stats) if workers else None
    c0, t0 = time.process_time(), time.perf_counter()
    with training(cluster):
        gen = create(generator, epochs=epochs).fit(train, seed=seed, embedded_pii="keep")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    h = gen.history_
    with tempfile.TemporaryDirectory() as tmp:
        weights = (gen.save(Path(tmp) / "m") / "weights.safetensors").read_bytes()
    return (
        gen,
        {
            "fit_s": seconds,
            "driver_cpu_s": cpu,
            "workers_cpu_s": sum(stats.get("cpu_s", [])),
            "cpu_s": cpu + sum(stats.get("cpu_s", [])),
            "peak_rss_mb_per_worker": [round(x / 2**20, 1) for x in stats.get("peak_rss", [])],
            "first_epoch_end_s": h[0]["seconds"],
            "epoch_s_after_first": (h[-1]["seconds"] - h[0]["seconds"]) / max(len(h) - 1, 1),
            "epochs": len(h),
            "loss": h[-1]["loss"],
            "validation_loss": h[-1].get("validation_loss"),  # autoreg's held-out rows
            "weights_sha256": hashlib.sha256(weights).hexdigest()[:16],
        },
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=8, help="autoreg's default on Adult")
    ap.add_argument("--generator", default="autoreg", choices=["autoreg", "tvae", "ctgan"])
    ap.add_argument("--out", default=None, help=f"default: {OUT} (autoreg), else beside it")
    args = ap.parse_args(argv)
    if args.out is None:
        name = "" if args.generator == "autoreg" else f"-{args.generator}"
        args.out = str(OUT.with_name(f"scale_train{name}.json"))
    one_thread()
    import ray

    train, _ = load_adult()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
    )
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    realism_of: dict[str, dict[str, float]] = {}
    for rep in range(args.repeats):
        for name, workers in CONFIGS.items():
            gen, r = fit_once(train, workers, args.seed, args.epochs, args.generator)
            runs[name].append(r)
            print(name, rep, {k: round(r[k], 2) for k in ("fit_s", "cpu_s")}, flush=True)
            if name not in realism_of:
                syn = gen.sample(len(train), seed=args.seed + 1000)
                realism_of[name] = realism.quality_parts(train, syn) | {
                    "detection_auc": realism.detection_auc(train, syn)
                }
                print(name, realism_of[name], flush=True)
    ray.shutdown()
    base = statistics.median(r["fit_s"] for r in runs["local"])
    summary = {}
    for name, rs in runs.items():
        fit = statistics.median(r["fit_s"] for r in rs)
        summary[name] = {
            "median_fit_s": round(fit, 2),
            "median_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 2),
            "median_driver_cpu_s": round(statistics.median(r["driver_cpu_s"] for r in rs), 2),
            "median_workers_cpu_s": round(statistics.median(r["workers_cpu_s"] for r in rs), 2),
            "peak_rss_mb_per_worker": rs[0]["peak_rss_mb_per_worker"],
            "speed_vs_local": round(base / fit, 2),
            "median_first_epoch_end_s": round(
                statistics.median(r["first_epoch_end_s"] for r in rs), 2
            ),
            "median_epoch_s_after_first": round(
                statistics.median(r["epoch_s_after_first"] for r in rs), 3
            ),
            "epochs": rs[0]["epochs"],
            "loss": round(rs[0]["loss"], 5),
            "validation_loss": None
            if rs[0]["validation_loss"] is None
            else round(rs[0]["validation_loss"], 5),
            "same_weights_every_repeat": len({r["weights_sha256"] for r in rs}) == 1,
            "weights_sha256": rs[0]["weights_sha256"],
            **{k: round(v, 4) for k, v in realism_of[name].items()},
            "fit_s_runs": [round(r["fit_s"], 2) for r in rs],
        }
    doc = {
        "what": f"{args.generator} fitted on Adult's train split: this process vs Ray Train "
        "(DDP over gloo) with 1 and 2 workers on a local 2-CPU Ray cluster; same seed, epochs and "
        "global batch; realism of len(train) sampled rows",
        "train_rows": len(train),
        "epochs": args.epochs,
        "seed": args.seed,
        "repeats": args.repeats,
    }
    write_ray_result(args.out, doc, summary)


if __name__ == "__main__":
    main()
