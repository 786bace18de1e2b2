"""Text columns inside a recipe run: learnt, conditioned on their row, guarded, saved, and
accounted for under differential privacy."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.pipeline import run
from synthgen.recipe import load_recipe
from tests.conftest import write_recipe
from tests.integration.test_cli import invoke

THINGS = {"red": ["apple", "rose", "cherry"], "blue": ["sky", "ocean", "whale"]}
TINY = "{size: tiny, context: 48, epochs: 6, batch_size: 32, dropout: 0.0}"


PLACES = ["river", "barn", "school", "market", "harbour"]


def _table(n: int = 600, varied: bool = True) -> pd.DataFrame:
    rng = random.Random(0)
    colour = [rng.choice(sorted(THINGS)) for _ in range(n)]
    notes = [
        f"The {rng.choice(THINGS[c])} is {c}; {rng.randint(1, 999)} seen by the "
        f"{rng.choice(PLACES)}."
        if varied
        else f"The {rng.choice(THINGS[c])} is {c} today."
        for c in colour
    ]
    return pd.DataFrame(
        {
            "colour": colour,
            "size": np.random.default_rng(0).integers(1, 10, n),
            "note": notes,
        }
    )


def _recipe(tmp: Path, extra: str = "", varied: bool = True) -> Path:
    _table(varied=varied).to_csv(tmp / "t.csv", index=False)
    body = (
        "name: notes\nseed: 2\nsource: {path: t.csv}\n"
        f"text:\n  note: {{condition_on: [colour], params: {TINY}}}\n"
        "validate: {gates: {dcr_share: 1, membership: 1, exact_copies: 1, quality: 0, "
        "column_shapes: 0}}\n" + extra
    )
    return write_recipe(tmp, body)


def test_text_column_is_learnt_conditioned_guarded_and_saved(tmp_path: Path) -> None:
    res = run(load_recipe(_recipe(tmp_path)), out=tmp_path / "run")
    syn = res.synthetic
    info = res.report["text"]["note"]
    assert info["backend"] == "local" and info["condition_on"] == ["colour"]
    gen = info["generation"]
    assert gen["generated"] == len(syn) and gen["exhausted"] == 0
    # conditioning: the colour word in a text agrees with its row far more often than chance
    said = syn["note"].str.extract(r"\b(red|blue)\b")[0]
    agree = (said == syn["colour"])[said.notna()].mean()
    assert said.notna().mean() > 0.5 and agree > 0.8
    model = tmp_path / "run" / "model" / "text" / "note"
    assert (model / "spec.json").is_file() and (model / "model" / "weights.safetensors").is_file()
    assert not list((tmp_path / "run").rglob("*.pkl"))


@pytest.mark.slow
def test_dp_recipe_needs_a_text_budget_and_accounts_for_it(tmp_path: Path) -> None:
    res = invoke("run", _recipe(tmp_path, "privacy: {epsilon: 4}\n"), "--out", tmp_path / "r")
    assert res.exit_code == 2
    assert "text.note.params.epsilon" in res.output
    (tmp_path / "sub").mkdir()
    p = _recipe(tmp_path / "sub", "privacy: {epsilon: 4}\n")
    p.write_text(
        p.read_text().replace("dropout: 0.0}", "dropout: 0.0, epsilon: 2}"), encoding="utf-8"
    )
    res = invoke("run", p, "--out", tmp_path / "r2")
    assert res.exit_code == 0, res.output
    priv = json.loads((tmp_path / "r2" / "report.json").read_text())["privacy"]
    mech = {m["mechanism"]: m for m in priv["mechanisms"]}
    assert 0 < mech["DP-SGD (text)"]["epsilon"] <= 2
    assert priv["epsilon_spent"] <= 4
    assert any("leak guard" in n for n in priv["not_covered"])


def test_unknown_text_column_is_a_recipe_error_with_its_path(tmp_path: Path) -> None:
    p = _recipe(tmp_path)
    p.write_text(p.read_text().replace("  note: {", "  nots: {"), encoding="utf-8")
    res = invoke("run", p, "--out", tmp_path / "r")
    assert res.exit_code == 2
    assert "text.nots: no column 'nots'" in res.output and "did you mean 'note'" in res.output


def test_text_guard_never_keeps_a_copy_of_a_training_text(tmp_path: Path) -> None:
    # six sentences per colour: the model can only reproduce them, so the guard rejects
    # every one, regenerates, and in the end blanks the rows rather than keep a copy
    res = run(load_recipe(_recipe(tmp_path, varied=False)), out=tmp_path / "run")
    train_texts = set(_table(varied=False)["note"])
    assert not res.synthetic["note"].dropna().isin(train_texts).any()
    gen = res.report["text"]["note"]["generation"]
    assert gen["rejected"] > 0 and gen["exhausted"] > 0


def test_sample_from_a_saved_run_writes_text_from_the_text_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(load_recipe(_recipe(tmp_path)), out=tmp_path / "run")
    res = invoke(
        "sample",
        tmp_path / "run" / "model",
        "-n",
        "200",
        "--out",
        tmp_path / "s.csv",
        "--seed",
        "4",
    )
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "s.csv")
    said = df["note"].str.extract(r"\b(red|blue)\b")[0]
    assert said.notna().mean() > 0.5  # the text model's words, not placeholder Latin
    assert (said == df["colour"])[said.notna()].mean() > 0.8
    # streamed in chunks of 64 rows: every chunk's texts are written from its own rows
    monkeypatch.setattr("synthgen.post.SAMPLE_CHUNK_ROWS", 64)
    res = invoke("sample", tmp_path / "run" / "model", "-n", "200", "--out", tmp_path / "c.csv")
    assert res.exit_code == 0, res.output
    chunked = pd.read_csv(tmp_path / "c.csv")
    said = chunked["note"].str.extract(r"\b(red|blue)\b")[0]
    assert len(chunked) == 200 and said.iloc[64:].notna().mean() > 0.5
    assert (said == chunked["colour"])[said.notna()].mean() > 0.8


@pytest.mark.slow
def test_dp_run_with_dp_lora_on_a_pretrained_model_accounts_for_it(tmp_path: Path) -> None:
    pytest.importorskip("peft")
    from tests.unit.text.test_hf_backend import _build

    tiny = _build(tmp_path / "tiny", chat=False)
    _table(n=300).to_csv(tmp_path / "t.csv", index=False)
    lora = "{epochs: 1, r: 2, alpha: 4, lr: 0.01, batch_size: 16, max_length: 40"
    body = (
        "name: notes\nseed: 2\nsource: {path: t.csv}\nprivacy: {epsilon: 4}\n"
        f"text:\n  note: {{backend: hf, condition_on: [colour], params: {{model: '{tiny}', "
        f"chat_template: 'off', max_new_tokens: 16, threads: 1, lora: {lora}}}}}}}\n"
        "validate: {gates: {dcr_share: 1, membership: 1, exact_copies: 1, quality: 0, "
        "column_shapes: 0}}\n"
    )
    res = invoke("run", write_recipe(tmp_path, body), "--out", tmp_path / "r")
    assert res.exit_code == 2 and "params.lora.epsilon" in res.output  # no text budget: refused
    res = invoke(
        "run", write_recipe(tmp_path, body.replace(lora, lora + ", epsilon: 1.5")), "--out",
        tmp_path / "r2",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r2" / "report.json").read_text())
    priv = report["privacy"]
    mech = {m["mechanism"]: m for m in priv["mechanisms"]}
    assert 1.3 < mech["DP-SGD (text)"]["epsilon"] <= 1.5
    assert priv["epsilon_spent"] <= 4
    syn = pd.read_csv(tmp_path / "r2" / "synthetic.csv")
    assert len(syn) > 0 and "note" in syn.columns
