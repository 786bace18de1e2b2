"""A folder of CSV / Parquet files read as one dataset: one table per file, named by its stem.

Each file is read by ``read_table`` (same options, same errors naming the file). Files with
other suffixes and hidden files are left alone; sub-folders are not entered. Keys are not
read here: a folder declares none (see ``synthgen.dataset.keys`` to detect them).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthgen.dataset import Dataset
from synthgen.errors import DataError
from synthgen.io.sources import SUFFIX_FORMATS, read_table

MAX_TABLES = 500


def table_files(folder: str | Path, *, max_tables: int = MAX_TABLES) -> dict[str, Path]:
    """The table files of ``folder`` by table name (the file's stem), sorted by name."""
    root = Path(folder)
    if not root.exists():
        raise DataError(f"source folder not found: {root}", hint="check the path")
    if not root.is_dir():
        raise DataError(f"source {root} is a file, not a folder", hint="point at a folder")
    files = sorted(
        p
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIX_FORMATS
    )
    if not files:
        others = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        seen = f" (it holds: {', '.join(others[:8])}{', ...' if len(others) > 8 else ''})"
        raise DataError(
            f"source folder {root} has no table files{seen if others else ' (it is empty)'}",
            hint=f"put one file per table in it, with a suffix among {', '.join(SUFFIX_FORMATS)}",
        )
    by_key: dict[str, list[Path]] = {}
    for p in files:
        by_key.setdefault(p.stem.casefold(), []).append(p)
    clashes = [ps for ps in by_key.values() if len(ps) > 1]
    if clashes:
        which = "; ".join(" and ".join(p.name for p in ps) for ps in clashes)
        raise DataError(
            f"source folder {root}: files that would make the same table: {which}",
            hint="keep one file per table name (table names ignore the suffix and case)",
        )
    if len(files) > max_tables:
        raise DataError(
            f"source folder {root} has {len(files)} table files, more than the {max_tables} "
            "synthgen reads at once",
            hint="split the dataset into folders of related tables",
        )
    return {p.stem: p for p in files}


def read_folder(
    folder: str | Path,
    *,
    na_values: list[str] | None = None,
    strip_whitespace: bool = False,
    sep: str | None = None,
    encoding: str = "utf-8",
    max_tables: int = MAX_TABLES,
) -> Dataset:
    """Every table file of ``folder`` as a dataset without keys (in file-name order)."""
    frames: dict[str, pd.DataFrame] = {}
    for name, path in table_files(folder, max_tables=max_tables).items():
        frames[name] = read_table(
            path,
            na_values=na_values,
            strip_whitespace=strip_whitespace,
            sep=sep,
            encoding=encoding,
        )
    return Dataset.of_frames(frames)
