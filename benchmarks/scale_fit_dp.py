"""The streamed copula fit under differential privacy against the in-memory DP copula and the
non-DP fits, on Adult's training split written as Parquet part files (8 files, 2,048-row row
groups), with the same rulers as benchmarks/privacy.py (SDMetrics quality, TSTR F1 on the
holdout). For epsilon in {none, 3, 1} and each seed: the in-memory copula and `synthgen fit`
(the library call it makes, local engine) with the same seed; whether the streamed DP model's
marginals are the in-memory one's bit for bit; the epsilon each spent; fit times. Medians
over the seeds; quality kept = DP quality / the same fit's non-DP quality.

    python benchmarks/scale_fit_dp.py --seeds 3   # -> benchmarks/results/scale_fit_dp.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, load_adult, one_thread, sdmetrics_quality, tstr_f1  # noqa: E402

EPSILONS: list[float | None] = [None, 3.0, 1.0]


def one(folder: Path, train: Any, hold: Any, eps: float | None, seed: int) -> dict[str, Any]:
    from synthgen.generators import create
    from synthgen.privacy import DPPlan
    from synthgen.progress import quiet
    from synthgen.scale.stream_fit import fit_copula_streamed
    from synthgen.scale.stream_source import open_source
    from synthgen.schema import detect

    src = open_source(folder)
    sample = src.sample()
    schema = detect(sample)
    out: dict[str, Any] = {}
    models = {}
    for how in ("in_memory", "streamed"):
        t0 = time.perf_counter()
        if how == "in_memory":
            plan = None if eps is None else DPPlan.build(eps, None, len(train))
            gen = create("copula").fit(train, schema, seed=seed, privacy=plan, embedded_pii="keep")
        else:
            privacy = None if eps is None else (lambda n: DPPlan.build(eps, None, n))
            with quiet():
                gen = fit_copula_streamed(
                    src, schema, sample, seed=seed, say=lambda _m: None, privacy=privacy
                )
        fit_s = time.perf_counter() - t0
        syn = gen.sample(len(train), seed=seed + 1)
        models[how] = gen
        out[how] = {
            "fit_s": fit_s,
            "quality": sdmetrics_quality(train, syn),
            "tstr_f1": tstr_f1(syn, hold),
            "epsilon_spent": None if gen.privacy_ is None else gen.privacy_["epsilon_spent"],
        }
    a, b = models["in_memory"], models["streamed"]
    out["marginals_identical"] = a.vars_ == b.vars_ and all(
        np.array_equal(a.arrays_[k], b.arrays_[k]) for k in a.arrays_ if k != "corr"
    )
    out["corr_max_abs_diff"] = float(np.abs(a.arrays_["corr"] - b.arrays_["corr"]).max())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale_fit_dp.json"))
    args = ap.parse_args()
    one_thread()
    train, hold = load_adult()
    results = []
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as tmp:
        folder = Path(tmp) / "adult"
        folder.mkdir()
        for i, rows in enumerate(np.array_split(np.arange(len(train)), 8)):
            part = train.iloc[rows]
            part.to_parquet(folder / f"part-{i}.parquet", index=False, row_group_size=2048)
        for eps in EPSILONS:
            runs = [one(folder, train, hold, eps, s) for s in range(args.seeds)]
            row: dict[str, Any] = {"epsilon": eps}
            for how in ("in_memory", "streamed"):
                for k in ("fit_s", "quality", "tstr_f1"):
                    row[f"{how}_{k}"] = round(statistics.median(r[how][k] for r in runs), 4)
                row[f"{how}_epsilon_spent"] = runs[0][how]["epsilon_spent"]
            row["marginals_identical_all_seeds"] = all(r["marginals_identical"] for r in runs)
            row["corr_max_abs_diff_median"] = round(
                statistics.median(r["corr_max_abs_diff"] for r in runs), 4
            )
            results.append(row)
            print(json.dumps(row), flush=True)
    base = results[0]
    summary = {
        f"{how}_quality_kept_eps_{r['epsilon']:g}": round(
            r[f"{how}_quality"] / base[f"{how}_quality"], 4
        )
        for r in results[1:]
        for how in ("in_memory", "streamed")
    }
    out = {
        "dataset": "adult (training split, 8 Parquet parts)",
        "rows": len(train),
        "threads": 1,
        "seeds": args.seeds,
        "statistic": "median over the seeds",
        "tstr_f1_real": round(tstr_f1(train, hold), 4),
        "results": results,
        "summary": summary,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
