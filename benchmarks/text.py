"""The local text backend on MTS-Dialog: section texts conditioned on ``section_header``.

Trains on MTS-Dialog-TrainingSet (1,201 notes), holds out MTS-Dialog-ValidationSet (100),
at each time budget (1 torch thread) and reports: training and sampling tokens/s, validation
loss and bits per token / per character, the raw model's exact-copy and near-copy (a shared
run of >= 50 normalised characters) rates against train, the share the leak guard rejects,
and a conditioning check - a TF-IDF + logistic-regression classifier trained on real train
texts predicts the header of each generated text; its accuracy is compared with always
guessing the majority header and with the same classifier on real validation texts.
Then it runs ``recipes/drug-reviews.yaml`` end to end (table + review texts, its own 300 s
text budget) and keeps the report's text metrics: does each review fit its row (rating,
effectiveness, side effects: a classifier; condition: does the text name it), copies, and
the text-quality scores.
With ``--hf`` it measures the quality path instead, beside the local model: SmolLM2-135M
fine-tuned with LoRA (the parameters an unconfigured text column gets, synthgen.text.auto),
on MTS-Dialog (same figures, plus text detection AUC and the wall time of fine-tuning and
writing) and on the drug-reviews recipe with its text column switched to it (1,000 rows).
Run: python benchmarks/text.py [--budgets 60,300] [--quick] [--size tiny] [--no-recipe]
     python benchmarks/text.py --hf [--no-recipe] [--only-recipe]
Results merge into benchmarks/results/text.json under "budget_<seconds>s", "recipe_<name>",
"hf_mts" and "hf_recipe_<name>".
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
    backend = ts.backend_
    default_guidance = backend.params.guidance
    by_guidance = {}
    for g in sorted({1.0, default_guidance}):  # the plain conditional model, then the default
        backend.params = backend.params.model_copy(update={"guidance": g})
        backend.sampling_ = {"tokens": 0, "seconds": 0.0}
        texts = backend.generate(prompts, seed=1)  # the model alone, before the guard
        by_guidance[g] = {
            "sampling_tokens_per_s": backend.describe()["sampling_tokens_per_s"],
            "conditioning": conditioning(
                clf, texts, list(rows[HEADER]), held, str(train[HEADER].mode()[0])
            ),
            "texts": texts,
        }
    raw = by_guidance[default_guidance]["texts"]
    first_verdicts = ts.guard_.check(raw)
    out, stats = ts.generate(rows[[HEADER]], seed=2)
    model = backend.describe()
    model["sampling_tokens_per_s"] = by_guidance[default_guidance]["sampling_tokens_per_s"]
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
        "guidance": default_guidance,
        "conditioning": by_guidance[default_guidance]["conditioning"],
        "by_guidance": {
            str(g): {k: v for k, v in r.items() if k != "texts"} for g, r in by_guidance.items()
        },
        "examples": examples(rows, raw),
    }


def detection(train_texts: list[str], texts: list[str]) -> float:
    from synthgen.metrics.text import detection_auc

    return round(detection_auc(train_texts, [t or "" for t in texts], seed=0, rows=1000), 4)


def run_hf_mts(
    train: pd.DataFrame, held: pd.DataFrame, clf: Any, lora_tokens: int | None = None
) -> dict[str, Any]:
    """The quality path on MTS-Dialog: fine-tune, write a text per validation row, guard.
    ``lora_tokens``: LoRA's token budget instead of the default one."""
    from synthgen.text import TextSynthesizer
    from synthgen.text.auto import smollm2_lora_params

    params = smollm2_lora_params(COLUMN)
    if lora_tokens is not None:
        params["lora"]["max_train_tokens"] = lora_tokens
    spec = {"backend": "hf", "condition_on": [HEADER], "params": params}
    t0 = time.perf_counter()
    ts = TextSynthesizer(progress=True).fit(train, COLUMN, spec, seed=0)
    fit_s = time.perf_counter() - t0
    rows = held.reset_index(drop=True)  # one text per validation row (CPU time)
    prompts = [f"{HEADER}: {h}\n" for h in rows[HEADER]]
    t0 = time.perf_counter()
    raw = ts.backend_.generate(prompts, seed=1)
    gen_s = time.perf_counter() - t0
    first = ts.guard_.check(raw)
    final: list[str | None] = list(raw)
    seeds = [int(s) for s in np.random.default_rng(2).integers(2**31, size=5)]
    stats = ts._guard(prompts, final, seeds)  # regenerates the rejected rows only
    train_texts = train[COLUMN].astype(str).tolist()
    kept = [t for t in final if t]
    model = ts.backend_.describe()
    return {
        "params": spec["params"],
        "fit_seconds": round(fit_s, 1),
        "generate_seconds": round(gen_s, 1),
        "texts": len(raw),
        "seconds_for_1000_texts_estimate": round(fit_s + gen_s * 1000 / len(raw), 1),
        "model": model,
        "raw_outputs": copy_rates(raw, train_texts),
        "guard": {
            "rejected_share_first_try": round(float(np.mean([v is not None for v in first])), 4),
            "stats": stats,
        },
        "after_guard": copy_rates(kept, train_texts),
        "detection_auc_raw": detection(train_texts, raw),
        "detection_auc_after_guard": detection(train_texts, kept),
        "conditioning": conditioning(
            clf, [t or "" for t in final], list(rows[HEADER]), held, str(train[HEADER].mode()[0])
        ),
        "examples": examples(rows, [t or "" for t in final]),
    }


def run_hf_recipe(path: Path, rows: int) -> dict[str, Any]:
    """The recipe with its text columns written by the quality path instead."""
    from synthgen.recipe import load_recipe
    from synthgen.text.auto import smollm2_lora_params

    recipe = load_recipe(path)
    for col, spec in recipe.text.items():
        recipe.text[col] = spec.model_copy(
            update={"backend": "hf", "params": smollm2_lora_params(col)}
        )
    recipe.sample.rows = rows
    return run_recipe(path, recipe)


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
    ap.add_argument("--no-recipe", action="store_true", help="skip the drug-reviews recipe run")
    ap.add_argument("--hf", action="store_true", help="the SmolLM2 + LoRA quality path")
    ap.add_argument("--only-recipe", action="store_true", help="with --hf: the recipe only")
    ap.add_argument("--recipe-rows", type=int, default=1000, help="with --hf: rows sampled")
    ap.add_argument(
        "--lora-tokens", type=int, default=None,
        help="with --hf: LoRA's token budget on MTS-Dialog (kept as hf_mts_lora_<N>_tokens)",
    )  # fmt: skip
    args = ap.parse_args()
    if args.hf:
        main_hf(args)
        return
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
    if not args.quick and not args.no_recipe:
        r = run_recipe(ROOT / "recipes" / "drug-reviews.yaml")
        results[f"recipe_{r['recipe']}"] = r
        print(json.dumps(r, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def run_recipe(path: Path, recipe: Any = None) -> dict[str, Any]:
    """One recipe run end to end; the text part of its report."""
    import tempfile

    from synthgen.pipeline import run
    from synthgen.recipe import load_recipe

    recipe = recipe or load_recipe(path)
    recipe.outputs = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run(recipe, out=Path(tmp) / "run")
        seconds = time.perf_counter() - t0
    rep = result.report
    metrics = {
        k: v
        for group in ("fidelity", "privacy")
        for k, v in rep["metrics"][group].items()
        if k.startswith("text_")
    }
    return {
        "recipe": recipe.name,
        "rows": len(result.synthetic),
        "run_seconds": round(seconds, 1),
        "gates_passed": result.passed,
        "text": {
            col: {
                "model": {k: v for k, v in info["model"].items() if k != "history"},
                "generation": info["generation"],
            }
            for col, info in rep["text"].items()
        },
        "metrics": metrics,
        "examples": [
            {c: str(v)[:240] for c, v in row.items()}
            for row in result.synthetic.head(4).to_dict("records")
        ],
    }


def main_hf(args: argparse.Namespace) -> None:
    from benchmarks.common import one_thread

    one_thread()
    out: dict[str, Any] = {}
    if not args.only_recipe:
        train, held = load()
        key = "hf_mts" if args.lora_tokens is None else f"hf_mts_lora_{args.lora_tokens}_tokens"
        out[key] = run_hf_mts(train, held, header_classifier(train), args.lora_tokens)
        print(json.dumps({k: v for k, v in out[key].items() if k != "model"}, indent=1))
    if not args.no_recipe:
        r = run_hf_recipe(ROOT / "recipes" / "drug-reviews.yaml", args.recipe_rows)
        out[f"hf_recipe_{r['recipe']}"] = r
        print(json.dumps(r, indent=1))
    # merged at the end (two runs may write at once: re-read just before writing)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(out)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(RESULTS)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def report(r: dict[str, Any]) -> None:
    m = r["model"]
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
    for g, b in r["by_guidance"].items():
        c = b["conditioning"]
        print(
            f"guidance {g}: conditioning accuracy {c['accuracy']:.2f} vs majority "
            f"{c['majority_baseline']:.2f} (real validation texts: "
            f"{c['real_validation_accuracy']:.2f}); sampling {b['sampling_tokens_per_s']} tok/s"
        )
    for e in r["examples"]:
        print(f"\n[{e['header']}]\n  generated: {e['generated']!r}\n  real:      {e['real']!r}")


if __name__ == "__main__":
    main()
