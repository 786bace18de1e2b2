"""Writing a table atomically: a reader never sees half a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthgen.io.atomic import atomic_path
from synthgen.io.sources import default_sep, infer_format


def write_table(df: pd.DataFrame, path: str | Path, format: str | None = None) -> Path:
    p = Path(path)
    fmt = infer_format(p, format, "output")
    with atomic_path(p) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False, sep=default_sep(p, None))
        else:
            df.to_parquet(tmp, index=False)
    return p
