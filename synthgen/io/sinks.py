"""Writing a table atomically: a reader never sees half a file."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.errors import UsageError
from synthgen.io.atomic import atomic_path
from synthgen.io.sources import default_sep, infer_format


def write_table(df: pd.DataFrame, path: str | Path, format: str | None = None) -> Path:
    p = Path(path)
    fmt = infer_format(p, format, "output")
    with atomic_path(p) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False, sep=default_sep(p, None), quoting=_quoting(df))
        else:
            df.to_parquet(tmp, index=False)
    return p


def write_table_chunks(
    chunks: Iterable[pd.DataFrame], path: str | Path, format: str | None = None
) -> int:
    """Write frames with the same columns, one after another, as one table; return its
    row count. Only one chunk is in memory at a time, and the file appears whole or not at
    all (a temp file renamed at the end). CSV: the header once, then each chunk's rows.
    Parquet: a row group per chunk, typed like the first chunk (later ones cast to it)."""
    it = iter(chunks)
    if str(path) == "-":  # standard output: CSV, written as the chunks come
        import sys

        first = next(it, None)
        if first is None:
            raise UsageError("nothing to write to standard output: no chunks")
        out = sys.stdout
        first.to_csv(out, index=False, quoting=_quoting(first), lineterminator="\n")
        rows = len(first)
        for df in it:
            df.to_csv(out, index=False, header=False, quoting=_quoting(df), lineterminator="\n")
            rows += len(df)
        out.flush()
        return rows
    p = Path(path)
    fmt = infer_format(p, format, "output")
    first = next(it, None)
    if first is None:
        raise UsageError(f"nothing to write to {p}: no chunks")
    with atomic_path(p) as tmp:
        if fmt == "csv":
            return _csv_chunks(first, it, tmp, default_sep(p, None))
        return _parquet_chunks(first, it, tmp)


def _csv_chunks(first: pd.DataFrame, rest: Iterable[pd.DataFrame], tmp: Path, sep: str) -> int:
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        first.to_csv(f, index=False, sep=sep, quoting=_quoting(first))
        rows = len(first)
        for df in rest:
            df.to_csv(f, index=False, header=False, sep=sep, quoting=_quoting(df))
            rows += len(df)
    return rows


def _quoting(df: pd.DataFrame) -> int:
    """pandas quotes a field holding a newline but not one holding a lone carriage return,
    which every CSV reader then takes for the end of the row: quote all text fields then."""
    for c in df.columns:
        s = df[c]
        text = s.dtype == object or isinstance(s.dtype, pd.StringDtype)
        if text and s.astype("string").str.contains("\r", regex=False).any():
            return csv.QUOTE_NONNUMERIC
    return csv.QUOTE_MINIMAL


def _parquet_chunks(first: pd.DataFrame, rest: Iterable[pd.DataFrame], tmp: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(first, preserve_index=False)
    schema = _settled(table.schema, first)
    rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for df in itertools.chain([first], rest):
            t = table if df is first else pa.Table.from_pandas(df, preserve_index=False)
            if not t.schema.equals(schema, check_metadata=False):
                t = t.cast(schema)
            writer.write_table(t)
            rows += len(df)
    return rows


def _settled(schema: Any, first: pd.DataFrame) -> Any:
    """The file's schema: a text column that is all missing in the first chunk (arrow type
    null) is typed as text, so later chunks with values still fit."""
    import pyarrow as pa

    for i, field in enumerate(schema):
        if pa.types.is_null(field.type) and first[field.name].dtype == object:
            schema = schema.set(i, field.with_type(pa.string()))
    return schema
