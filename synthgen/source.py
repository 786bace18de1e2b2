"""A recipe's source, read: a file, a folder of tables, or a database. The run synthesises
one table (or, from a source of several, every table: synthgen.relational.run); the dataset it came from (keys declared, reflected or detected) travels with it
into the run folder and the model folder (``dataset.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from synthgen.dataset import Dataset, DatasetSpec, TableSpec
from synthgen.errors import DataError, RecipeError, UsageError
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
    in_memory: bool = False  # a DataFrame given from Python (synthgen.synthesize)

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


@dataclass
class SourceDataset:
    """A source of several tables, read for a multi-table run (keys detected if none)."""

    dataset: Dataset
    where: str
    protected: list[Path] = field(default_factory=list)


def read_source(recipe: Recipe, *, many: bool = False) -> SourceTable | SourceDataset:
    """The source; with ``many`` a source of several tables is a SourceDataset."""
    ds, where, file, protected = _read(recipe)
    if many and len(ds.names) > 1:
        from synthgen.dataset.keys import detect_keys

        if not any(t.primary_key or t.foreign_keys for t in ds.spec):
            ds = detect_keys(ds)
        return SourceDataset(apply_declared(ds, recipe, where), where, protected)
    return _one(recipe, ds, where, file, protected)


def frame_source(recipe: Recipe, df: pd.DataFrame) -> SourceTable:
    """A DataFrame given from Python as the recipe's source: one table named after the
    recipe, its keys detected (or declared under ``tables:``) as for a file."""
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    bad = [repr(c) for c in df.columns if not isinstance(c, str)]
    if bad:
        raise DataError(
            f"the DataFrame's column names must be text; these are not: {', '.join(bad[:5])}",
            hint="rename them, e.g. df.columns = df.columns.map(str)",
        )
    frame = df.reset_index(drop=True)
    ds = Dataset.of_frames({recipe.name: frame})
    src = _one(recipe, ds, "the DataFrame", None, [])
    src.in_memory = True
    return src


def read_table_source(recipe: Recipe) -> SourceTable:
    src = read_source(recipe)
    assert isinstance(src, SourceTable)
    return src


def _read(recipe: Recipe) -> tuple[Dataset, str, Path | None, list[Path]]:
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
            return Dataset.of_frames({path.stem: df}), str(path), path, [path]
        from synthgen.io.folder import read_folder

        _refuse_parts_folder(path)
        ds = read_folder(
            path,
            na_values=src.na_values,
            strip_whitespace=src.strip_whitespace,
            sep=src.sep,
            encoding=src.encoding,
        )
        if src.tables:
            ds = _only(ds, src.tables, str(path))
        return ds, str(path), None, [path]
    from synthgen.io.sql import read_sql
    from synthgen.io.sql.url import parse_url

    assert src.url is not None
    db = parse_url(src.url)
    ds = read_sql(src.url, src.tables, src.db_schema, outside_keys="drop")
    sqlite = db.sqlite_path
    protected = [sqlite.resolve()] if sqlite is not None else []
    return ds, db.shown, None, protected


def _refuse_parts_folder(path: Path) -> None:
    """A dataset folder `synthgen sample --out big/` wrote is one table in parts, not a
    dataset of tables: say how to learn from it (streamed) instead of reading each part as a
    table of its own."""
    from synthgen.scale.dataset import DATASET_FORMAT, MANIFEST_FILE

    manifest = path / MANIFEST_FILE
    try:
        is_parts = DATASET_FORMAT in manifest.read_text(encoding="utf-8")[:200]
    except OSError:
        return
    if is_parts:
        raise RecipeError(
            f"source {path} is one table in part files (it has {MANIFEST_FILE}), not a "
            "folder of tables; `synthgen run` reads a folder as a dataset of tables",
            hint="learn a copula from it in batches: synthgen fit RECIPE --out model/ "
            "(with generator: {name: copula}), then synthgen sample model/ -n N --out big/",
        )


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
    ds = apply_declared(ds, recipe, where)
    return SourceTable(
        ds[name], name, where, file, ds.spec[name], ds.spec, protected, list(ds.warnings)
    )


def apply_declared(ds: Dataset, recipe: Recipe, where: str) -> Dataset:
    """The recipe's ``tables:`` over what the source declares or was detected: every field
    a table declares replaces that table's own; every problem reported at once."""
    from synthgen.dataset import ForeignKey, UniqueKey

    if not recipe.tables:
        return ds
    problems = [
        f"tables.{t}: no table {t!r} in {where} (its tables: {', '.join(ds.names)})"
        for t in recipe.tables
        if t not in ds.spec
    ]
    specs = []
    for t in ds.spec:
        decl = recipe.tables.get(t.name)
        if decl is None:
            specs.append(t)
            continue
        cols = set(t.column_names) or set(map(str, ds[t.name].columns))
        update: dict[str, object] = {}
        named: list[tuple[str, list[str]]] = []
        if decl.primary_key is not None:
            update |= {"primary_key": decl.primary_key, "primary_key_origin": "declared"}
            update["primary_key_evidence"] = None
            named.append(("primary_key", decl.primary_key))
        if decl.foreign_keys is not None:
            update["foreign_keys"] = [
                ForeignKey(columns=f.columns, ref_table=f.ref_table, ref_columns=f.ref_columns)
                for f in decl.foreign_keys
            ]
            named += [(f"foreign_keys.{i}", f.columns) for i, f in enumerate(decl.foreign_keys)]
        if decl.unique is not None:
            update["unique"] = [UniqueKey(columns=u) for u in decl.unique]
            named += [(f"unique.{i}", u) for i, u in enumerate(decl.unique)]
        problems += [
            f"tables.{t.name}.{path}: no column {c!r} in table {t.name}"
            for path, columns in named
            for c in columns
            if c not in cols
        ]
        specs.append(t.model_copy(update=update))
    if not problems:
        try:
            spec = DatasetSpec(tables=specs)
        except ValidationError as err:
            problems += [f"tables: {e['msg'].removeprefix('Value error, ')}" for e in err.errors()]
    if problems:
        raise RecipeError("the declared keys do not fit the source:", problems=problems)
    return Dataset(spec, ds.tables, ds.warnings)
