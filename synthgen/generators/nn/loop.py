"""Training-loop helpers: thread count, time budget, best checkpoint, cheap validation."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgen.stats import ks_complement, tv_complement


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (None: as they are); small models on 2 cores are
    fastest and steadiest at 1."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def marginal_score(real: pd.DataFrame, synth: pd.DataFrame) -> float:
    """Mean KS / TV complement over columns of two model frames: a cheap checkpoint score."""
    scores = []
    for c in real.columns:
        if real[c].dtype.kind == "f":
            scores.append(ks_complement(real[c].to_numpy(float), synth[c].to_numpy(float)))
        else:
            scores.append(tv_complement(_as_text(real[c]), _as_text(synth[c])))
    return float(np.mean(scores)) if scores else 0.0


def _as_text(s: pd.Series) -> pd.Series:
    """Labels as strings, missing as "None" whether held as None, NaN or a Categorical NA."""
    return s.astype(object).fillna("None").astype(str)


class Trainer:
    """Decides when to stop and remembers the best weights when a budget or patience is set.

    With ``tolerance`` the weights kept are the latest whose score is within ``tolerance`` of
    the best so far: a score of marginals alone can peak in the first epochs, before the
    model has learnt how columns depend on each other, and later epochs that are as good
    within the score's noise are the better model."""

    def __init__(
        self,
        epochs: int,
        time_budget_s: float | None,
        patience: int | None,
        tolerance: float = 0.0,
        shared_clock: Any = None,
    ) -> None:
        """``shared_clock`` (data-parallel training: ``nn.ddp.DDPShard.clock``): makes every
        process read the same elapsed time, so a time budget stops them all at once."""
        self.shared_clock = shared_clock
        self.epochs = epochs
        self.budget = time_budget_s
        self.patience = patience
        self.tolerance = tolerance
        self.start = time.perf_counter()
        self.best_score = -np.inf
        self.best_state: dict[str, Any] | None = None
        self.since_best = 0
        self.history: list[dict[str, float]] = []

    @property
    def evaluates(self) -> bool:
        return self.budget is not None or self.patience is not None

    def elapsed(self) -> float:
        seconds = time.perf_counter() - self.start
        return seconds if self.shared_clock is None else float(self.shared_clock(seconds))

    def keep_going(self, epoch: int) -> bool:
        """Another epoch? Not past ``epochs``, not past the budget, not out of patience."""
        if epoch >= self.epochs:
            return False
        if self.budget is not None and epoch and self.elapsed() * (1 + 1 / epoch) > self.budget:
            return False
        return not (self.patience is not None and self.since_best >= self.patience)

    def record(
        self, epoch: int, loss: float, score: float | None, modules: dict[str, torch.nn.Module]
    ) -> None:
        entry = {"epoch": epoch, "loss": loss, "seconds": round(self.elapsed(), 3)}
        if score is not None:
            entry["score"] = score
            if score > self.best_score:
                self.best_score, self.since_best = score, 0
            else:
                self.since_best += 1
            if score >= self.best_score - self.tolerance:
                self.best_state = {k: copy.deepcopy(m.state_dict()) for k, m in modules.items()}
        self.history.append(entry)

    def restore_best(self, modules: dict[str, torch.nn.Module]) -> None:
        if self.best_state is not None:
            for k, m in modules.items():
                m.load_state_dict(self.best_state[k])
