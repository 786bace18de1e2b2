"""Datasets: tables with their keys, where they come from, and how they relate."""

from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import (
    DATASET_FORMAT_VERSION,
    CheckConstraint,
    ColumnInfo,
    DatasetSpec,
    ForeignKey,
    TableSpec,
    UniqueKey,
)

__all__ = [
    "DATASET_FORMAT_VERSION",
    "CheckConstraint",
    "ColumnInfo",
    "Dataset",
    "DatasetSpec",
    "ForeignKey",
    "TableSpec",
    "UniqueKey",
]
