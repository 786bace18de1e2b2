"""The default text backend: a small GPT trained from scratch on the column, offline.

Each training example is ``BOS prompt SEP text EOS`` with the row's conditioning fields as the
prompt; sampling continues ``BOS prompt SEP`` until EOS. Artifacts: ``config.json``,
``tokenizer.json`` (the tokenizers package's JSON) and ``weights.safetensors`` - no pickle.
With ``epsilon`` set, training is DP-SGD (see :mod:`synthgen.text.dp`) and the tokenizer is
the bare byte alphabet, so nothing about the data escapes the privacy accounting.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthgen.errors import NotFittedError, UsageError
from synthgen.generators.nn.loop import torch_threads
from synthgen.generators.seeding import seeded
from synthgen.io.weights import load_arrays, save_arrays
from synthgen.progress import step_callback
from synthgen.text.gpt import GPT, GPTConfig, SamplingOptions, n_params, sample
from synthgen.text.tokenizer import TextTokenizer
from synthgen.text.train import PlainLoop, Seq, TrainStats, build_sequences, evaluate

FORMAT_VERSION = 1
CACHE_BYTES = 128 * 2**20
MAX_BATCH = 256
SIZES: dict[str, tuple[int, int, int]] = {  # d_model, n_layer, n_head
    "tiny": (128, 2, 4),
    "small": (256, 4, 4),
    "base": (384, 6, 6),
}


class LocalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: Literal["tiny", "small", "base"] = Field("tiny", description="model size preset")
    context: int = Field(256, ge=16, le=4096, description="tokens per example (prompt + text)")
    epochs: int = Field(
        30, ge=1, description="passes over the texts (an upper bound with a budget)"
    )
    time_budget_s: float | None = Field(None, gt=0, description="stop training by this time")
    batch_size: int = Field(16, ge=1, description="texts per step (small: more updates)")
    lr: float = Field(3e-3, gt=0, le=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    temperature: float = Field(0.9, ge=0, le=5, description="0 = greedy")
    top_p: float = Field(0.95, gt=0, le=1)
    prompt_dropout: float = Field(
        0.15, ge=0, lt=1, description="share of examples trained without their fields"
    )
    guidance: float = Field(
        3.0, ge=0, le=10, description="classifier-free guidance at sampling; 1 = off"
    )
    max_new_tokens: int | None = Field(None, ge=1, description="default: fill the context")
    vocab_size: int = Field(2000, ge=300, le=50_000, description="BPE vocabulary (capped by data)")
    validation_share: float = Field(0.05, ge=0, lt=0.5, description="texts held out")
    threads: int = Field(1, ge=1, le=256)
    epsilon: float | None = Field(None, gt=0, description="DP-SGD budget; None = no DP")
    delta: float | None = Field(None, gt=0, lt=1, description="default min(1e-5, 1/(10 n))")
    max_grad_norm: float = Field(1.0, gt=0, description="per-sample clipping bound (DP)")

    @model_validator(mode="after")
    def _guidance_needs_dropout(self) -> LocalParams:
        if self.prompt_dropout == 0 and "guidance" not in self.model_fields_set:
            self.guidance = 1.0  # nothing to guide with: the default falls back to plain
        if self.guidance != 1.0 and self.prompt_dropout == 0:
            raise ValueError(
                "guidance compares each row's prompt with a fields-free one, which the model "
                "only learns with prompt_dropout > 0 (e.g. 0.1)"
            )
        return self

    @model_validator(mode="after")
    def _dp_runs_by_epochs(self) -> LocalParams:
        if self.epsilon is not None and self.time_budget_s is not None:
            raise ValueError(
                "time_budget_s cannot be combined with epsilon: DP-SGD's noise is set in "
                "advance for a planned number of steps; set epochs instead"
            )
        return self


class LocalBackend:
    """Small causal transformer + byte-level BPE, trained on the column itself."""

    name = "local"
    Params = LocalParams  # what a recipe's text.<column>.params are checked against

    def __init__(self, *, progress: bool = False, **params: Any) -> None:
        try:
            self.params = LocalParams(**params)
        except ValueError as err:  # pydantic's ValidationError is a ValueError
            raise UsageError(f"local text backend: {err}") from None
        self.progress = progress

    # ---- training ---------------------------------------------------------------------------
    def fit(self, texts: list[str], prompts: list[str], *, seed: int) -> None:
        if len(texts) != len(prompts):
            raise UsageError(f"{len(texts)} texts but {len(prompts)} prompts")
        if len(texts) < 2:
            raise UsageError("the local text backend needs at least two texts to learn from")
        p = self.params
        rng = np.random.default_rng(seed)
        with torch_threads(p.threads), seeded(seed):
            if p.epsilon is None:
                self.tokenizer_ = TextTokenizer.train([*texts, *prompts], p.vocab_size)
            else:
                self.tokenizer_ = TextTokenizer.bytes_only()
            seqs = self._sequences(texts, prompts)
            train, val = _split(seqs, p.validation_share, rng)
            d_model, n_layer, n_head = SIZES[p.size]
            self.config_ = GPTConfig(
                self.tokenizer_.vocab_size, p.context, d_model, n_layer, n_head, p.dropout
            )
            self.model_ = GPT(self.config_)
            stats = self._train(train, val, rng, seed)
            self.model_.eval()
            val_loss = evaluate(self.model_, val, self.tokenizer_.pad_id)
        self.stats_ = _summary(stats, val_loss, val, self.tokenizer_)
        self.stats_["train_texts"], self.stats_["validation_texts"] = len(train), len(val)
        self.sampling_: dict[str, float] = {"tokens": 0, "seconds": 0.0}

    def _sequences(self, texts: list[str], prompts: list[str]) -> list[Seq]:
        tok = self.tokenizer_
        ids = (tok.bos_id, tok.sep_id, tok.eos_id)
        return build_sequences(
            tok.encode_batch(prompts), tok.encode_batch(texts), ids, self.params.context
        )

    def _train(
        self, train: list[Seq], val: list[Seq], rng: np.random.Generator, seed: int
    ) -> TrainStats:
        cfg = {**self.params.model_dump(), "pad_id": self.tokenizer_.pad_id}
        with step_callback("training text model", self.progress) as bar:
            if self.params.epsilon is None:
                return PlainLoop(self.model_, train, val, cfg).run(rng, bar)
            from synthgen.text.dp import train_dp

            return train_dp(self.model_, train, cfg, seed, bar)

    # ---- sampling ---------------------------------------------------------------------------
    def generate(self, prompts: list[str], *, seed: int, attempt: int = 0) -> list[str]:
        """Texts for ``prompts``. Guidance also pulls texts towards the commonest phrasings,
        which the leak guard may reject as copies; each retry (``attempt`` > 0) halves the
        guidance's excess over 1 (3 -> 2 -> 1.5 -> ...), so a rejected row is redrawn from
        a freer distribution rather than from the same sharp one."""
        self._check_fitted()
        if not prompts:
            return []
        tok, p = self.tokenizer_, self.params
        heads = [
            [tok.bos_id, *ids[: p.context // 2 - 2], tok.sep_id]
            for ids in tok.encode_batch(prompts)
        ]
        opts = SamplingOptions(
            max_new_tokens=p.max_new_tokens or p.context,
            eos_id=tok.eos_id,
            pad_id=tok.pad_id,
            temperature=p.temperature,
            top_p=p.top_p,
            guidance=1.0 + (p.guidance - 1.0) / 2**attempt,
        )
        null = [tok.bos_id, tok.sep_id]
        order = sorted(range(len(heads)), key=lambda i: len(heads[i]))  # similar lengths
        out: list[list[int]] = [[] for _ in heads]
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(seed)
        with torch_threads(p.threads):
            self.model_.eval()
            rows = self._batch_rows()
            for i in range(0, len(order), rows):
                chunk = order[i : i + rows]
                texts = sample(
                    self.model_,
                    [heads[j] for j in chunk],
                    opts,
                    gen,
                    null_prompts=[null] * len(chunk),
                )
                for j, ids in zip(chunk, texts, strict=True):
                    out[j] = ids
        self.sampling_["tokens"] += sum(len(x) for x in out)
        self.sampling_["seconds"] += time.perf_counter() - t0
        return tok.decode_batch(out)

    def _batch_rows(self) -> int:
        """Prompts sampled together: as many as keep the KV cache near CACHE_BYTES (bigger
        batches spread each step's fixed costs; guidance doubles the rows)."""
        c = self.config_
        per_row = (
            2 * c.n_layer * c.context * c.d_model * 4 * (2 if self.params.guidance != 1 else 1)
        )
        return int(min(MAX_BATCH, max(16, CACHE_BYTES // per_row)))

    # ---- persistence and report -------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        self._check_fitted()
        s = self.sampling_
        return {
            "backend": self.name,
            "size": self.params.size,
            "parameters": n_params(self.model_),
            "vocab_size": self.config_.vocab_size,
            "context": self.config_.context,
            "threads": self.params.threads,
            **self.stats_,
            "sampling_tokens_per_s": round(s["tokens"] / s["seconds"], 1) if s["seconds"] else None,
        }

    def save(self, folder: Path) -> None:
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "backend": self.name,
            "format_version": FORMAT_VERSION,
            "params": self.params.model_dump(),
            "gpt": self.config_.to_json(),
            "stats": self.stats_,
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (folder / "tokenizer.json").write_text(self.tokenizer_.to_json(), encoding="utf-8")
        arrays = {k: v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}
        save_arrays(arrays, folder / "weights.safetensors")

    @classmethod
    def load(cls, folder: Path) -> LocalBackend:
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("format_version") != FORMAT_VERSION:
            raise UsageError(
                f"{folder}: text model format {config.get('format_version')!r} "
                f"is not {FORMAT_VERSION}"
            )
        # models saved before prompt dropout existed never saw a fields-free example
        self = cls(**{"prompt_dropout": 0.0, "guidance": 1.0, **config["params"]})
        self.tokenizer_ = TextTokenizer.from_json((folder / "tokenizer.json").read_text("utf-8"))
        self.config_ = GPTConfig(**config["gpt"])
        self.model_ = GPT(self.config_)
        arrays = load_arrays(folder / "weights.safetensors")
        self.model_.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
        self.model_.eval()
        self.stats_ = config["stats"]
        self.sampling_ = {"tokens": 0, "seconds": 0.0}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("the local text backend must be fitted (or loaded) first")


def _split(seqs: list[Seq], share: float, rng: np.random.Generator) -> tuple[list[Seq], list[Seq]]:
    """Hold out ``share`` of the texts (at least 1, at most 500) when there are 20 or more."""
    n_val = 0 if len(seqs) < 20 or share == 0 else min(500, max(1, round(share * len(seqs))))
    order = rng.permutation(len(seqs))
    return [seqs[i] for i in order[n_val:]], [seqs[i] for i in order[:n_val]]


def _summary(
    stats: TrainStats, val_loss: float, val: list[Seq], tok: TextTokenizer
) -> dict[str, Any]:
    val_tokens = sum(len(s) - start for s, start in val)
    val_chars = sum(len(t) for t in tok.decode_batch([s[start:] for s, start in val])) + len(val)
    finite = math.isfinite(val_loss)
    return {
        "tokenizer": "byte-level BPE" if tok.vocab_size > 260 else "bytes (no merges)",
        "steps": stats.steps,
        "epochs": stats.epochs,
        "stopped_by": stats.stopped_by,
        "best_step": stats.best_step,
        "train_seconds": round(stats.seconds, 2),
        "train_tokens_per_s": round(stats.tokens_per_s, 1),
        "val_loss": round(val_loss, 4) if finite else None,
        "val_bits_per_token": round(val_loss / math.log(2), 4) if finite else None,
        "val_bits_per_char": (
            round(val_loss * val_tokens / math.log(2) / val_chars, 4) if finite else None
        ),
        "history": stats.history,
        "privacy": stats.privacy,
    }
