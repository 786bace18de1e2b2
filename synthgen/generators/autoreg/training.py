"""Training the network: a fixed one-cycle schedule, the last (annealed) weights kept.

The learning rate warms up over the first ``warmup`` share of the steps, then follows a
cosine to zero; the weights at the end of the schedule are the model (keeping a "best
validation" checkpoint of a one-cycle run picks a mid-schedule, high-rate state, which
measured worse). A share of the rows is held out only to report a validation loss.

``epochs`` fixes the schedule, so a seed gives the same weights; by default it is about
``min_steps`` steps (``schedule_epochs``) and the validation loss may shorten it (see
``fit_network``). With ``time_budget_s`` the
first epoch's time sets how many epochs fit in the budget (the schedule is shortened to
end inside it), and training stops before an epoch that would not fit.

Under DP-SGD (``dp``) every step is a Poisson batch of clipped per-row gradients plus
noise; nothing is held out (the schedule reads no validation rows) and no loss on real rows
is recorded.

Inside ``distributed.training(cluster)`` the same loop runs data-parallel on a Ray cluster
(``scale.ray_train``): every worker runs ``train_network`` with its ``shard`` of each batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from synthgen.generators import distributed
from synthgen.generators.autoreg.network import MaskedNet
from synthgen.generators.nn.ddp import WHOLE, Whole
from synthgen.generators.nn.dpsgd import DPSGD, add_grads

DP_MICRO_BATCH = 64  # rows whose per-row gradients are held at once (fastest measured)


class _RowLoss(nn.Module):
    """The network's mean loss under a fixed column order, as one module (for DP-SGD and
    DistributedDataParallel); with ``scale``: the summed loss times ``scale``."""

    def __init__(self, net: MaskedNet, mask: Tensor) -> None:
        super().__init__()
        self.net = net
        self.mask: Tensor
        self.register_buffer("mask", mask)

    def forward(self, codes: Tensor, scale: float | None = None) -> Tensor:
        if scale is None:
            return self.net.loss(codes, self.net.w1 * self.mask)
        return self.net.loss(codes, self.net.w1 * self.mask, "sum") * scale


def one_cycle(step: int, total: int, warmup: float) -> float:
    """Learning-rate factor: linear warm-up, then a cosine from 1 to 0 at ``total``."""
    w = max(1, int(warmup * total))
    if step < w:
        return (step + 1) / w
    return 0.5 * (1 + math.cos(math.pi * min((step - w) / max(total - w, 1), 1.0)))


def default_epochs(n_rows: int, batch: int, min_steps: int) -> int:
    """Enough epochs for ``min_steps`` steps: 8 on Adult (26k rows), 3 on 100k rows, many on
    small tables (where the validation loss then shortens the schedule)."""
    return max(1, math.ceil(min_steps / max(1, math.ceil(n_rows / batch))))


def schedule_epochs(n_rows: int, batch: int, min_steps: int) -> int:
    """The default schedule: ``min_steps`` steps rounded to the nearest whole epoch (at least
    one), so every row is seen equally often. (Rounding up gave a 90k-row table 3 epochs,
    264 steps, where 2 give the same rows: SDMetrics quality 0.868 both, detection AUC 0.51
    vs 0.50, a third less fitting time; Adult keeps 8 epochs.)"""
    return max(1, round(min_steps / max(1, math.ceil(n_rows / batch))))


def batch_size(n_rows: int, wanted: int) -> int:
    """The batch size asked for, smaller on small tables (at least 4 steps an epoch)."""
    return min(wanted, max(32, n_rows // 4))


def fit_network(
    build: Callable[[], MaskedNet],
    codes: Tensor,
    rank: Tensor,
    p: Any,
    rng: np.random.Generator,
    started: float,
    dp: DPSGD | None = None,
) -> tuple[MaskedNet, list[dict[str, Any]]]:
    """A network from ``build`` trained on ``codes`` (rows, table + context columns) in the
    order ``rank``; ``p``: the generator's params; ``started``: when the fit began.

    With the default schedule (``p.epochs`` None) the validation loss chooses its length: a
    first pass runs the default schedule, and when its validation loss was lowest well before
    the end (the network began to learn the training rows rather than the table; small
    tables do so within a few epochs) a second pass trains a new network on a schedule that
    ends there. Returns the network and the history of every epoch.

    Inside ``distributed.training(cluster)`` the training runs on that Ray cluster,
    data-parallel (DP-SGD too: the noise is added once per step); the network returned
    holds the trained weights."""
    seed = int(rng.integers(2**62))
    on = distributed.cluster()
    if on is not None:
        from synthgen.scale.ray_train import fit_on_ray

        return fit_on_ray(build, codes, rank, p, seed, started, on, dp, rng)
    return train_network(build, codes, rank, p, seed, started, dp, rng)


def train_network(
    build: Callable[[], MaskedNet],
    codes: Tensor,
    rank: Tensor,
    p: Any,
    seed: int,
    started: float,
    dp: DPSGD | None = None,
    rng: np.random.Generator | None = None,
    shard: Whole = WHOLE,
    on_epoch: Callable[[dict[str, Any], int], None] | None = None,
    held: Tensor | None = None,
) -> tuple[MaskedNet, list[dict[str, Any]]]:
    """``fit_network`` given its ``seed``; ``shard``: this process's share of every batch
    (every process of a data-parallel group runs this with the same arguments);
    ``on_epoch(entry, epochs)`` after every epoch, with the pass's planned epochs. A
    ``shard`` that owns its rows (``nn.ddp.EntityShard``) is given only this process's
    training rows (``codes``) and held-out rows (``held``), as ``holdout_split`` cut them."""
    if shard.owns_rows:  # the rows were split and sent out whole: these are this process's
        assert held is not None and dp is None
        rows, val = codes, held
        n_rows, n_val = sum(shard.rows), sum(shard.val)  # type: ignore[attr-defined]
    else:
        train_idx, val_idx = holdout_split(len(codes), p, seed, dp is not None)
        rows, val = codes[train_idx], codes[val_idx]
        n_rows, n_val = len(rows), len(val)
    batch = batch_size(n_rows, p.batch_size)
    per_epoch = dp.steps_per_epoch if dp is not None else math.ceil(n_rows / batch)
    epochs = dp.steps_planned // per_epoch if dp is not None else p.epochs
    epochs = epochs or schedule_epochs(n_rows, batch, p.min_steps)
    run = _Run(rows, val, rank, p, batch, per_epoch, started, dp, rng, shard, on_epoch)
    run.n_rows, run.n_val = n_rows, n_val
    net = build()
    history = run(net, epochs, seed + 1, 1)
    shorter = _best_epoch(history) if p.epochs is None and n_val else None
    if shorter is not None:
        per = history[-1]["seconds"] - history[0]["seconds"]
        fits = (
            p.time_budget_s is None
            or history[-1]["seconds"] + shorter * per / max(len(history) - 1, 1) <= p.time_budget_s
        )
        if fits:
            net = build()
            history += run(net, shorter, seed + 2, 2)
    return net, history


def holdout_split(n: int, p: Any, seed: int, private: bool) -> tuple[Tensor, Tensor]:
    """(training, held-out) row numbers of a fit's ``n`` rows: ``p.validation_share`` held
    out in a seeded order (none under DP, none below 100 rows)."""
    n_val = int(n * p.validation_share) if not private and n >= 100 else 0
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_val:], perm[:n_val]


SHORTER_BY = 0.0025  # a second, shorter pass when the validation loss ended this much above its low


def _best_epoch(history: list[dict[str, Any]]) -> int | None:
    """The epoch the validation loss was lowest at, when the last one ended well above it.
    (A second pass of twice that, at least 8 epochs, learnt more of small tables, quality
    +0.01-0.03, but gave an 800-row table a membership AUC of 0.61: privacy first.)"""
    losses = [h["validation_loss"] for h in history]
    best = int(np.argmin(losses))
    if best + 1 < len(losses) and losses[-1] > losses[best] + SHORTER_BY * abs(losses[best]):
        return best + 1
    return None


class _Run:
    """One pass of the one-cycle schedule over the training rows."""

    def __init__(
        self,
        rows: Tensor,
        val: Tensor,
        rank: Tensor,
        p: Any,
        batch: int,
        per_epoch: int,
        started: float,
        dp: DPSGD | None,
        rng: np.random.Generator | None,
        shard: Whole,
        on_epoch: Callable[[dict[str, Any], int], None] | None,
    ) -> None:
        self.rows, self.val, self.rank, self.p = rows, val, rank, p
        self.batch, self.per_epoch, self.started, self.dp, self.rng = (
            batch, per_epoch, started, dp, rng,
        )  # fmt: skip
        self.shard, self.on_epoch = shard, on_epoch
        self.n_rows, self.n_val = len(rows), len(val)  # over every process

    def __call__(self, net: MaskedNet, epochs: int, seed: int, n: int) -> list[dict[str, Any]]:
        p, dp, rows, shard = self.p, self.dp, self.rows, self.shard
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(net.parameters(), lr=p.lr, fused=True)
        loss_module = _RowLoss(net, net.mask(self.rank))
        model = shard.wrap(loss_module)
        history: list[dict[str, Any]] = []
        step, epoch = 0, 0
        while epoch < epochs:
            net.train()
            total = 0.0
            if shard.owns_rows:
                batches = shard.batches(rows, self.per_epoch, g)  # type: ignore[attr-defined]
            else:
                batches = _batches(rows, self.batch, g, dp, self.rng, self.per_epoch)
            for batch_rows in batches:
                for group in opt.param_groups:
                    group["lr"] = p.lr * one_cycle(step, epochs * self.per_epoch, p.warmup)
                opt.zero_grad(set_to_none=True)
                if dp is None:
                    loss, summed = shard.batch_loss(model, batch_rows)
                    loss.backward()
                    total += summed
                else:
                    grads = dp.private_grads(
                        loss_module, lambda call, x: call(x), shard.part(batch_rows),
                        micro=DP_MICRO_BATCH, shard=shard,
                    )  # fmt: skip
                    add_grads(loss_module, grads)
                    dp.step_done()
                opt.step()
                step += 1
            epoch += 1
            net.eval()
            seconds = shard.clock(time.perf_counter() - self.started)
            entry: dict[str, Any] = {"pass": n, "epoch": epoch, "seconds": round(seconds, 3)}
            if dp is None:
                entry["loss"] = shard.total(total) / max(self.n_rows, 1)
                entry["validation_loss"] = (
                    shard.total(_summed_loss(net, shard.part(self.val), loss_module.mask))
                    / self.n_val
                    if self.n_val
                    else None
                )
            history.append(entry)
            if self.on_epoch is not None:
                self.on_epoch(entry, epochs)
            if p.time_budget_s is not None:
                if epoch == 1 and n == 1:  # the whole schedule inside the budget
                    epochs = max(1, min(epochs, int(p.time_budget_s / seconds)))
                elif seconds * (1 + 1 / epoch) > p.time_budget_s:
                    break
        return history


def _batches(
    rows: Tensor,
    batch: int,
    g: torch.Generator,
    dp: DPSGD | None,
    rng: np.random.Generator | None,
    per_epoch: int,
) -> Any:
    if dp is not None:  # Poisson sampling: every row joins each batch independently
        assert rng is not None
        for _ in range(per_epoch):
            yield rows[torch.from_numpy(dp.batch(rng))]
        return
    order = torch.randperm(len(rows), generator=g)
    for s in range(0, len(rows), batch):
        yield rows[order[s : s + batch]]


@torch.no_grad()
def _summed_loss(net: MaskedNet, codes: Tensor, mask: Tensor) -> float:
    w1m = net.w1 * mask
    return sum(
        (float(net.loss(codes[s : s + 4096], w1m, "sum")) for s in range(0, len(codes), 4096)),
        0.0,
    )
