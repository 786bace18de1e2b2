from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

os.environ.setdefault("MPLBACKEND", "Agg")
# an unconfigured text column is written by the light local model in tests (SmolLM2 fine-tunes
# for minutes); tests/unit/text/test_text_default.py checks the choice itself
os.environ.setdefault("SYNTHGEN_TEXT_DEFAULT", "local")


def shared_csv(name: str) -> Path:
    p = SHARED / name
    if not p.exists():
        pytest.skip(f"public data set {name} not found beside the repository")
    return p


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    from synthgen.io import read_table

    return read_table(ROOT / "data" / "adult.csv", na_values=["?"], strip_whitespace=True)


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """A small mixed table: every modelled kind, missing values, a PII and an id column."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 400
    age = rng.integers(18, 90, n)
    income = np.round(age * 900 + rng.normal(0, 8000, n), 2)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": age,
            "income": income,
            "city": rng.choice(["Lyon", "Paris", "Nice"], n, p=[0.5, 0.3, 0.2]),
            "member": rng.random(n) < 0.3,
            "joined": pd.to_datetime("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "email": [f"user{i}.{rng.integers(1e6)}@example.org" for i in range(n)],
        }
    )


def write_recipe(tmp: Path, body: str, name: str = "recipe.yaml") -> Path:
    p = tmp / name
    p.write_text(body, encoding="utf-8")
    return p
