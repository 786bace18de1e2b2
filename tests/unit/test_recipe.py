from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import RecipeError
from synthgen.recipe import load_recipe, parse_recipe

BASE = {"name": "t", "source": {"path": "x.csv"}}


def test_minimal_recipe_gets_defaults():
    r = parse_recipe(BASE)
    assert r.generator.name == "autoreg"
    assert r.holdout == 0.2
    assert r.validate_.suite == "default"
    assert r.sample.rows is None and r.sample.ratio is None


def test_every_problem_reported_at_once_with_its_path():
    bad = {
        "name": "t",
        "source": {"path": "x.csv", "fromat": "csv"},
        "holdout": 1.5,
        "generator": {"name": "sdv.ctgan", "params": {"epochs": 0, "batch_sise": 10}},
        "sample": {"rows": 10, "ratio": 2},
        "valdate": {},
    }
    with pytest.raises(RecipeError) as info:
        parse_recipe(bad)
    problems = info.value.problems
    text = "\n".join(problems)
    assert "source.fromat: unknown key; did you mean 'format'?" in text
    assert any(p.startswith("holdout:") for p in problems)
    assert any(p.startswith("generator.params.epochs:") and "greater than 0" in p for p in problems)
    assert any(p.startswith("generator.params.batch_sise: unknown key") for p in problems)
    assert any(p.startswith("sample:") and "either rows or ratio" in p for p in problems)
    assert "valdate: unknown key; did you mean 'validate'?" in text
    assert len(problems) == 6


def test_unknown_generator_suggests_a_name():
    with pytest.raises(RecipeError) as info:
        parse_recipe({**BASE, "generator": {"name": "copul"}})
    assert "generator.name: unknown generator 'copul'; did you mean 'copula'?" in str(info.value)


def test_paths_resolve_against_the_recipe_folder(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "r.yaml"
    p.write_text("name: t\nsource: {path: ../data.csv}\n", encoding="utf-8")
    r = load_recipe(p)
    assert r.resolve(r.source.path).resolve() == (tmp_path / "data.csv").resolve()


def test_not_yaml_names_the_line(tmp_path: Path):
    p = tmp_path / "r.yaml"
    p.write_text("name: t\nsource: [unclosed\n", encoding="utf-8")
    with pytest.raises(RecipeError, match=r"not valid YAML at line \d+"):
        load_recipe(p)


def test_missing_recipe_file(tmp_path: Path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_recipe_must_be_a_mapping():
    with pytest.raises(RecipeError, match="a recipe is a YAML mapping"):
        parse_recipe(["name", "t"])


def test_pii_strategy_values_are_checked():
    with pytest.raises(RecipeError) as info:
        parse_recipe({**BASE, "pii": {"strategies": {"email": "keep"}}})
    assert "pii.strategies.email" in str(info.value)


def test_yes_no_on_off_and_dates_stay_the_strings_typed(tmp_path: Path):
    """YAML 1.1 made `smoker: no` a False that matched nothing; a recipe reads YAML 1.2."""
    (tmp_path / "d.csv").write_text("smoker,visit\nno,2024-01-05\n", encoding="utf-8")
    p = tmp_path / "r.yaml"
    p.write_text(
        "name: r\nsource: {path: d.csv}\nsample: {conditions: {smoker: no, visit: 2024-01-05}}\n"
        "schema: {smoker: {categories: [yes, no, on, off]}}\nholdout: 0.25\n",
        encoding="utf-8",
    )
    r = load_recipe(p)
    assert r.sample.condition_dict() == {"smoker": "no", "visit": "2024-01-05"}
    assert r.schema_["smoker"].categories == ["yes", "no", "on", "off"]
    assert r.holdout == 0.25


def test_sample_conditions_take_values_lists_and_ranges():
    conditions = {"sex": "Female", "race": ["Black", "Other"], "age": {"min": 30, "max": 40}}
    r = parse_recipe({**BASE, "sample": {"conditions": {**conditions, "hours": {"max": 20}}}})
    assert r.sample.condition_dict() == {**conditions, "hours": {"max": 20}}
    with pytest.raises(RecipeError, match=r"sample\.conditions\.age.*give min, max or both"):
        parse_recipe({**BASE, "sample": {"conditions": {"age": {}}}})
    with pytest.raises(RecipeError, match=r"sample\.conditions\.age"):
        parse_recipe({**BASE, "sample": {"conditions": {"age": {"low": 3}}}})
