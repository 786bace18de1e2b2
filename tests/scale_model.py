"""A small table and fitted model for the sharded-sampling tests (shards, folders, Ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.generators import create


def small_frame(pii: tuple[str, ...]) -> pd.DataFrame:
    """300 rows: an id, a number, a label, then unique PII columns (``email``, ``phone``,
    ``ssn``) in the order given."""
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": rng.integers(18, 90, n),
            "city": pd.Categorical(rng.choice(["Lyon", "Paris", "Nice", "Metz"], n)),
        }
    )
    for col in pii:
        if col == "email":
            df[col] = [f"user{i}.{rng.integers(1e6)}@example.org" for i in range(n)]
        elif col == "phone":
            df[col] = [f"+33 6{rng.integers(10**7, 10**8)}" for i in range(n)]
        else:
            df[col] = [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{i:04d}" for i in range(n)]
    return df


def fit_small_model(folder: Path, pii: str) -> Path:
    """A copula of ``small_frame((pii,))`` saved in ``folder``."""
    create("copula").fit(small_frame((pii,)), seed=1).save(folder)
    return folder
