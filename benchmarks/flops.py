"""Model FLOPs counted from layer shapes, and a same-process matmul probe of the same sizes.

Only linear layers count (they are nearly all the work). Forward = 2*in*out per row; a
backward pass = twice its forward; the WGAN gradient penalty's double backward = four times.
"""

from __future__ import annotations

import time

import torch
from torch import nn


def _linear_flops(module: nn.Module, rows: int) -> float:
    return sum(
        2.0 * m.in_features * m.out_features * rows
        for m in module.modules()
        if isinstance(m, nn.Linear)
    )


def per_epoch(gen, n_rows: int) -> float:  # type: ignore[no-untyped-def]
    p = gen.params
    steps = max(1, n_rows // p.batch_size)
    if gen.name == "ctgan":
        g = _linear_flops(gen.gen_, p.batch_size)
        c = _linear_flops(gen.critic_, p.batch_size // p.pac)
        d_step = g + 3 * 2 * c + 5 * c  # G forward (no grad), critic on fake+real fwd/bwd, penalty
        g_step = 3 * g + 3 * c
        return steps * (p.discriminator_steps * d_step + g_step)
    e = _linear_flops(gen.enc_, p.batch_size)
    d = _linear_flops(gen.dec_, p.batch_size)
    return steps * 3 * (e + d)


def probe(gen, repeats: int = 30) -> float:  # type: ignore[no-untyped-def]
    """GFLOP/s of forward+backward through plain linear layers of the model's shapes."""
    p = gen.params
    mods = (
        [(gen.gen_, p.batch_size), (gen.critic_, p.batch_size // p.pac)]
        if gen.name == "ctgan"
        else [(gen.enc_, p.batch_size), (gen.dec_, p.batch_size)]
    )
    layers = [
        (m.in_features, m.out_features, rows)
        for mod, rows in mods
        for m in mod.modules()
        if isinstance(m, nn.Linear)
    ]
    weights = [torch.randn(i, o, requires_grad=True) for i, o, _ in layers]
    inputs = [torch.randn(r, i) for i, _, r in layers]
    flops = sum(3 * 2.0 * i * o * r for i, o, r in layers)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            for x, w in zip(inputs, weights, strict=True):
                (x @ w).sum().backward()
        best = min(best, (time.perf_counter() - t0) / repeats)
    return flops / best / 1e9
