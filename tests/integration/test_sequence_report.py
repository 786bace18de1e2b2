"""The report of a sequence run: a Sequences section with a few real and synthetic sequences
side by side (the same picture for the same seed), and the whole-sequence privacy figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from synthgen import api
from synthgen.recipe import load_recipe
from synthgen.report import sequence_plots
from tests.conftest import ROOT


def sequences_section(html: str) -> str:
    got = re.search(r'<section id="sequences">(.*?)</section>', html, re.S)
    assert got, "no sequences section"
    return got.group(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The Beijing days recipe on a short schedule, run twice with the same seed."""
    tmp = tmp_path_factory.mktemp("seqreport")
    data = yaml.safe_load((ROOT / "recipes" / "beijing-sequences.yaml").read_text())
    data["source"]["path"] = str(ROOT / "data" / "beijing_days.csv")
    data["outputs"], data["validate"]["gates"] = [], {}
    data["generator"]["params"] = {"epochs": 3}
    path = tmp / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    out = {}
    for name in ("a", "b"):
        api.run(load_recipe(path), seed=18, out=tmp / name)
        out[name] = tmp / name
    return out


def test_the_report_draws_real_and_synthetic_sequences_side_by_side(runs):
    html = (runs["a"] / "report.html").read_text()
    part = sequences_section(html)
    assert len(re.findall(r'<img src="data:image/png;base64,', part)) == 1
    assert "72 real (training) and 90 synthetic sequences" in part
    assert "whole-sequence copies beyond chance" in part and "length similarity" in part
    report = json.loads((runs["a"] / "report.json").read_text())
    privacy = report["metrics"]["privacy"]
    for name in ("sequence_exact_copy_rate", "sequence_dcr_share", "sequence_membership_auc"):
        assert name in privacy
    assert any(g["name"] == "sequence_copies" for g in report["gates"])


def test_the_picture_is_the_same_for_the_same_seed(runs):
    pics = [sequences_section((runs[k] / "report.html").read_text()) for k in ("a", "b")]
    assert pics[0] == pics[1]


def test_another_seed_draws_other_entities_and_nothing_to_draw_is_said():
    df = pd.read_csv(ROOT / "data" / "beijing_days.csv")
    cols = ["TEMP", "PRES"]
    one = sequence_plots.sequence_plot(df, df, "date", "time", cols, seed=1)
    assert one == sequence_plots.sequence_plot(df, df, "date", "time", cols, seed=1)
    assert one != sequence_plots.sequence_plot(df, df, "date", "time", cols, seed=2)
    assert sequence_plots.pick(df, "date", 3, 1, 0) != sequence_plots.pick(df, "date", 3, 2, 0)
    assert sequence_plots.sequence_plot(df, df.iloc[:0], "date", "time", cols) is None
    assert sequence_plots.sequence_plot(df, df, "date", "time", []) is None
    columns = [{"name": "date", "kind": "id"}, {"name": "time", "kind": "datetime"}]
    part = sequence_plots.sequence_section({"entity": "date", "order": "time"}, df, df,
                                           columns, {}, 0)  # fmt: skip
    assert "<img" not in part and "no numeric column to draw" in part
