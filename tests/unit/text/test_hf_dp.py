"""DP-LoRA on a tiny random GPT-2: the hf backend's adapters trained with DP-SGD spend their
budget (and no more), take exactly the planned steps, give the same texts for the same seed,
and read nothing else from the texts (the longest text is a setting, not learnt)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("opacus")

from synthgen.text.dp import default_delta  # noqa: E402
from synthgen.text.hf import HFBackend  # noqa: E402
from synthgen.text.hf_train import LoraParams  # noqa: E402
from tests.unit.text.test_hf_backend import _build  # noqa: E402
from tests.unit.text.test_hf_quality import ROW_PROMPTS, TEXTS  # noqa: E402

N = 10 * len(TEXTS)  # 120 texts


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("tiny-gpt2-dp"), chat=False)


def _dp(tiny: Path, seed: int = 0, **lora: object) -> HFBackend:
    spec = {"epochs": 2, "r": 2, "alpha": 4, "lr": 1e-2, "batch_size": 8, "max_length": 40}
    backend = HFBackend(
        model=str(tiny),
        chat_template="off",
        system_prompt=None,
        instruction="{column} | {prompt}",
        max_new_tokens=None,
        batch_size=4,
        threads=1,
        lora={**spec, "epsilon": 2.0, **lora},
    )
    backend.fit(TEXTS * 10, ROW_PROMPTS * 10, seed=seed)
    return backend


def test_dp_lora_spends_its_budget_over_the_planned_steps_and_reports_it(tiny: Path):
    b = _dp(tiny)
    d = b.describe()
    p = d["privacy"]
    assert 1.8 < p["epsilon_spent"] <= 2.0  # the accountant spends the budget, not a sliver
    assert p["delta"] == pytest.approx(default_delta(N))
    assert p["noise_multiplier"] > 0.3 and p["max_grad_norm"] == 1.0
    assert p["sample_rate"] == pytest.approx(8 / N)
    assert p["steps"] == d["lora_training"]["steps"] == 2 * (N // 8)  # epochs x 1/rate
    assert "adapters" in p["mechanism"] and "privacy" not in d["lora_training"]
    # nothing else learnt from the texts: the longest text is lora.max_length, a setting
    assert d["max_new_tokens_used"] == 40


def test_dp_lora_same_seed_same_adapters_and_texts_after_save_and_load(tiny: Path, tmp_path: Path):
    a, b = _dp(tiny), _dp(tiny)
    out = a.generate(ROW_PROMPTS[:4], seed=3)
    assert b.generate(ROW_PROMPTS[:4], seed=3) == out
    assert _dp(tiny, seed=1).lora_loss_ != a.lora_loss_  # another seed: other noise, batches
    a.save(tmp_path / "m")
    loaded = HFBackend.load(tmp_path / "m")
    assert loaded.generate(ROW_PROMPTS[:4], seed=3) == out
    assert loaded.describe()["privacy"]["epsilon_spent"] == a.describe()["privacy"]["epsilon_spent"]


def test_dp_lora_runs_by_epochs_only():
    with pytest.raises(ValidationError, match="cannot be combined with epsilon"):
        LoraParams(epsilon=1.0, time_budget_s=60)
    with pytest.raises(ValidationError, match="cannot be combined with epsilon"):
        LoraParams(epsilon=1.0, max_train_tokens=1000)
