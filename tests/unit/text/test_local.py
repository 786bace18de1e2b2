from __future__ import annotations

import copy
import json
import pickle

import pytest
import torch

from synthgen.errors import NotFittedError, UsageError
from synthgen.text import load_backend
from synthgen.text.local import LocalBackend
from tests.unit.text.conftest import COLOURS, TINY, colour_corpus


def test_training_lowers_validation_loss_and_learns_the_condition(fitted_local):
    d = fitted_local.describe()
    history = [h["val_loss"] for h in d["history"]]
    assert history[-1] < history[0] * 0.5
    assert d["val_bits_per_token"] == pytest.approx(d["val_loss"] / 0.6931, rel=1e-3)
    prompts = [f"colour: {c}\n" for c in sorted(COLOURS) for _ in range(20)]
    out = fitted_local.generate(prompts, seed=1)
    for k, c in enumerate(sorted(COLOURS)):
        texts = out[20 * k : 20 * (k + 1)]
        own = sum(c in t for t in texts)
        others = sum(o in t for t in texts for o in COLOURS if o != c)
        assert own >= 16, texts  # chance would be about 7 of 20
        assert others <= 4, texts


def test_same_seed_same_texts_other_seed_differs(fitted_local):
    prompts = ["colour: red\n", "colour: blue\n"] * 10
    a = fitted_local.generate(prompts, seed=3)
    assert a == fitted_local.generate(prompts, seed=3)
    assert a != fitted_local.generate(prompts, seed=4)
    assert len(a) == 20


def test_describe_reports_speed_and_sizes(fitted_local):
    fitted_local.generate(["colour: green\n"] * 4, seed=0)
    d = fitted_local.describe()
    assert d["train_tokens_per_s"] > 0 and d["sampling_tokens_per_s"] > 0
    assert d["parameters"] > 10_000 and d["privacy"] is None
    assert d["train_texts"] + d["validation_texts"] == 300
    json.dumps(d)  # JSON-able for the report


def test_save_load_gives_identical_texts_and_runs_no_pickle(fitted_local, tmp_path, monkeypatch):
    fitted_local.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "tokenizer.json",
        "weights.safetensors",
    ]

    def refuse(*a, **k):
        raise AssertionError("loading must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_backend(tmp_path)
    assert isinstance(loaded, LocalBackend)
    prompts = ["colour: red\n", "colour: green\n"] * 5
    assert loaded.generate(prompts, seed=9) == fitted_local.generate(prompts, seed=9)


def test_time_budget_stops_training_early():
    texts, prompts = colour_corpus(200)
    b = LocalBackend(**{**TINY, "epochs": 10_000, "time_budget_s": 2.0})
    b.fit(texts, prompts, seed=0)
    d = b.describe()
    assert d["stopped_by"] == "time_budget"
    assert d["train_seconds"] <= 3.0
    assert d["best_step"] is not None


def test_bad_parameters_are_usage_errors():
    with pytest.raises(UsageError, match="layers"):
        LocalBackend(layers=3)
    with pytest.raises(UsageError, match="epsilon"):
        LocalBackend(epsilon=1.0, time_budget_s=10)
    with pytest.raises(NotFittedError):
        LocalBackend().generate(["x"], seed=0)
    with pytest.raises(UsageError, match="prompts"):
        LocalBackend().fit(["a", "b"], ["p"], seed=0)
    with pytest.raises(UsageError, match="prompt_dropout"):
        LocalBackend(guidance=2.0, prompt_dropout=0.0)


def _own_colour_share(backend: LocalBackend, guidance: float) -> float:
    """Share of texts naming their prompt's colour, sampled at a guidance weight."""
    b = copy.copy(backend)
    b.params = backend.params.model_copy(update={"guidance": guidance})
    prompts = [f"colour: {c}\n" for c in sorted(COLOURS) for _ in range(30)]
    out = b.generate(prompts, seed=3)
    return sum(p.split()[1] in t for p, t in zip(prompts, out, strict=True)) / len(out)


def test_a_retry_samples_with_half_the_guidance_excess(fitted_local):
    """The leak guard's retries (attempt k) draw at guidance 1 + (w - 1) / 2^k: the same texts
    as a backend set to that guidance, and not the first draw's."""
    prompts = [f"colour: {c}\n" for c in sorted(COLOURS)] * 4
    assert fitted_local.params.guidance == 3.0
    first = fitted_local.generate(prompts, seed=5)
    assert fitted_local.generate(prompts, seed=5, attempt=1) != first
    for attempt, weight in ((1, 2.0), (2, 1.5)):
        b = copy.copy(fitted_local)
        b.params = fitted_local.params.model_copy(update={"guidance": weight})
        want = b.generate(prompts, seed=5)
        assert fitted_local.generate(prompts, seed=5, attempt=attempt) == want


def test_prompt_dropout_teaches_a_fields_free_model_that_guidance_can_use(fitted_local):
    """Weight 0 samples the fields-free model (colours at about chance, 1/3); weight 1 the
    plain conditional model; weight 3 follows the fields at least as closely."""
    assert fitted_local.params.prompt_dropout > 0
    free = _own_colour_share(fitted_local, 0.0)
    plain = _own_colour_share(fitted_local, 1.0)
    guided = _own_colour_share(fitted_local, 3.0)
    assert free < 0.6, free
    assert plain > 0.8 and guided >= plain - 0.02 and guided > 0.9, (plain, guided)
