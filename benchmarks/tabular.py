"""The default generator's realism against the anchors: one thread, the same split, one run.

Three parts, each written under its key of benchmarks/results/tabular.json:

* ``adult``: Adult's 80/20 split. synthgen ``autoreg`` (the default), ``copula`` and ``tvae``
  (60 s budget), SDV's GaussianCopula, and the anchors TabularARGN (``mostlyai-engine``) and
  ARF (``arfpy``), run from their own virtualenv (``make bench-anchors``) on the same rows.
  Fit + sample seconds (wall and CPU), SDMetrics quality and pair trends, TSTR F1, detection
  AUC, DCR share, exact copies and the holdout's own copy rate (``benchmarks.realism``).
* ``tables``: every table of the shared data folder (its modelled columns): SDMetrics quality
  of autoreg against SDV's GaussianCopula, TSTR (F1 or R^2, synthgen's metric) of autoreg
  against our copula where the table has a target.
* ``wide``: a synthetic 100k x 50 table with thousand-level labels: autoreg's fit seconds and
  peak RSS, each fit in a child process.

Every fit runs in a child process with one thread (its peak RSS its own); medians over
seeds. ``python benchmarks/tabular.py [--part adult tables wide] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realism  # noqa: E402
from benchmarks import shared_tables as datasets  # noqa: E402
from benchmarks.common import ROOT, one_thread, tstr_f1  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "tabular.json"
ANCHOR_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
ADULT = [  # (generator, seeds: None = --seeds)
    ("synthgen.autoreg", None),
    ("synthgen.copula", None),
    ("synthgen.tvae", 1),
    ("sdv.gaussian_copula", 1),
    ("anchor.tabularargn", None),
    ("anchor.arf", 1),
]
TARGETS = {  # issue 15, Adult, one thread
    "fit_sample_s": 20.0,
    "quality": 0.98,
    "detection_auc": 0.58,
    "tstr_f1": 0.695,
    "dcr_share": 0.52,
}


# ---- child processes --------------------------------------------------------------------------
def job(name: str, data: str, seed: int, out: Path) -> dict:
    """Fit ``name`` on ``data``'s training rows, write len(train) sampled rows to ``out``."""
    one_thread()
    from synthgen.scale.ray_engine import peak_rss_bytes

    train = _train_rows(data)
    t0, c0 = time.perf_counter(), time.process_time()
    sample, extra = _fit(name, train, seed)
    fit = {"fit_s": time.perf_counter() - t0, "fit_cpu_s": time.process_time() - c0}
    t0, c0 = time.perf_counter(), time.process_time()
    syn = sample(len(train) if data != "wide" else 1000)
    fit |= {"sample_s": time.perf_counter() - t0, "sample_cpu_s": time.process_time() - c0}
    if data != "wide":
        datasets.write_parquet(syn, out)
    fit["peak_rss_mb"] = peak_rss_bytes() / 2**20
    return fit | extra


def _train_rows(data: str):  # type: ignore[no-untyped-def]
    if data == "wide":
        return datasets.wide_table()
    return datasets.load_table(data)[0]


def _fit(name: str, train, seed: int):  # type: ignore[no-untyped-def]
    """Timed: schema detection + fit (SDV: metadata detection + fit)."""
    if name.startswith("sdv."):
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        meta = Metadata.detect_from_dataframes({"table": train})
        synth = GaussianCopulaSynthesizer(meta)
        synth.fit({"table": train})

        def sample(n: int):  # type: ignore[no-untyped-def]
            out = synth.sample(n)
            return out["table"] if isinstance(out, dict) else out

        return sample, {}
    from synthgen.generators import create
    from synthgen.schema import detect

    kind = name.split(".", 1)[1]
    params = {"time_budget_s": 60.0, "epochs": 100_000} if kind == "tvae" else {}
    # generators compared as models of the same columns (SDV sees them as they are too)
    gen = create(kind, **params).fit(train, detect(train), seed=seed, embedded_pii="keep")
    history = getattr(gen, "history_", None)
    extra = {"epochs": len(history)} if history else {}
    return (lambda n: gen.sample(n, seed=seed + 1000)), extra


CACHE: Path | None = None  # --cache: finished runs, so a killed benchmark resumes


def cached(name: str, data: str, seed: int, measure) -> dict:  # type: ignore[no-untyped-def]
    """``measure()`` once per (generator, table, seed): a run already in the cache file is
    reused (each run is appended to it as it finishes)."""
    key = f"{name}|{data}|{seed}"
    if CACHE is not None and CACHE.exists():
        for line in CACHE.read_text().splitlines():
            r = json.loads(line)
            if r.get("key") == key:
                return r | {"resumed": True}
    r = measure() | {"key": key}
    if CACHE is not None and "error" not in r:
        with CACHE.open("a") as f:
            f.write(json.dumps(r) + "\n")
    return r


def run_child(name: str, data: str, seed: int, folder: Path) -> dict:
    out = folder / f"{name}-{data.replace('/', '_')}-{seed}.parquet"
    if name.startswith("anchor."):
        train = folder / f"train-{data}.parquet"
        if not train.exists():
            datasets.write_parquet(datasets.load_table(data)[0], train)
        cmd = [str(ANCHOR_PYTHON), str(ROOT / "benchmarks" / "anchors.py"), name[7:], str(train)]
        cmd += [str(out), "--seed", str(seed)]
    else:
        cmd = [sys.executable, __file__, "--job", name, "--data", data, "--seed", str(seed)]
        cmd += ["--job-out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    result: dict = {"generator": name, "data": data, "seed": seed}
    if res.returncode:
        return result | {"error": (res.stderr.strip().splitlines() or ["?"])[-1][:300]}
    return result | json.loads(res.stdout.strip().splitlines()[-1]) | {"_out": str(out)}


# ---- the three parts --------------------------------------------------------------------------
def adult(seeds: int, folder: Path) -> dict:
    train, holdout = datasets.load_table("adult")
    runs = []
    for name, n in ADULT:
        for seed in range(n or seeds):
            r = cached(name, "adult", seed, partial(_adult_run, name, seed, folder, train, holdout))
            print(json.dumps(r), file=sys.stderr, flush=True)
            runs.append(r)
    medians = [_median(name, [r for r in runs if r["generator"] == name]) for name, _ in ADULT]
    return {
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "threads": 1,
        "holdout_as_synthetic": _reference(train, holdout),
        "results": medians,
        "targets": _targets(medians, realism.copy_rate(train, holdout)),
        "runs": runs,
    }


def _adult_run(name: str, seed: int, folder: Path, train, holdout) -> dict:  # type: ignore[no-untyped-def]
    r = run_child(name, "adult", seed, folder)
    if "error" not in r:
        syn = datasets.read_like(Path(r.pop("_out")), train)
        r |= realism.quality_parts(train, syn)
        r["tstr_f1"] = tstr_f1(syn, holdout)
        r["detection_auc"] = realism.detection_auc(train, syn)
        r["dcr_share"] = realism.dcr_share(train, holdout, syn)
        r["exact_copies"] = realism.copy_rate(train, syn)
        r["fit_sample_s"] = r["fit_s"] + r["sample_s"]
        r["fit_sample_cpu_s"] = r["fit_cpu_s"] + r["sample_cpu_s"]
    return r


def _reference(train, holdout) -> dict:  # type: ignore[no-untyped-def]
    """The real holdout scored as if it were synthetic (and real-trained TSTR)."""
    half = len(holdout) // 2
    return realism.quality_parts(train, holdout) | {
        "tstr_f1_real": tstr_f1(train, holdout),
        "detection_auc": realism.detection_auc(train, holdout),
        "dcr_share_half_vs_half": realism.dcr_share(
            train, holdout.iloc[half:], holdout.iloc[:half]
        ),
        "holdout_copy_rate": realism.copy_rate(train, holdout),
    }


def _targets(medians: list[dict], holdout_copies: float) -> dict:
    by = {m["generator"]: m for m in medians}
    ours, argn = by.get("synthgen.autoreg", {}), by.get("anchor.tabularargn", {})
    out: dict = {}
    for key, bound in TARGETS.items():
        if key in ours:
            higher = key in ("quality", "tstr_f1")
            met = ours[key] >= bound if higher else ours[key] <= bound
            out[key] = {"target": bound, "autoreg": ours[key], "met": bool(met)}
    if "exact_copies" in ours:
        met = ours["exact_copies"] <= holdout_copies
        out["exact_copies"] = {
            "target": holdout_copies,
            "autoreg": ours["exact_copies"],
            "met": met,
        }
    if "fit_sample_s" in ours and "fit_sample_s" in argn:
        out["time_vs_tabularargn"] = ours["fit_sample_s"] / argn["fit_sample_s"]
        out["cpu_vs_tabularargn"] = ours["fit_sample_cpu_s"] / argn["fit_sample_cpu_s"]
        better = {
            k: (ours[k] >= argn[k])
            if k in ("quality", "pair_trends", "tstr_f1")
            else ours[k] <= argn[k]
            for k in (
                "quality",
                "pair_trends",
                "tstr_f1",
                "detection_auc",
                "dcr_share",
                "exact_copies",
            )
        }
        out["better_than_tabularargn"] = better
    return out


def tables(seeds: int, folder: Path) -> dict:
    from synthgen.schema import detect

    out = []
    for name in datasets.table_names():
        train, holdout = datasets.load_table(name)
        entry: dict = {"table": name, "rows": len(train) + len(holdout), "columns": train.shape[1]}
        if (why := datasets.skip_reason(train)) is not None:
            out.append(entry | {"skipped": why})
            continue
        target = datasets.TARGETS.get(name.split("/")[-1])
        target = target if target in train.columns else None
        schema = detect(train)
        n_seeds = seeds if len(train) < 20_000 else 1
        for gen in ("synthgen.autoreg", "synthgen.copula", "sdv.gaussian_copula"):
            runs = []
            for seed in range(n_seeds):
                args = (gen, name, seed, folder, train, holdout, schema, target)
                runs.append(cached(gen, f"table:{name}", seed, partial(_table_run, *args)))
            print(json.dumps({"table": name, gen: runs}), file=sys.stderr, flush=True)
            entry[gen] = _median(gen, runs)
        entry["target"] = target
        entry["quality_ge_sdv_copula"] = _ge(entry, "quality", "sdv.gaussian_copula")
        if target is not None:
            entry["tstr_gt_copula"] = _ge(entry, "tstr", "synthgen.copula", strict=True)
        out.append(entry)
    return {"tables": out}


def _table_run(gen, name, seed, folder, train, holdout, schema, target) -> dict:  # type: ignore[no-untyped-def]
    from synthgen.metrics import REGISTRY, Context

    r = run_child(gen, name, seed, folder)
    if "error" in r:
        return r
    syn = datasets.read_like(Path(r.pop("_out")), train)
    r["quality"] = realism.quality_parts(train, syn)["quality"]
    if target is not None:
        ctx = Context(train, holdout, syn, schema, target=target, seed=seed)
        for metric in ("tstr_f1", "tstr_r2"):
            res = REGISTRY[metric].compute(ctx)
            if res.skipped is None:
                r["tstr"], r["tstr_metric"] = res.value, metric
    return r


def _ge(entry: dict, key: str, other: str, strict: bool = False) -> bool | None:
    a, b = entry["synthgen.autoreg"].get(key), entry[other].get(key)
    if a is None or b is None:
        return None
    return bool(a > b if strict else a >= b)


def wide(repeats: int, folder: Path) -> dict:
    runs = [
        cached(
            "synthgen.autoreg",
            "wide",
            s,
            lambda s=s: run_child("synthgen.autoreg", "wide", s, folder),
        )
        for s in range(repeats)
    ]
    for r in runs:
        print(json.dumps(r), file=sys.stderr, flush=True)
    med = _median("synthgen.autoreg", runs)
    return {
        "rows": 100_000,
        "columns": 50,
        "table": datasets.wide_table.__doc__.split("\n")[0].strip()
        if datasets.wide_table.__doc__
        else "",
        "result": med,
        "targets": {
            "fit_s": {"target": 60.0, "value": med.get("fit_s"), "met": med.get("fit_s", 1e9) < 60},
            "peak_rss_mb": {
                "target": 2048.0,
                "value": med.get("peak_rss_mb"),
                "met": med.get("peak_rss_mb", 1e9) < 2048,
            },
        },
        "runs": runs,
    }


def _median(name: str, runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    out: dict = {"generator": name, "n_ok": len(ok)}
    if not ok:
        return out | {"error": runs[0].get("error") if runs else "no runs"}
    for key in ok[0]:
        vals = [
            r[key]
            for r in ok
            if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)
        ]
        if vals and key != "seed":
            out[key] = statistics.median(vals)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--part", nargs="*", default=["adult", "tables", "wide"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--job")
    ap.add_argument("--data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--job-out")
    ap.add_argument("--cache", help="a file of finished runs: reused, and appended to")
    args = ap.parse_args()
    global CACHE
    CACHE = Path(args.cache) if args.cache else None
    if args.job:
        print(json.dumps(job(args.job, args.data, args.seed, Path(args.job_out))))
        return
    if "adult" in args.part and not ANCHOR_PYTHON.exists():
        sys.exit("the anchors' virtualenv is missing: run `make bench-anchors` first")
    one_thread()
    doc = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    parts = {"adult": adult, "tables": tables, "wide": wide}
    with tempfile.TemporaryDirectory() as tmp:
        for part in args.part:
            t0 = time.perf_counter()
            doc[part] = parts[part](args.seeds, Path(tmp)) | {"seconds": time.perf_counter() - t0}
            Path(args.out).write_text(json.dumps(doc, indent=2, default=str))
    print(
        json.dumps({k: v.get("targets") for k, v in doc.items() if isinstance(v, dict)}, indent=2)
    )


if __name__ == "__main__":
    main()
