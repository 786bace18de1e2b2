from __future__ import annotations

import pytest

from synthgen.text.dp import default_delta
from synthgen.text.local import LocalBackend
from tests.unit.text.conftest import TINY, colour_corpus


def test_dp_training_spends_at_most_its_budget_and_reports_it():
    texts, prompts = colour_corpus(160)
    b = LocalBackend(**{**TINY, "epochs": 2, "epsilon": 3.0, "batch_size": 40})
    b.fit(texts, prompts, seed=0)
    d = b.describe()
    p = d["privacy"]
    assert 0 < p["epsilon_spent"] <= 3.0
    assert p["epsilon_spent"] > 2.5  # the accountant spends the budget, not a sliver of it
    assert p["delta"] == pytest.approx(default_delta(d["train_texts"]))
    assert p["noise_multiplier"] > 0.3
    assert p["steps"] == d["steps"] == 2 * 4  # planned: epochs x (1 / sample rate)
    assert d["tokenizer"] == "bytes (no merges)"  # nothing learnt from the data outside DP
    out = b.generate(["colour: red\n"] * 3, seed=0)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)


def test_default_delta_is_below_one_over_n():
    assert default_delta(100) == 1e-5
    assert default_delta(1_000_000) == pytest.approx(1e-7)
