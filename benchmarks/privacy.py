"""Quality and utility against the privacy budget on Adult: copula, autoreg, tvae and ctgan
at epsilon in {1, 3, 10, none}, one thread, the same train/holdout split and rulers as
benchmarks/tabular.py. Writes benchmarks/results/privacy.json (the rows of generators not run
this time are kept from the file, with their own seed counts) and a quality-vs-epsilon plot.

    python benchmarks/privacy.py                  # everything (ctgan under DP is slow)
    python benchmarks/privacy.py --only copula --seeds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, load_adult, one_thread, sdmetrics_quality, tstr_f1  # noqa: E402

GENERATORS = ["copula", "autoreg", "tvae", "ctgan"]
EPSILONS: list[float | None] = [None, 10.0, 3.0, 1.0]


def one(name: str, eps: float | None, seed: int, epochs: int, batch: int, train, hold) -> dict:  # type: ignore[no-untyped-def]
    from synthgen.generators import create
    from synthgen.privacy import DPPlan
    from synthgen.schema import detect

    schema = detect(train, seed=0)
    params = {} if name == "copula" else {"epochs": epochs, "batch_size": batch}
    plan = DPPlan.build(eps, None, len(train)) if eps is not None else None
    t0 = time.perf_counter()
    gen = create(name, **params).fit(train, schema, seed=seed, privacy=plan)
    fit_s = time.perf_counter() - t0
    syn = gen.sample(len(train), seed=seed + 1)
    return {
        "fit_s": fit_s,
        "quality": sdmetrics_quality(train, syn),
        "tstr_f1": tstr_f1(syn, hold),
        "epsilon_spent": plan.ledger.epsilon_spent if plan else None,
        "delta": plan.delta if plan else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", default=GENERATORS)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "privacy.json"))
    args = ap.parse_args()
    one_thread()
    train, hold = load_adult()
    results = []
    for name in args.only:
        for eps in EPSILONS:
            runs = [
                one(name, eps, s, args.epochs, args.batch, train, hold) for s in range(args.seeds)
            ]
            row = {
                "generator": f"synthgen.{name}",
                "epsilon": eps,
                "epochs": None if name == "copula" else args.epochs,
                **{
                    k: statistics.median([r[k] for r in runs])
                    for k in ("fit_s", "quality", "tstr_f1")
                },
                "epsilon_spent": runs[0]["epsilon_spent"],
                "delta": runs[0]["delta"],
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    seeds = {f"synthgen.{n}": args.seeds for n in args.only}
    if Path(args.out).is_file():  # keep what other generators measured before
        before = json.loads(Path(args.out).read_text(encoding="utf-8"))
        kept = [r for r in before.get("results", []) if r["generator"] not in seeds]
        results = kept + results
        seeds = (
            {**before.get("seeds", {}), **seeds} if isinstance(before.get("seeds"), dict) else seeds
        )
    summary = _summary(results)
    out = {
        "dataset": "adult",
        "rows": len(train),
        "threads": 1,
        "seeds": seeds,
        "statistic": "median over the seeds of each generator",
        "tstr_f1_real": tstr_f1(train, hold),
        "results": results,
        "summary": summary,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    _plot(results, Path(args.out).with_suffix(".png"))
    print(json.dumps(summary, indent=2))


def _summary(results: list[dict]) -> dict:
    """Per generator: quality kept at each epsilon (share of its own non-DP quality) and
    the DP training-time overhead factor."""
    out: dict[str, dict] = {}
    for name in {r["generator"] for r in results}:
        rows = {r["epsilon"]: r for r in results if r["generator"] == name}
        base = rows.get(None)
        if base is None:
            continue
        out[name] = {
            f"quality_kept_eps_{e:g}": round(rows[e]["quality"] / base["quality"], 4)
            for e in rows
            if e is not None
        }
        out[name] |= {
            f"time_factor_eps_{e:g}": round(rows[e]["fit_s"] / base["fit_s"], 2)
            for e in rows
            if e is not None
        }
    return out


def _plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name in dict.fromkeys(r["generator"] for r in results):
        rows = [r for r in results if r["generator"] == name and r["epsilon"] is not None]
        rows.sort(key=lambda r: r["epsilon"])
        line = ax.plot([r["epsilon"] for r in rows], [r["quality"] for r in rows], "o-")[0]
        base = [r for r in results if r["generator"] == name and r["epsilon"] is None]
        if base:
            ax.axhline(base[0]["quality"], ls=":", color=line.get_color())
        line.set_label(name.removeprefix("synthgen."))
    ax.set_xscale("log")
    ax.set_xlabel("epsilon (dotted: no DP)")
    ax.set_ylabel("SDMetrics quality")
    ax.set_title("Adult: quality vs privacy budget")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
