"""The validation pass over tables larger than memory, here or on Ray: the map over every
unit (``scale.exact``), then the reduce over hash ranges (``scale.exact_reduce``).

On Ray one actor per worker reads the units it is given (every worker reads the tables at
the same paths and writes its hash files into the same folder: a shared filesystem, as
for the streamed fit), keeps its own running samples, then reduces the hash ranges it is
given. Counts are whole numbers and samples are bottom-k by per-row keys, so the result is
the same for the local engine and for 1, 2 or 64 workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.progress import Progress
from synthgen.scale.exact import EMPTY, BottomK, Mapper, Plan, UnitSummary, finish_sample
from synthgen.scale.exact_reduce import Counts, Files, hash_files, range_count, reduce_range
from synthgen.scale.ray_engine import peak_rss_bytes
from synthgen.scale.stream_source import StreamSource


class PassWorker(Mapper):
    """A ``Mapper`` that also reduces hash ranges (the Ray actor)."""

    def reduce(self, files: Files, k: int, ranges: int, labels: np.ndarray) -> Counts:
        return reduce_range(files, k, ranges, labels)

    def peak_rss(self) -> int:
        return peak_rss_bytes()


@dataclass
class PassResult:
    rows: dict[str, int]
    cells: dict[str, int]  # checked synthetic column -> present cells
    samples: dict[str, pd.DataFrame]
    counts: Counts
    ranges: int
    peak_rss: list[int] = field(default_factory=list)


def run_pass(
    sources: dict[str, StreamSource],
    plan: Plan,
    spill: Path,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> PassResult:
    """Map every unit of ``sources`` (role -> table), then reduce; ``spill``: an empty
    folder for the hash files (removed by the caller)."""
    units = {role: src.units() for role, src in sources.items()}
    jobs = [(role, u) for role, us in units.items() for u in us]
    if engine != "ray":
        worker = PassWorker(sources, plan, str(spill))
        summaries = [worker.map(r, u) for r, u in _bar("reading", jobs)]
        frames = {role: [worker.sample(role)] for role in sources}
        files, ranges, labels = _plan_reduce(summaries, plan, spill)
        counts = Counts()
        for k in _bar("counting", list(range(ranges))):
            counts.add(worker.reduce(files, k, ranges, labels))
        return _result(summaries, frames, counts, ranges, sources, plan, [peak_rss_bytes()])
    from synthgen.scale.ray_engine import actor_pool, connect, worker_count

    ray = connect(address, workers)
    w = worker_count(ray, workers, say)
    say(f"validating on Ray with {w} worker(s): {len(jobs)} part(s)")
    actor = ray.remote(num_cpus=1)(PassWorker)
    actors = [actor.remote(sources, plan, str(spill)) for _ in range(max(1, min(w, len(jobs))))]
    with actor_pool(ray, actors) as pool:
        summaries = []
        with Progress("validating: reading", len(jobs), unit="part") as bar:
            for s in pool.map_unordered(lambda a, job: a.map.remote(*job), jobs):
                summaries.append(s)
                bar.update(len(summaries))
        frames = {role: ray.get([a.sample.remote(role) for a in actors]) for role in sources}
        files, ranges, labels = _plan_reduce(summaries, plan, spill)
        f_ref, l_ref = ray.put(files), ray.put(labels)  # sent once, not once per range
        counts = Counts()
        with Progress("validating: counting", ranges, unit="range") as bar:
            for done, part in enumerate(
                pool.map_unordered(
                    lambda a, k: a.reduce.remote(f_ref, k, ranges, l_ref), list(range(ranges))
                )
            ):
                counts.add(part)
                bar.update(done + 1)
        peaks = ray.get([a.peak_rss.remote() for a in actors])
    return _result(summaries, frames, counts, ranges, sources, plan, peaks)


def _plan_reduce(
    summaries: list[UnitSummary], plan: Plan, spill: Path
) -> tuple[Files, int, np.ndarray]:
    rows = sum(s.rows for s in summaries)
    per_row = 1 + (len(plan.checked) + len(plan.pii) if plan.pii else 0)
    labels = [s.label_hashes for s in summaries if len(s.label_hashes)]
    found = np.unique(np.concatenate(labels)) if labels else EMPTY
    ordered = sorted(summaries, key=lambda s: (s.role, s.unit.file, s.unit.row_group))
    files = hash_files(spill, ordered, plan.checked, bool(plan.pii))
    return files, range_count(rows * per_row), found


def _result(
    summaries: list[UnitSummary],
    frames: dict[str, list[pd.DataFrame]],
    counts: Counts,
    ranges: int,
    sources: dict[str, StreamSource],
    plan: Plan,
    peaks: list[int],
) -> PassResult:
    rows = {role: 0 for role in sources}
    cells: dict[str, int] = {}
    for s in summaries:
        rows[s.role] += s.rows
        for c, n in s.cells.items():
            cells[c] = cells.get(c, 0) + n
    samples = {}
    for role, parts in frames.items():
        merged = BottomK(plan.sample_rows)
        for p in parts:
            merged.merge(p)
        samples[role] = finish_sample(
            merged.frame(), list(sources[role].columns), sources[role].dtypes
        )
    return PassResult(rows, cells, samples, counts, ranges, peaks)


def _bar(what: str, items: list[Any]) -> Any:
    with Progress(f"validating: {what}", len(items), unit="part") as bar:
        for i, item in enumerate(items):
            yield item
            bar.update(i + 1)
