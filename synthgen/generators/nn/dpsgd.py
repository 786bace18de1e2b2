"""DP-SGD for the modules that touch real rows: Poisson-sampled batches, per-row gradients
clipped to a norm, Gaussian noise, and opacus' RDP accountant to choose the noise for the
budget and to say what was spent.

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

from synthgen.errors import PrivacyBudgetError

# RDP orders: opacus' defaults plus larger ones, which short, low-noise runs need
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 128, 256, 512]


class DPSGD:
    def __init__(
        self,
        n_rows: int,
        batch_size: int,
        epochs: int,
        epsilon: float,
        delta: float,
        max_grad_norm: float,
    ) -> None:
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier

        self.n_rows = n_rows
        self.sample_rate = min(1.0, batch_size / n_rows)
        self.steps_per_epoch = max(1, math.ceil(n_rows / batch_size))
        self.steps_planned = epochs * self.steps_per_epoch
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        try:
            self.noise_multiplier = float(
                get_noise_multiplier(
                    target_epsilon=epsilon,
                    target_delta=delta,
                    sample_rate=self.sample_rate,
                    steps=self.steps_planned,
                    accountant="rdp",
                    alphas=ALPHAS,
                )
            )
        except ValueError:
            raise PrivacyBudgetError(
                f"epsilon {epsilon:.3g} is too small for {self.steps_planned} training steps",
                hint="raise epsilon, or lower epochs / batch_size",
            ) from None
        self.accountant = RDPAccountant()
        self.steps_done = 0

    @property
    def expected_batch(self) -> float:
        return self.sample_rate * self.n_rows

    def batch(self, rng: np.random.Generator) -> np.ndarray:
        """Poisson sampling: every row joins independently with the sample rate."""
        return np.nonzero(rng.random(self.n_rows) < self.sample_rate)[0]

    def private_grads(
        self, module: nn.Module, loss_one: Callable[..., Tensor], *rows: Tensor
    ) -> dict[str, Tensor]:
        """Sum of per-row gradients of ``loss_one(call, *row)`` clipped to the norm, plus
        N(0, (noise * norm)^2), over the expected batch size. ``call(x)`` runs ``module``."""
        params = {k: v.detach() for k, v in module.named_parameters() if v.requires_grad}
        buffers = {k: v.detach() for k, v in module.named_buffers()}
        clip, sigma = self.max_grad_norm, self.noise_multiplier * self.max_grad_norm
        if len(rows[0]):

            def one(p: dict[str, Tensor], *xs: Tensor) -> Tensor:
                def call(inp: Tensor) -> Tensor:
                    out: Tensor = functional_call(module, (p, buffers), (inp,))
                    return out

                return loss_one(call, *[x.unsqueeze(0) for x in xs])

            per = vmap(grad(one), in_dims=(None, *[0] * len(rows)), randomness="different")(
                params, *rows
            )
            norms = torch.sqrt(sum(g.reshape(len(g), -1).pow(2).sum(1) for g in per.values()))
            scale = (clip / (norms + 1e-12)).clamp(max=1.0)
            summed = {k: torch.einsum("b,b...->...", scale, g) for k, g in per.items()}
        else:
            summed = {k: torch.zeros_like(v) for k, v in params.items()}
        return {
            k: (g + torch.randn_like(g) * sigma) / self.expected_batch for k, g in summed.items()
        }

    def step_done(self) -> None:
        self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
        self.steps_done += 1

    def spent(self) -> float:
        if not self.steps_done:
            return 0.0
        return float(self.accountant.get_epsilon(self.delta, alphas=ALPHAS))

    def describe(self) -> dict[str, Any]:
        return {
            "noise_multiplier": round(self.noise_multiplier, 5),
            "sample_rate": round(self.sample_rate, 6),
            "steps": self.steps_done,
            "steps_planned": self.steps_planned,
            "max_grad_norm": self.max_grad_norm,
            "accountant": "opacus RDP",
        }


def add_grads(module: nn.Module, grads: dict[str, Tensor]) -> None:
    """Add ``grads`` (by parameter name) to whatever ``.grad`` already holds."""
    for name, p in module.named_parameters():
        if name in grads:
            p.grad = grads[name] if p.grad is None else p.grad + grads[name]
