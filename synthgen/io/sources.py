"""Reading a source table, with errors that name the file and say what to do."""

from __future__ import annotations

import codecs
import csv
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.errors import DataError

MAX_COLUMNS = 10_000  # wider tables are refused before parsing (a 10 MB header never ends)
_HEADER_CHUNK = 1 << 20


@dataclass(frozen=True)
class Origin:
    """Where a path to read came from, so an error names what the user should change: the
    recipe key or command-line option that gave the path, and those that set how it is read
    (a reading setting without an entry cannot be changed there)."""

    given_by: str = "source.path"
    settings: Mapping[str, str] = field(
        default_factory=lambda: {
            k: f"source.{k}" for k in ("encoding", "sep", "na_values", "format")
        }
    )
    relative_to: str = "the recipe's folder"
    noun: str | None = None  # how messages call the file; default from ``given_by``

    @property
    def label(self) -> str:
        if self.noun:
            return self.noun
        return "source file" if self.given_by == "source.path" else f"{self.given_by} file"

    def setting(self, name: str) -> str | None:
        return self.settings.get(name)


RECIPE_SOURCE = Origin()


def option(name: str, noun: str | None = None, **settings: str) -> Origin:
    """The Origin of a path given on the command line (``--real``, ``PATH``...)."""
    return Origin(name, settings, "the current folder", noun)


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
    origin: Origin = RECIPE_SOURCE,
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame; a DataError for anything unusable.
    ``sep`` defaults to a tab for .tsv / .tab files, else a comma. ``origin`` says where
    the path came from (a recipe's ``source.path`` by default, or a command-line option) so
    that every error names the setting to change."""
    p, o = Path(path), origin
    if not p.exists():
        raise DataError(
            f"{o.label} not found: {p}",
            hint=f"check {o.given_by} (relative to {o.relative_to})",
        )
    if p.is_dir():
        raise DataError(
            f"{o.label} {p} is a folder, not a file", hint=f"point {o.given_by} at a file"
        )
    fmt = infer_format(p, format, o.label)
    if p.stat().st_size == 0:
        raise DataError(
            f"{o.label} {p} is empty (0 bytes)",
            hint="export the table again with a header and rows",
        )
    if fmt == "csv":
        sep = default_sep(p, sep)
        _check_csv_options(p, sep, encoding, o)
        _check_width(p, _count_csv_columns(p, sep, encoding, o), o)
        df = _read_csv(p, na_values or [], strip_whitespace, sep, encoding, o)
    else:
        df = _read_parquet(p, o)
    if df.shape[1] == 0:
        raise DataError(f"{o.label} {p} has no columns", hint="check the file and its separator")
    if len(df) == 0:
        raise DataError(
            f"{o.label} {p} has a header but no rows", hint="give a table with data rows"
        )
    if strip_whitespace:
        df = _strip(df, na_values or [])
    dupes = [c for c in df.columns if str(c).strip() == ""]
    if dupes:
        raise DataError(
            f"{o.label} {p} has a column with an empty name", hint="name every column in the header"
        )
    _check_finite(df, p, o)
    return df


def _check_csv_options(p: Path, sep: str, encoding: str, o: Origin) -> None:
    where = o.setting("sep") or "the separator"
    if len(sep) != 1 or sep in '\r\n"':
        raise DataError(
            f"cannot read {o.label} {p} with separator {sep!r}: a separator is one character "
            "other than a line break or a double quote",
            hint=f"set {where} to the character between fields, e.g. ',' ';' or '\\t'",
        )
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            f"unknown encoding '{encoding}' for {p}",
            hint=f"set {o.setting('encoding') or 'the encoding'} to e.g. utf-8, latin-1, cp1252",
        ) from None


def _count_csv_columns(p: Path, sep: str, encoding: str, o: Origin) -> int:
    """The header line's field count, read a chunk at a time and given up on as soon as it
    passes MAX_COLUMNS: cheap for any file (quotes are ignored: an upper bound)."""
    count = 1
    try:
        with open(p, encoding=encoding, errors="replace", newline="") as f:
            while count <= MAX_COLUMNS:
                chunk = f.read(_HEADER_CHUNK)
                line = chunk.split("\n", 1)[0].split("\r", 1)[0]
                count += line.count(sep)
                if len(line) < len(chunk) or not chunk:
                    break
    except UnicodeError as err:  # e.g. a UTF-16 file without a byte-order mark
        raise _not_text(p, encoding, str(err), o) from None
    return count


def _check_width(p: Path, n_columns: int, o: Origin) -> None:
    if n_columns > MAX_COLUMNS:
        raise DataError(
            f"{o.label} {p} has more than {MAX_COLUMNS:,} columns "
            f"({'at least ' if n_columns > MAX_COLUMNS + 1 else ''}{n_columns:,} in its header); "
            f"synthgen models at most {MAX_COLUMNS:,}",
            hint="keep the columns you need (e.g. split the table), or check the separator"
            + (f" ({o.setting('sep')})" if o.setting("sep") else ""),
        )


def _not_text(p: Path, encoding: str, detail: str, o: Origin) -> DataError:
    setting = o.setting("encoding")
    how = f"set {setting} to the file's encoding (e.g. latin-1 or cp1252)" if setting else ""
    return DataError(
        f"{o.label} {p} is not valid {encoding} text: {detail}",
        hint=(how + ", or re-save it as UTF-8") if how else "re-save it as UTF-8",
    )


def _read_csv(
    p: Path, na_values: list[str], strip: bool, sep: str, encoding: str, o: Origin
) -> pd.DataFrame:
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
        raise _not_text(p, encoding, f"byte 0x{bad} at offset {err.start}", o) from None
    except UnicodeError as err:  # pandas' C parser raises the codec's own error
        raise _not_text(p, encoding, str(err), o) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{o.label} {p} has no header and no rows", hint="export it again with a header row"
        ) from None
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1].replace("Error tokenizing data. C error: ", "")
        sep_key = o.setting("sep")
        raise DataError(
            f"{o.label} {p} cannot be parsed as CSV: {detail}",
            hint=f"check the separator{f' ({sep_key})' if sep_key else ''}, quoting and that "
            "every row has the header's number of fields",
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


def _check_finite(df: pd.DataFrame, p: Path, o: Origin) -> None:
    """Infinity is not a value synthgen can learn or compare: refuse it, naming the column
    (we do not silently read it as missing: that would change the data unasked)."""
    problems = []
    for c in df.columns:
        if not pd.api.types.is_float_dtype(df[c]):
            continue
        inf = np.isinf(df[c].to_numpy(dtype=np.float64, na_value=np.nan))
        if inf.any():
            rows = np.flatnonzero(inf)
            problems.append(
                f"column '{c}' holds {len(rows):,} infinite value(s) (first in data row "
                f"{rows[0] + 1:,})"
            )
    if problems:
        na = o.setting("na_values")
        raise DataError(
            f"{o.label} {p}: " + "; ".join(problems) + "; infinity cannot be modelled",
            hint="replace them with empty cells (missing) or finite numbers"
            + (f", or list them in {na} (e.g. inf and -inf) to read them as missing" if na else ""),
        )


def _read_parquet(p: Path, o: Origin) -> pd.DataFrame:
    fmt = o.setting("format")
    try:
        import pyarrow.parquet as pq

        _check_width(p, len(pq.read_schema(p).names), o)
        return pd.read_parquet(p)
    except DataError:
        raise
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise DataError(
            f"{o.label} {p} cannot be read as Parquet: {err}",
            hint="check the file is Parquet" + (f", or set {fmt}: csv" if fmt else ""),
        ) from None


def _strip(df: pd.DataFrame, na_values: list[str]) -> pd.DataFrame:
    df = df.rename(columns=lambda c: c.strip() if isinstance(c, str) else c)
    nas = {v.strip() for v in na_values}
    for c in df.columns:
        if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):  # pandas 3: str
            s = df[c].map(lambda v: v.strip() if isinstance(v, str) else v)
            df[c] = s.where(~s.isin(nas), None) if nas else s
    return df
