"""The streamed copula fit's two passes on Ray: one actor per worker reads the units it is
given (every worker reads the source at the same path: a shared filesystem), and the driver
reduces. Pass 1: each actor adds its units' counts into one summary, sent once at the end
(whole counts: the merge does not depend on who read what). Pass 2: the driver sends the
marginals once, each unit's sums come back on their own and are added in unit order, so
the model is the same for 1, 2 or 64 workers and the same as the local engine's.
"""

from __future__ import annotations

from typing import Any

from synthgen.progress import Progress
from synthgen.scale.ray_engine import actor_pool, connect, peak_rss_bytes, worker_count
from synthgen.scale.stream_copula import Marginals, Moments, Plan, Summary, marginals
from synthgen.scale.stream_source import StreamSource, Unit


class FitWorker:
    """One worker: pass 1's running summary, then pass 2 given the marginals."""

    def __init__(self, src: StreamSource, plan: Plan) -> None:
        self.src, self.plan = src, plan
        self.summary = Summary(plan)
        self.m: Marginals | None = None

    def add(self, unit: Unit) -> None:
        for df in self.src.batches(unit):
            self.summary.add(df)

    def result(self) -> Summary:
        return self.summary.compact()

    def set_marginals(self, m: Marginals) -> None:
        self.m = m
        self.summary = Summary(self.plan)  # its counts are in the driver now

    def moments(self, i: int, unit: Unit, seed: int) -> tuple[int, Moments]:
        from synthgen.scale.stream_fit import unit_moments

        assert self.m is not None
        return i, unit_moments(self.src, self.plan, self.m, unit, seed)

    def peak_rss(self) -> int:
        return peak_rss_bytes()


def ray_fit(
    src: StreamSource,
    plan: Plan,
    units: list[Unit],
    max_knots: int,
    seed: int,
    workers: int | None,
    address: str | None,
    stats: dict[str, Any] | None = None,
) -> tuple[Summary, Marginals, list[Moments]]:
    """Both passes on the cluster at ``address`` (None: a local one) with ``workers``
    actors; ``stats`` receives each worker's peak memory at the end."""

    ray = connect(address, workers)
    w = worker_count(ray, workers)
    actor = ray.remote(num_cpus=1)(FitWorker)
    actors = [actor.remote(src, plan) for _ in range(max(1, min(w, len(units))))]
    with actor_pool(ray, actors) as pool:
        with Progress("fitting: pass 1 of 2", len(units), unit="part") as bar:
            for done, _ in enumerate(pool.map_unordered(lambda a, u: a.add.remote(u), units)):
                bar.update(done + 1)
        summary = Summary(plan)
        for part in ray.get([a.result.remote() for a in actors]):
            summary.merge(part)
        m = marginals(summary, max_knots)
        ref = ray.put(m)
        ray.get([a.set_marginals.remote(ref) for a in actors])
        got: dict[int, Moments] = {}
        jobs = list(enumerate(units))
        with Progress("fitting: pass 2 of 2", len(units), unit="part") as bar:
            for i, mom in pool.map_unordered(
                lambda a, job: a.moments.remote(job[0], job[1], seed), jobs
            ):
                got[i] = mom
                bar.update(len(got))
        if stats is not None:
            stats["peak_rss"] = ray.get([a.peak_rss.remote() for a in actors])
    return summary, m, [got[i] for i in range(len(units))]
