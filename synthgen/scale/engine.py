"""`synthgen sample ... --out folder/ [--engine ray]`: a model's shards into a dataset folder."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from synthgen import logs
from synthgen.errors import UsageError
from synthgen.generators.shards import SHARD_ROWS, shard_count

ENGINES = ("local", "ray")


def check_engine(engine: str, workers: int | None, address: str | None) -> None:
    """Options that only Ray takes are refused for the local engine, saying so."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine '{engine}'", hint="use local or ray")
    if engine == "local" and (workers is not None or address is not None):
        raise UsageError("--workers and --address are for the Ray engine", hint="add --engine ray")
    if workers is not None and workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")


def sample_to_dataset(
    model_dir: Path,
    n: int,
    out: Path,
    *,
    seed: int = 0,
    conditions: dict[str, Any] | None = None,
    remote: Any = None,
    no_text: bool = False,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    say: Callable[[str], None] = logs.say,
    stats: dict[str, Any] | None = None,
    shard_rows: int = SHARD_ROWS,
) -> dict[str, Any]:
    """``n`` rows of a saved model as a Parquet dataset folder ``out`` (see
    ``scale.dataset``), made shard by shard here or on Ray; returns the manifest. The
    files are the same bytes whichever engine or worker count made them (for one
    ``shard_rows``: the shard size is part of what the rows are drawn from)."""
    from synthgen.generators.memory import check_disk
    from synthgen.io.atomic import check_replaceable
    from synthgen.progress import chunk_progress
    from synthgen.scale.dataset import write_dataset
    from synthgen.scale.sampler import ShardSampler

    check_engine(engine, workers, address)
    check_replaceable(out, "dataset folder")  # before any work
    if engine == "ray":
        from synthgen.scale.ray_engine import connect, worker_count

        ray = connect(address, workers)  # Ray missing or a bad address: said before any work
        workers = worker_count(ray, workers, say)
    options: dict[str, Any] = {
        "seed": seed,
        "conditions": conditions,
        "no_text": no_text,
        "shard_rows": shard_rows,
    }
    local = ShardSampler(model_dir, n, remote=remote, **options)  # checks the model folder
    check_disk(n, local.gen.schema_, Path(out).absolute().parent)
    for column in local.texts:
        say(f"writing text column '{column}'")
    count = shard_count(n, shard_rows)
    if engine == "ray":
        from synthgen.scale.ray_engine import ray_parts

        w = int(workers or 1)
        say(f"sampling {count} shard(s) on Ray with {w} worker(s)")
        parts: Iterator[tuple[int, int, bytes]] = ray_parts(
            Path(model_dir), n, count, workers=w, address=address, options=options, stats=stats
        )
    else:
        parts = (local.part(k) for k in range(count))
    ticks = iter(chunk_progress(range(0, n, shard_rows), n, shard_rows, True))
    timing = stats if stats is not None else {}
    return write_dataset(
        Path(out), n, _ticking(parts, ticks, timing), seed=seed, shard_rows=shard_rows
    )


def _ticking(parts: Iterator[Any], ticks: Iterator[int], timing: dict[str, Any]) -> Iterator[Any]:
    """The parts, moving the progress bar; ``timing`` gets the seconds to the first part
    (loading, starting workers) and to the last."""
    t0 = time.perf_counter()
    for part in parts:
        timing.setdefault("first_part_s", time.perf_counter() - t0)
        next(ticks, None)
        yield part
    timing["all_parts_s"] = time.perf_counter() - t0
    for _ in ticks:  # close the bar
        pass
