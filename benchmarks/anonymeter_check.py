"""Our singling out / linkability / inference risks against Anonymeter's, on Adult.

Anonymeter pins old numpy and pyarrow, so it never enters our dependencies: this script
builds a throwaway virtualenv in a temporary directory, installs anonymeter there, and runs
its evaluators in a child process on the same frames and settings as ours. Three cases
(train = Adult's seeded 80 %, control = the other 20 %):

  copy      synthetic = a verbatim copy of train (every risk should be high)
  disjoint  train = half of those rows, synthetic = the other half (no leak possible)
  copula    synthetic = synthgen's Gaussian copula fitted on train

Both sides' risks (with 95 % intervals) and their absolute differences go under the key
"anonymeter_agreement" of benchmarks/results/validate.json (other keys are left alone).
Run: python benchmarks/anonymeter_check.py [--n-attacks 500] [--keep-env DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from benchmarks.common import ROOT, load_adult  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "validate.json"
KEY = "anonymeter_agreement"
SECRETS = ["income", "age"]
NOTES = [
    "Attacks are the same; attack success on train (main_rate) should agree within noise.",
    "Singling out: with a control set smaller than train, control successes must be "
    "extrapolated to train's size. Anonymeter fits a curve to control subsamples; synthgen "
    "uses an empirical-Bayes estimate of each query's weight. Where no leak is possible "
    "(disjoint) the risk should be ~0; a gap there is Anonymeter's correction erring low.",
    "Anonymeter 1.1's naive-inference baseline scores ~0: its random synthetic guesses are "
    "re-indexed to the targets' row labels, so most become missing. synthgen's baseline "
    "guesses a random synthetic row's secret. The baseline does not enter the risk.",
    "Neighbours: Anonymeter uses L1 Gower distances (range-scaled); synthgen Euclidean on "
    "robust-scaled numbers and one-hot labels. Both draw their own random targets.",
]

WORKER = r"""
import json, sys, time, warnings
from importlib.metadata import version
import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

warnings.filterwarnings("ignore")
cfg = json.loads(open(sys.argv[1]).read())
n, out = cfg["n_attacks"], {"version": version("anonymeter"), "scenarios": {}}

def pack(ev):
    risk, res = ev.risk(), ev.results()
    return {"risk": risk.value, "ci": list(risk.ci), "main_rate": res.attack_rate.value,
            "control_rate": res.control_rate.value, "baseline_rate": res.baseline_rate.value}

for name, files in cfg["scenarios"].items():
    ori, syn, ctl = (pd.read_csv(files[k]) for k in ("ori", "syn", "control"))
    got, secs = {}, {}
    for mode in ("univariate", "multivariate"):
        t = time.time()
        ev = SinglingOutEvaluator(ori, syn, n_attacks=n, n_cols=cfg["n_cols"], control=ctl,
                                  max_attempts=cfg["max_attempts"], seed=0)
        got[f"singling_out_{mode}"] = pack(ev.evaluate(mode=mode))
        secs[f"singling_out_{mode}"] = time.time() - t
    t = time.time()
    ev = LinkabilityEvaluator(ori, syn, aux_cols=tuple(cfg["aux_cols"]), n_attacks=n, control=ctl)
    got["linkability"] = pack(ev.evaluate(n_jobs=2))
    secs["linkability"] = time.time() - t
    for secret in cfg["secrets"]:
        t = time.time()
        aux = [c for c in ori.columns if c != secret]
        ev = InferenceEvaluator(ori, syn, aux_cols=aux, secret=secret, n_attacks=n, control=ctl,
                                regression=bool(pd.api.types.is_numeric_dtype(ori[secret])))
        got[f"inference_{secret}"] = pack(ev.evaluate(n_jobs=2))
        secs[f"inference_{secret}"] = time.time() - t
    out["scenarios"][name] = {"risks": got, "seconds": secs}
open(sys.argv[2], "w").write(json.dumps(out))
"""


def scenarios() -> dict[str, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """(ori, synthetic, control) per case."""
    from synthgen.generators import create

    train, control = load_adult()
    half = len(train) // 2
    copula = create("copula").fit(train, seed=0).sample(len(train), seed=0)
    return {
        "copy": (train, train.copy(), control),
        "disjoint": (train.iloc[:half], train.iloc[half:].reset_index(drop=True), control),
        "copula": (train, copula, control),
    }


def ours(
    ori: pd.DataFrame, syn: pd.DataFrame, control: pd.DataFrame, cfg: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, float]]:
    """Our three metrics with the same settings, flattened to Anonymeter's attack names."""
    from synthgen.metrics import REGISTRY, Context
    from synthgen.schema import detect

    n = cfg["n_attacks"]
    options = {
        "singling_out_risk": {
            "n_attacks": n,
            "n_cols": cfg["n_cols"],
            "max_attempts": cfg["max_attempts"],
        },
        "linkability_risk": {"n_attacks": n, "aux_cols": cfg["aux_cols"]},
        "inference_risk": {"n_attacks": n},
    }
    schema = detect(pd.concat([ori, control]))
    ctx = Context(ori, control, syn, schema, seed=0, sensitive=cfg["secrets"], options=options)
    got: dict[str, Any] = {}
    secs: dict[str, float] = {}
    for metric, prefix in (
        ("singling_out_risk", "singling_out_"),
        ("linkability_risk", ""),
        ("inference_risk", "inference_"),
    ):
        t = time.time()
        parts = REGISTRY[metric].compute(ctx).details["parts"]
        secs[metric] = time.time() - t
        for part, d in parts.items():
            # our value is the excess success; Anonymeter's risk is the normalised one
            got[prefix + part] = {
                "risk": d["normalised_risk"],
                "excess": d["risk"],
                "excess_ci": [d["ci_low"], d["ci_high"]],
                **{k: d[k] for k in ("main_rate", "control_rate", "baseline_rate")},
            }
    return got, secs


def anonymeter(
    frames: dict[str, tuple[pd.DataFrame, ...]], cfg: dict[str, Any], keep: Path | None
) -> dict[str, Any]:
    """Install anonymeter into a fresh virtualenv and run the worker there."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = keep or Path(tmp_name)
        env = tmp / "venv"
        python = env / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "anonymeter"],
                check=True,
                capture_output=True,
                text=True,
            )
        files: dict[str, dict[str, str]] = {}
        for name, parts in frames.items():
            files[name] = {}
            for key, df in zip(("ori", "syn", "control"), parts, strict=True):
                path = tmp / f"{name}_{key}.csv"
                df.to_csv(path, index=False)
                files[name][key] = str(path)
        (tmp / "cfg.json").write_text(json.dumps({**cfg, "scenarios": files}))
        (tmp / "worker.py").write_text(WORKER)
        out = tmp / "out.json"
        subprocess.run(
            [str(python), str(tmp / "worker.py"), str(tmp / "cfg.json"), str(out)], check=True
        )
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def compare(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Side by side with absolute differences of the risk and of each interval end."""
    rows = {}
    for attack in mine:
        a, b = mine[attack], theirs.get(attack)
        if b is None:
            continue
        rows[attack] = {
            "synthgen": a,
            "anonymeter": b,
            "abs_diff_risk": abs(a["risk"] - b["risk"]),
            "abs_diff_main_rate": abs(a["main_rate"] - b["main_rate"]),
        }
    return rows


def write_result(entry: dict[str, Any]) -> None:
    """Read-modify-write only our key of validate.json."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[KEY] = entry
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-attacks", type=int, default=500)
    parser.add_argument("--max-attempts", type=int, default=1_000_000)
    parser.add_argument("--keep-env", type=Path, help="reuse/keep the anonymeter venv here")
    args = parser.parse_args()
    frames = scenarios()
    cols = list(frames["copy"][0].columns)
    cfg = {
        "n_attacks": args.n_attacks,
        "n_cols": 3,
        "max_attempts": args.max_attempts,
        "secrets": SECRETS,
        "aux_cols": [cols[0::2], cols[1::2]],
    }
    sizes = {k: [len(x) for x in v] for k, v in frames.items()}
    entry: dict[str, Any] = {"setup": {**cfg, "sizes_ori_syn_control": sizes}, "notes": NOTES}
    started = time.time()
    mine = {name: ours(*parts, cfg) for name, parts in frames.items()}
    try:
        theirs = anonymeter(frames, cfg, args.keep_env)
    except subprocess.CalledProcessError as err:
        entry["error"] = f"anonymeter could not run: {err} {getattr(err, 'stderr', '') or ''}"
        entry["synthgen_only"] = {k: v[0] for k, v in mine.items()}
        write_result(entry)
        raise SystemExit(entry["error"]) from None
    entry["anonymeter_version"] = theirs["version"]
    entry["scenarios"] = {
        name: compare(mine[name][0], theirs["scenarios"][name]["risks"]) for name in frames
    }
    entry["seconds"] = {
        name: {"synthgen": mine[name][1], "anonymeter": theirs["scenarios"][name]["seconds"]}
        for name in frames
    }
    diffs = [row["abs_diff_risk"] for s in entry["scenarios"].values() for row in s.values()]
    entry["total_seconds"] = round(time.time() - started, 1)
    entry["max_abs_diff_risk"] = max(diffs)
    entry["mean_abs_diff_risk"] = sum(diffs) / len(diffs)
    write_result(entry)
    print(json.dumps({k: entry[k] for k in ("max_abs_diff_risk", "mean_abs_diff_risk")}))


if __name__ == "__main__":
    main()
