"""What constraints cost: sampling time with every rule against none, and the quality of the
columns no rule touches, for the default generator (autoreg) on one thread.

Two tables, each fitted twice (with and without its rules) with the same seed:

* ``adult``: Adult's 80/20 split (benchmarks.common) with the rule synthgen detects
  (``education -> education-num``) and declared ones (range, positive, fixed combinations,
  expression, null_if_null).
* ``trips``: a generated 20k-row table with one rule of every kind (positive, negative, range
  with constant and column bounds, inequality, fixed combinations, determined_by, unique,
  format, sum, null_if_null, expression).

Per table: the median sampling seconds (wall and CPU) over five draws of as many rows as the training
set (with rules: sampling + mapping back + repairs + resampling), their ratio (target
<= 1.3), rule violations in each output, and the quality (mean of column shapes and pair
trends, synthgen's metrics) of the columns no rule names and of the columns the rules name
(with each column's shape: one collapsed marginal), with and without the rules.
``python benchmarks/constraints.py`` writes benchmarks/results/constraints.json.

``--chinook``: the multi-table case instead. The 11 Chinook tables (the shared CSVs, keys
detected as `run` detects them) fitted twice by the relational model (autoreg with
recipes/chinook.yaml's parameters): without rules; with ``CHINOOK_RULES`` (rules the real
child tables Invoice, Track and InvoiceLine obey) plus the ones detected per table; and with
``CHINOOK_HARSH`` (two more, which many of the model's rows break). Reported per rule set:
the median seconds to sample the whole dataset (five draws) and their ratio to no rules,
the rows breaking the rules in either output, rows drawn again, real rows left out, and per
table the quality of the columns its rules name and of the others (and each column's shape),
without and with the rules, on the five draws together. Writes benchmarks/results/constraints-chinook.json.

``--nulls``: the one-table case of detected ``null_if_null`` rules: the UCI heart disease
table (920 rows; `synthgen inspect` finds five, e.g. ``ca null if oldpeak null``) with the
rules synthgen detects and no declared one, as above, plus each constrained column's share of
present values (real, without and with the rules). Writes
benchmarks/results/constraints-nulls.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, load_adult, one_thread  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "constraints.json"
REPEATS = 5  # draws per mode; the median is reported (wall and CPU seconds)
ADULT_RULES: list[dict[str, Any]] = [
    {"type": "range", "column": "age", "min": 17, "max": 90},
    {"type": "positive", "column": "fnlwgt"},
    {"type": "range", "column": "hours-per-week", "min": 1, "max": 99},
    {"type": "fixed_combinations", "columns": ["marital-status", "relationship"]},
    {"type": "expression", "expr": "`capital-gain` >= 0 and `capital-loss` >= 0"},
    {"type": "null_if_null", "column": "occupation", "if_null": "workclass"},
]
TRIP_RULES: list[dict[str, Any]] = [
    {"type": "positive", "column": "fare"},
    {"type": "negative", "column": "discount", "strict": False},
    {"type": "range", "column": "passengers", "min": 1, "max": 6},
    {"type": "range", "column": "tip", "min": 0, "max": "fare"},
    {"type": "inequality", "low": "pickup", "high": "dropoff"},
    {"type": "fixed_combinations", "columns": ["city", "state"]},
    {"type": "determined_by", "column": "level_num", "by": ["level"]},
    {"type": "unique", "columns": ["ref"]},
    {"type": "format", "column": "ref", "regex": r"^[A-Z]{2}-\d{5}$"},
    {"type": "sum", "columns": ["fare", "tip"], "equals": "total", "tolerance": 0.01},
    {"type": "null_if_null", "column": "rating", "if_null": "feedback"},
    {"type": "expression", "expr": "total <= 3 * fare + 5"},
]


def trips(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    places = [("Lyon", "ARA"), ("Grenoble", "ARA"), ("Paris", "IDF"), ("Nice", "PACA")]
    pick = rng.integers(0, len(places), n)
    lev = rng.integers(0, 4, n)
    fare = np.round(rng.gamma(3, 10, n) + 1, 2)
    tip = np.round(fare * rng.uniform(0, 0.3, n), 2)
    pickup = rng.integers(0, 1440, n).astype(float)
    feedback = np.where(rng.random(n) < 0.3, None, "yes")
    letters = np.array(list("ABCDEFGHJK"))
    return pd.DataFrame(
        {
            "ref": [
                f"{a}{b}-{k:05d}"
                for a, b, k in zip(
                    rng.choice(letters, n), rng.choice(letters, n), rng.permutation(n), strict=True
                )
            ],
            "city": [places[i][0] for i in pick],
            "state": [places[i][1] for i in pick],
            "level": [["low", "mid", "high", "top"][i] for i in lev],
            "level_num": lev + 1,
            "fare": fare,
            "tip": tip,
            "total": np.round(fare + tip, 2),
            "discount": -np.round(rng.exponential(2, n), 1),
            "passengers": rng.integers(1, 7, n),
            "pickup": pickup,
            "dropoff": pickup + np.round(fare * rng.uniform(0.5, 2.0, n)),
            "feedback": feedback,
            "rating": np.where(feedback == None, np.nan, rng.integers(1, 6, n)),  # noqa: E711
            "weekday": rng.integers(0, 7, n),
            "channel": rng.choice(["app", "street", "phone"], n, p=[0.6, 0.3, 0.1]),
            "wait_min": np.round(rng.exponential(6, n), 1),
        }
    )


def quality_of(real: pd.DataFrame, syn: pd.DataFrame, cols: list[str], seed: int) -> float:
    return shapes_of(real, syn, cols, seed)["quality"]


def shapes_of(real: pd.DataFrame, syn: pd.DataFrame, cols: list[str], seed: int) -> dict:
    """The quality of ``cols`` (mean of column shapes and pair trends) and each column's
    shape: a rule that collapses one column's marginal (every state-less invoice German)
    shows in that column's shape even when a mean over many columns hides it."""
    from synthgen.metrics.base import REGISTRY, Context
    from synthgen.schema import detect

    schema = detect(real[cols])
    ctx = Context(real[cols], real.iloc[:0][cols], syn[cols], schema, seed=seed)
    value = REGISTRY["quality"].compute(ctx).value
    per = REGISTRY["column_shapes"].compute(ctx).details.get("per_column", {})
    return {
        "quality": round(float(value if value is not None else float("nan")), 4),
        "shapes": {c: round(float(v), 4) for c, v in per.items()},
    }


def change(without: dict, with_: dict) -> dict:
    """Quality change and the column whose shape drops most (with rules minus without)."""
    drops = {c: with_["shapes"][c] - v for c, v in without["shapes"].items()}
    worst = min(drops, key=drops.__getitem__) if drops else None
    return {
        "quality_change": round(with_["quality"] - without["quality"], 4),
        "largest_shape_drop": None
        if worst is None
        else {"column": worst, "change": round(drops[worst], 4)},
    }


def one_table(name: str, train: pd.DataFrame, rules: list[dict[str, Any]], seed: int) -> dict:
    from synthgen.constraints.check import Checker
    from synthgen.constraints.spec import ConstraintsSpec
    from synthgen.constraints.stage import ConstraintRun
    from synthgen.generators import create
    from synthgen.schema import detect

    schema = detect(train)
    n = len(train)
    run = ConstraintRun(ConstraintsSpec.model_validate(rules), schema, train, private=False)
    checker = Checker(run.rules, schema, train)
    touched = {c for r in run.rules for c in r.columns()}
    free = [c for c in train.columns if c not in touched]
    out: dict[str, Any] = {"rows": n, "rules": [r.key() for r in run.rules], "free_columns": free}
    out["real_present_share"] = {
        c: round(float(train[c].notna().mean()), 4) for c in sorted(touched)
    }
    for mode in ("without", "with"):
        gen = create("autoreg")
        t0 = time.perf_counter()
        if mode == "with":
            frame, fit_schema = run.fit_frame(train)
            gen.fit(frame, fit_schema, seed=seed)
        else:
            gen.fit(train, schema, seed=seed)
        fit_s = time.perf_counter() - t0
        times, cpu, syn = [], [], None
        for k in range(REPEATS):
            t0, c0 = time.perf_counter(), time.process_time()
            if mode == "with":
                syn = run.sample(gen, n, seed=seed + k, conditions=None)
            else:
                syn = gen.sample(n, seed=seed + k)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        assert syn is not None
        out[mode] = {
            "fit_s": round(fit_s, 2),
            "sample_s": round(statistics.median(times), 3),
            "sample_cpu_s": round(statistics.median(cpu), 3),
            "violations": int(sum(checker.counts(syn))),
            "free_quality": round(quality_of(train, syn, free, seed), 4),
            "constrained": shapes_of(train, syn, sorted(touched), seed),
            "present_share": {c: round(float(syn[c].notna().mean()), 4) for c in sorted(touched)},
        }
        if mode == "with":
            out[mode]["resampled_rows"] = run.sampler.resampled if run.sampler else 0
            out[mode]["enforced"] = {r.key(): run.enforcer.how(i) for i, r in enumerate(run.rules)}
        print(name, mode, out[mode], flush=True)
    out["sample_time_ratio"] = round(out["with"]["sample_s"] / out["without"]["sample_s"], 3)
    cpu_ratio = out["with"]["sample_cpu_s"] / out["without"]["sample_cpu_s"]
    out["sample_cpu_ratio"] = round(cpu_ratio, 3)
    out["free_quality_change"] = round(
        out["with"]["free_quality"] - out["without"]["free_quality"], 4
    )
    out["constrained_change"] = change(out["without"]["constrained"], out["with"]["constrained"])
    return out


CHINOOK = ROOT.parent / "shared" / "data" / "chinook"
CHINOOK_OUT = ROOT / "benchmarks" / "results" / "constraints-chinook.json"
NULLS_TABLE = ROOT.parent / "shared" / "data" / "heart_disease_uci.csv"
NULLS_OUT = ROOT / "benchmarks" / "results" / "constraints-nulls.json"
CHINOOK_RULES: list[dict[str, Any]] = [  # rules the real rows obey (all but a few)
    {"type": "range", "table": "Invoice", "column": "Total", "min": 0},
    {
        "type": "fixed_combinations",
        "table": "Invoice",
        "columns": ["BillingState", "BillingCountry"],
    },
    {"type": "inequality", "table": "Track", "low": "Milliseconds", "high": "Bytes"},
    {"type": "range", "table": "InvoiceLine", "column": "Quantity", "min": 1, "max": 1},
]
CHINOOK_HARSH = CHINOOK_RULES + [  # two more that many model rows break: resampling's cost
    {"type": "expression", "table": "Invoice", "expr": "Total <= 4 or Total >= 8"},
    {"type": "expression", "table": "Track", "expr": "Bytes >= 30 * Milliseconds"},
]


def _draws(model: Any, seed: int) -> tuple[float, float, Any, dict[str, pd.DataFrame]]:
    """Median wall and CPU seconds of REPEATS draws of the whole dataset, the last draw, and
    every table of all the draws together (a child table's rows come in groups of one
    parent's, so one draw of Chinook's 59 customers is too few to judge a marginal)."""
    model.sample(seed=seed + REPEATS)  # untimed: first-call costs paid by neither mode
    times, cpu, draws = [], [], []
    for k in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        draws.append(model.sample(seed=seed + k))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    pooled = {t: pd.concat([d[t] for d in draws], ignore_index=True) for t in draws[0].names}
    return statistics.median(times), statistics.median(cpu), draws[-1], pooled


def chinook(seed: int) -> dict:
    from synthgen.constraints.check import Checker
    from synthgen.constraints.spec import ConstraintsSpec
    from synthgen.dataset.keys import detect_keys
    from synthgen.io.folder import read_folder
    from synthgen.recipe import load_recipe
    from synthgen.relational import RelationalSynthesizer
    from synthgen.relational.rules import split_rules

    ds = detect_keys(read_folder(CHINOOK))
    params = load_recipe(ROOT / "recipes" / "chinook.yaml").generator.params
    out: dict[str, Any] = {"tables": len(ds.names), "rows": sum(len(ds[t]) for t in ds.names)}
    t0 = time.perf_counter()
    plain = RelationalSynthesizer("autoreg", params).fit(ds, seed=seed)
    fit_s = time.perf_counter() - t0
    wall, cpu, plain_syn, plain_pool = _draws(plain, seed)
    out["without"] = {
        "fit_s": round(fit_s, 2),
        "sample_s": round(wall, 3),
        "sample_cpu_s": round(cpu, 3),
    }
    print("chinook without", out["without"], flush=True)
    for case, rules in (("rules", CHINOOK_RULES), ("harsh_rules", CHINOOK_HARSH)):
        split = split_rules(ConstraintsSpec.model_validate(rules), ds)
        t0 = time.perf_counter()
        model = RelationalSynthesizer("autoreg", params).fit(ds, seed=seed, rules=split)
        fit_s = time.perf_counter() - t0
        before = sum(s.resampled for s in model.rules_.values())
        wall, cpu, syn, pool = _draws(model, seed)
        again = sum(s.resampled for s in model.rules_.values()) - before  # REPEATS + 1 draws
        checkers = {
            t: (r.labels, r.sampler.checker if r.sampler else Checker(r.rules, r.schema, ds[t]))
            for t, r in model.runs_.items()
        }

        def broken(data: Any, checkers: dict = checkers) -> dict[str, int]:
            return {
                lab: n
                for t, (labels, checker) in checkers.items()
                for lab, n in zip(labels, checker.counts(data[t]), strict=True)
            }

        with_, without = broken(syn), broken(plain_syn)
        out[case] = {
            "rules": list(with_),
            "fit_s": round(fit_s, 2),
            "sample_s": round(wall, 3),
            "sample_cpu_s": round(cpu, 3),
            "sample_time_ratio": round(wall / out["without"]["sample_s"], 3),
            "sample_cpu_ratio": round(cpu / out["without"]["sample_cpu_s"], 3),
            "violations_without_rules": int(sum(without.values())),
            "violations_with_rules": int(sum(with_.values())),
            "violations_per_rule_without": without,
            "resampled_rows_per_draw": round(again / (REPEATS + 1), 1),
            "real_rows_left_out": sum(getattr(r, "dropped_rows", 0) for r in model.runs_.values()),
            "quality": _table_quality(ds, model, pool, plain_pool, seed),
        }
        print("chinook", case, out[case], flush=True)
    return out


def _table_quality(ds: Any, model: Any, syn: dict, plain_syn: dict, seed: int) -> dict:
    """Per table with rules: the quality of the columns its rules name and of the others,
    without and with the rules (the issue's bar: neither drops), on all draws together."""
    out = {}
    for t, run in model.runs_.items():
        real = ds[t]
        learnt = [c for c in run.schema.names if c in real.columns]
        touched = sorted({c for r in run.rules for c in r.columns()} & set(learnt))
        free = [c for c in learnt if c not in touched and run.schema[c].kind in MODELLED]
        entry: dict[str, Any] = {}
        for part, cols in (("constrained", touched), ("free", free)):
            if cols:
                a = shapes_of(real, plain_syn[t], cols, seed)
                b = shapes_of(real, syn[t], cols, seed)
                entry[part] = {"without": a, "with": b, **change(a, b)}
        out[t] = entry
    return out


MODELLED = ("numeric", "integer", "categorical", "boolean", "datetime")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chinook", action="store_true", help="the multi-table case instead")
    ap.add_argument("--nulls", action="store_true", help="the detected null rules' case instead")
    args = ap.parse_args()
    one_thread()
    if args.chinook:
        result = {"generator": "autoreg (recipes/chinook.yaml's parameters)", "threads": 1}
        result["chinook"] = chinook(args.seed)
        out = args.out or CHINOOK_OUT
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out}")
        return
    if args.nulls:
        heart = pd.read_csv(NULLS_TABLE)
        result = {
            "generator": "autoreg (defaults)",
            "threads": 1,
            "heart_disease_uci": one_table("heart_disease_uci", heart, [], args.seed),
        }
        out = args.out or NULLS_OUT
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out}")
        return
    train, _ = load_adult()
    result = {
        "generator": "autoreg (defaults)",
        "threads": 1,
        "adult": one_table("adult", train, ADULT_RULES, args.seed),
        "trips": one_table("trips", trips(20_000), TRIP_RULES, args.seed),
    }
    out = args.out or OUT
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
