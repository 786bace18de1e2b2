"""A dataset in memory: its spec (tables, keys) and one DataFrame per table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from synthgen.dataset.spec import ColumnInfo, DatasetSpec, TableSpec
from synthgen.errors import SchemaError


@dataclass
class Dataset:
    spec: DatasetSpec
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # what the reader noticed and a user should know (e.g. a table without a primary key)
    warnings: list[str] = field(default_factory=list)
    # per table, columns the database fills itself (their DEFAULT): never written
    db_filled: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [t for t in self.spec.names if t not in self.tables]
        extra = [t for t in self.tables if t not in self.spec]
        if missing or extra:
            raise SchemaError(
                "a dataset's tables and its spec disagree: "
                + "; ".join(
                    ([f"no data for {', '.join(missing)}"] if missing else [])
                    + ([f"no spec for {', '.join(extra)}"] if extra else [])
                )
            )

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def names(self) -> list[str]:
        return self.spec.names

    @classmethod
    def of_frames(cls, frames: dict[str, pd.DataFrame]) -> Dataset:
        """Tables without keys; column facts from the frames' dtypes."""
        specs = [
            TableSpec(
                name=name,
                columns=[
                    ColumnInfo(name=str(c), nullable=bool(df[c].isna().any())) for c in df.columns
                ],
                rows=len(df),
            )
            for name, df in frames.items()
        ]
        return cls(DatasetSpec(tables=specs), dict(frames))
