"""Our engines against SDV's on Adult: synthgen's ctgan / tvae / copula against SDV's
implementations of the same models, same run, same epochs and batch size.

Every (generator, seed) fit runs in its own child process (so peak RSS is its own), one
thread; the parent writes medians over seeds to benchmarks/results/engines.json. Run with
`make bench` (or `python benchmarks/engines.py`). The realism benchmark of the default
generator against TabularARGN and ARF is benchmarks/tabular.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import flops  # noqa: E402
from benchmarks.common import ROOT, adult_path, load_adult, one_thread, sdmetrics_quality, tstr_f1  # noqa: E402

GENERATORS = [
    "synthgen.ctgan",
    "synthgen.tvae",
    "synthgen.copula",
    "sdv.ctgan",
    "sdv.tvae",
    "sdv.gaussian_copula",
]
NEURAL = {"synthgen.ctgan", "synthgen.tvae", "sdv.ctgan", "sdv.tvae"}


def job(name: str, seed: int, epochs: int, batch: int, budget: float | None) -> dict:
    one_thread()
    from synthgen.scale.ray_engine import peak_rss_bytes

    train, holdout = load_adult()
    out: dict = {"generator": name, "seed": seed}
    t0 = time.perf_counter()
    if name.startswith("synthgen."):
        gen, fit_parts = _fit_ours(name.split(".", 1)[1], train, seed, epochs, batch, budget)
    else:
        gen, fit_parts = _fit_sdv(name, train, seed, epochs, batch)
    out["fit_s"] = fit_parts.pop("_fit_done", time.perf_counter()) - t0
    out.update(fit_parts)
    t0 = time.perf_counter()
    syn = gen(len(train))
    out["sample_rows_per_s"] = len(train) / (time.perf_counter() - t0)
    out["peak_rss_mb"] = peak_rss_bytes() / 2**20
    out["quality"] = sdmetrics_quality(train, syn)
    out["tstr_f1"] = tstr_f1(syn, holdout)
    return out


def _fit_ours(kind: str, train, seed: int, epochs: int, batch: int, budget: float | None):  # type: ignore[no-untyped-def]
    """Timed: schema detection + fit (as SDV's metadata detection + preprocess + fit).
    The encoder on its own and the matmul probe are measured after, outside that time."""
    import numpy as np

    from synthgen.generators import create
    from synthgen.schema import detect
    from synthgen.transforms import TableEncoder
    from synthgen.transforms.frame import to_model_frame

    schema = detect(train)
    parts: dict = {}
    if kind in ("ctgan", "tvae"):
        params = (
            {"epochs": epochs, "batch_size": batch}
            if budget is None
            else {"epochs": 100_000, "batch_size": batch, "time_budget_s": budget}
        )
        gen = create(kind, **params)
    else:
        gen = create(kind)
    gen.fit(train, schema, seed=seed)
    parts["_fit_done"] = time.perf_counter()
    if kind in ("ctgan", "tvae"):
        frame = to_model_frame(train, schema, schema.names)
        t0 = time.perf_counter()
        enc = TableEncoder().fit(frame, schema, np.random.default_rng(seed))
        enc.transform(frame, np.random.default_rng(seed))
        parts["encoder_fit_s"] = time.perf_counter() - t0
        hist = gen.history_
        parts["epochs"] = len(hist)
        parts["train_s"] = hist[-1]["seconds"]
        parts["s_per_epoch"] = hist[-1]["seconds"] / len(hist)
        parts["model_flops_per_epoch"] = flops.per_epoch(gen, len(train))
        parts["loop_gflops"] = parts["model_flops_per_epoch"] / parts["s_per_epoch"] / 1e9
        parts["matmul_probe_gflops"] = flops.probe(gen)
    return (lambda n: gen.sample(n, seed=seed + 1)), parts


def _fit_sdv(name: str, train, seed: int, epochs: int, batch: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    np.random.seed(seed)
    torch.manual_seed(seed)
    meta = Metadata.detect_from_dataframes({"table": train})
    cls = {
        "sdv.ctgan": CTGANSynthesizer,
        "sdv.tvae": TVAESynthesizer,
        "sdv.gaussian_copula": GaussianCopulaSynthesizer,
    }[name]
    kwargs = {"epochs": epochs, "batch_size": batch, "enable_gpu": False} if name in NEURAL else {}
    synth = cls(meta, **kwargs)
    t0 = time.perf_counter()
    processed = synth.preprocess({"table": train})
    parts = {"encoder_fit_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    synth.fit_processed_data(processed)
    train_s = time.perf_counter() - t0
    parts["_fit_done"] = time.perf_counter()
    parts["train_s"] = train_s
    if name in NEURAL:
        parts["epochs"] = epochs
        parts["s_per_epoch"] = train_s / epochs

    def sample(n: int):  # type: ignore[no-untyped-def]
        out = synth.sample(n)
        return out["table"] if isinstance(out, dict) else out

    return sample, parts


def run_child(name: str, seed: int, epochs: int, batch: int, budget: float | None = None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--job",
        name,
        "--seed",
        str(seed),
        "--epochs",
        str(epochs),
        "--batch",
        str(batch),
    ] + (["--budget", str(budget)] if budget else [])
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        return {"generator": name, "seed": seed, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--job")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--budget", type=float)
    ap.add_argument("--ttq-budget", type=float, default=110.0, help="time-to-quality budget (s)")
    ap.add_argument("--only", nargs="*", default=GENERATORS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engines.json"))
    ap.add_argument(
        "--merge",
        action="store_true",
        help="re-run only --only generators and replace their runs in --out",
    )
    ap.add_argument("--no-ttq", action="store_true", help="keep the time-to-quality entries")
    args = ap.parse_args()
    if args.job:
        print(json.dumps(job(args.job, args.seed, args.epochs, args.batch, args.budget)))
        return
    train, holdout = load_adult()
    one_thread()
    old = json.loads(Path(args.out).read_text()) if args.merge and Path(args.out).exists() else None
    runs = []
    for name in args.only:
        for seed in range(args.seeds):
            r = run_child(name, seed, args.epochs, args.batch)
            print(json.dumps(r), file=sys.stderr, flush=True)
            runs.append(r)
    names = list(args.only)
    if old is not None:  # --merge: keep the other generators' runs from the earlier file
        runs = [r for r in old["runs"] if r["generator"] not in names] + runs
        names = list(dict.fromkeys([r["generator"] for r in old["results"]] + names))
    results = [
        _median(name, [r for r in runs if r["generator"] == name], args.epochs) for name in names
    ]
    if args.no_ttq and old is not None:
        ttq = [
            t
            for t in old["time_to_quality"]
            if t["generator"] in ("synthgen.tvae", "synthgen.ctgan")
        ]
    else:
        ttq = [
            run_child(f"synthgen.{k}", 0, args.epochs, args.batch, args.ttq_budget)
            for k in ("tvae", "ctgan")
        ]
    copula = next((r for r in results if r["generator"] == "synthgen.copula"), None)
    doc = {
        "dataset": adult_path().name,
        "rows": len(train) + len(holdout),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "threads": 1,
        "seeds": args.seeds,
        "batch_size": args.batch,
        "real_f1": tstr_f1(train, holdout),
        "results": results,
        "ratios_vs_sdv": _ratios(results),
        "time_to_quality": [
            {
                "generator": r["generator"],
                "threshold": 0.85,
                "budget_s": args.ttq_budget,
                "fit_s": r.get("fit_s"),
                "epochs": r.get("epochs"),
                "quality": r.get("quality"),
                "tstr_f1": r.get("tstr_f1"),
            }
            for r in ttq
        ]
        + (
            [
                {
                    "generator": "synthgen.copula (default)",
                    "threshold": 0.85,
                    "fit_s": copula["fit_s"],
                    "quality": copula["quality"],
                }
            ]
            if copula
            else []
        ),
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2))
    print(
        json.dumps({k: doc[k] for k in ("real_f1", "ratios_vs_sdv", "time_to_quality")}, indent=2)
    )


def _median(name: str, runs: list[dict], epochs: int) -> dict:
    ok = [r for r in runs if "error" not in r]
    out: dict = {"generator": name, "epochs": epochs if name in NEURAL else None, "n_ok": len(ok)}
    if not ok:
        out["error"] = runs[0].get("error") if runs else "no runs"
        return out
    for key in ok[0]:
        vals = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
        if vals and key not in ("seed",):
            out[key] = statistics.median(vals)
    return out


def _ratios(results: list[dict]) -> dict:
    by = {r["generator"]: r for r in results}
    out = {}
    for ours, theirs in (
        ("synthgen.ctgan", "sdv.ctgan"),
        ("synthgen.tvae", "sdv.tvae"),
        ("synthgen.copula", "sdv.gaussian_copula"),
    ):
        a, b = by.get(ours, {}), by.get(theirs, {})
        if "fit_s" in a and "fit_s" in b:
            out[ours] = {
                "fit_speedup": b["fit_s"] / a["fit_s"],
                "sample_speedup": a["sample_rows_per_s"] / b["sample_rows_per_s"],
                "quality_delta": a["quality"] - b["quality"],
                "tstr_f1_delta": a["tstr_f1"] - b["tstr_f1"],
            }
    return out


if __name__ == "__main__":
    main()
