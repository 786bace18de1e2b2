"""The local text backend on MTS-Dialog: section texts conditioned on ``section_header``.

Trains on MTS-Dialog-TrainingSet (1,201 notes), holds out MTS-Dialog-ValidationSet (100),
at each time budget (1 torch thread) and reports: training and sampling tokens/s, validation
loss and bits per token / per character, the raw model's exact-copy and near-copy (a shared
run of >= 50 normalised characters) rates against train, the share the leak guard rejects,
and a conditioning check - a TF-IDF + logistic-regression classifier trained on real train
texts predicts the header of each generated text; its accuracy is compared with always
guessing the majority header and with the same classifier on real validation texts.
Run: python benchmarks/text.py [--budgets 60,300] [--quick] [--size tiny]
Results merge into benchmarks/results/text.json under "budget_<seconds>s".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import ROOT  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mts_dialog"
RESULTS = ROOT / "benchmarks" / "results" / "text.json"
COLUMN, HEADER = "section_text", "section_header"
REPEATS = 2  # generated texts per validation row


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = [HEADER, COLUMN]
    train = pd.read_csv(DATA / "MTS-Dialog-TrainingSet.csv")[cols]
    held = pd.read_csv(DATA / "MTS-Dialog-ValidationSet.csv")[cols]
    return train, held


def header_classifier(train: pd.DataFrame) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    return model.fit(train[COLUMN].astype(str), train[HEADER])


def conditioning(
    clf: Any, texts: list[str], headers: list[str], held: pd.DataFrame, majority: str
) -> dict[str, Any]:
    y = np.array(headers)
    return {
        "accuracy": round(float((clf.predict(texts) == y).mean()), 4),
        "majority_baseline": round(float((y == majority).mean()), 4),
        "real_validation_accuracy": round(
            float((clf.predict(held[COLUMN]) == held[HEADER]).mean()), 4
        ),
        "n": len(texts),
    }


def copy_rates(texts: list[str], train_texts: list[str]) -> dict[str, float]:
    from synthgen.text.guard import SharedIndex, normalise

    exact = {normalise(t) for t in train_texts}
    runs = SharedIndex.build(train_texts, 50).longest(texts)
    return {
        "exact_copy_rate": round(float(np.mean([normalise(t) in exact for t in texts])), 4),
        "shared_50_chars_rate": round(float(np.mean([r >= 50 for r in runs])), 4),
        "median_chars": float(np.median([len(t) for t in texts])),
    }


def run_budget(
    budget: float, size: str, train: pd.DataFrame, held: pd.DataFrame, clf: Any
) -> dict[str, Any]:
    from synthgen.text import TextSynthesizer

    spec = {
        "condition_on": [HEADER],
        "params": {"size": size, "time_budget_s": budget, "epochs": 10_000, "threads": 1},
    }
    t0 = time.perf_counter()
    ts = TextSynthesizer().fit(train, COLUMN, spec, seed=0)
    fit_s = time.perf_counter() - t0
    rows = pd.concat([held] * REPEATS, ignore_index=True)
    prompts = [f"{HEADER}: {h}\n" for h in rows[HEADER]]
    raw = ts.backend_.generate(prompts, seed=1)  # the model alone, before the guard
    first_verdicts = ts.guard_.check(raw)
    out, stats = ts.generate(rows[[HEADER]], seed=2)
    model = ts.backend_.describe()
    majority = str(train[HEADER].mode()[0])
    return {
        "budget_s": budget,
        "size": size,
        "threads": 1,
        "fit_seconds": round(fit_s, 1),
        "model": {k: v for k, v in model.items() if k != "history"},
        "history": model["history"],
        "raw_outputs": copy_rates(raw, train[COLUMN].astype(str).tolist()),
        "guard": {
            "rejected_share_first_try": round(
                float(np.mean([v is not None for v in first_verdicts])), 4
            ),
            "pipeline_stats": stats,
        },
        "conditioning": conditioning(clf, raw, list(rows[HEADER]), held, majority),
        "examples": examples(rows, raw),
    }


def examples(rows: pd.DataFrame, raw: list[str]) -> list[dict[str, str]]:
    out = []
    for header in ["GENHX", "FAM/SOCHX", "ALLERGY", "MEDICATIONS", "CC"]:
        idx = np.flatnonzero(rows[HEADER].to_numpy() == header)
        if len(idx):
            i = int(idx[0])
            out.append(
                {
                    "header": header,
                    "generated": raw[i][:300],
                    "real": str(rows[COLUMN].iloc[i])[:300],
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--budgets", default="60,300", help="training time budgets in seconds")
    ap.add_argument("--quick", action="store_true", help="one 20 s budget (a smoke run)")
    ap.add_argument("--size", default="tiny", choices=["tiny", "small", "base"])
    args = ap.parse_args()
    budgets = [20.0] if args.quick else [float(b) for b in args.budgets.split(",")]
    train, held = load()
    clf = header_classifier(train)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["about"] = {
        "data": "MTS-Dialog train (1,201) -> validation (100), section_text | section_header",
        "machine": f"{os.cpu_count()} cores shared, CPU only, 1 torch thread",
    }
    for budget in budgets:
        r = run_budget(budget, args.size, train, held, clf)
        results[f"budget_{int(budget)}s"] = r
        report(r)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def report(r: dict[str, Any]) -> None:
    m, c = r["model"], r["conditioning"]
    print(f"\n=== budget {r['budget_s']:.0f} s, size {r['size']}, 1 thread ===")
    print(
        f"train {m['train_tokens_per_s']:.0f} tok/s over {m['epochs']} epochs ({m['steps']} steps); "
        f"sample {m['sampling_tokens_per_s']} tok/s"
    )
    print(
        f"val loss {m['val_loss']} nats/token, {m['val_bits_per_token']} bits/token, "
        f"{m['val_bits_per_char']} bits/char"
    )
    print(
        f"raw outputs: {r['raw_outputs']}; guard rejects {r['guard']['rejected_share_first_try']:.1%} "
        f"at first try; pipeline {r['guard']['pipeline_stats']}"
    )
    print(
        f"conditioning accuracy {c['accuracy']:.2f} vs majority {c['majority_baseline']:.2f} "
        f"(real validation texts: {c['real_validation_accuracy']:.2f})"
    )
    for e in r["examples"]:
        print(f"\n[{e['header']}]\n  generated: {e['generated']!r}\n  real:      {e['real']!r}")


if __name__ == "__main__":
    main()
