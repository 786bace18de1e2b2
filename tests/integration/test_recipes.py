"""Every recipe in recipes/ runs end to end, and the README's examples are true."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from synthgen.pipeline import run
from synthgen.recipe import Output, load_recipe, parse_recipe
from tests.conftest import ROOT

ALL_RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
# recipes with free-text columns train language models: they run in test_text_recipes.py,
# a file of their own, so the two test workers share the load
TEXT_RECIPES = [p for p in ALL_RECIPES if load_recipe(p).text]
RECIPES = [p for p in ALL_RECIPES if p not in TEXT_RECIPES]
# a pretrained model from an optional install, a few seconds per text on a CPU: its own tests
PRETRAINED_RECIPES = [
    p for p in TEXT_RECIPES if any(s.backend == "hf" for s in load_recipe(p).text.values())
]
TEXT_RECIPES = [p for p in TEXT_RECIPES if p not in PRETRAINED_RECIPES]
# multi-table recipes (a database in, a database out) run in test_relational.py
RECIPES = [p for p in RECIPES if load_recipe(p).validate_.suite != "relational"]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=[pytest.mark.slow] if p.stem == "adult" else []) for p in RECIPES],
    ids=[p.stem for p in RECIPES],
)
def test_recipe_runs_and_passes_its_gates(path: Path, tmp_path: Path):
    recipe = load_recipe(path)
    recipe.outputs = [
        Output(path=str(tmp_path / f"out{i}{Path(o.path).suffix}"), format=o.format)
        for i, o in enumerate(recipe.outputs)
    ]  # keep the repo clean
    result = run(recipe, out=tmp_path / "run")
    assert result.passed, result.report["gates"]
    assert all(p.is_file() for p in result.outputs) and len(result.outputs) == len(recipe.outputs)
    check_report(tmp_path / "run")


def check_report(run_dir: Path, min_shapes: float = 0.9) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    assert report["metrics"]["fidelity"]["column_shapes"] > min_shapes
    privacy = report["metrics"]["privacy"]
    # no more copies than unseen real rows make by chance (a one-column table copies always)
    chance = privacy["exact_copy_rate_holdout_copy_rate"]
    assert privacy["exact_copy_rate"] <= max(0.01, chance + 0.05)


def test_readme_recipe_reference_is_a_valid_recipe():
    blocks = re.findall(r"```yaml\n(# recipe:.*?)```", README, flags=re.S)
    assert len(blocks) == 1
    import yaml

    recipe = parse_recipe(yaml.safe_load(blocks[0]))
    assert recipe.pii.strategies == {"ssn": "drop", "phone": "null"}
    documented = set(re.findall(r"^(\w+):", blocks[0], flags=re.M))
    fields = {f.alias or n for n, f in type(recipe).model_fields.items() if n != "base_dir"}
    assert documented == fields  # every top-level field has an example


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    code = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "data" / "insurance.csv", tmp_path / "data")
    (tmp_path / "recipes").mkdir()
    shutil.copy(ROOT / "recipes" / "insurance.yaml", tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert len(scope["synthetic"]) == 5000
    assert scope["result"].passed and scope["verdict"]["gates"]
    assert (tmp_path / "runs" / "insurance" / "model" / "dataset.json").is_file()
    assert scope["found"].dataset.spec.names == ["insurance"]


@pytest.mark.parametrize(
    "name",
    ["copula", "ctgan", pytest.param("tvae", marks=pytest.mark.slow), "sdv.ctgan", "sdv.tvae"]
    + ["sdv.gaussian_copula"],
)
def test_adult_recipe_switches_generator_by_one_line(name: str, tmp_path: Path):
    text = (ROOT / "recipes" / "adult.yaml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.strip().startswith("name: autoreg"))
    changed = text.replace(line, line.replace("autoreg", name, 1))
    assert sum(a != b for a, b in zip(text.splitlines(), changed.splitlines(), strict=True)) <= 1
    p = tmp_path / "adult.yaml"
    p.write_text(
        changed.replace("../data/adult.csv", str(ROOT / "data" / "adult.csv")), encoding="utf-8"
    )
    recipe = load_recipe(p)
    assert recipe.generator.name == name
    if name == "tvae":  # and it really runs (one epoch keeps the test fast)
        recipe.generator.params = {"epochs": 1}
        recipe.outputs = []
        result = run(recipe, out=tmp_path / "run")
        assert result.synthetic.shape == (32561, 15)
        assert (tmp_path / "run" / "model" / "weights.safetensors").stat().st_size > 10_000
