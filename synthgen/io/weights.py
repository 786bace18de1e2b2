"""Arrays to and from safetensors: plain tensors, no code runs on load."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from synthgen.io.atomic import file_mode


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    save_file(
        {k: np.ascontiguousarray(v) for k, v in arrays.items()},
        str(path),
        metadata={"format": "synthgen"},
    )
    os.chmod(path, file_mode())  # safetensors creates 0600; we follow the umask like open()


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return dict(load_file(str(path)))
    except FileNotFoundError:
        raise
    except Exception as err:  # safetensors raises its own error type for damaged files
        raise ValueError(f"{path.name}: {err}") from None
