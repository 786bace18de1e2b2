"""Inspecting a dataset before synthesis: read a folder of tables, detect its keys, profile
them, and detect each table's column schema. One result, as one JSON document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen import __version__
from synthgen.dataset import Dataset
from synthgen.dataset.keys import detect_keys
from synthgen.dataset.profile import DatasetProfile, profile
from synthgen.io.folder import read_folder
from synthgen.schema import detect
from synthgen.schema.spec import Schema

INSPECTION_FORMAT_VERSION = 1


@dataclass
class DatasetInspection:
    name: str
    dataset: Dataset
    schemas: dict[str, Schema]
    profile: DatasetProfile
    # per table: the rules every row obeys (constraints.detect.Found), as `run` keeps them
    rules: dict[str, list[Any]] = field(default_factory=dict)
    # child tables that look like each parent's events in time (sequences.detect.Proposal)
    sequences: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.rules:
            self.rules = {t: self._detect(t, s) for t, s in self.schemas.items()}
        if not self.sequences:
            from synthgen.sequences.detect import propose

            self.sequences = propose(self.dataset, self.schemas)

    def _detect(self, t: str, schema: Schema) -> list[Any]:
        """Table ``t``'s rules as a multi-table run keeps them: on its own columns (keys are
        made fresh, not learnt), each naming its table."""
        from synthgen.constraints.detect import Found, detect_rules

        df = self.dataset[t]
        if len(self.dataset.names) == 1:
            return detect_rules(df, schema)
        from synthgen.relational.rules import key_columns

        keys = key_columns(self.dataset, t)
        cols = [c for c in schema.columns if c.name not in keys and c.name in df.columns]
        found = detect_rules(df[[c.name for c in cols]], Schema(columns=cols))
        return [Found(f.rule.model_copy(update={"table": t}), f.evidence) for f in found]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": INSPECTION_FORMAT_VERSION,
            "kind": "synthgen dataset inspection",
            "synthgen_version": __version__,
            "name": self.name,
            "dataset": self.dataset.spec.model_dump(mode="json"),
            "schemas": {t: s.model_dump(mode="json") for t, s in self.schemas.items()},
            "profile": self.profile.model_dump(mode="json"),
            "constraints": {t: [f.to_json() for f in fs] for t, fs in self.rules.items()},
            "sequences": [p.to_json() for p in self.sequences],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def inspect_folder(
    folder: str | Path,
    *,
    na_values: list[str] | None = None,
    strip_whitespace: bool = False,
    sep: str | None = None,
    encoding: str = "utf-8",
) -> DatasetInspection:
    """Read every table of ``folder``, detect the keys it lacks, profile them and detect
    each table's columns."""
    raw = read_folder(
        folder, na_values=na_values, strip_whitespace=strip_whitespace, sep=sep, encoding=encoding
    )
    ds = detect_keys(raw)
    schemas = {name: detect(ds[name]) for name in ds.names}
    return DatasetInspection(Path(folder).resolve().name, ds, schemas, profile(ds))


def inspect_file(path: str | Path) -> DatasetInspection:
    """One CSV or Parquet file as a dataset of one table (named after the file)."""
    from synthgen.io import read_table

    p = Path(path)
    ds = detect_keys(Dataset.of_frames({p.stem: read_table(p)}))
    return DatasetInspection(p.stem, ds, {p.stem: detect(ds[p.stem])}, profile(ds))


def inspect_url(
    url: str, tables: list[str] | None = None, schema: str | None = None
) -> DatasetInspection:
    """Read ``tables`` of a database (default: all of ``schema``) with the keys it declares,
    detect the keys it does not declare (each with its evidence), profile them and detect
    each table's columns. The name shown is the database's, never its credentials."""
    from synthgen.io.sql import read_sql
    from synthgen.io.sql.url import parse_url

    db = parse_url(url)
    ds = detect_keys(read_sql(url, tables, schema))
    schemas = {name: detect(ds[name]) for name in ds.names}
    name = db.url.database or db.dialect
    return DatasetInspection(Path(str(name)).name, ds, schemas, profile(ds))
