"""Sequence tables found by reading a dataset (`synthgen inspect`): a child table whose rows
are each parent's events in time, proposed as ``tables: {T: {sequence: {order: C}}}`` with
its evidence. Proposed, never applied: a run learns a table as a sequence only when the
recipe declares it (see the README's "Sequences"), because the same shape (a parent's rows
and a datetime) also fits tables that are not event streams (an order's lines stamped with
the order's time), and a declared sequence changes how the table is learnt."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.dataset import Dataset
from synthgen.schema.spec import Schema

MIN_MEDIAN = 2.0  # events per parent (median over parents with any)
MIN_SEVERAL = 0.5  # share of parents with 2+ events
MIN_DISTINCT = 0.9  # share of a parent's events at distinct times (ties: not a stream)


@dataclass
class Proposal:
    table: str
    order: str
    parent: str
    entity: str  # the foreign key column the events belong to their parent by
    evidence: dict[str, Any]

    def recipe(self) -> str:
        """The recipe line that declares it."""
        return f"tables: {{{self.table}: {{sequence: {{order: {self.order}}}}}}}"

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "sequence": {"order": self.order},
            "parent": self.parent,
            "entity": self.entity,
            "evidence": self.evidence,
            "recipe": self.recipe(),
        }


def propose(ds: Dataset, schemas: dict[str, Schema]) -> list[Proposal]:
    """Each child table (drawn per its parent in a run) with a datetime column filled on
    every row, whose parents mostly have several rows at distinct times of it."""
    if len(ds.names) < 2:
        return []
    from synthgen.relational.learn import personal_unique
    from synthgen.relational.plan import make_plan

    plan = make_plan(ds.spec, personal_unique(ds, 0))
    out = []
    for t in plan.order:
        tp = plan.tables[t]
        if tp.context is None or len(tp.context.columns) != 1 or t not in schemas:
            continue
        df, fk = ds[t], tp.context.columns[0]
        if len(df) == 0 or df[fk].isna().any():
            continue
        times = [
            c.name
            for c in schemas[t].columns
            if c.kind == "datetime" and c.name not in tp.key_columns and df[c.name].notna().all()
        ]
        best = None
        for c in times:
            ev = _evidence(df, fk, c, len(ds[tp.context.ref_table]))
            if _fits(ev) and (best is None or ev["distinct_times"] > best[1]["distinct_times"]):
                best = (c, ev)
        if best is not None:
            out.append(Proposal(t, best[0], tp.context.ref_table, fk, best[1]))
    return out


KEY_NAME = re.compile(r"(^|[_\W]|[a-z])(id|key)$", re.IGNORECASE)


def propose_table(df: pd.DataFrame, schema: Schema) -> dict[str, Any] | None:
    """One table's events of an entity in time, for `synthgen init`'s starter recipe: an
    entity column that reads as a key (an id kind, a name ending in id or key, or a day: a
    date whose every value is at midnight) and a datetime filled on every row, as
    :func:`propose` judges a dataset's child table. None when nothing fits."""
    times = [c.name for c in schema.columns if c.kind == "datetime" and df[c.name].notna().all()]
    best: dict[str, Any] | None = None
    for e in schema.columns:
        if df[e.name].isna().any() or not _key_like(df, e.name, e.kind):
            continue
        for o in times:
            if o == e.name or (e.kind == "datetime" and not _finer(df[o])):
                continue
            ev = _evidence(df, e.name, o, int(df[e.name].nunique()))
            if _fits(ev) and (best is None or ev["distinct_times"] > best["distinct_times"]):
                best = {"entity": e.name, "order": o, **ev}
    return best


def _key_like(df: pd.DataFrame, col: str, kind: str) -> bool:
    if kind == "id":
        return True
    if kind == "datetime":
        t = pd.to_datetime(df[col], errors="coerce", format="mixed")
        return bool(t.notna().all() and (t == t.dt.normalize()).all())
    return kind in ("integer", "categorical") and bool(KEY_NAME.search(col))


def _finer(s: pd.Series) -> bool:
    """A datetime with times of day (an order within a day's events)."""
    t = pd.to_datetime(s, errors="coerce", format="mixed")
    return bool((t != t.dt.normalize()).any())


def _evidence(df: pd.DataFrame, fk: str, order: str, parents: int) -> dict[str, Any]:
    key = df[fk].astype(str)
    counts = key.value_counts()
    t = pd.to_datetime(df[order], errors="coerce", format="mixed")
    distinct = t.groupby(key).nunique()
    return {
        "rows": len(df),
        "parents": int(parents),
        "parents_with_rows": len(counts),
        "median_per_parent": float(np.median(counts.to_numpy())),
        "several_share": round(float((counts >= 2).mean()), 4),
        "distinct_times": round(float(distinct.sum() / max(1, len(df))), 4),
    }


def _fits(ev: dict[str, Any]) -> bool:
    return bool(
        ev["median_per_parent"] >= MIN_MEDIAN
        and ev["several_share"] >= MIN_SEVERAL
        and ev["distinct_times"] >= MIN_DISTINCT
    )


def describe(p: Proposal) -> str:
    """One line of evidence, as `synthgen inspect` prints it."""
    ev = p.evidence
    return (
        f"{p.table}: each {p.parent} row's events in {p.order} order (through {p.entity}): "
        f"{ev['rows']:,} rows over {ev['parents_with_rows']:,} of {ev['parents']:,} parents, "
        f"median {ev['median_per_parent']:g} per parent, {ev['several_share']:.0%} with 2+, "
        f"{ev['distinct_times']:.0%} at distinct times -> declare: {p.recipe()}"
    )
