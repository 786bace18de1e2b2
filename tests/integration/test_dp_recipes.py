"""DP recipes end to end: refused when a part would read data outside the budget, reported
in full when run, and no leakier than a run without DP."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synthgen.pipeline import run
from synthgen.recipe import load_recipe
from tests.conftest import ROOT, write_recipe
from tests.integration.test_cli import _frame, invoke, small_recipe

ADULT = ROOT / "data" / "adult.csv"


def test_a_dp_recipe_with_parts_outside_the_budget_exits_2(tmp_path: Path) -> None:
    df = _frame(300)
    df["note"] = [
        f"patient reported {i} different things about the visit today" for i in range(300)
    ]
    recipe = small_recipe(
        tmp_path,
        df,
        extra="generator: {name: sdv.ctgan}\nprivacy: {epsilon: 1}\nschema: {note: {kind: text}}\n",
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    assert "outside its privacy budget" in res.output
    assert "generator.name" in res.output and "text.note.params.epsilon" in res.output
    assert not (tmp_path / "run").exists()


def test_one_bound_alone_is_refused_with_its_path(tmp_path: Path) -> None:
    recipe = small_recipe(tmp_path, extra="privacy: {epsilon: 1}\nschema: {age: {min: 0}}\n")
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2
    assert "schema.age: give both min and max" in res.output


def test_dp_run_reports_every_spend_and_the_html_shows_it(tmp_path: Path) -> None:
    recipe = small_recipe(
        tmp_path,
        extra="privacy: {epsilon: 2, delta: 1.0e-7}\n"
        "schema: {age: {min: 18, max: 80}, group: {categories: [a, b, c]}}\n",
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    p = report["privacy"]
    assert p["epsilon"] == 2 and p["delta"] == 1e-7
    assert 0 < p["epsilon_spent"] <= 2 and p["delta_spent"] <= 1e-7
    assert p["public_bounds"] == ["age"] and p["public_categories"] == ["group"]
    assert {m["mechanism"] for m in p["mechanisms"]} >= {"gaussian histograms"}
    assert any("not private" in w for w in report["warnings"])
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["privacy"]["epsilon_spent"] == p["epsilon_spent"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Differential privacy" in html and "gaussian histograms" in html
    syn = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    assert syn["age"].between(18, 80).all()


def _adult_recipe(tmp: Path, privacy: str) -> Path:
    body = (
        f"name: adult-dp\nseed: 4\nsource: {{path: {ADULT}, na_values: ['?'], "
        "strip_whitespace: true}\ngenerator: {name: copula}\n" + privacy
    )
    return write_recipe(tmp, body)


@pytest.fixture(scope="module")
def plain_adult(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("plain")
    return run(load_recipe(_adult_recipe(tmp, "")), out=tmp / "run").report


@pytest.mark.slow
@pytest.mark.parametrize("epsilon", [1.0, 10.0])
def test_dp_copula_on_adult_is_no_leakier_than_without_dp(
    tmp_path: Path, epsilon: float, plain_adult: dict
) -> None:
    dp = run(
        load_recipe(_adult_recipe(tmp_path, f"privacy: {{epsilon: {epsilon}}}\n")),
        out=tmp_path / "dp",
    )
    assert dp.report["privacy"]["epsilon_spent"] <= epsilon
    auc = dp.report["metrics"]["privacy"]["membership_auc"]
    plain_auc = plain_adult["metrics"]["privacy"]["membership_auc"]
    assert auc <= plain_auc + 0.01
    assert dp.report["metrics"]["fidelity"]["quality"] > 0.8
