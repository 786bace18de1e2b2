"""The recipes with free-text columns, end to end, with a shorter text budget and fewer rows
(their own file so the test workers share the load)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.pipeline import run
from synthgen.recipe import load_recipe
from tests.integration.test_recipes import TEXT_RECIPES, check_report


@pytest.mark.parametrize("path", TEXT_RECIPES, ids=[p.stem for p in TEXT_RECIPES])
def test_text_recipe_runs_and_passes_its_gates(path: Path, tmp_path: Path) -> None:
    recipe = load_recipe(path)
    recipe.outputs = []
    recipe.sample.rows, recipe.sample.ratio = 1500, None
    for spec in recipe.text.values():
        spec.params["time_budget_s"] = min(float(spec.params.get("time_budget_s", 60)), 40.0)
    result = run(recipe, out=tmp_path / "run")
    assert result.passed, result.report["gates"]
    check_report(tmp_path / "run", min_shapes=0.85)  # 1,500 rows of 500- and 1,800-label columns
    for col, info in result.report["text"].items():
        texts = result.synthetic[col].dropna()
        assert len(texts) > 0.9 * len(result.synthetic) and texts.str.len().median() > 5
        assert info["generation"]["exhausted"] < 0.01 * len(result.synthetic)
    assert result.report["metrics"]["privacy"]["text_exact_copy_rate"] == 0
    if path.stem != "clinical-notes":
        return  # drug reviews need minutes to learn it: benchmarks/text.py --recipe measures
    # the note sections carry their own row's header far above chance after only 40 s
    fidelity = result.report["metrics"]["fidelity"]
    fields = {k: v for k, v in fidelity.items() if k.startswith("text_conditioning_")}
    best = max(fields.values(), key=lambda d: d.get("z", 0))
    assert best["z"] > 3 and best.get("lift", 0) > 0.1, fields
