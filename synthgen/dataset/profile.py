"""What a dataset's keys look like in its data: rows per table, children per parent for each
foreign key, orphaned references, cycles, and the warnings a user should read first.

Keys are compared as ``keys.key_values`` reads them (1.0 matches 1), each value as text, so
a reflected key whose two sides differ in type is still compared sensibly.
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthgen.dataset.data import Dataset
from synthgen.dataset.keys import EXAMPLES, count, key_values, pct
from synthgen.dataset.spec import ForeignKey, Origin
from synthgen.errors import SchemaError

_JOIN = "\x1f"  # between the parts of a composite key's value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableProfile(_Strict):
    name: str
    rows: int
    columns: int
    primary_key: list[str]
    primary_key_origin: Origin | None = None


class RelationshipProfile(_Strict):
    """One foreign key in the data: ``child``.``columns`` -> ``parent``.``ref_columns``."""

    child: str
    columns: list[str]
    parent: str
    ref_columns: list[str]
    origin: Origin
    evidence: str | None = None
    references: int = Field(description="child rows with a (non-empty) reference")
    empty: int = Field(description="child rows whose reference is empty")
    children_min: int = Field(description="fewest children of one parent")
    children_median: float
    children_max: int
    childless_share: float = Field(ge=0, le=1, description="share of parents with no child")
    orphans: int = Field(description="child rows referencing a value the parent lacks")
    orphan_values: int = Field(description="distinct values missing from the parent")
    orphan_examples: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        left = ", ".join(f"{self.child}.{c}" for c in self.columns)
        right = ", ".join(f"{self.parent}.{c}" for c in self.ref_columns)
        return f"{left} -> {right}"


class DatasetProfile(_Strict):
    tables: list[TableProfile]
    relationships: list[RelationshipProfile]
    order: list[str] = Field(description="tables parents first (empty if a cycle cannot break)")
    cut: list[str] = Field(default_factory=list, description="foreign keys cut to break cycles")
    self_references: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def profile(dataset: Dataset) -> DatasetProfile:
    """Rows, relationships and warnings of ``dataset`` (its keys as its spec gives them)."""
    spec = dataset.spec
    tables = [
        TableProfile(
            name=t.name,
            rows=len(dataset[t.name]),
            columns=dataset[t.name].shape[1],
            primary_key=t.primary_key,
            primary_key_origin=t.primary_key_origin,
        )
        for t in spec
    ]
    rels = [_relationship(dataset, child, fk) for child, fk in spec.edges()]
    warnings = [f"{t.name} has no primary key" for t in spec if not t.primary_key]
    order: list[str] = []
    cut: list[str] = []
    try:
        order, cut_edges = spec.order()
        cut = [fk.describe(child) for child, fk in cut_edges]
        warnings += [
            f"cycle: {c} is cut (rows are written with it empty, then filled in)" for c in cut
        ]
    except SchemaError as err:
        warnings.append(f"cycle: {err.message}")
    selfs = [fk.describe(child) for child, fk in spec.edges() if fk.ref_table == child]
    warnings += [_orphan_warning(r) for r in rels if r.orphans]
    return DatasetProfile(
        tables=tables,
        relationships=rels,
        order=order,
        cut=cut,
        self_references=selfs,
        warnings=warnings,
    )


def _orphan_warning(r: RelationshipProfile) -> str:
    share = pct(r.orphans / r.references) if r.references else "0 %"
    return (
        f"{r.describe()}: {count(r.orphans, 'orphaned reference')} ({share} of "
        f"{r.references:,}) to {count(r.orphan_values, 'value')} missing from {r.parent} (e.g. {', '.join(r.orphan_examples)})"
    )


def _as_text(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Each row's key as one string (rows with an empty part dropped)."""
    parts = []
    for c in columns:
        kv = key_values(df[c])
        s = kv[1] if kv is not None else df[c].dropna()
        parts.append(s.astype(str))
    joined = pd.concat(parts, axis=1, join="inner")
    if joined.empty:
        return pd.Series([], dtype=object)
    return joined.iloc[:, 0] if len(columns) == 1 else joined.agg(_JOIN.join, axis=1)


def _examples(counts: pd.Series) -> list[str]:
    """The most frequent values, ties in natural order (9 before 11)."""
    first = heapq.nsmallest(EXAMPLES, counts.items(), key=lambda vn: (-vn[1], len(vn[0]), vn[0]))
    return [str(v).replace(_JOIN, ", ") for v, _ in first]


def _relationship(dataset: Dataset, child: str, fk: ForeignKey) -> RelationshipProfile:
    cdf, pdf = dataset[child], dataset[fk.ref_table]
    refs = _as_text(cdf, fk.columns)
    keys = pd.Index(_as_text(pdf, fk.ref_columns).unique())
    counts = refs.value_counts()
    inside = counts.index.isin(keys)
    orphans = counts[~inside]
    per_parent = counts[inside].reindex(keys, fill_value=0).to_numpy()
    if len(per_parent) == 0:
        per_parent = np.zeros(1, dtype=int)
    return RelationshipProfile(
        child=child,
        columns=fk.columns,
        parent=fk.ref_table,
        ref_columns=fk.ref_columns,
        origin=fk.origin,
        evidence=fk.evidence,
        references=len(refs),
        empty=len(cdf) - len(refs),
        children_min=int(per_parent.min()),
        children_median=float(np.median(per_parent)),
        children_max=int(per_parent.max()),
        childless_share=float((per_parent == 0).mean()) if len(keys) else 0.0,
        orphans=int(orphans.sum()),
        orphan_values=len(orphans),
        orphan_examples=_examples(orphans),
    )
