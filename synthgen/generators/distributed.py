"""Where a torch generator trains: this process (the default) or, inside
``training(cluster)``, data-parallel on a Ray cluster (``synthgen.scale.ray_train``). The
generators that can (``Generator.trains_on_ray``) look at ``cluster()`` when they fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RayCluster:
    """Where to train: ``workers`` Ray Train workers (None: one per cluster CPU) on the
    cluster at ``address`` (None: a local one); ``say`` gets what the driver reports;
    ``stats`` (for the benchmark) gets each worker's CPU seconds and peak memory;
    ``parts`` (a multi-table fit sharded by root entity): each training row's part, an int
    array: worker ``part % workers`` holds the row and no other worker gets it."""

    workers: int | None = None
    address: str | None = None
    say: Callable[[str], None] | None = field(default=None, compare=False)
    stats: dict[str, Any] | None = field(default=None, compare=False)
    parts: Any = field(default=None, compare=False)


_CLUSTER: ContextVar[RayCluster | None] = ContextVar("synthgen_train_cluster", default=None)


@contextmanager
def training(cluster: RayCluster | None) -> Iterator[None]:
    """Inside: torch generators that can train data-parallel do so on ``cluster``."""
    token = _CLUSTER.set(cluster)
    try:
        yield
    finally:
        _CLUSTER.reset(token)


def cluster() -> RayCluster | None:
    """The cluster the current block trains on (None: this process)."""
    return _CLUSTER.get()
