"""Sequences (issue 18): Beijing's hourly readings as 1,826 daily sequences, one thread.

synthgen's sequence model and SDV's PARSynthesizer (at a few epochs) fit the same table in
the same run; each synthetic table is scored against the real one with synthgen's sequence
metrics: sequence length and inter-event gap similarity (1 - KS), lag-1 autocorrelation error
per numeric column (within sequences), cbwd transition similarity, per-step marginals (each
column at each of the first ten hours and the last: mean and worst, 1 - KS / 1 - TV), and
the entity-level detection AUC. Ours is repeated, each repeat with its own fit and sample seed, and every
figure quoted is the median over repeats (per column for lag-1; the runs are kept); PAR's
time is quoted as a ratio to ours. Two baselines: the real days with their hours shuffled
(no memory at all: the scale of the lag-1 error), and two random halves of the real days
against each other (the noise floor: what a perfect generator would score, at best).

``python benchmarks/sequential.py [--par-epochs 1,4] [--repeats 3]`` writes
benchmarks/results/sequential.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, one_thread  # noqa: E402
from synthgen.scale.ray_engine import peak_rss_bytes  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "sequential.json"
DATA = ROOT.parent / "shared" / "data" / "beijing_pm25_hourly.csv"
NUMBERS = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]


def beijing_days() -> pd.DataFrame:
    """One row per hour: the readings, ``time`` and the day (``date``, the entity)."""
    df = pd.read_csv(DATA)
    df["time"] = pd.to_datetime(df[["year", "month", "day", "hour"]])
    df["date"] = df["time"].dt.strftime("%Y-%m-%d")
    return df.drop(columns=["No", "year", "month", "day", "hour"])


def scores(real: pd.DataFrame, syn: pd.DataFrame) -> dict[str, Any]:
    from synthgen.metrics import sequence_steps as ss
    from synthgen.metrics import sequential as sq
    from synthgen.schema.detect import detect
    from synthgen.stats import ks_complement

    schema = detect(real)
    r, s = (sq.Events.of(d, "date", "time", schema) for d in (real, syn))
    lag = sq.lag1_errors(r, s, schema, NUMBERS)
    steps = ss.step_scores(r, s, schema, NUMBERS, ["cbwd"])
    sides = [sq.summaries(e, schema, NUMBERS, ["cbwd"]) for e in (r, s)]
    return {
        "length_similarity": round(ks_complement(r.lengths(), s.lengths()), 4),
        "gap_similarity": round(ks_complement(r.gaps(), s.gaps()), 4),
        "lag1_error_max": round(max(lag.values()), 4),
        "lag1_error": {c: round(v, 4) for c, v in lag.items()},
        "cbwd_transition_similarity": round(sq.transition_similarity(r, s, schema, "cbwd"), 4),
        "step_marginal_similarity": round(float(np.mean(list(steps.values()))), 4),
        "step_marginal_worst": round(min(steps.values()), 4),
        "sequence_detection_auc": round(sq.detection_auc(sides[0], sides[1], 0), 4),
        "sequences": int(s.lengths().size),
        "rows": len(syn),
    }


def peak_mb() -> float:
    return round(peak_rss_bytes() / 2**20, 1)


def ours(real: pd.DataFrame, repeats: int) -> dict[str, Any]:
    from synthgen.sequences import SequenceModel

    fits, samples, runs = [], [], []
    for i in range(repeats):  # each repeat: its own fit seed and sample seed
        t0 = time.perf_counter()
        model = SequenceModel("date", "time").fit(real, seed=i)
        fits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        syn = model.sample(seed=i)
        samples.append(time.perf_counter() - t0)
        runs.append(scores(real, syn))
        print(f"ours {i + 1}/{repeats}: fit {fits[-1]:.1f} s", flush=True)
    return {
        "fit_seconds": [round(f, 2) for f in fits],
        "fit_seconds_median": round(statistics.median(fits), 2),
        "sample_seconds": round(statistics.median(samples), 2),
        "peak_rss_mb_after": peak_mb(),
        **median_scores(runs),
        "runs": runs,
    }


def median_scores(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (per column for the lag-1 errors)."""
    out: dict[str, Any] = {}
    for k, v in runs[0].items():
        if isinstance(v, dict):
            out[k] = {c: round(statistics.median(r[k][c] for r in runs), 4) for c in v}
        else:
            out[k] = round(statistics.median(r[k] for r in runs), 4)
    out["lag1_error_max"] = max(out["lag1_error"].values())
    return out


def real_halves(real: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """The noise floor: two random halves of the real days scored against each other
    (what a perfect generator's sample of that size would score, at best)."""
    days = real["date"].unique()
    runs = []
    for i in range(max(repeats, 5)):
        half = set(np.random.default_rng(100 + i).permutation(days)[: len(days) // 2])
        a, b = real[real["date"].isin(half)], real[~real["date"].isin(half)]
        runs.append(scores(a, b))
    return median_scores(runs)


def par(real: pd.DataFrame, epochs: int) -> dict[str, Any]:
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    columns = {c: {"sdtype": "numerical"} for c in NUMBERS}
    columns |= {"cbwd": {"sdtype": "categorical"}, "date": {"sdtype": "id"}}
    columns |= {"time": {"sdtype": "datetime"}}
    table = {"columns": columns, "sequence_key": "date", "sequence_index": "time"}
    meta = Metadata.load_from_dict({"tables": {"beijing": table}})
    synth = PARSynthesizer(meta, epochs=epochs, cuda=False, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        synth.fit({"beijing": real})  # SDV 2: a one-table dict
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        syn = synth.sample_sequences(real["date"].nunique())["beijing"]
        sample_s = time.perf_counter() - t0
    return {
        "epochs": epochs,
        "fit_seconds": round(fit_s, 2),
        "sample_seconds": round(sample_s, 2),
        "peak_rss_mb_after": peak_mb(),
        **scores(real, syn),
    }


def shuffled_baseline(real: pd.DataFrame) -> dict[str, Any]:
    """The real days with their hours' values shuffled within each day: no memory."""
    out = real.copy()
    rng = np.random.default_rng(0)
    order = np.lexsort((rng.random(len(out)), pd.factorize(out["date"])[0]))
    cols = [*NUMBERS, "cbwd"]
    out[cols] = out.iloc[order][cols].to_numpy()
    return scores(real, out)


def step_marginals(real: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Per-step marginal similarity alone (``--only-steps``, added to a JSON whose other
    figures came before it): ours with the same fit and sample seeds as the full run, the
    real halves and the shuffled hours. PAR's figure needs the full run."""
    from synthgen.sequences import SequenceModel

    keys = ("step_marginal_similarity", "step_marginal_worst")
    runs = []
    for i in range(repeats):
        syn = SequenceModel("date", "time").fit(real, seed=i).sample(seed=i)
        runs.append({k: v for k, v in scores(real, syn).items() if k in keys})
        print(f"ours {i + 1}/{repeats}: {runs[-1]}", flush=True)
    halves = real_halves(real, repeats)
    shuffled = shuffled_baseline(real)
    return {
        "synthgen": {k: round(statistics.median(r[k] for r in runs), 4) for k in keys},
        "synthgen_runs": runs,
        "real_halves_noise_floor": {k: halves[k] for k in keys},
        "shuffled_hours_baseline": {k: shuffled[k] for k in keys},
    }


def memory_child(days: int) -> None:
    """In a fresh process: fit ours on the first ``days`` days; print the peak RSS before
    the fit (imports and data) and after it."""
    from synthgen.sequences import SequenceModel

    real = beijing_days()
    keep = real["date"].drop_duplicates().iloc[:days]
    part = real[real["date"].isin(set(keep))].reset_index(drop=True)
    before = peak_mb()
    SequenceModel("date", "time").fit(part, seed=0)
    print(json.dumps({"days": days, "rows": len(part), "before_mb": before, "peak_mb": peak_mb()}))


def memory_scaling(total_days: int) -> dict[str, Any]:
    """Peak memory of a fit on a quarter, a half and all of the days, each in its own
    process: what the fit adds over the process before it, per 1,000 rows."""
    import subprocess

    runs = []
    for days in (total_days // 4, total_days // 2, total_days):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(days)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = json.loads(out.stdout.strip().splitlines()[-1])
        got["fit_adds_mb"] = round(got["peak_mb"] - got["before_mb"], 1)
        runs.append(got)
    per = [r["fit_adds_mb"] / r["rows"] * 1000 for r in runs]
    return {"runs": runs, "fit_adds_mb_per_1000_rows": [round(x, 2) for x in per]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--par-epochs", default="1,4", help="PAR epochs to run, comma-separated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--only-memory", action="store_true", help="add the memory part to the JSON")
    ap.add_argument(
        "--only-steps", action="store_true", help="add the per-step marginals to the JSON"
    )
    args = ap.parse_args()
    one_thread()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    real = beijing_days()
    if args.only_steps:
        doc = json.loads(OUT.read_text())
        doc["step_marginals"] = step_marginals(real, args.repeats)
        OUT.write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps(doc["step_marginals"], indent=2))
        return
    if args.only_memory:
        doc = json.loads(OUT.read_text())
        doc["synthgen_memory"] = memory_scaling(int(real["date"].nunique()))
        OUT.write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps(doc["synthgen_memory"], indent=2))
        return
    result: dict[str, Any] = {
        "data": "beijing_pm25_hourly.csv as daily sequences (entity: date, order: time)",
        "rows": len(real),
        "sequences": int(real["date"].nunique()),
        "threads": 1,
        "targets": {"fit_seconds": 60, "length_gap_similarity": 0.95, "lag1_error": 0.1},
        "shuffled_hours_baseline": shuffled_baseline(real),
        "real_halves_noise_floor": real_halves(real, args.repeats),
        "synthgen": ours(real, args.repeats),
        "synthgen_memory": memory_scaling(int(real["date"].nunique())),
        "par": [],
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for e in [int(x) for x in args.par_epochs.split(",") if x]:
        print(f"PAR, {e} epoch(s) ...", flush=True)
        got = par(real, e)
        got["fit_seconds_ratio_to_synthgen"] = round(
            got["fit_seconds"] / result["synthgen"]["fit_seconds_median"], 2
        )
        result["par"].append(got)
        OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
