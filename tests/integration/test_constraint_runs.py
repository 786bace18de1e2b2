"""Constraints through `synthgen run`, `sample` and `inspect`: zero violations on real tables
(Adult's education pair, insurance, Beijing), a real row breaking a rule reported, an
unsatisfiable rule exit 2, the same seed giving the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.constraints.check import Checker
from synthgen.constraints.spec import rule_from_json
from synthgen.schema import detect
from tests.conftest import ROOT, shared_csv, write_recipe
from tests.unit.test_constraints import EVERY_KIND, constraint_table

SUITE = """name: rules-only
description: the constraints gate alone (fast)
gates:
  - {name: constraints, metric: constraint_violations, op: "<=", threshold: 0}
"""


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def recipe(tmp: Path, source: Path, rules: str = "", extra: str = "") -> Path:
    (tmp / "suite.yaml").write_text(SUITE, encoding="utf-8")
    body = (
        f"name: rules\nseed: 5\nsource: {{path: {source}}}\ngenerator: {{name: copula}}\n"
        f"validate: {{suite: suite.yaml}}\n{rules}{extra}"
    )
    return write_recipe(tmp, body)


def zero_violations(run: Path) -> dict:
    report = json.loads((run / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["name"] == "constraints")
    assert gate["status"] == "pass" and gate["value"] == 0, gate
    return report


def test_adult_education_pair_never_broken(tmp_path: Path):
    r = recipe(tmp_path, ROOT / "data" / "adult.csv", extra="holdout: 0.1\n")
    res = invoke("run", r, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    report = zero_violations(tmp_path / "run")
    kept = [x["id"] for x in report["constraints"]["rules"]]
    assert "education -> education-num" in kept
    syn = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    assert syn.groupby("education")["education-num"].nunique().max() == 1


def test_insurance_rules_hold(tmp_path: Path):
    rules = """constraints:
  - {type: range, column: age, min: 18, max: 64}
  - {type: range, column: children, min: 0, max: 5}
  - {type: positive, column: charges}
  - {type: positive, column: bmi}
  - {type: fixed_combinations, columns: [smoker, region, sex]}
  - {type: expression, expr: "charges >= 1000 + 10 * age"}
"""
    res = invoke(
        "run", recipe(tmp_path, ROOT / "data" / "insurance.csv", rules), "--out", tmp_path / "run"
    )
    assert res.exit_code == 0, res.output
    report = zero_violations(tmp_path / "run")
    assert len(report["constraints"]["rules"]) >= 6


def test_beijing_rules_hold_and_its_one_real_exception_is_reported(tmp_path: Path):
    src = shared_csv("beijing_pm25_hourly.csv")
    rules = """constraints:
  - {type: inequality, low: DEWP, high: TEMP}
  - {type: range, column: hour, min: 0, max: 23}
  - {type: range, column: month, min: 1, max: 12}
  - {type: positive, column: pm2.5, strict: false}
  - {type: positive, column: Iws}
  - {type: unique, columns: [No]}
"""
    res = invoke("run", recipe(tmp_path, src, rules, "holdout: 0\n"), "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    report = zero_violations(tmp_path / "run")
    real = report["constraints"]["real_violations"]
    assert real and real[0]["rows"] == 1 and "DEWP <= TEMP" in real[0]["rule"]
    assert any("1 real row(s) break it" in w for w in report["warnings"])
    assert report["constraints"]["real_rows_left_out"] == 1


def test_every_kind_through_run_and_sample_with_the_same_seed(tmp_path: Path):
    constraint_table(500).to_csv(tmp_path / "t.csv", index=False)
    rules = "constraints:\n" + "".join(f"  - {json.dumps(r)}\n" for r in EVERY_KIND)
    r = recipe(tmp_path, tmp_path / "t.csv", rules)
    for out in ("a", "b"):
        res = invoke("run", r, "--out", tmp_path / out)
        assert res.exit_code == 0, res.output
        zero_violations(tmp_path / out)
    a, b = (tmp_path / "a" / "synthetic.csv").read_bytes(), (tmp_path / "b" / "synthetic.csv")
    assert a == b.read_bytes()  # same recipe, same seed: the same bytes
    res = invoke("sample", tmp_path / "a" / "model", "-n", 700, "--out", tmp_path / "s.csv")
    assert res.exit_code == 0, res.output
    real = pd.read_csv(tmp_path / "t.csv")
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    rules_kept = [rule_from_json(x["rule"]) for x in report["constraints"]["rules"]]
    sampled = pd.read_csv(tmp_path / "s.csv")
    assert list(sampled.columns) == list(real.columns) and len(sampled) == 700
    assert Checker(rules_kept, detect(real), real).counts(sampled) == [0] * len(rules_kept)


def test_an_unsatisfiable_rule_exits_2_naming_it(tmp_path: Path):
    constraint_table(300).to_csv(tmp_path / "t.csv", index=False)
    rules = "constraints:\n  - {type: unique, columns: [city]}\n"
    res = invoke("run", recipe(tmp_path, tmp_path / "t.csv", rules), "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    assert "constraints[0] (unique city) is broken" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "run").exists()


def test_a_recipe_rule_on_a_missing_column_exits_2(tmp_path: Path):
    constraint_table(100).to_csv(tmp_path / "t.csv", index=False)
    rules = "constraints:\n  - {type: inequality, low: admit, high: dischage}\n"
    res = invoke("run", recipe(tmp_path, tmp_path / "t.csv", rules), "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    assert "constraints[0] (inequality admit <= dischage): no column 'dischage'" in res.output


def test_inspect_shows_the_rules_and_writes_them(tmp_path: Path):
    constraint_table(400).to_csv(tmp_path / "t.csv", index=False)
    res = invoke("inspect", tmp_path / "t.csv", "--rules", tmp_path / "rules.json")
    assert res.exit_code == 0, res.output
    assert "rules every row obeys" in res.output and "level -> level_num" in res.output
    found = json.loads((tmp_path / "rules.json").read_text())
    entry = next(f for f in found if f["id"] == "admit <= discharge")
    assert entry["evidence"] == {"rows_checked": 400, "exceptions": 0}
    assert entry["rule"] == {
        "type": "inequality",
        "low": "admit",
        "high": "discharge",
        "strict": False,
    }


def test_under_privacy_detected_rules_are_left_out_and_the_ledger_says_so(tmp_path: Path):
    rules = (
        "source: {path: " + str(ROOT / "data" / "adult.csv") + ', na_values: ["?"], '
        "strip_whitespace: true}\nprivacy: {epsilon: 2}\nconstraints:\n"
        "  - {type: determined_by, column: education-num, by: [education]}\n"
    )
    (tmp_path / "suite.yaml").write_text(SUITE, encoding="utf-8")
    body = (
        f"name: dp\nseed: 1\ngenerator: {{name: copula}}\nvalidate: {{suite: suite.yaml}}\n{rules}"
    )
    res = invoke("run", write_recipe(tmp_path, body), "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    report = zero_violations(tmp_path / "run")
    assert all(r["origin"] == "declared" for r in report["constraints"]["rules"])
    assert report["constraints"]["detected_left_out_for_privacy"] >= 1
    assert any("outside the privacy budget" in w for w in report["warnings"])
    assert any("education -> education-num" in x for x in report["privacy"]["not_covered"])
