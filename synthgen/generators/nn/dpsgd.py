"""DP-SGD for the modules that touch real rows: Poisson-sampled batches, per-row gradients
clipped to a norm, Gaussian noise, and opacus' RDP accountant to choose the noise for the
budget (the run's ledger composes it with everything else it spent).

Per-row gradients come from ``torch.func`` (vmap over grad) rather than opacus' module hooks:
a GAN critic's loss mixes real rows (private, clipped) with generated ones (public, not
clipped) and a gradient penalty that differentiates twice, which the hooks cannot separate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from synthgen.generators.nn.ddp import WHOLE, Whole
from synthgen.privacy.accounting import PrivacyLedger, SGDRun

DP_TARGET_NOISE = 2.0  # noise multiplier the default DP epochs stop at
DP_TARGET_SECONDS = 180.0  # DP-SGD time the default epochs aim at (one core)


def default_epochs(
    n_rows: int, batch_size: int, ledger: PrivacyLedger, seconds_per_row: float, most: int
) -> int:
    """Epochs for a DP run whose recipe sets none: the most (up to ``most``) that keep the
    noise multiplier at or below DP_TARGET_NOISE and DP-SGD near DP_TARGET_SECONDS on one
    core, at least one. Past that noise, more epochs buy little (under a fixed budget the
    noise grows with the square root of the steps) and cost minutes each."""
    sample_rate = min(1.0, batch_size / n_rows)
    per_epoch = max(1, math.ceil(n_rows / batch_size))
    by_time = int(DP_TARGET_SECONDS / max(seconds_per_row * n_rows, 1e-9))
    hi = max(1, min(most, by_time))

    def quiet_enough(epochs: int) -> bool:  # would that many steps fit at the target noise?
        return ledger.fits(run=SGDRun(DP_TARGET_NOISE, sample_rate, epochs * per_epoch))

    if quiet_enough(hi):
        return hi
    lo = 1  # the answer is in [lo, hi): noise grows with the epochs
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if quiet_enough(mid) else (lo, mid)
    return lo


class DPSGD:
    """The training loop's DP-SGD: the noise multiplier is the smallest that keeps the run's
    whole ledger (what was already spent, plus every planned step) within its budget."""

    def __init__(
        self,
        n_rows: int,
        batch_size: int,
        epochs: int,
        ledger: PrivacyLedger,
        max_grad_norm: float,
    ) -> None:
        self.n_rows = n_rows
        self.epochs = epochs
        self.sample_rate = min(1.0, batch_size / n_rows)
        self.steps_per_epoch = max(1, math.ceil(n_rows / batch_size))
        self.steps_planned = epochs * self.steps_per_epoch
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = ledger.sgd_noise(self.sample_rate, self.steps_planned)
        self.steps_done = 0

    @property
    def expected_batch(self) -> float:
        return self.sample_rate * self.n_rows

    def batch(self, rng: np.random.Generator) -> np.ndarray:
        """Poisson sampling: every row joins independently with the sample rate."""
        return np.nonzero(rng.random(self.n_rows) < self.sample_rate)[0]

    def private_grads(
        self,
        module: nn.Module,
        loss_one: Callable[..., Tensor],
        *rows: Tensor,
        micro: int | None = None,
        shard: Whole = WHOLE,
    ) -> dict[str, Tensor]:
        """Sum of per-row gradients of ``loss_one(call, *row)`` clipped to the norm, plus
        N(0, (noise * norm)^2), over the expected batch size. ``call(x)`` runs ``module``.
        ``micro``: per-row gradients of at most that many rows at a time (memory: rows x
        parameters), summed before the noise is added once. ``shard``: data-parallel, the
        rows are this process's share; the sums are added up over the processes first."""
        params = {k: v.detach() for k, v in module.named_parameters() if v.requires_grad}
        buffers = {k: v.detach() for k, v in module.named_buffers()}
        clip, sigma = self.max_grad_norm, self.noise_multiplier * self.max_grad_norm

        def one(p: dict[str, Tensor], *xs: Tensor) -> Tensor:
            def call(inp: Tensor) -> Tensor:
                out: Tensor = functional_call(module, (p, buffers), (inp,))
                return out

            return loss_one(call, *[x.unsqueeze(0) for x in xs])

        per_row = vmap(grad(one), in_dims=(None, *[0] * len(rows)), randomness="different")
        summed = {k: torch.zeros_like(v) for k, v in params.items()}
        step = micro or max(len(rows[0]), 1)
        for i in range(0, len(rows[0]), step):
            per = per_row(params, *[r[i : i + step] for r in rows])
            norms = torch.sqrt(sum(g.reshape(len(g), -1).pow(2).sum(1) for g in per.values()))
            scale = (clip / (norms + 1e-12)).clamp(max=1.0)
            for k, g in per.items():
                summed[k] += torch.einsum("b,b...->...", scale, g)
        noisy = shard.noised(summed, lambda g: g + torch.randn_like(g) * sigma)
        return {k: g / self.expected_batch for k, g in noisy.items()}

    def step_done(self) -> None:
        self.steps_done += 1

    def describe(self) -> dict[str, Any]:
        """What the report shows beside the ledger's (noise multiplier, sample rate, steps)."""
        return {
            "epochs": self.epochs,
            "steps_planned": self.steps_planned,
            "max_grad_norm": self.max_grad_norm,
            "accountant": "the run's ledger (PRV, composed with the Gaussian releases)",
        }


def add_grads(module: nn.Module, grads: dict[str, Tensor]) -> None:
    """Add ``grads`` (by parameter name) to whatever ``.grad`` already holds."""
    for name, p in module.named_parameters():
        if name in grads:
            p.grad = grads[name] if p.grad is None else p.grad + grads[name]
