"""Multi-table fitting on Ray, sharded by root entity: autoreg on every table of a
Chinook-shaped database --scale times Chinook's size, here and on 2 Ray workers.

The database: a copula relational model fitted on Chinook (keys detected from its CSVs, as
benchmarks/scale_relational.py does; the people's names, e-mails and phones kept, so the
customers are found as the entity table) samples --scale times every table's rows, keys
intact, fakes for the personal data. Then ``RelationalSynthesizer("autoreg")`` fits it
(--epochs per table, seed fixed):
- here (the anchor);
- inside ``distributed.training(RayCluster(2))`` on a local 2-CPU Ray cluster: the
  customers (the entity table) dealt out to the two workers, each customer's invoices and
  invoice lines on its worker, the catalogue tables dealt out by row number; each worker
  holds only its rows of each table.
Each runs --repeats times, interleaved. The JSON quotes the median fit seconds, each
table's held-out loss against the anchor's (the same held-out rows: the loss ratio is the
quality figure), the rows each worker held per table, and each worker's peak RSS per table
(VmHWM of its process). Results: benchmarks/results/scale_fit_relational.json.

On this shared 2-core machine no speed-up is expected: Ray starts two workers per table
(about 15-30 s each time) on the two cores the driver uses too. The point: equal quality
with each worker holding half the entities.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, one_thread, write_ray_result  # noqa: E402
from benchmarks.scale_relational import chinook  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "scale_fit_relational.json"


def database(scale: float, seed: int) -> Any:
    from synthgen.relational import RelationalSynthesizer

    ds, _ = chinook(keep_pii=True)
    return RelationalSynthesizer("copula").fit(ds, seed=seed).sample(seed=seed, ratio=scale)


def fit_once(ds: Any, workers: int | None, seed: int, epochs: int) -> dict[str, Any]:
    from synthgen.generators.distributed import RayCluster, training
    from synthgen.relational import RelationalSynthesizer

    stats: dict[str, Any] = {}
    said: list[str] = []
    cluster = RayCluster(workers, None, said.append, stats) if workers else None
    t0 = time.perf_counter()
    with training(cluster):
        model = RelationalSynthesizer("autoreg", {"epochs": epochs}).fit(
            ds, seed=seed, say=said.append
        )
    seconds = time.perf_counter() - t0
    tables = {}
    fits = iter(stats.get("fits", []))
    for t, gen in model.models_.items():
        if gen is None:
            continue
        h = gen.history_[-1]
        entry: dict[str, Any] = {
            "rows": len(ds[t]),
            "loss": h["loss"],
            "validation_loss": h.get("validation_loss"),
        }
        if workers:
            fit = next(fits)
            entry["rows_per_worker"] = fit.get("rows")
            entry["peak_rss_mb_per_worker"] = [round(x / 2**20, 1) for x in fit["peak_rss"]]
        tables[t] = entry
    return {"fit_s": seconds, "tables": tables, "said": said[:1]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=10.0, help="times Chinook's rows")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    one_thread()
    import ray

    ds = database(args.scale, args.seed)
    rows = {t: len(ds[t]) for t in ds.names}
    print("database", rows, flush=True)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
    )
    configs = {"local": None, "ray-2": 2}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for rep in range(args.repeats):
        for name, workers in configs.items():
            r = fit_once(ds, workers, args.seed, args.epochs)
            runs[name].append(r)
            print(name, rep, round(r["fit_s"], 1), flush=True)
    ray.shutdown()
    base = statistics.median(r["fit_s"] for r in runs["local"])
    anchor = runs["local"][0]["tables"]
    summary: dict[str, Any] = {}
    for name, rs in runs.items():
        fit = statistics.median(r["fit_s"] for r in rs)
        tables = {}
        for t, e in rs[0]["tables"].items():
            v, v0 = e["validation_loss"], anchor[t]["validation_loss"]
            tables[t] = e | {
                "validation_loss_vs_local": None if v is None or not v0 else round(v / v0, 4),
                "validation_loss_runs": [r["tables"][t]["validation_loss"] for r in rs],
            }
        summary[name] = {
            "median_fit_s": round(fit, 1),
            "fit_s_vs_local": round(fit / base, 2),
            "fit_s_runs": [round(r["fit_s"], 1) for r in rs],
            "said": rs[0]["said"],
            "tables": tables,
        }
    doc = {
        "what": "RelationalSynthesizer('autoreg') fitted on a Chinook-shaped database "
        f"{args.scale:g} times Chinook's size: here vs 2 Ray workers sharded by root entity "
        "(each holding its entities' rows); held-out losses on the same held-out rows",
        "rows": rows,
        "scale": args.scale,
        "epochs": args.epochs,
        "seed": args.seed,
        "repeats": args.repeats,
    }
    write_ray_result(args.out, doc, summary)


if __name__ == "__main__":
    main()
