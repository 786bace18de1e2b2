"""A recipe's source, read: a file, a folder of tables, or a database. The run synthesises
one table; the dataset it came from (keys declared, reflected or detected) travels with it
into the run folder and the model folder (``dataset.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synthgen.dataset import Dataset, DatasetSpec, TableSpec
from synthgen.errors import RecipeError
from synthgen.recipe import Recipe


@dataclass
class SourceTable:
    df: pd.DataFrame
    name: str  # the table's name (a file's stem)
    where: str  # for messages: the path or the masked URL
    file: Path | None  # the file read, for a single-file source
    spec: TableSpec  # its columns and keys, from the database, or detected
    dataset: DatasetSpec  # every table that was read, with their keys
    protected: list[Path] = field(default_factory=list)  # what no output may replace
    warnings: list[str] = field(default_factory=list)

    @property
    def is_file(self) -> bool:
        return self.file is not None


def source_paths(recipe: Recipe) -> list[Path]:
    """The files and folders the source lives in, which no output may replace."""
    src = recipe.source
    if src.path is not None:
        return [recipe.resolve(src.path)]
    from synthgen.io.sql.url import parse_url

    assert src.url is not None
    sqlite = parse_url(src.url).sqlite_path
    return [sqlite.resolve()] if sqlite is not None else []


def write_database(
    syn: pd.DataFrame, src: SourceTable, url: str, table: str, mode: str, schema: str | None
) -> None:
    """The synthetic table into a database, typed and keyed like its source table (its
    foreign keys point at tables a one-table run does not write, so they are left out)."""
    from synthgen.io.sql import write_sql

    spec = src.spec.model_copy(update={"name": table, "foreign_keys": [], "rows": len(syn)})
    write_sql(Dataset(DatasetSpec(tables=[spec]), {table: syn}), url, mode, schema)  # type: ignore[arg-type]


def read_source(recipe: Recipe) -> SourceTable:
    from synthgen.io import read_table

    src = recipe.source
    if src.path is not None:
        path = recipe.resolve(src.path)
        if not path.is_dir():
            df = read_table(
                path,
                format=src.format,
                na_values=src.na_values,
                strip_whitespace=src.strip_whitespace,
                sep=src.sep,
                encoding=src.encoding,
            )
            return _one(recipe, Dataset.of_frames({path.stem: df}), str(path), path, [path])
        from synthgen.io.folder import read_folder

        ds = read_folder(
            path,
            na_values=src.na_values,
            strip_whitespace=src.strip_whitespace,
            sep=src.sep,
            encoding=src.encoding,
        )
        if src.tables:
            ds = _only(ds, src.tables, str(path))
        return _one(recipe, ds, str(path), None, [path])
    from synthgen.io.sql import read_sql
    from synthgen.io.sql.url import parse_url

    assert src.url is not None
    db = parse_url(src.url)
    ds = read_sql(src.url, src.tables, src.db_schema, outside_keys="drop")
    sqlite = db.sqlite_path
    protected = [sqlite.resolve()] if sqlite is not None else []
    return _one(recipe, ds, db.shown, None, protected)


def _only(ds: Dataset, names: list[str], where: str) -> Dataset:
    missing = [n for n in names if n not in ds.names]
    if missing:
        raise RecipeError(
            f"source.tables: no table {', '.join(map(repr, missing))} in {where}",
            hint=f"its tables: {', '.join(ds.names)}",
        )
    return Dataset(
        DatasetSpec(tables=[ds.spec[n] for n in names]), {n: ds[n] for n in names}, ds.warnings
    )


def _one(
    recipe: Recipe, ds: Dataset, where: str, file: Path | None, protected: list[Path]
) -> SourceTable:
    """The one table a run synthesises, with the dataset's keys (detected where the source
    declares none)."""
    from synthgen.dataset.keys import detect_keys

    if len(ds.names) != 1:
        raise RecipeError(
            f"source: {where} holds {len(ds.names)} tables ({', '.join(ds.names[:8])}"
            f"{', ...' if len(ds.names) > 8 else ''}); a run synthesises one table for now",
            hint="name it: source.tables: [TABLE] (`synthgen inspect` shows the tables and "
            "their keys)",
        )
    name = ds.names[0]
    if not any(t.primary_key or t.foreign_keys for t in ds.spec):
        ds = detect_keys(ds)
    return SourceTable(
        ds[name], name, where, file, ds.spec[name], ds.spec, protected, list(ds.warnings)
    )
