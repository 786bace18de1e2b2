"""A run's rows drawn on Ray (``execution: {engine: ray}``): the fitted model goes to the
workers once (saved: JSON + safetensors), each worker draws whole shards
(``generators.shards.sample_shard``: model rows and side columns), and the driver puts them
in row order. Rules, PII strategies and texts are then applied by the run as always, so the
rows are those of the local engine."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.generators.shards import SHARD_ROWS, join_shards, sample_shard, shard_count


class ModelWorker:
    """One worker: a fitted model unpacked and loaded once."""

    def __init__(self, files: dict[str, bytes]) -> None:
        from synthgen.generators import Generator
        from synthgen.scale.ray_engine import unpack_folder

        self._dir = tempfile.TemporaryDirectory(prefix="synthgen-model-")
        self.gen = Generator.load(unpack_folder(files, Path(self._dir.name)))

    def shard(self, n: int, k: int, options: dict[str, Any]) -> pd.DataFrame:
        return sample_shard(self.gen, n, k, shard_rows=SHARD_ROWS, **options)


def ray_sample(
    gen: Any,
    n: int,
    *,
    seed: int = 0,
    conditions: dict[str, Any] | None = None,
    locale: str = "en_US",
    exclude: dict[str, set[str]] | None = None,
    progress: bool = False,
    workers: int | None = None,
    address: str | None = None,
) -> pd.DataFrame:
    """``gen.sample(n, seed=..., ...)``'s rows, with the shards drawn by Ray workers."""
    from synthgen.progress import chunk_progress
    from synthgen.scale.ray_engine import actor_pool, connect, pack_folder, worker_count

    ray = connect(address, workers)
    w = worker_count(ray, workers)
    count = shard_count(n, SHARD_ROWS)
    with tempfile.TemporaryDirectory(prefix="synthgen-model-") as tmp:
        files = ray.put(pack_folder(gen.save(Path(tmp) / "model")))
    options = ray.put(
        {"seed": seed, "conditions": conditions, "locale": locale, "exclude": exclude or {}}
    )
    actor = ray.remote(num_cpus=1)(ModelWorker)
    actors = [actor.remote(files) for _ in range(max(1, min(w, count)))]
    with actor_pool(ray, actors) as pool:
        # in order: the run holds its rows in memory anyway; at most one shard per worker waits
        done = pool.map(lambda a, k: a.shard.remote(n, k, options), list(range(count)))
        ticks = iter(chunk_progress(range(0, n, SHARD_ROWS), n, SHARD_ROWS, progress))
        parts = []
        for part in done:
            next(ticks, None)
            parts.append(part)
        for _ in ticks:
            pass
        return join_shards(gen, parts)
