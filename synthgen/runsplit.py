"""Which source rows a run learnt from and which it kept aside, recorded in the run folder
(``split.json``: row positions and a fingerprint of the source, never the rows), so that
``synthgen validate RUN_FOLDER`` judges the run again on exactly its own split."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError

SPLIT_FILE = "split.json"
FORMAT_VERSION = 1


def holdout_positions(n: int, fraction: float, seed: int) -> np.ndarray:
    """The source rows (positions, sorted) a run with ``seed`` keeps aside."""
    order = np.random.default_rng([seed, 1]).permutation(n)
    return np.sort(order[: int(round(n * fraction))])


def fingerprint(df: pd.DataFrame) -> str:
    """A hash of the source's values and column names: a changed source is noticed."""
    h = hashlib.sha256("\x1f".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def write_split(run_dir: Path, recipe: Any, seed: int, source: pd.DataFrame) -> None:
    """``split.json``: the recipe file (to read the source again), the seed, the holdout's
    row positions and the source's fingerprint."""
    record = {
        "format_version": FORMAT_VERSION,
        "recipe": str(recipe.file.resolve()) if recipe.file is not None else None,
        "seed": seed,
        "source_rows": len(source),
        "source_sha256": fingerprint(source),
        "holdout_rows": holdout_positions(len(source), recipe.holdout, seed).tolist(),
    }
    (run_dir / SPLIT_FILE).write_text(json.dumps(record), encoding="utf-8")


def read_split(run_dir: Path) -> dict[str, Any]:
    """The run folder's split record, checked; a folder without one is a clear DataError."""
    path = run_dir / SPLIT_FILE
    if not path.is_file():
        raise DataError(
            f"{run_dir} is not a synthgen run folder (no {SPLIT_FILE})",
            hint="give a folder `synthgen run` wrote (runs from before 0.1 lack the record: run "
            "again), or validate files with --real / --synthetic / --holdout",
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        ok = (
            record["format_version"] == FORMAT_VERSION
            and isinstance(record["seed"], int)
            and isinstance(record["source_rows"], int)
            and all(isinstance(i, int) for i in record["holdout_rows"])
        )
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise DataError(f"{path}: not a split record this synthgen can read", hint="run again")
    return record


def split_source(
    df: pd.DataFrame, record: dict[str, Any], where: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) of the source as the run split it; a changed source is refused."""
    if len(df) != record["source_rows"] or fingerprint(df) != record["source_sha256"]:
        raise DataError(
            f"source {where} changed since the run ({len(df):,} rows now, "
            f"{record['source_rows']:,} then, or other values): the run's split no longer applies",
            hint="restore the source the run read, or run the recipe again",
        )
    hold = np.asarray(record["holdout_rows"], dtype=np.int64)
    train = np.setdiff1d(np.arange(len(df)), hold)
    return df.iloc[train].reset_index(drop=True), df.iloc[hold].reset_index(drop=True)
