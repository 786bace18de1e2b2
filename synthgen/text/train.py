"""Training the tiny GPT on ``BOS prompt SEP text EOS``: plain (time budget, best checkpoint)
or DP-SGD through opacus (fixed number of steps, noise chosen by the accountant up front).

The loss covers only the text tokens and EOS: the prompt is given, not generated.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from synthgen.text.gpt import GPT

Seq = tuple[list[int], int]  # token ids, index of the first token the loss covers


@dataclass
class TrainStats:
    steps: int = 0
    epochs: float = 0.0
    tokens: int = 0
    seconds: float = 0.0
    stopped_by: str = "epochs"
    best_step: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    privacy: dict[str, Any] | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def build_sequences(
    prompts: list[list[int]], texts: list[list[int]], ids: tuple[int, int, int], context: int
) -> list[Seq]:
    """``BOS prompt SEP text EOS`` cut to ``context``; a prompt keeps at most half of it."""
    bos, sep, eos = ids
    out = []
    for p, t in zip(prompts, texts, strict=True):
        head = [bos, *p[: context // 2 - 2], sep]
        out.append(([*head, *t, eos][:context], len(head)))
    return out


def without_prompt(seq: Seq) -> Seq:
    """``BOS SEP text EOS``: the same example with its fields left out (the null prompt that
    classifier-free guidance compares against)."""
    ids, start = seq
    return [ids[0], *ids[start - 1 :]], 2


class PromptDropout:
    """Leaves out the prompt of each example with probability ``p``, so one model learns both
    the conditional and the fields-free distribution (needed for guidance at sampling)."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.p, self.rng = p, rng

    def __call__(self, batch: list[Seq]) -> list[Seq]:
        if self.p <= 0:
            return batch
        drop = self.rng.random(len(batch)) < self.p
        return [without_prompt(s) if d else s for s, d in zip(batch, drop, strict=True)]


def pad_batch(seqs: list[Seq], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids ``(B, T)`` and the loss mask over targets ``(B, T - 1)``."""
    width = max((len(s) for s, _ in seqs), default=2)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width - 1), dtype=torch.bool)
    for i, (s, start) in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, start - 1 : len(s) - 1] = True
    return ids, mask


def token_losses(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per target position ``(B, T - 1)``, zero where the mask is off."""
    logits, _ = model(ids[:, :-1])
    ce = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    return ce * mask


def length_batches(seqs: list[Seq], size: int, rng: np.random.Generator) -> Iterator[list[Seq]]:
    """Shuffled batches of similar length (little padding), in shuffled order."""
    order = rng.permutation(len(seqs))
    pool = size * 32
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: len(seqs[j][0]))
        batches += [chunk[k : k + size] for k in range(0, len(chunk), size)]
    for b in rng.permutation(len(batches)):
        yield [seqs[j] for j in batches[b]]


@torch.no_grad()
def evaluate(model: GPT, seqs: list[Seq], pad_id: int, batch: int = 64) -> float:
    """Mean nats per target token over ``seqs`` (eval mode, restored after)."""
    if not seqs:
        return float("nan")
    was = model.training
    model.eval()
    total, count = 0.0, 0
    ordered = sorted(seqs, key=lambda s: len(s[0]))
    for i in range(0, len(ordered), batch):
        ids, mask = pad_batch(ordered[i : i + batch], pad_id)
        total += float(token_losses(model, ids, mask).sum())
        count += int(mask.sum())
    model.train(was)
    return total / max(count, 1)


def lr_at(progress: float, lr: float, warmup: float = 0.05) -> float:
    """Linear warm-up, then cosine decay to a tenth; ``progress`` in [0, 1]."""
    if progress < warmup:
        return lr * max(progress / warmup, 0.02)
    x = min(1.0, (progress - warmup) / (1 - warmup))
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * x)))


class Budget:
    """Wall clock against an optional budget; predicts whether one more unit of work fits."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fits(self, more: float) -> bool:
        return self.seconds is None or self.elapsed() + more <= self.seconds

    def fraction(self) -> float:
        return 0.0 if self.seconds is None else min(1.0, self.elapsed() / self.seconds)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


class PlainLoop:
    """AdamW for ``epochs`` or until ``time_budget_s``, keeping the weights with the best
    validation loss (checked each epoch, or about eight times per time budget)."""

    def __init__(self, model: GPT, train: list[Seq], val: list[Seq], cfg: dict[str, Any]) -> None:
        self.model, self.train, self.val, self.cfg = model, train, val, cfg
        self.opt = torch.optim.AdamW(
            model.parameters(), lr=cfg["lr"], betas=(0.9, 0.95), weight_decay=0.01
        )
        self.per_epoch = math.ceil(len(train) / cfg["batch_size"])
        self.planned = cfg["epochs"] * self.per_epoch
        self.clock, self.stats = Budget(cfg["time_budget_s"]), TrainStats()
        self.best = math.inf
        self.best_state: dict[str, Any] | None = None
        self.step_s = self.eval_s = 0.0
        self.eval_every = self.per_epoch
        self.last_eval = 0

    def run(self, rng: np.random.Generator, progress: Any = None) -> TrainStats:
        self.model.train()
        self.dropout = PromptDropout(self.cfg.get("prompt_dropout", 0.0), rng)
        while self.stats.steps < self.planned and self.stats.stopped_by == "epochs":
            for batch in length_batches(self.train, self.cfg["batch_size"], rng):
                if self.stats.steps >= self.planned:
                    break
                if not self.clock.fits(self.step_s * 1.5 + self.eval_s):
                    self.stats.stopped_by = "time_budget"
                    break
                loss = self.step(batch)
                if self.stats.steps % self.eval_every == 0:
                    self.checkpoint(loss)
                if progress is not None:
                    progress(self.stats.steps, self.planned)
        if self.last_eval < self.stats.steps:
            self.checkpoint(float("nan"))
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.stats.epochs = round(self.stats.steps / self.per_epoch, 3)
        self.stats.seconds = self.clock.elapsed()
        return self.stats

    def step(self, batch: list[Seq]) -> float:
        t0 = time.perf_counter()
        st = self.stats
        set_lr(self.opt, lr_at(max(st.steps / self.planned, self.clock.fraction()), self.cfg["lr"]))
        ids, mask = pad_batch(self.dropout(batch), self.cfg["pad_id"])
        loss = token_losses(self.model, ids, mask).sum() / mask.sum().clamp(min=1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        st.steps += 1
        st.tokens += sum(len(s) for s, _ in batch)
        took = time.perf_counter() - t0
        self.step_s = 0.9 * self.step_s + 0.1 * took if self.step_s else took
        if st.steps == 3 and self.clock.seconds is not None:
            fits = int(self.clock.seconds / 8 / max(self.step_s, 1e-6))
            self.eval_every = max(1, min(self.per_epoch, fits))
        return loss.item()

    def checkpoint(self, train_loss: float) -> None:
        t0 = time.perf_counter()
        v = evaluate(self.model, self.val, self.cfg["pad_id"])
        self.eval_s = time.perf_counter() - t0
        self.last_eval = self.stats.steps
        self.stats.history.append(
            {
                "step": self.stats.steps,
                "train_loss": round(train_loss, 4),
                "val_loss": round(v, 4),
                "seconds": round(self.clock.elapsed(), 2),
            }
        )
        if self.val and v < self.best:
            self.best, self.stats.best_step = v, self.stats.steps
            self.best_state = copy.deepcopy(self.model.state_dict())
