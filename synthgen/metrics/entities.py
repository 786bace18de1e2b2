"""Privacy at the entity level: a customer is their row *and* everything under them.

A synthetic dataset can leak a person through their children even when no single row is a
copy: the same customer with the same number of invoices, the same genres bought. Each entity
(a row of the table the holdout was split by, e.g. a customer) becomes one profile row:
its own columns, then per child table the number of children, the mean of each numeric child
column and the commonest label of each label column. The single-table distance metrics then
run on those profiles: training entities against the entity-level holdout (the split keeps a
customer and all their rows on one side).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthgen.metrics.base import REGISTRY, Context, Result, register
from synthgen.metrics.relational import _NOT_A_DATASET, _datasets, key_columns, keys

MAX_NUMERIC = 8  # child columns summarised per child table
MAX_LABELS = 4
MAX_CARDINALITY = 50  # a label column with more labels than this is left out of profiles
MIN_ENTITIES = 2


def roots(real: Any, hold: Any) -> list[str]:
    """The entity tables: split between training and holdout (not kept whole on both sides,
    as products beside customers are), with children, and whose own parents are all kept
    whole (a customer under a shared employee table is an entity; an invoice under a
    customer is part of one)."""
    spec = real.spec
    shared = {
        t.name for t in spec if _shared(real[t.name], hold[t.name], key_columns(spec, t.name))
    }
    out = []
    for t in spec:
        parents = {fk.ref_table for fk in t.foreign_keys if fk.ref_table != t.name}
        kids = [c for c, fk in spec.edges() if fk.ref_table == t.name and c != t.name]
        if t.name not in shared and kids and parents <= shared:
            out.append(t.name)
    return out


def profiles(ds: Any, root: str, plan: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per ``root`` row: its own non-key columns and its children's summaries.
    ``plan`` (from the training side) fixes which child columns are summarised, so the
    three sides have the same columns."""
    spec = ds.spec
    own = [c for c in ds[root].columns if c not in key_columns(spec, root)]
    out = ds[root][own].reset_index(drop=True).copy()
    for child, fk in spec.edges():
        if fk.ref_table != root or child == root:
            continue
        tag = f"{child}[{','.join(fk.columns)}]"
        parent = keys(ds[root], fk.ref_columns).reset_index(drop=True)
        ck = keys(ds[child], fk.columns)
        out[f"{tag}.n"] = parent.map(ck.dropna().value_counts()).fillna(0).to_numpy(float)
        frame = ds[child].assign(__key=ck.to_numpy()).dropna(subset=["__key"])
        numeric, labels = (plan or {}).get(tag) or _choose(ds[child], key_columns(spec, child))
        if plan is not None:
            plan.setdefault(tag, (numeric, labels))
        for c in numeric:
            means = pd.to_numeric(frame[c], errors="coerce").groupby(frame["__key"]).mean()
            out[f"{tag}.{c}.mean"] = parent.map(means).to_numpy(float)
        for c in labels:
            top = frame.groupby("__key")[c].agg(_mode)
            out[f"{tag}.{c}.mode"] = parent.map(top).astype(object).to_numpy()
    return out


def _shared(train: pd.DataFrame, hold: pd.DataFrame, key: set[str]) -> bool:
    """True when the holdout's rows of this table are the training rows again: the split
    was by another entity."""
    cols = sorted(c for c in key if c in train.columns and c in hold.columns)
    if not cols or not len(hold):
        return False
    both = keys(hold, cols).isin(set(keys(train, cols).dropna()))
    return bool(both.mean() > 0.5)


def _choose(df: pd.DataFrame, skip: set[str]) -> tuple[list[str], list[str]]:
    numeric, labels = [], []
    for c in df.columns:
        if c in skip:
            continue
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            numeric.append(c)
        elif s.nunique(dropna=True) <= MAX_CARDINALITY:
            labels.append(c)
    return numeric[:MAX_NUMERIC], labels[:MAX_LABELS]


def _mode(s: pd.Series) -> Any:
    m = s.dropna().astype(str).mode()
    return m.iloc[0] if len(m) else None


def profile_metric(
    metric: str, train: pd.DataFrame, holdout: pd.DataFrame, syn: pd.DataFrame, seed: int
) -> Result | None:
    """A row-level privacy metric (``dcr_share``, ``membership_auc``) run on entity profiles,
    one row per entity on each side; None when a side has too few entities or the metric
    does not apply."""
    from synthgen.schema import detect

    if min(len(train), len(holdout), len(syn)) < MIN_ENTITIES:
        return None
    sub = Context(train, holdout, syn, detect(train, seed=seed), seed=seed)
    r = REGISTRY[metric].compute(sub)
    return None if r.value is None else r


def _entity_metric(ctx: Context, metric: str) -> Result:
    d = _datasets(ctx)
    if d is None:
        return Result(None, skipped=_NOT_A_DATASET)
    real, hold, syn = d[:3]
    per: dict[str, Any] = {}
    worst: Result | None = None
    for root in roots(real, hold):
        plan: dict[str, Any] = {}
        tr = profiles(real, root, plan)
        ho, sy = profiles(hold, root, plan), profiles(syn, root, plan)
        r = profile_metric(metric, tr, ho, sy, ctx.seed)
        if r is None:
            continue
        per[root] = {"value": r.value, "entities": [len(tr), len(ho), len(sy)]}
        if worst is None or r.value > worst.value:  # type: ignore[operator]
            worst = r
    if worst is None:
        return Result(None, skipped="no root table with enough entities on every side")
    details = dict(worst.details or {})
    details["per_root"] = per
    return Result(worst.value, details, evidence=worst.evidence)


@register(
    "entity_dcr_share",
    "privacy",
    "lower",
    (0.0, 1.0),
    "share of synthetic root entities (a row with its children's summaries) closer to a "
    "training entity than to a holdout one (0.5 = no leak; the worst root table)",
)
def entity_dcr_share(ctx: Context) -> Result:
    return _entity_metric(ctx, "dcr_share")


@register(
    "entity_membership_auc",
    "privacy",
    "lower",
    (0.0, 1.0),
    "ROC AUC of telling training from holdout entities by their distance to the synthetic "
    "entities (0.5 = no leak; the worst root table)",
)
def entity_membership_auc(ctx: Context) -> Result:
    return _entity_metric(ctx, "membership_auc")
