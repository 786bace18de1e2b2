"""Reading a source table, with errors that name the file and say what to do."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd

from synthgen.errors import DataError

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


TAB_SUFFIXES = (".tsv", ".tab")


def default_sep(path: Path, given: str | None) -> str:
    """``given``, else a tab for a .tsv / .tab file and a comma for anything else."""
    if given:
        return given
    return "\t" if path.suffix.lower() in TAB_SUFFIXES else ","


def infer_format(path: Path, given: str | None, what: str = "file") -> str:
    if given:
        return given
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {what} {path} from its suffix",
            hint="use a .csv or .parquet suffix, or set format: csv|parquet",
        )
    return fmt


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    na_values: list[str] | None = None,
    strip_whitespace: bool = False,
    sep: str | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame; a DataError for anything unusable.
    ``sep`` defaults to a tab for .tsv / .tab files, else a comma."""
    p = Path(path)
    if not p.exists():
        raise DataError(
            f"source file not found: {p}",
            hint="check source.path (relative to the recipe's folder)",
        )
    if p.is_dir():
        raise DataError(f"source {p} is a folder, not a file", hint="point source.path at a file")
    fmt = infer_format(p, format, "source")
    if p.stat().st_size == 0:
        raise DataError(
            f"source {p} is empty (0 bytes)", hint="export the table again with a header and rows"
        )
    df = (
        _read_csv(p, na_values or [], strip_whitespace, default_sep(p, sep), encoding)
        if fmt == "csv"
        else _read_parquet(p)
    )
    if df.shape[1] == 0:
        raise DataError(f"source {p} has no columns", hint="check the file and its separator")
    if len(df) == 0:
        raise DataError(f"source {p} has a header but no rows", hint="give a table with data rows")
    if strip_whitespace:
        df = _strip(df, na_values or [])
    dupes = [c for c in df.columns if str(c).strip() == ""]
    if dupes:
        raise DataError(
            f"source {p} has a column with an empty name", hint="name every column in the header"
        )
    return df


def _read_csv(p: Path, na_values: list[str], strip: bool, sep: str, encoding: str) -> pd.DataFrame:
    try:
        if len(sep) == 1:  # a longer sep is a regex for pandas; the csv module takes one char
            _check_header(p, _raw_header(p, sep, encoding, strip))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(
                p,
                sep=sep,
                encoding=encoding,
                na_values=na_values or None,
                skipinitialspace=strip,
                low_memory=False,
            )
    except UnicodeDecodeError as err:
        bad = err.object[err.start : err.start + 1].hex() if err.object else "?"
        raise DataError(
            f"source {p} is not valid {encoding} text: byte 0x{bad} at offset {err.start}",
            hint="set source.encoding to the file's encoding (e.g. latin-1 or cp1252), or re-save it as UTF-8",
        ) from None
    except LookupError:
        raise DataError(
            f"unknown encoding '{encoding}' for {p}", hint="use e.g. utf-8, latin-1, cp1252"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"source {p} has no header and no rows", hint="export it again with a header row"
        ) from None
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1].replace("Error tokenizing data. C error: ", "")
        raise DataError(
            f"source {p} cannot be parsed as CSV: {detail}",
            hint="check the separator (source.sep), quoting and that every row has the header's number of fields",
        ) from None


def _raw_header(p: Path, sep: str, encoding: str, strip: bool) -> list[str]:
    """The header's names as written: pandas renames a repeat to ``age.1`` and an empty
    name to ``Unnamed: 3``, which would hide both problems. Bytes that do not decode are
    left for pandas to report (with the right offset)."""
    with open(p, encoding=encoding, errors="replace", newline="") as f:
        try:
            for row in csv.reader(f, delimiter=sep, skipinitialspace=strip):
                if row:  # pandas skips blank lines before the header too
                    names = [row[0].removeprefix("\ufeff"), *row[1:]]
                    return [n.strip() for n in names] if strip else names
        except csv.Error:  # e.g. a NUL byte or a giant field: pandas says what is wrong
            pass
    return []


def _check_header(p: Path, names: list[str]) -> None:
    empty = [str(i + 1) for i, n in enumerate(names) if n.strip() == ""]
    if empty:
        raise DataError(
            f"source {p} has a column with an empty name (column {', '.join(empty)} of the header)",
            hint="name every column in the header",
        )
    repeated = {n: k for n, k in Counter(names).items() if k > 1}
    if repeated:
        which = ", ".join(f"'{n}' ({k} times)" for n, k in repeated.items())
        raise DataError(
            f"source {p} has duplicate column names: {which}",
            hint="rename them in the header so every column has its own name",
        )


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise DataError(
            f"source {p} cannot be read as Parquet: {err}",
            hint="check the file is Parquet, or set source.format: csv",
        ) from None


def _strip(df: pd.DataFrame, na_values: list[str]) -> pd.DataFrame:
    df = df.rename(columns=lambda c: c.strip() if isinstance(c, str) else c)
    nas = {v.strip() for v in na_values}
    for c in df.columns:
        if df[c].dtype == object:
            s = df[c].map(lambda v: v.strip() if isinstance(v, str) else v)
            df[c] = s.where(~s.isin(nas), None) if nas else s
    return df
