"""A streamed fit's passes on Ray: one actor per worker reads the units it is given (every
worker reads the source at the same path: a shared filesystem), and the driver reduces.
A count pass: each actor folds its units into its own copy of the empty accumulator, sent
back once at the end, and the driver adds them up (whole counts: the result does not depend
on who read what). A moments pass: the scorer is sent once, each unit's sums come back on
their own, in unit order, so the model is the same for 1, 2 or 64 workers and the same as
the local engine's (``passes.LocalPasses``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from synthgen.progress import Progress
from synthgen.scale.passes import A, Scorer
from synthgen.scale.ray_engine import actor_pool, connect, peak_rss_bytes, worker_count
from synthgen.scale.stream_copula import Moments
from synthgen.scale.stream_source import StreamSource, Unit


class FitWorker:
    """One worker: a count pass's accumulator, or a moments pass's scorer."""

    def __init__(self, src: StreamSource) -> None:
        self.src = src
        self.acc: Any = None
        self.scorer: Scorer | None = None

    def begin(self, acc: Any) -> None:
        self.acc = acc

    def add(self, unit: Unit) -> None:
        for df in self.src.batches(unit):
            self.acc.add(df)

    def result(self) -> Any:
        acc, self.acc = self.acc, None  # its counts are the driver's now
        return acc.compact()

    def set_scorer(self, scorer: Scorer) -> None:
        self.scorer = scorer

    def moments(self, i: int, unit: Unit, seed: int) -> tuple[int, Moments]:
        from synthgen.scale.passes import unit_moments

        assert self.scorer is not None
        return i, unit_moments(self.src, self.scorer, unit, seed)

    def peak_rss(self) -> int:
        return peak_rss_bytes()


class RayPasses:
    """The passes on the cluster's actors (see the module's docstring)."""

    def __init__(self, ray: Any, actors: list[Any], pool: Any, units: list[Unit]) -> None:
        self.ray, self.actors, self.pool, self.units = ray, actors, pool, units

    def count(self, acc: A, what: str) -> A:
        empty = copy.deepcopy(acc)
        self.ray.get([a.begin.remote(empty) for a in self.actors])
        with Progress(f"fitting: {what}", len(self.units), unit="part") as bar:
            add = self.pool.map_unordered(lambda a, u: a.add.remote(u), self.units)
            for done, _ in enumerate(add):
                bar.update(done + 1)
        for part in self.ray.get([a.result.remote() for a in self.actors]):
            acc.merge(part)
        out: A = acc.compact()
        return out

    def moments(self, scorer: Scorer, seed: int, what: str) -> list[Moments]:
        ref = self.ray.put(scorer)
        self.ray.get([a.set_scorer.remote(ref) for a in self.actors])
        got: dict[int, Moments] = {}
        jobs = list(enumerate(self.units))
        with Progress(f"fitting: {what}", len(self.units), unit="part") as bar:
            for i, mom in self.pool.map_unordered(
                lambda a, job: a.moments.remote(job[0], job[1], seed), jobs
            ):
                got[i] = mom
                bar.update(len(got))
        return [got[i] for i in range(len(self.units))]


@contextmanager
def ray_passes(
    src: StreamSource,
    units: list[Unit],
    workers: int | None,
    address: str | None,
    stats: dict[str, Any] | None = None,
) -> Iterator[RayPasses]:
    """Passes on the cluster at ``address`` (None: a local one) with ``workers`` actors;
    ``stats`` receives each worker's peak memory at the end."""
    ray = connect(address, workers)
    w = worker_count(ray, workers)
    actor = ray.remote(num_cpus=1)(FitWorker)
    actors = [actor.remote(src) for _ in range(max(1, min(w, len(units))))]
    with actor_pool(ray, actors) as pool:
        yield RayPasses(ray, actors, pool, units)
        if stats is not None:
            stats["peak_rss"] = ray.get([a.peak_rss.remote() for a in actors])
