"""Data-parallel training: one process's share of every global batch.

``WHOLE`` is a single process: every row is its own and every sum is itself. ``DDPShard``
is rank ``r`` of ``W`` processes of a ``torch.distributed`` group (gloo on CPU): every
process draws the same global batches (same seed), cuts each into ``W`` contiguous parts
and takes part ``r``; its loss is its part's *summed* loss times ``W / batch`` and
``DistributedDataParallel`` averages the gradients over the ``W`` processes, so the step is
the single-process mean-loss step on the whole batch, up to the order floats are added in.
Every process then takes the same optimiser step and the weights stay equal.

What the training loop decides from (the epoch's loss, the validation loss, the clock) is
shared: sums are all-reduced (every process gets the same bits) and rank 0's clock is
broadcast, so a time budget or a shorter second pass is decided the same way on each.
Under DP-SGD every process draws the same Poisson batch and clips its share's per-row
gradients; the sums are added up and rank 0 adds the noise once (``noised``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn


class Whole:
    """One process: the whole batch, sums as they are, its own clock."""

    rank, world = 0, 1
    owns_rows = False  # True: each process holds only its own rows (``EntityShard``)

    def part(self, rows: Tensor) -> Tensor:
        return rows

    def wrap(self, module: nn.Module) -> nn.Module:
        return module

    def batch_loss(self, model: nn.Module, rows: Tensor) -> tuple[Tensor, float]:
        """The loss to differentiate and the batch's summed loss (for the epoch's figure)."""
        loss = model(rows)
        return loss, float(loss.detach()) * len(rows)

    def total(self, x: float) -> float:
        return x

    def clock(self, seconds: float) -> float:
        return seconds

    def noised(
        self, summed: dict[str, Tensor], noise: Callable[[Tensor], Tensor]
    ) -> dict[str, Tensor]:
        """DP-SGD's clipped gradient sums, summed over the processes, with the noise added
        once (``noise(g)``: ``g`` plus its draw)."""
        return {k: noise(g) for k, g in summed.items()}

    def add_grads(self, module: nn.Module) -> None:
        """Each parameter's gradient summed over the processes (for a loop that does its
        own backward passes, e.g. a gradient penalty, which DDP's hooks do not follow)."""

    def mean_buffers(self, module: nn.Module) -> None:
        """Float buffers (batch-norm running statistics) averaged over the processes."""

    def agreed(self, x: float | None) -> float | None:
        """Rank 0's value of ``x`` in every process (a decision all must take alike)."""
        return x


WHOLE = Whole()


class DDPShard(Whole):
    """Rank ``rank`` of ``world`` processes of the default ``torch.distributed`` group."""

    def __init__(self, rank: int, world: int) -> None:
        self.rank, self.world = rank, world

    def part(self, rows: Tensor) -> Tensor:
        n = len(rows)
        return rows[n * self.rank // self.world : n * (self.rank + 1) // self.world]

    def wrap(self, module: nn.Module) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        # the buffers (mask, offsets) are equal everywhere: no need to send them each step
        return DistributedDataParallel(module, forward_sync_buffers=False)

    def batch_loss(self, model: nn.Module, rows: Tensor) -> tuple[Tensor, float]:
        loss = model(self.part(rows), self.world / len(rows))
        return loss, float(loss.detach()) * len(rows) / self.world

    def total(self, x: float) -> float:
        import torch.distributed as dist

        t = torch.tensor([x], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t)

    def clock(self, seconds: float) -> float:
        import torch.distributed as dist

        t = torch.tensor([seconds], dtype=torch.float64)
        dist.broadcast(t, 0)
        return float(t)

    def noised(
        self, summed: dict[str, Tensor], noise: Callable[[Tensor], Tensor]
    ) -> dict[str, Tensor]:
        """Every process's clipped sums added up; rank 0 draws the noise (as one process
        would: the same random state) and sends the result, so each takes the same step."""
        import torch.distributed as dist

        out = {}
        for k, g in summed.items():
            g = g.contiguous()
            dist.all_reduce(g)
            if self.rank == 0:
                g = noise(g).contiguous()
            dist.broadcast(g, 0)
            out[k] = g
        return out

    def add_grads(self, module: nn.Module) -> None:
        import torch.distributed as dist

        grads = [q.grad for q in module.parameters() if q.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])  # one message, not one per tensor
        dist.all_reduce(flat)
        at = 0
        for g in grads:
            g.copy_(flat[at : at + g.numel()].view_as(g))
            at += g.numel()

    def mean_buffers(self, module: nn.Module) -> None:
        import torch.distributed as dist

        for b in module.buffers():
            if b.is_floating_point():
                dist.all_reduce(b)
                b.div_(self.world)

    def agreed(self, x: float | None) -> float | None:
        import torch.distributed as dist

        if x is None:
            return None
        t = torch.tensor([x], dtype=torch.float64)
        dist.broadcast(t, 0)
        return float(t)


class EntityShard(DDPShard):
    """Rank ``rank`` of ``world`` processes that each hold only their own rows (a multi-table
    fit sharded by root entity: an entity and all its rows in one process), with
    ``rows[r]`` training and ``val[r]`` held-out rows in process ``r``.

    Every epoch has the single-process number of steps; at each step every process takes
    the next slice of its rows (in its own seeded order), so the step's batch is every
    process's slice together, about the global batch size, each process's rows in
    proportion. A process's loss is its slice's summed loss times ``W / batch`` (the batch
    size is known everywhere from the counts), so DDP's average is the mean over the batch."""

    owns_rows = True

    def __init__(self, rank: int, world: int, rows: list[int], val: list[int]) -> None:
        super().__init__(rank, world)
        self.rows, self.val = list(rows), list(val)
        self.batch_rows = 0  # the current step's rows over every process

    def part(self, rows: Tensor) -> Tensor:
        return rows  # its rows are its share already

    def batches(self, rows: Tensor, steps: int, g: torch.Generator) -> Any:
        """``steps`` slices of this process's ``rows`` in an order drawn from ``g`` (the
        same draw everywhere) and the rank: one slice per step of the epoch."""
        seed = int(torch.randint(2**62, (1,), generator=g)) + self.rank
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
        n = len(rows)
        for s in range(steps):
            self.batch_rows = sum(k * (s + 1) // steps - k * s // steps for k in self.rows)
            yield rows[order[n * s // steps : n * (s + 1) // steps]]

    def batch_loss(self, model: nn.Module, rows: Tensor) -> tuple[Tensor, float]:
        total = max(self.batch_rows, 1)
        loss = model(rows, self.world / total)
        return loss, float(loss.detach()) * total / self.world


def state_arrays(module: nn.Module) -> dict[str, Any]:
    """A module's parameters and buffers as numpy arrays (what travels back to the driver)."""
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
