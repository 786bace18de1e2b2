"""A local 2-CPU Ray cluster for the tests, its workers importing synthgen as this process
does (a source checkout, not only a wheel) and running torch on one thread."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def local_ray() -> Iterator[Any]:
    import ray

    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in [root, os.environ.get("PYTHONPATH")] if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()
