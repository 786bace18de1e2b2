"""The default generator's privacy / quality trade on small tables (issue 15).

On a small table the validation loss ends `autoreg`'s training early (a second, shorter pass),
which keeps the model from learning single rows. This benchmark measures what that costs and
what it buys: each table is fitted with the default schedule and with the whole schedule
(``epochs`` set to the default's epoch count, so no validation-loss shortening), three seeds,
one thread; the same rulers as benchmarks/tabular.py (SDMetrics quality, TSTR on the holdout)
and synthgen's privacy metrics (DCR share, membership AUC) and detection AUC.

Tables: the shared small tables with a target, and Adult's small sub-populations (as
benchmarks/gates.py cuts them), each split 80/20 by a fixed seed.

    python benchmarks/small_tables.py            # writes benchmarks/results/small_tables.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realism  # noqa: E402
from benchmarks import shared_tables as ds  # noqa: E402
from benchmarks.common import ROOT, one_thread  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "small_tables.json"
TABLES = ["pima_indians_diabetes", "heart_disease_uci", "druglib_reviews", "insurance"]
SUBSETS = [("race", "Black"), ("race", "Asian-Pac-Islander"), ("race", "Amer-Indian-Eskimo"),
           ("race", "Other")]  # fmt: skip
METRICS = ("tstr_f1", "tstr_r2", "dcr_share", "membership_auc", "detection_auc")


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    if not name.startswith("adult["):
        train, holdout = ds.load_table(name)
        return train, holdout, ds.TARGETS.get(name)
    from synthgen.io import read_table

    col, value = name[len("adult[") : -1].split("=")
    df = read_table(ds.SHARED / "adult.csv", na_values=["?"], strip_whitespace=True)
    df = df[df[col] == value].drop(columns=[col]).reset_index(drop=True)
    return (*ds.split(df), "income")


def whole_schedule(n_train: int) -> int:
    """The default schedule's epoch count for ``n_train`` rows (what the default trains in
    its first pass, before the validation loss may shorten it)."""
    from synthgen.generators.autoreg.generator import AutoregParams
    from synthgen.generators.autoreg.training import batch_size, schedule_epochs

    p = AutoregParams()
    rows = n_train - int(n_train * p.validation_share)
    return schedule_epochs(rows, batch_size(rows, p.batch_size), p.min_steps)


def run(name: str, variant: str, seed: int) -> dict:
    from synthgen.generators import create
    from synthgen.metrics import REGISTRY, Context
    from synthgen.schema import detect

    train, holdout, target = load(name)
    schema = detect(train)
    params = {} if variant == "default" else {"epochs": whole_schedule(len(train))}
    t0 = time.perf_counter()
    gen = create("autoreg", **params).fit(train, schema, seed=seed)
    r: dict = {"table": name, "variant": variant, "seed": seed, "rows": len(train)}
    r["fit_s"] = round(time.perf_counter() - t0, 2)
    r["epochs_trained"] = len(gen.history_)
    syn = gen.sample(len(train), seed=seed + 1000)
    r["quality"] = realism.quality_parts(train, syn)["quality"]
    ctx = Context(train, holdout, syn, schema, target=target, seed=seed)
    for m in METRICS:
        res = REGISTRY[m].compute(ctx)
        if res.skipped is None:
            r[m] = float(res.value)
    return r


def summary(runs: list[dict]) -> list[dict]:
    out = []
    for name in dict.fromkeys(r["table"] for r in runs):
        entry: dict = {"table": name}
        for variant in ("default", "whole_schedule"):
            rs = [r for r in runs if r["table"] == name and r["variant"] == variant]
            med = {}
            for key in ("quality", "epochs_trained", *METRICS):
                vals = [r[key] for r in rs if key in r]
                if vals:
                    med[key] = round(statistics.median(vals), 4)
            entry[variant] = med | {"rows": rs[0]["rows"], "seeds": len(rs)}
        out.append(entry)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    one_thread()
    names = TABLES + [f"adult[{c}={v}]" for c, v in SUBSETS]
    t0 = time.perf_counter()
    runs = []
    for name in names:
        for variant in ("default", "whole_schedule"):
            for seed in range(args.seeds):
                runs.append(run(name, variant, seed))
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    doc = {
        "what": "autoreg on small tables: the default (validation loss may shorten training) "
        "against the whole schedule; medians over seeds",
        "seeds": args.seeds,
        "threads": 1,
        "tables": summary(runs),
        "runs": runs,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    Path(args.out).write_text(json.dumps(doc, indent=2))
    for e in doc["tables"]:
        print(json.dumps(e))


if __name__ == "__main__":
    main()
