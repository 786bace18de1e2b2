"""Calibration of the shipped suites' gates on real data, where the right answer is known.

Every table of the shared data folder (and sub-populations of Adult) is shuffled and cut in
three: train, holdout, and a third the "generator" hands back. Three cases per seed:

    clean    the unseen third: real rows that cannot leak anything about train
    copy     the training rows themselves
    partial  the unseen third with 10 % of its rows replaced by training rows

PII columns of the handed-back rows are faked, as a run does. Each suite judges every case;
the per-suite false-fail rate on clean data (target <= 5 %) and the catch rate on copies
(target 100 %) and partial copies are written to benchmarks/results/gates.json, with every
gate's pass / fail / inconclusive counts.

    python benchmarks/gates.py                       # everything, 5 seeds
    python benchmarks/gates.py --only insurance.csv --seeds 2
    python benchmarks/gates.py --table               # the README's table from the JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT  # noqa: E402

SUITES = ["default", "healthcare-release"]
CASES = ["clean", "copy", "partial"]
PARTIAL_SHARE = 0.10
# a sensitive / target column where a table has an obvious one (inference, TSTR)
TARGETS = {
    "adult.csv": "income",
    "insurance.csv": "smoker",
    "heart_disease_uci.csv": "num",
    "pima_indians_diabetes.csv": "Outcome",
    "druglib_reviews.csv": "rating",
    "beijing_pm25_hourly.csv": "pm2.5",
}
# Adult's sub-populations: a large, a middling and two small groups, and a tiny one
SUBSETS = [
    ("sex", "Female"),
    ("race", "Black"),
    ("race", "Asian-Pac-Islander"),
    ("race", "Amer-Indian-Eskimo"),
    ("race", "Other"),
    ("workclass", "Without-pay"),
]


def tables(data: Path) -> list[tuple[str, pd.DataFrame, str | None]]:
    """(name, frame, target) for every CSV under ``data`` and Adult's sub-populations."""
    from synthgen.io import read_table

    out = []
    for path in sorted(data.rglob("*.csv")):
        name = str(path.relative_to(data))
        out.append((name, read_table(path), TARGETS.get(name)))
    adult = data / "adult.csv"
    if adult.exists():
        df = read_table(adult, na_values=["?"], strip_whitespace=True)
        for col, value in SUBSETS:
            part = df[df[col] == value].drop(columns=[col]).reset_index(drop=True)
            out.append((f"adult.csv[{col}={value}]", part, "income"))
    return out


def thirds(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, ...]:
    order = np.random.default_rng(seed).permutation(len(df))
    cuts = [len(df) // 3, 2 * len(df) // 3]
    parts = np.split(order, cuts)
    return tuple(df.iloc[p].reset_index(drop=True) for p in parts)


def cases(train: pd.DataFrame, unseen: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng([seed, 7])
    partial = unseen.copy()
    k = int(round(PARTIAL_SHARE * len(unseen)))
    if k and len(train):
        rows = rng.choice(len(unseen), k, replace=False)
        donors = rng.choice(len(train), k, replace=len(train) < k)
        partial.iloc[rows] = train.iloc[donors].to_numpy()
    return {"clean": unseen, "copy": train.copy(), "partial": partial}


def fake_pii(df: pd.DataFrame, schema: Any, seed: int) -> pd.DataFrame:
    """PII columns replaced by made-up values, as a run replaces them."""
    out = df.copy()
    for spec in schema.of_kind("pii"):
        if spec.name in out.columns:
            out[spec.name] = [f"fake-{seed}-{spec.name}-{i}" for i in range(len(out))]
    return out


def combined_suite() -> tuple[Any, dict[str, list[Any]]]:
    """One suite holding every gate of SUITES (each metric computed once), and the gates of
    each suite to judge with it."""
    from synthgen.validate import Suite, load_suite

    suites = {name: load_suite(name) for name in SUITES}
    gates = [g for s in suites.values() for g in s.gates]
    opts: dict[str, dict[str, Any]] = {}
    for s in suites.values():
        for k, v in s.options.items():
            opts.setdefault(k, {}).update(v)
    union = Suite(name="calibration", gates=gates, options=opts)
    return union, {name: s.gates for name, s in suites.items()}


def judge_case(
    union: Any,
    per_suite: dict[str, list[Any]],
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Any,
    target: str | None,
    seed: int,
) -> dict[str, Any]:
    from synthgen import validate
    from synthgen.metrics import REGISTRY, Context

    sensitive = [target] if target and target in schema else []
    ctx = Context(
        train,
        holdout,
        synthetic,
        schema,
        target if sensitive else None,
        seed,
        sensitive=sensitive,
        options={k: dict(v) for k, v in union.options.items()},
    )
    results = {}
    for name in dict.fromkeys(g.metric for g in union.gates):
        results[name] = REGISTRY[name].compute(ctx)
    out: dict[str, Any] = {}
    for suite, gates in per_suite.items():
        judged = [validate.judge(g, results[g.metric]) for g in gates]
        out[suite] = {
            "verdict": validate.verdict(judged),
            "gates": {
                g["name"]: {
                    "status": g["status"],
                    "value": _round(g["value"]),
                    **{k: _round(g[k]) for k in ("rows_to_decide", "baseline") if k in g},
                }
                for g in judged
            },
        }
    return out


def _round(x: Any) -> Any:
    return round(float(x), 5) if isinstance(x, (int, float, np.floating)) else x


def run_table(
    name: str, df: pd.DataFrame, target: str | None, seeds: int, union: Any, per_suite: Any
) -> list[dict[str, Any]]:
    from synthgen.schema import detect

    schema = detect(df, seed=0)
    rows = []
    for seed in range(seeds):
        train, holdout, unseen = thirds(df, seed)
        for case, syn in cases(train, unseen, seed).items():
            t0 = time.perf_counter()
            verdicts = judge_case(
                union, per_suite, train, holdout, fake_pii(syn, schema, seed), schema, target, seed
            )
            rows.append(
                {
                    "table": name,
                    "rows": len(df),
                    "seed": seed,
                    "case": case,
                    "seconds": round(time.perf_counter() - t0, 2),
                    "suites": verdicts,
                }
            )
            line = ", ".join(f"{s}: {v['verdict']}" for s, v in verdicts.items())
            print(f"{name} seed {seed} {case}: {line} ({rows[-1]['seconds']} s)", flush=True)
    return rows


def nothing_to_judge(suite: dict[str, Any]) -> bool:
    """Every gate but PII replay skipped: the table has nothing a copy could leak once its
    PII is faked (ids and names only); such runs are counted apart, not as passes or
    catches."""
    return all(g["status"] == "skipped" for n, g in suite["gates"].items() if n != "pii_replay")


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per suite and case: how often it passed, failed, was inconclusive; and per gate."""
    out: dict[str, Any] = {}
    for suite in SUITES:
        by_case: dict[str, Counter[str]] = defaultdict(Counter)
        gates: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        for r in rows:
            s = r["suites"][suite]
            if nothing_to_judge(s):
                by_case[r["case"]]["nothing to judge"] += 1
                continue
            by_case[r["case"]][s["verdict"]] += 1
            for g, v in s["gates"].items():
                gates[g][r["case"]][v["status"]] += 1
        n = {c: sum(v for k, v in by_case[c].items() if k != "nothing to judge") for c in CASES}

        def rate(case: str, status: str, counts: Any = by_case, n: Any = n) -> float | None:
            return round(counts[case][status] / n[case], 4) if n[case] else None

        out[suite] = {
            "runs_per_case": n,
            "false_fail_rate_clean": rate("clean", "fail"),
            "inconclusive_rate_clean": rate("clean", "inconclusive"),
            "pass_rate_clean": rate("clean", "pass"),
            "catch_rate_copy": rate("copy", "fail"),
            "inconclusive_rate_copy": rate("copy", "inconclusive"),
            "catch_rate_partial": rate("partial", "fail"),
            "inconclusive_rate_partial": rate("partial", "inconclusive"),
            "verdicts": {c: dict(by_case[c]) for c in CASES},
            "gates": {
                g: {c: dict(per[c]) for c in CASES if per[c]} for g, per in sorted(gates.items())
            },
        }
    return out


CASE_ORDER = (
    ("clean", ("pass", "inconclusive", "fail")),
    ("copy", ("fail", "inconclusive", "pass")),
    ("partial", ("fail", "inconclusive", "pass")),
)
# copies keep their fidelity, and their PII is faked as a run fakes it
NOT_LEAK_TESTS = {"quality", "column_shapes", "pii_replay"}
GUARANTEES = {  # what a pass means, in the README's table ({t}: the threshold)
    "quality": "SDMetrics' quality >= {t}",
    "column_shapes": "mean column-shape score >= {t}",
    "exact_copies": "at most {t:.0%} of synthetic rows copy a training record (beyond chance)",
    "dcr_share": "corrected DCR share <= {t} (0.5 = chance)",
    "membership": "a distance attack's AUC <= {t} (0.5 = chance)",
    "pii_replay": "no real PII value anywhere in the output (a count, no sampling error)",
    "text_exact_copies": "at most {t:.0%} of synthetic texts copy a training text",
    "text_near_duplicates": "near-duplicates of training texts at most {t:.0%} above unseen texts'",
    "singling_out": "singling-out attacks succeed at most {t:.0%} more on training records",
    "linkability": "linkage attacks succeed at most {t:.0%} more on training records",
    "inference": "a secret is guessed right for at most {t:.0%} more training records",
    "attribute_inference": "a sensitive value is guessed at most {t:.0%} better for members",
}


def markdown(result: dict[str, Any]) -> str:
    """Per suite and gate: what a pass guarantees, and its decisions on each case (share of
    the runs where the gate applies: pass / inconclusive / fail)."""
    from synthgen.validate import load_suite

    lines = [
        "| suite | gate | a pass guarantees (95 % confidence) | clean: pass / inconclusive / "
        "**fail** | copies: **fail** / inconclusive / pass | 10 % partial copies: **fail** / "
        "inconclusive / pass |",
        "|---|---|---|---|---|---|",
    ]
    for suite, s in result["summary"].items():
        thresholds = {g.name: g.threshold for g in load_suite(suite).gates}
        for gate, per in s["gates"].items():
            cells = []
            for case, order in (
                (c, o) for c, o in CASE_ORDER if c == "clean" or gate not in NOT_LEAK_TESTS
            ):
                counts = per.get(case, {})
                n = sum(v for k, v in counts.items() if k != "skipped")
                shares = [counts.get(k, 0) / n if n else 0.0 for k in order]
                cells.append(" / ".join(f"{x:.0%}" for x in shares) + f" ({n})" if n else "–")
            cells += ["– (not a leak test)"] * (3 - len(cells))
            text = GUARANTEES.get(gate, "").format(t=thresholds.get(gate, 0.0))
            lines.append(f"| `{suite}` | {gate} | {text} | " + " | ".join(cells) + " |")
    return suite_table(result) + "\n\n" + "\n".join(lines)


def suite_table(result: dict[str, Any], big: int = 2000) -> str:
    """Per suite, all tables and tables of ``big`` rows or more: the verdicts' shares."""
    lines = [
        "| suite | tables | clean: pass / inconclusive / **fail** | copies: **fail** / "
        "inconclusive / pass | 10 % partial copies: **fail** / inconclusive / pass |",
        "|---|---|---|---|---|",
    ]
    for suite in result["summary"]:
        for label, keep in (("all", 0), (f"{big:,}+ rows", big)):
            runs = [
                r
                for r in result["runs"]
                if r["rows"] >= keep and not nothing_to_judge(r["suites"][suite])
            ]
            cells = []
            for case, order in CASE_ORDER:
                got = Counter(r["suites"][suite]["verdict"] for r in runs if r["case"] == case)
                n = sum(got.values())
                shares = " / ".join(f"{got[k] / n:.1%}" if n else "–" for k in order)
                cells.append(f"{shares} ({n})")
            lines.append(f"| `{suite}` | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Summary indented, one line per run (the file stays readable and small)."""
    head = json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1)
    runs = ",\n".join("  " + json.dumps(r, separators=(",", ":")) for r in result["runs"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head[:-2] + ',\n "runs": [\n' + runs + "\n ]\n}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="table names (as listed) to run")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gates.json")
    ap.add_argument("--table", action="store_true", help="print the README table of --out")
    args = ap.parse_args()
    if args.table:
        print(markdown(json.loads(args.out.read_text(encoding="utf-8"))))
        return
    from benchmarks.common import one_thread

    one_thread()
    union, per_suite = combined_suite()
    found = tables(args.data)
    if args.only:
        found = [t for t in found if t[0] in args.only]
    t0 = time.perf_counter()
    rows = []
    for name, df, target in found:
        rows += run_table(name, df, target, args.seeds, union, per_suite)
    result = {
        "what": "verdicts of the shipped suites on disjoint real splits (clean), copies of "
        "train (copy) and 10 % partial copies (partial)",
        "seeds": args.seeds,
        "tables": {name: len(df) for name, df, _ in found},
        "seconds": round(time.perf_counter() - t0, 1),
        "summary": summarise(rows),
        "runs": rows,
    }
    write_result(args.out, result)
    for suite, s in result["summary"].items():
        print(
            f"{suite}: false fails {s['false_fail_rate_clean']}, inconclusive on clean "
            f"{s['inconclusive_rate_clean']}, copies caught {s['catch_rate_copy']}, "
            f"partial copies caught {s['catch_rate_partial']}"
        )


if __name__ == "__main__":
    main()
