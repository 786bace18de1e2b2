"""Pure chunk functions mapped here or on a Ray cluster: the results come back in the order
of their arguments, so what they make does not depend on where, or on how many workers.

Used where every chunk's values are counted from (seed, row numbers) alone (fixtures): a
chunk computed on any worker is the chunk computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from synthgen.errors import SynthgenError


@dataclass(frozen=True)
class ChunkEngine:
    """Where chunks run: ``local`` (this process) or ``ray`` (``workers`` tasks at once on
    the cluster at ``address``; None: a local cluster)."""

    name: str = "local"
    workers: int | None = None
    address: str | None = None

    def map(self, fn: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> list[Any]:
        if self.name == "local" or len(args) <= 1:
            return [fn(*a) for a in args]
        return _ray_map(fn, args, self.workers, self.address)


LOCAL = ChunkEngine()


def chunk_engine(engine: str | None, workers: int | None, address: str | None) -> ChunkEngine:
    """A ChunkEngine from command-line options; Ray connected now (a missing extra or a bad
    address is an exit-2 error before any work)."""
    from synthgen.scale.engine import check_engine

    check_engine(engine or "local", workers, address)
    if engine in (None, "local"):
        return LOCAL
    from synthgen.scale.ray_engine import connect, worker_count

    ray = connect(address, workers)
    return ChunkEngine("ray", worker_count(ray, workers), address)


def _ray_map(
    fn: Callable[..., Any],
    args: Sequence[tuple[Any, ...]],
    workers: int | None,
    address: str | None,
) -> list[Any]:
    from synthgen.scale.ray_engine import connect, worker_count

    ray = connect(address, workers)
    width = worker_count(ray, workers)
    task = ray.remote(num_cpus=1)(fn)
    out: list[Any] = [None] * len(args)
    pending: dict[Any, int] = {}
    todo = iter(enumerate(args))
    try:
        for i, a in todo:  # at most ``width`` chunks in flight: memory bounded by the workers
            pending[task.remote(*a)] = i
            while len(pending) >= width:
                _collect(ray, pending, out)
        while pending:
            _collect(ray, pending, out)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, SynthgenError):
            raise cause from None
        raise
    return out


def _collect(ray: Any, pending: dict[Any, int], out: list[Any]) -> None:
    done, _ = ray.wait(list(pending), num_returns=1)
    for ref in done:
        out[pending.pop(ref)] = ray.get(ref)
