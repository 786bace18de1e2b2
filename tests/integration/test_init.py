"""`synthgen init`: a starter recipe a new user can run and edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_init_writes_a_recipe_that_loads_with_the_schema_as_comments(tmp_path: Path):
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "data" / "insurance.csv", tmp_path / "data")
    out = tmp_path / "recipes" / "ins.yaml"
    res = CliRunner().invoke(
        cli, ["init", str(tmp_path / "data" / "insurance.csv"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    recipe = load_recipe(out)
    assert recipe.name == "insurance" and recipe.generator.name == "autoreg"
    assert recipe.resolve(recipe.source.path) == (tmp_path / "data" / "insurance.csv").resolve()
    for col in ("age", "sex", "bmi", "children", "smoker", "region", "charges"):
        assert f"  # {col}:" in text
    assert "{kind: boolean}" in text  # smoker: a yes / no pair
    # uncommenting a line is all it takes to override detection
    edited = text.replace("  # children:", "  children:").replace("\n  {}\n", "\n")
    out.write_text(edited, encoding="utf-8")
    assert load_recipe(out).schema_["children"].kind == "integer"
    assert yaml.safe_load(edited)["outputs"][0]["path"] == "out/insurance-synthetic.csv"
    again = CliRunner().invoke(
        cli, ["init", str(tmp_path / "data" / "insurance.csv"), "--out", str(out)]
    )
    assert again.exit_code == 2 and "--force" in again.output
    assert out.read_text(encoding="utf-8") == edited  # never replaced without --force
    missing = CliRunner().invoke(
        cli, ["init", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "n.yaml")]
    )
    assert (
        missing.exit_code == 2
        and "nope.csv" in missing.output
        and "Traceback" not in missing.output
    )


def test_the_shipped_recipe_json_schema_is_the_recipe_models(tmp_path: Path):
    import json
    from importlib import resources

    from synthgen.starter import recipe_json_schema

    shipped = json.loads(resources.files("synthgen").joinpath("recipe.schema.json").read_text())
    assert shipped == recipe_json_schema(), (
        "run `synthgen recipe-schema --out synthgen/recipe.schema.json`"
    )
    res = CliRunner().invoke(cli, ["recipe-schema"])
    assert res.exit_code == 0 and json.loads(res.output) == shipped
    assert {"source", "generator", "validate", "outputs"} <= set(shipped["properties"])
    # it checks what the recipe model checks: a recipe from the repo is valid under it
    jsonschema = pytest.importorskip("jsonschema")
    recipe = yaml.safe_load((ROOT / "recipes" / "adult.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(recipe, shipped)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(recipe | {"holdout": 2}, shipped)
