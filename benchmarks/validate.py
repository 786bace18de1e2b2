"""Validation speed on Adult: our default suite, and our DCR against SDMetrics' on the same data.

Adult: 26k training rows, 6.5k holdout, 26k synthetic rows from our copula. One thread. The
suite is timed end to end (median of repeats, each in a fresh context so nothing is cached);
SDMetrics' DCROverfittingProtection is timed on the same three frames in the same process.
Results go to benchmarks/results/validate.json (other keys in that file are kept).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, load_adult, one_thread  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "validate.json"


def main(repeats: int = 3) -> None:
    one_thread()
    from synthgen import validate
    from synthgen.generators import create
    from synthgen.metrics import REGISTRY, Context
    from synthgen.schema import detect

    train, holdout = load_adult()
    schema = detect(train)
    syn = create("copula").fit(train, schema, seed=0).sample(len(train), seed=0)
    suite = validate.load_suite("default")
    validate.run(
        suite, train.iloc[:500], holdout.iloc[:200], syn.iloc[:500], schema, target="income"
    )  # warm
    totals, per_metric = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        verdict = validate.run(suite, train, holdout, syn, schema, target="income")
        totals.append(time.perf_counter() - t0)
        per_metric.append(verdict["metric_seconds"])
    metric_median = {k: statistics.median(m[k] for m in per_metric) for k in per_metric[0]}

    # SDMetrics' DCR cross-merges rows in pandas: on the full table it runs for many minutes,
    # so both are timed on the same 300 synthetic rows against the full train and holdout.
    small = syn.sample(300, random_state=0).reset_index(drop=True)
    dcr_ours = []
    for _ in range(repeats):
        ctx = Context(train, holdout, small, schema, "income", 0)
        t0 = time.perf_counter()
        ours = REGISTRY["dcr_share"].compute(ctx)
        dcr_ours.append(time.perf_counter() - t0)
    sdm_s, sdm_value = _sdmetrics_dcr(train, holdout, small)
    doc = json.loads(OUT.read_text()) if OUT.exists() else {}
    doc["speed"] = {
        "dataset": "adult",
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "synthetic_rows": len(syn),
        "threads": 1,
        "repeats": repeats,
        "default_suite_s_median": statistics.median(totals),
        "default_suite_s_all": totals,
        "metric_seconds_median": metric_median,
        "gates_passed": verdict["passed"],
        "dcr": {
            "synthetic_rows": len(small),
            "synthgen_dcr_share_s_median": statistics.median(dcr_ours),
            "synthgen_dcr_share": ours.value,
            "sdmetrics_dcr_overfitting_protection_s": sdm_s,
            "sdmetrics_dcr_overfitting_protection": sdm_value,
            "speedup_vs_sdmetrics": sdm_s / statistics.median(dcr_ours) if sdm_s else None,
            "note": "SDMetrics' score is 1 - 2 * max(share_closer_to_train - 0.5, 0) style "
            "(higher = safer); ours is the share itself (0.5 = no memorisation)",
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc["speed"], indent=2))


def _sdmetrics_dcr(train, holdout, syn):  # type: ignore[no-untyped-def]
    try:
        from sdmetrics.single_table import DCROverfittingProtection
    except ImportError:
        return None, None
    columns = {
        c: {"sdtype": "numerical" if train[c].dtype.kind in "if" else "categorical"}
        for c in train.columns
    }
    meta = {"columns": columns}
    t0 = time.perf_counter()
    value = DCROverfittingProtection.compute(train, syn, holdout, meta, None)
    return time.perf_counter() - t0, float(value)


if __name__ == "__main__":
    main()
