"""Rules on a sequence table (issues 17 and 18): a sequence recipe's ``constraints:`` hold
on every synthetic event, by construction (an inequality learnt as a gap, a fixed
combination as one label) or by drawing the breaking events again (a range, an
expression), with times still increasing within each entity and the same seed giving the
same events; the ``sequential`` suite's ``constraints`` gate counts what breaks them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from synthgen import validate
from synthgen.cli import cli
from synthgen.schema.detect import detect
from tests.conftest import ROOT

RULES = [
    {"type": "range", "column": "PRES", "min": 1005, "max": 1040},
    {"type": "inequality", "low": "DEWP", "high": "TEMP"},
    {"type": "fixed_combinations", "columns": ["cbwd", "Ir"]},
    # the model breaks it on about one event in twenty: those are drawn again
    {"type": "expression", "expr": "PRES + TEMP >= 1005"},
]


def recipe_file(tmp: Path, **changes: object) -> Path:
    data = yaml.safe_load((ROOT / "recipes" / "beijing-sequences.yaml").read_text())
    data["source"]["path"] = str(ROOT / "data" / "beijing_days.csv")
    data["outputs"] = []
    data["generator"] = {"name": "autoreg", "params": {"epochs": 10}}
    data["constraints"] = RULES
    data["validate"]["gates"] = {"lag1_autocorrelation": 0.25, "length_similarity": 0.8}
    data.update(changes)
    path = tmp / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def broken(df: pd.DataFrame, real: pd.DataFrame) -> dict[str, int]:
    """Each rule's breaking events, counted here without synthgen's checker."""
    seen = set(zip(real["cbwd"], real["Ir"], strict=True))
    return {
        "range": int(((df["PRES"] < 1005) | (df["PRES"] > 1040)).sum()),
        "inequality": int((df["DEWP"] > df["TEMP"]).sum()),
        "fixed": int((~pd.Series(list(zip(df["cbwd"], df["Ir"], strict=True))).isin(seen)).sum()),
        "expression": int((df["PRES"] + df["TEMP"] < 1005).sum()),
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("seqrules")
    got = CliRunner().invoke(cli, ["run", str(recipe_file(tmp)), "--out", str(tmp / "run")])
    assert got.exit_code == 0, got.output
    return tmp / "run"


@pytest.mark.slow
def test_every_rule_holds_on_every_event_and_the_gate_passes(run_dir: Path):
    real = pd.read_csv(ROOT / "data" / "beijing_days.csv")
    syn = pd.read_csv(run_dir / "synthetic.csv")
    assert list(syn.columns) == list(real.columns)  # no joint label or gap left behind
    assert broken(syn, real) == {"range": 0, "inequality": 0, "fixed": 0, "expression": 0}
    times = pd.to_datetime(syn["time"])
    assert times.groupby(syn["date"]).apply(lambda s: s.is_monotonic_increasing).all()
    report = json.loads((run_dir / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["name"] == "constraints")
    assert gate["status"] == "pass" and gate["value"] == 0
    summary = report["constraints"]
    how = {r["rule"]["type"]: r["enforced"] for r in summary["rules"]}
    assert how["inequality"].startswith("by construction") and "joint" in how["fixed_combinations"]
    assert summary["resampled_rows"] > 0  # the expression's breaking events were drawn again
    assert summary["real_violations"]  # real readings outside the range: reported, left out


@pytest.mark.slow
def test_the_saved_model_keeps_the_rules_and_the_same_seed_draws_the_same(
    run_dir: Path, tmp_path: Path
):
    real = pd.read_csv(ROOT / "data" / "beijing_days.csv")
    outs = []
    for name, n in (("a", 40), ("b", 40), ("c", 25)):
        got = CliRunner().invoke(
            cli,
            ["sample", str(run_dir / "model"), "-n", str(n), "--seed", "7", "--out",
             str(tmp_path / f"{name}.csv")],
        )  # fmt: skip
        assert got.exit_code == 0, got.output
        outs.append(pd.read_csv(tmp_path / f"{name}.csv"))
    a, b, c = outs
    assert broken(a, real) == {"range": 0, "inequality": 0, "fixed": 0, "expression": 0}
    pd.testing.assert_frame_equal(a, b)
    # an entity's events, redraws and all, do not depend on the entities drawn with it
    first = a["date"].isin(c["date"].unique())
    pd.testing.assert_frame_equal(a[first].reset_index(drop=True), c)


@pytest.mark.slow
def test_a_condition_on_a_column_a_rule_rewrote_says_so(run_dir: Path, tmp_path: Path):
    got = CliRunner().invoke(
        cli,
        ["sample", str(run_dir / "model"), "-n", "5", "--where", "cbwd=NW", "--out",
         str(tmp_path / "a.csv")],
    )  # fmt: skip
    assert got.exit_code == 2, got.output
    assert "'cbwd': the model learns it only through a rule (cbwd, Ir as one joint" in got.output
    assert not (tmp_path / "a.csv").exists()


def test_the_gate_flags_events_that_break_a_rule():
    """The suite's constraints gate on an output with breaking events: it must fail."""
    real = pd.read_csv(ROOT / "data" / "beijing_days.csv")
    schema = detect(real, seed=0)
    bad = real.copy()
    bad.loc[:4, "TEMP"] = bad.loc[:4, "DEWP"] - 3  # five events colder than their dew point
    suite = validate.load_suite("sequential", None)
    only = suite.model_copy(
        update={"gates": [g for g in suite.gates if g.name == "constraints"], "metrics": []}
    )
    rules = RULES[1:3]  # the inequality and the combinations, which every real event obeys
    options = {"constraints": {"rules": rules, "labels": ["inequality", "combinations"]}}
    got = validate.run(only, real, real.iloc[:0], bad, schema, options=options)
    gate = got["gates"][0]
    assert gate["status"] == "fail" and gate["value"] == 5
    clean = validate.run(only, real, real.iloc[:0], real, schema, options=options)
    assert clean["gates"][0]["status"] == "pass"
    none = validate.run(only, real, real.iloc[:0], bad, schema)
    assert none["gates"][0]["status"] == "skipped"  # a run without rules


def test_rules_a_sequence_cannot_keep_are_refused_before_any_work(tmp_path: Path):
    rules = [
        {"type": "unique", "columns": ["PRES"]},
        {"type": "format", "column": "date", "regex": "^\\d{4}-\\d{2}-\\d{2}$"},
    ]
    got = CliRunner().invoke(
        cli, ["run", str(recipe_file(tmp_path, constraints=rules)), "--out", str(tmp_path / "r")]
    )
    assert got.exit_code == 2, got.output
    assert "constraints.rules.0: unique is not kept" in got.output
    assert "constraints.rules.1: 'date' is the sequence's entity key" in got.output
    assert "Traceback" not in got.output and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_events_still_breaking_a_rule_after_the_cap_stop_the_sample_naming_it(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from synthgen.sequences import rules as seqrules

    monkeypatch.setattr(seqrules, "MAX_ROUNDS", 0)  # no redraw: the first breaking event stops it
    out = tmp_path / "s.csv"
    got = CliRunner().invoke(
        cli, ["sample", str(run_dir / "model"), "-n", "200", "--seed", "7", "--out", str(out)]
    )
    assert got.exit_code == 2, got.output
    assert "cannot draw events that obey every rule" in got.output
    assert "constraints[3] (expression PRES + TEMP >= 1005) is broken by" in got.output
    assert "Traceback" not in got.output and not out.exists()


@pytest.mark.slow
def test_rules_the_events_always_obey_are_detected_and_kept(tmp_path: Path):
    """No rule declared: Beijing's dew point never above its temperature is found (the day,
    the entity key, is left out of detection) and holds on every synthetic hour."""
    path = recipe_file(tmp_path, constraints={"detect": True})
    got = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "run")])
    assert got.exit_code == 0, got.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    kept = {r["id"]: r["origin"] for r in report["constraints"]["rules"]}
    assert kept == {"DEWP <= TEMP": "detected"}
    syn = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    assert (syn["DEWP"] <= syn["TEMP"]).all()
