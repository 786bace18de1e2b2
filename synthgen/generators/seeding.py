"""Local seeding (seed numpy's and torch's global generators for a block, then restore them)
and counted uniforms (a value that depends on its seed, stream, row and column only)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Inside: python, numpy and (if imported) torch global RNGs seeded; after: as before."""
    import sys

    py_state = random.getstate()
    np_state = np.random.get_state()
    torch = sys.modules.get("torch")
    torch_state = torch.random.get_rng_state() if torch is not None else None
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if torch is not None:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch is not None and torch_state is not None:
            torch.random.set_rng_state(torch_state)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every output bit depends on every input bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def counted_uniforms(seed: int, rows: np.ndarray, stream: int, width: int) -> np.ndarray:
    """(len(rows), width) uniforms in [0, 1): the one at (row, column) is a hash of
    (seed, stream, row number, column) and nothing else, so how rows are split into chunks or
    batches never changes a value (counted randomness, as dbldatagen draws it)."""
    with np.errstate(over="ignore"):
        key = _mix(np.asarray([seed % 2**64], dtype=np.uint64) * _GOLDEN + np.uint64(stream))
        r = _mix(np.asarray(rows, dtype=np.uint64) * _GOLDEN ^ key)
        cols = _mix((np.arange(width, dtype=np.uint64) + np.uint64(1)) * _GOLDEN + key)
        z = _mix(r[:, None] ^ cols[None, :])
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)
