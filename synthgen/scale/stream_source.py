"""One table larger than memory, read in batches with pyarrow datasets, never whole: a
Parquet or CSV file, or a folder of part files of one table (a dataset folder written by
``synthgen sample --out big/``, a Spark / pandas export...).

The work is cut in *units*: a Parquet row group, or a whole CSV file. A unit is read as
batches of ``BATCH_ROWS`` rows, always the same ones for the same file, so what is computed
from a unit depends on the unit alone, not on which process reads it. Every batch comes back
as a pandas frame in the dtypes of the first rows (``sample``), from which the schema is
detected: a CSV is read as text and converted like that, so ``13`` in a later part is the
same label as ``13`` in the first.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synthgen.errors import DataError

BATCH_ROWS = 65_536
SAMPLE_ROWS = 50_000
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".tab": "csv"}


@dataclass(frozen=True)
class Unit:
    """A piece of work: one CSV file, or one row group of one Parquet file."""

    file: int
    row_group: int  # 0 for a CSV file


@dataclass
class StreamSource:
    where: str
    paths: list[str]
    format: str  # parquet | csv
    columns: list[str]
    sep: str = ","
    encoding: str = "utf-8"
    na_values: list[str] = field(default_factory=list)
    strip: bool = False
    dtypes: dict[str, str] = field(default_factory=dict)  # set from the sample
    raw_columns: list[str] = field(default_factory=list)  # a CSV header as written

    def units(self) -> list[Unit]:
        """Every unit, in file and row-group order."""
        if self.format == "csv":
            return [Unit(i, 0) for i in range(len(self.paths))]
        import pyarrow.parquet as pq

        out = []
        for i, p in enumerate(self.paths):
            groups = pq.ParquetFile(p).metadata.num_row_groups
            out += [Unit(i, g) for g in range(groups)]
        return out

    def batches(self, unit: Unit) -> Iterator[pd.DataFrame]:
        """The unit's rows, ``BATCH_ROWS`` at a time, in the sample's dtypes."""
        import pyarrow.dataset as ds

        path = self.paths[unit.file]
        try:
            if self.format == "parquet":
                from pyarrow.fs import LocalFileSystem

                frag = ds.ParquetFileFormat().make_fragment(
                    path, filesystem=LocalFileSystem(), row_groups=[unit.row_group]
                )
                batches = frag.to_batches(batch_size=BATCH_ROWS, columns=self.columns)
            else:
                data = ds.dataset(path, format=self._csv_format())
                batches = data.to_batches(batch_size=BATCH_ROWS)
            for batch in batches:  # Parquet text as categories: a batch's labels hashed once
                df = batch.to_pandas(strings_to_categorical=self.format == "parquet")
                yield self._typed(df)
        except (OSError, ValueError) as err:  # pyarrow's errors derive from these
            raise DataError(
                f"source {path} cannot be read as {self.format}: {err}",
                hint="check the file (every part of the folder must be the same table)",
            ) from None

    def sample(self, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
        """The first ``rows`` rows as the in-memory reader would give them; fixes ``dtypes``."""
        if self.format == "csv":
            df = _read_csv_head(self, rows)
        else:
            parts, got = [], 0
            for unit in self.units():
                for b in self.batches(unit):
                    parts.append(b)
                    got += len(b)
                    if got >= rows:
                        break
                if got >= rows:
                    break
            df = pd.concat(parts, ignore_index=True).head(rows) if parts else pd.DataFrame()
            for c in df.columns:  # text as `pd.read_parquet` gives it
                if isinstance(df[c].dtype, pd.CategoricalDtype):
                    df[c] = df[c].astype(object).where(df[c].notna(), None)
        self.dtypes = {c: str(df[c].dtype) for c in df.columns}
        return df

    def _csv_format(self) -> object:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.dataset as ds
        from pandas._libs.parsers import STR_NA_VALUES

        return ds.CsvFileFormat(
            parse_options=pcsv.ParseOptions(delimiter=self.sep),
            read_options=pcsv.ReadOptions(encoding=self.encoding),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in self.raw_columns},
                null_values=sorted(set(STR_NA_VALUES) | set(self.na_values)),
                strings_can_be_null=True,
            ),
        )

    def _typed(self, df: pd.DataFrame) -> pd.DataFrame:
        """A batch in the sample's dtypes (a number column read as text becomes numbers)."""
        if self.format == "csv":
            if self.strip:
                from synthgen.io.sources import _strip

                df = _strip(df, self.na_values)
            df.columns = self.columns
            df = df.astype(object).where(df.notna(), None)
        for c, dtype in self.dtypes.items():
            if str(df[c].dtype) != dtype and not isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = _as_dtype(df[c], dtype)
        return df


def _as_dtype(s: pd.Series, dtype: str) -> pd.Series:
    if dtype.startswith(("int", "Int", "uint", "UInt")):
        return pd.to_numeric(s, errors="coerce").astype("Int64" if s.isna().any() else "int64")
    if dtype.startswith("float"):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    if dtype in ("bool", "boolean"):
        if s.dtype == object:
            s = s.map(lambda v: v if v is None else str(v).strip().lower() in ("true", "1"))
        return s.astype("boolean" if s.isna().any() else "bool")
    if dtype.startswith("datetime64") and not pd.api.types.is_datetime64_any_dtype(s):
        return pd.to_datetime(s, errors="coerce")
    return s


def open_source(
    path: Path,
    *,
    format: str | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    na_values: list[str] | None = None,
    strip: bool = False,
) -> StreamSource:
    """A file, or a folder whose files are parts of one table (same columns, one format;
    names starting with ``_`` or ``.``, such as ``_manifest.json``, are skipped)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(("_", ".")))
    elif p.is_file():
        files = [p]
    else:
        raise DataError(f"source {p} does not exist", hint="check source.path in the recipe")
    kinds = {format or SUFFIXES.get(f.suffix.lower(), "?") for f in files}
    if not files or "?" in kinds:
        odd = [f.name for f in files if f.suffix.lower() not in SUFFIXES][:3]
        raise DataError(
            f"source {p}: " + (f"files of no known format ({odd})" if odd else "no files"),
            hint="give a folder of .parquet or .csv part files, or set source.format",
        )
    if len(kinds) > 1:
        raise DataError(f"source {p} mixes CSV and Parquet files", hint="keep one format")
    fmt = kinds.pop()
    sep = sep or ("\t" if files[0].suffix.lower() in (".tsv", ".tab") else ",")
    columns, raw = None, []
    for f in files:
        raw = _columns(f, fmt, sep, encoding)
        names = [n.strip() for n in raw] if strip else raw
        if columns is not None and names != columns:
            raise DataError(
                f"source {p}: part {f.name} has columns {names[:6]}, not {columns[:6]}",
                hint="a folder read as one large table holds parts of that table only; a "
                "folder of different tables is a dataset: `synthgen run` fits it in memory",
            )
        columns = names
    paths = [str(f) for f in files]
    src = StreamSource(str(p), paths, fmt, columns or [], sep, encoding, na_values or [], strip)
    src.raw_columns = raw
    return src


def _columns(f: Path, fmt: str, sep: str, encoding: str) -> list[str]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(f).names)
        except Exception as err:  # pyarrow raises several types for a damaged file
            raise DataError(f"source {f} cannot be read as Parquet: {err}") from None
    with open(f, encoding=encoding, errors="replace", newline="") as fh:
        for row in csv.reader(fh, delimiter=sep):
            if row:
                return [row[0].removeprefix("\ufeff"), *row[1:]]
    raise DataError(f"source {f} has no header", hint="export it again with a header row")


def _read_csv_head(src: StreamSource, rows: int) -> pd.DataFrame:
    """The first rows of the CSV parts, read as ``synthgen run`` reads a CSV."""
    from synthgen.io.sources import _strip

    parts, got = [], 0
    for path in src.paths:
        df = pd.read_csv(
            path,
            sep=src.sep,
            encoding=src.encoding,
            na_values=src.na_values or None,
            skipinitialspace=src.strip,
            nrows=rows - got,
            low_memory=False,
        )
        parts.append(_strip(df, src.na_values) if src.strip else df)
        got += len(df)
        if got >= rows:
            break
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=src.columns)
