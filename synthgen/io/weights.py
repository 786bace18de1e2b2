"""Arrays to and from safetensors: plain tensors, no code runs on load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    save_file(
        {k: np.ascontiguousarray(v) for k, v in arrays.items()},
        str(path),
        metadata={"format": "synthgen"},
    )


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return dict(load_file(str(path)))
    except FileNotFoundError:
        raise
    except Exception as err:  # safetensors raises its own error type for damaged files
        raise ValueError(f"{path.name}: {err}") from None
