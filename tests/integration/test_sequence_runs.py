"""A sequence recipe (`sequence: {entity, order}`) from the command line: what it refuses,
clearly, before any work. (recipes/beijing-sequences.yaml itself runs in test_recipes.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from synthgen.cli import cli
from tests.conftest import ROOT


def recipe_file(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((ROOT / "recipes" / "beijing-sequences.yaml").read_text())
    data["source"]["path"] = str(ROOT / "data" / "beijing_days.csv")
    data["outputs"] = []
    data.update(changes)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(path: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "run")])


def test_what_a_sequence_recipe_cannot_have_is_listed_at_once(tmp_path):
    path = recipe_file(
        tmp_path,
        sample={"rows": 100, "conditions": {"TEMP": {"min": 0}}},
        generator={"name": "copula"},
    )
    got = run(path, tmp_path)
    assert got.exit_code == 2, got.output
    for key in ("generator.name", "sample.rows", "sample.conditions"):
        assert key in got.output
    assert "Traceback" not in got.output
    assert not (tmp_path / "run").exists()


def test_an_unknown_sequence_column_is_named(tmp_path):
    path = recipe_file(tmp_path, sequence={"entity": "day", "order": "time"})
    got = run(path, tmp_path)
    assert got.exit_code == 2, got.output
    assert "no column 'day'" in got.output and "its columns: date, time" in got.output
    assert not (tmp_path / "run").exists()


def test_an_order_that_is_no_time_is_refused(tmp_path):
    path = recipe_file(tmp_path, sequence={"entity": "date", "order": "cbwd"})
    got = run(path, tmp_path)
    assert got.exit_code == 2, got.output
    assert "'cbwd' is categorical, not a time or a number" in got.output


@pytest.mark.slow
def test_pii_inside_a_sequence_tables_labels_is_replaced_before_the_fit(tmp_path):
    import re

    import numpy as np
    import pandas as pd

    df = pd.read_csv(ROOT / "data" / "beijing_days.csv")
    observers = ["read by li.wei@station.example.cn", "read by wang.fang@station.example.cn"]
    df["observer"] = np.random.default_rng(0).choice(observers, len(df))
    df.to_csv(tmp_path / "days.csv", index=False)
    path = recipe_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["source"]["path"] = str(tmp_path / "days.csv")
    data["validate"] = {"suite": "sequential", "gates": {}}
    path.write_text(yaml.safe_dump(data))
    got = run(path, tmp_path)
    assert got.exit_code in (0, 3, 4), got.output
    syn = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    emails = set(re.findall(r"[\w.]+@[\w.]+", " ".join(syn["observer"].dropna())))
    assert emails and not emails & {o.split()[-1] for o in observers}
    report = yaml.safe_load((tmp_path / "run" / "report.json").read_text())
    assert report["pii"]["found_in_source"]["observer"] == {"email": 2}
