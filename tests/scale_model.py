"""A small fitted model for the sharded-sampling tests (local folders and Ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.generators import create


def fit_small_model(folder: Path, pii: str) -> Path:
    """A copula of 300 rows (an id, a number, a label and one unique PII column: ``email``
    or ``ssn``) saved in ``folder``."""
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": rng.integers(18, 90, n),
            "city": pd.Categorical(rng.choice(["Lyon", "Paris", "Nice", "Metz"], n)),
        }
    )
    if pii == "email":
        df["email"] = [f"user{i}.{rng.integers(1e6)}@example.org" for i in range(n)]
    else:
        df["ssn"] = [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{i:04d}" for i in range(n)]
    create("copula").fit(df, seed=1).save(folder)
    return folder
