"""Shards on a Ray cluster: one actor per worker loads the model once and makes Parquet
parts; the driver writes them into the dataset folder as they come back.

The model folder travels as bytes (JSON and safetensors; a worker writes it to its own temp
folder and loads it, which runs no code), and parts come back through Ray's object store,
so workers need no filesystem shared with the driver. At most one part per worker is in
flight, so the driver's memory does not grow with ``n``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthgen.errors import SynthgenError, UsageError
from synthgen.registry import require

MAX_MODEL_BYTES = 8 * 2**30  # a model folder larger than this is not shipped to workers


def import_ray() -> Any:
    """The ``ray`` module, or a MissingExtraError naming the ``ray`` extra."""
    require("ray", "ray", "--engine ray")
    import ray

    return ray


def _reachable(address: str) -> None:
    """A ``host:port`` or ``ray://host:port`` address that nothing answers is a UsageError
    now, not after Ray's own long retries."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(
            f"bad Ray address '{address}': expected auto, host:port or ray://host:port",
            hint="e.g. --address ray://head-node:10001 (Ray Client) or --address auto",
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as err:
        raise UsageError(
            f"cannot reach the Ray cluster at '{address}': {err.strerror or err}",
            hint="start it (ray start --head) or check the address; "
            "leave --address out to start a local cluster",
        ) from None


def connect(address: str | None, workers: int | None) -> Any:
    """Connect to the cluster at ``address`` (``auto``: the one running on this machine;
    None: start a local one with ``workers`` CPUs), unless this process already is."""
    ray = import_ray()
    if address not in (None, "auto"):
        _reachable(str(address))
    if ray.is_initialized():
        return ray
    try:
        if address is None:  # a local cluster: its workers import this very synthgen
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": {"PYTHONPATH": _our_path()}},
            )
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise UsageError(
            f"cannot connect to the Ray cluster at '{address}': {err}",
            hint="start it (ray start --head) or check the address",
        ) from None
    return ray


def worker_count(ray: Any, workers: int | None, say: Any = None) -> int:
    """``workers``, at most the cluster's CPUs (an actor that cannot be placed would wait
    for ever); None: all of them."""
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if workers is not None and workers > cpus and say is not None:
        say(f"the Ray cluster has {cpus} CPU(s): using {cpus} worker(s), not {workers}")
    return min(workers or cpus, cpus)


def _our_path() -> str:
    """PYTHONPATH with the folder this synthgen is imported from first."""
    import os

    import synthgen

    here = str(Path(synthgen.__file__).resolve().parents[1])
    return os.pathsep.join(p for p in [here, os.environ.get("PYTHONPATH", "")] if p)


def pack_folder(folder: Path) -> dict[str, bytes]:
    """Every file of a model folder, by its path inside it."""
    files, total = {}, 0
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            total += len(data)
            if total > MAX_MODEL_BYTES:
                raise UsageError(f"model folder {folder} is over 8 GiB; too large to ship")
            files[p.relative_to(folder).as_posix()] = data
    return files


def unpack_folder(files: dict[str, bytes], root: Path) -> Path:
    """``pack_folder``'s files written under ``root``; returns ``root``."""
    for rel, data in files.items():
        p = (root / rel).resolve()
        if root.resolve() not in p.parents:  # a name like ../x never leaves the folder
            raise UsageError(f"model file name '{rel}' points outside the model folder")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def peak_rss_bytes() -> int:
    """This process's peak resident memory, in bytes; each worker reports its own. On Linux
    from ``VmHWM`` (this program's own high-water mark): ``ru_maxrss`` keeps, across exec,
    the resident size of the process it was forked from, so a child of a 2 GB process
    reads 2 GB however little it uses."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class ShardWorker:
    """One worker: the model unpacked and loaded once, then any number of shards."""

    def __init__(self, files: dict[str, bytes], n: int, options: dict[str, Any]) -> None:
        import tempfile

        from synthgen.scale.sampler import ShardSampler

        self._dir = tempfile.TemporaryDirectory(prefix="synthgen-model-")
        self.sampler = ShardSampler(unpack_folder(files, Path(self._dir.name)), n, **options)

    def part(self, k: int) -> tuple[int, int, bytes]:
        return self.sampler.part(k)

    def peak_rss(self) -> int:
        return peak_rss_bytes()


def ray_parts(
    model_dir: Path,
    n: int,
    count: int,
    *,
    workers: int,
    address: str | None,
    options: dict[str, Any],
    stats: dict[str, Any] | None = None,
) -> Iterator[tuple[int, int, bytes]]:
    """Shards ``0 .. count - 1`` made by ``workers`` actors, as they finish. ``stats``
    receives each worker's peak memory at the end (for the benchmark)."""
    ray = connect(address, workers)

    files = ray.put(pack_folder(model_dir))
    actor = ray.remote(num_cpus=1)(ShardWorker)
    actors = [actor.remote(files, n, options) for _ in range(max(1, min(workers, count)))]
    with actor_pool(ray, actors) as pool:
        yield from pool.map_unordered(lambda a, k: a.part.remote(k), list(range(count)))
        if stats is not None:
            stats["peak_rss"] = ray.get([a.peak_rss.remote() for a in actors])


@contextlib.contextmanager
def actor_pool(ray: Any, actors: list[Any]) -> Iterator[Any]:
    """A Ray ActorPool over ``actors``: a synthgen error raised in a worker is raised here as
    itself (its message and exit code), and the actors are killed however the block ends."""
    from ray.util import ActorPool

    try:
        yield ActorPool(actors)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, SynthgenError):
            raise cause from None
        raise
    finally:
        for a in actors:
            ray.kill(a)
