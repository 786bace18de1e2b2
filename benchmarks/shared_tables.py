"""The tables the tabular benchmark runs on: the shared public data, split 80/20 the same way
for every generator, restricted to the columns a generator models; and a synthetic wide table.

(Not "datasets.py": run from this folder, that name shadows the Hugging Face package that
mostlyai-engine imports.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import ROOT, load_adult

SHARED = ROOT.parent / "shared" / "data"
# the column a downstream model would predict, where the table has one
TARGETS = {
    "adult": "income",
    "heart_disease_uci": "num",
    "pima_indians_diabetes": "Outcome",
    "insurance": "charges",
    "beijing_pm25_hourly": "pm2.5",
    "druglib_reviews": "rating",
}
MIN_ROWS, MIN_COLUMNS = 100, 2
MODELLED = ("numeric", "integer", "categorical", "boolean", "datetime")


def table_names() -> list[str]:
    """Every CSV under the shared data folder, as 'name' or 'folder/name'."""
    return sorted(str(p.relative_to(SHARED).with_suffix("")) for p in SHARED.rglob("*.csv"))


def load_table(name: str, seed: int = 12345) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): the modelled columns of a shared table, split 80/20 by a fixed seed
    (Adult: exactly ``benchmarks.common.load_adult``'s split)."""
    from synthgen.io import read_table
    from synthgen.schema import detect

    if name == "adult":
        train, holdout = load_adult()
    else:
        train, holdout = split(read_table(SHARED / f"{name}.csv"), seed)
    schema = detect(train)
    keep = [c.name for c in schema.columns if c.kind in MODELLED and c.null_fraction < 1]
    return train[keep], holdout[keep]


def split(df: pd.DataFrame, seed: int = 12345) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): 80 / 20 by a seeded permutation of the rows."""
    order = np.random.default_rng(seed).permutation(len(df))
    cut = int(len(df) * 0.8)
    return (
        df.iloc[order[:cut]].reset_index(drop=True),
        df.iloc[order[cut:]].reset_index(drop=True),
    )


def skip_reason(train: pd.DataFrame) -> str | None:
    if len(train) < MIN_ROWS:
        return f"{len(train)} training rows (< {MIN_ROWS})"
    if train.shape[1] < MIN_COLUMNS:
        return f"{train.shape[1]} modelled column(s) (< {MIN_COLUMNS})"
    return None


def wide_table(n: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """n x 50: 20 numbers (normal; skewed with a point mass at 0; integers; 5 % missing),
    5 label columns of 1,000-3,000 Zipf-distributed levels, 17 of 3-40 levels, 5 booleans,
    3 dates; every column tied to the others through 4 latent factors."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))

    def factor() -> np.ndarray:
        return z @ rng.normal(size=4) + rng.normal(size=n)

    cols: dict[str, object] = {}
    for i in range(20):
        a = factor()
        cols[f"num{i}"] = [
            np.round(a * 10 + 50, 2),
            np.where(a < 0.3, 0.0, np.round(np.exp(a + 5))),
            np.clip(np.round(a * 8 + 40), 0, None).astype(np.int64),
            np.where(rng.random(n) < 0.05, np.nan, a * 1000),
        ][i % 4]
    for i in range(22):
        a = factor()
        if i < 5:
            k = 1000 + 500 * i
            rank = np.argsort(np.argsort(a)) * 7 // n
            codes = (rng.zipf(1.2, n) + rank) % k
            cols[f"code{i}"] = np.char.add("C", codes.astype(str)).astype(object)
        else:
            k = 3 + (i * 7) % 38
            b = np.clip(((a - a.min()) / (a.max() - a.min()) * k).astype(int), 0, k - 1)
            cols[f"lab{i}"] = np.char.add("L", b.astype(str)).astype(object)
    for i in range(5):
        cols[f"flag{i}"] = factor() > 0.5
    for i in range(3):
        days = np.clip(np.round(factor() * 200 + 1000), 0, 3000).astype(int)
        cols[f"date{i}"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")
    return pd.DataFrame(cols)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def read_like(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    """A synthetic table read back with the real table's kinds of columns: numbers as floats
    (or dates), labels as objects with NaN for missing."""
    df = pd.read_parquet(path)[list(like.columns)]
    for c in df.columns:
        kind = like[c].dtype.kind
        if kind == "M":
            df[c] = pd.to_datetime(df[c], errors="coerce")
        elif kind in "iuf":
            df[c] = pd.to_numeric(df[c], errors="coerce")
        else:
            df[c] = df[c].astype(object).where(df[c].notna(), np.nan)
    return df
