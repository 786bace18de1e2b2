"""A sequence recipe (`sequence: {entity, order}`) from the command line: what it refuses,
clearly, before any work. (recipes/beijing-sequences.yaml itself runs in test_recipes.py.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
        sample={"rows": 100},
        generator={"name": "copula"},
    )
    got = run(path, tmp_path)
    assert got.exit_code == 2, got.output
    for key in ("generator.name", "sample.rows"):
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


@pytest.fixture(scope="module")
def month_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe on days that carry their month (a column of the day, not of the hour), with
    a short schedule, run with a condition on the month: its run folder."""
    tmp = tmp_path_factory.mktemp("months")
    df = pd.read_csv(ROOT / "data" / "beijing_days.csv")
    df["month"] = df["date"].str[:7]
    df.to_csv(tmp / "days.csv", index=False)
    path = recipe_file(tmp, generator={"name": "autoreg", "params": {"epochs": 10}})
    data = yaml.safe_load(path.read_text())
    data["source"]["path"] = str(tmp / "days.csv")
    data["validate"]["gates"] = {}
    path.write_text(yaml.safe_dump(data))
    got = CliRunner().invoke(
        cli, ["run", str(path), "--out", str(tmp / "run"), "--where", "month=2010-02"]
    )
    assert got.exit_code in (0, 3), got.output  # 3: a gate failed on a short schedule
    return tmp / "run"


def test_where_on_an_entitys_column_keeps_whole_matching_sequences(month_run):
    syn = pd.read_csv(month_run / "synthetic.csv")
    assert (syn["month"] == "2010-02").all()
    assert syn["date"].nunique() == 90  # as many days as the source
    assert (syn.groupby("date").size() == 24).all()


def test_sample_with_where_on_a_saved_sequence_model(month_run, tmp_path):
    def sample(*where: str, out: str = "s.csv", seed: str = "4"):  # type: ignore[no-untyped-def]
        args = ["sample", str(month_run / "model"), "-n", "12", "--seed", seed]
        args += ["--out", str(tmp_path / out)] + [a for w in where for a in ("--where", w)]
        return CliRunner().invoke(cli, args)

    got = sample("month=2010-03")
    assert got.exit_code == 0, got.output
    syn = pd.read_csv(tmp_path / "s.csv")
    assert syn["date"].nunique() == 12 and (syn["month"] == "2010-03").all()
    assert sample("month=2010-03", out="again.csv").exit_code == 0
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "s.csv").read_bytes()
    for where, why in (("TEMP=3", "changes within"), ("wind=NW", "no such column")):
        got = sample(where, out="bad.csv")
        assert got.exit_code == 2, got.output
        assert why in got.output and "month, time" in got.output
        assert "Traceback" not in got.output and not (tmp_path / "bad.csv").exists()


def test_where_on_a_step_column_is_refused_before_any_fit(tmp_path):
    path = recipe_file(tmp_path)
    got = CliRunner().invoke(
        cli, ["run", str(path), "--out", str(tmp_path / "run"), "--where", "TEMP=1"]
    )
    assert got.exit_code == 2, got.output
    assert "'TEMP': it changes within" in got.output and "time (the first event's)" in got.output
    assert not (tmp_path / "run").exists()


def test_a_table_sequence_on_a_one_table_source_points_to_the_top_level_form(tmp_path):
    path = recipe_file(tmp_path, tables={"beijing_days": {"sequence": {"order": "time"}}})
    got = run(path, tmp_path)
    assert got.exit_code == 2, got.output
    assert "tables.beijing_days.sequence" in got.output and "sequence: {entity" in got.output
    assert not (tmp_path / "run").exists()


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
