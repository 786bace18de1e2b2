"""A multi-table model's root shards drawn on Ray (``relational.shards``).

The driver draws the shared tables once; the model folder (JSON + safetensors) and the
shared tables go to the workers once; each worker loads the model and draws whole shards
(a root entity and every row under it); the driver takes them back in order and makes their
keys (``KeyWriter``). At most one shard per worker is in flight (Ray's ActorPool), so a
worker's memory is the model, the shared tables and one shard.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthgen.relational.shards import DatasetSampler, Shard


class DatasetWorker:
    """One worker: the relational model unpacked and loaded once, then any number of shards."""

    def __init__(
        self,
        files: dict[str, bytes],
        exclude: dict[str, Any],
        options: dict[str, Any],
        shared: dict[str, Any],
    ) -> None:
        from synthgen.relational.model import RelationalSynthesizer
        from synthgen.scale.ray_engine import unpack_folder

        self._dir = tempfile.TemporaryDirectory(prefix="synthgen-model-")
        m = RelationalSynthesizer.load(unpack_folder(files, Path(self._dir.name)))
        m.exclude_ = exclude  # source values fakes must not take: not part of a saved model
        self.sampler = m.sampler(**options)
        self.shared = shared

    def shard(self, k: int) -> Shard:
        return self.sampler.shard(self.shared, k)

    def peak_rss(self) -> int:
        from synthgen.scale.ray_engine import peak_rss_bytes

        return peak_rss_bytes()


def ray_shards(
    sampler: DatasetSampler,
    options: dict[str, Any],
    shared: dict[str, Any],
    *,
    workers: int | None,
    address: str | None,
    stats: dict[str, Any] | None = None,
) -> Iterator[Shard]:
    """``sampler``'s shards in order, drawn by Ray actors (``options``: the arguments of
    ``RelationalSynthesizer.sampler``). ``stats`` gets each worker's peak memory."""
    from synthgen.scale.ray_engine import actor_pool, connect, pack_folder, worker_count

    ray = connect(address, workers)
    w = worker_count(ray, workers)
    with tempfile.TemporaryDirectory(prefix="synthgen-model-") as tmp:
        files = ray.put(pack_folder(sampler.m.save(Path(tmp) / "model")))
    exclude = ray.put(getattr(sampler.m, "exclude_", {}) or {})
    shared_ref = ray.put(shared)
    actor = ray.remote(num_cpus=1)(DatasetWorker)
    actors = [
        actor.remote(files, exclude, options, shared_ref)
        for _ in range(max(1, min(w, sampler.count)))
    ]
    with actor_pool(ray, actors) as pool:
        yield from pool.map(lambda a, k: a.shard.remote(k), list(range(sampler.count)))
        if stats is not None:
            stats["peak_rss"] = ray.get([a.peak_rss.remote() for a in actors])


def draw_shards(
    sampler: DatasetSampler,
    options: dict[str, Any],
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    stats: dict[str, Any] | None = None,
    progress: bool = False,
) -> Any:
    """For ``shards.sample_tables``: given the shared tables, the shards in order, drawn
    here or on Ray, moving a bar over the root rows when ``progress``."""

    def shards_of(shared: dict[str, Any]) -> Iterator[Shard]:
        from synthgen.progress import chunk_progress

        if engine == "ray":
            it: Iterator[Shard] = ray_shards(
                sampler, options, shared, workers=workers, address=address, stats=stats
            )
        else:
            it = (sampler.shard(shared, k) for k in range(sampler.count))
        size = sampler.shard_rows
        ticks = chunk_progress(range(0, sampler.total, size), sampler.total, size, progress)
        for shard in it:
            next(ticks, None)
            yield shard
        for _ in ticks:  # close the bar
            pass

    return shards_of


def sample_dataset(
    m: Any,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    stats: dict[str, Any] | None = None,
    progress: bool = False,
    **options: Any,
) -> Any:
    """``m.sample(**options)``'s dataset, its shards drawn here or on Ray (the same rows)."""
    from synthgen.relational.shards import sample_tables

    sampler = m.sampler(**options)
    options = options | {"shard_rows": sampler.shard_rows}  # the workers' shards are these
    shards_of = draw_shards(
        sampler, options, engine=engine, workers=workers, address=address, stats=stats,
        progress=progress,
    )  # fmt: skip
    return m.as_dataset(sample_tables(sampler, shards_of))
