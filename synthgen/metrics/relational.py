"""Metrics of a whole dataset: every reference resolves, keys are unique, children per parent
and parent-child trends follow the source, each table's own quality. They read the datasets
from ``ctx.cache["datasets"]`` (train, holdout, synthetic: set by ``validate.run``); on a
single table they are skipped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import REGISTRY, Context, Result, register
from synthgen.stats import ks_complement

_NOT_A_DATASET = "needs a dataset of several tables (a multi-table run)"


def _datasets(ctx: Context) -> Any:
    return ctx.cache.get("datasets")


def _norm(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def keys(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """One string per row for a (composite) key, None where any part is empty."""
    parts = [[_norm(v) for v in df[c].tolist()] for c in cols]
    out = [None if None in row else "\x1f".join(row) for row in zip(*parts, strict=True)]
    return pd.Series(out, index=df.index, dtype=object)


def children_per_parent(ds: Any, table: str, fk: Any) -> np.ndarray:
    parent = keys(ds[fk.ref_table], fk.ref_columns)
    counts = keys(ds[table], fk.columns).dropna().value_counts()
    return parent.map(counts).fillna(0).to_numpy(float)


@register(
    "referential_integrity",
    "schema",
    "higher",
    (0.0, 1.0),
    "share of the synthetic dataset's references (non-empty foreign key values) that resolve",
)
def referential_integrity(ctx: Context) -> Result:
    d = _datasets(ctx)
    if d is None:
        return Result(None, skipped=_NOT_A_DATASET)
    syn = d[2]
    total, ok, per = 0, 0, {}
    for t, fk in syn.spec.edges():
        refs = keys(syn[t], fk.columns).dropna()
        known = set(keys(syn[fk.ref_table], fk.ref_columns).dropna())
        good = int(refs.isin(known).sum())
        per[fk.describe(t)] = good / len(refs) if len(refs) else 1.0
        total, ok = total + len(refs), ok + good
    return Result(ok / total if total else 1.0, {"per_key": per})


@register(
    "key_uniqueness",
    "schema",
    "higher",
    (0.0, 1.0),
    "share of the synthetic tables' primary and unique keys that hold no value twice",
)
def key_uniqueness(ctx: Context) -> Result:
    d = _datasets(ctx)
    if d is None:
        return Result(None, skipped=_NOT_A_DATASET)
    syn, per = d[2], {}
    for t in syn.spec:
        for key in ([t.primary_key] if t.primary_key else []) + [u.columns for u in t.unique]:
            k = keys(syn[t.name], key).dropna()
            per[f"{t.name}({', '.join(key)})"] = float(not k.duplicated().any())
    return Result(float(np.mean(list(per.values()))) if per else 1.0, {"per_key": per})


@register(
    "cardinality_similarity",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "children per parent row, real vs synthetic, per foreign key (1 - KS statistic, mean)",
)
def cardinality_similarity(ctx: Context) -> Result:
    d = _datasets(ctx)
    if d is None:
        return Result(None, skipped=_NOT_A_DATASET)
    real, syn = d[0], d[2]
    per = {}
    for t, fk in real.spec.edges():
        a, b = children_per_parent(real, t, fk), children_per_parent(syn, t, fk)
        if len(a) and len(b):
            per[fk.describe(t)] = ks_complement(a, b)
    return Result(float(np.mean(list(per.values()))) if per else None, {"per_key": per})


@register(
    "row_count_ratio",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "synthetic vs real rows per table, as min(ratio, 1 / ratio) (worst table)",
)
def row_count_ratio(ctx: Context) -> Result:
    d = _datasets(ctx)
    if d is None:
        return Result(None, skipped=_NOT_A_DATASET)
    real, syn = d[3] if len(d) > 3 else d[0], d[2]
    per = {}
    for t in real.names:
        r, s = len(real[t]), len(syn[t])
        per[t] = 1.0 if r == s else (min(r, s) / max(r, s) if r and s else 0.0)
    return Result(min(per.values()) if per else None, {"per_table": per})


def _table_context(ctx: Context, table: str) -> Context:
    from synthgen.schema import detect

    d = _datasets(ctx)
    drop = key_columns(d[0].spec, table)
    real, hold, syn = (x[table].drop(columns=[c for c in drop if c in x[table]]) for x in d[:3])
    return Context(real, hold, syn, detect(real, seed=ctx.seed), seed=ctx.seed)


def _per_table(ctx: Context, metric: str) -> dict[str, float] | None:
    """``metric`` on each table with columns besides its keys (a link table's relations are
    measured by the key metrics); None when the context holds no datasets."""
    d = _datasets(ctx)
    if d is None:
        return None
    per = {}
    for t in d[0].names:
        if d[0][t].shape[1] == len(key_columns(d[0].spec, t)):
            continue
        r = REGISTRY[metric].compute(_table_context(ctx, t))
        if r.value is not None:
            per[t] = r.value
    return per


def key_columns(spec: Any, table: str) -> set[str]:
    """A table's key columns (its own keys, its references, what others reference): made
    fresh by a synthesiser, so never compared as values."""
    t = spec[table]
    out = set(t.primary_key) | {c for fk in t.foreign_keys for c in fk.columns}
    return out | {c for _t, fk in spec.edges() if fk.ref_table == table for c in fk.ref_columns}


@register(
    "table_quality",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "each table's quality (column shapes and pair trends) against its real rows; the mean",
)
def table_quality(ctx: Context) -> Result:
    per = _per_table(ctx, "quality")
    if per is None:
        return Result(None, skipped=_NOT_A_DATASET)
    return Result(float(np.mean(list(per.values()))) if per else None, {"per_table": per})


@register(
    "table_exact_copies",
    "privacy",
    "lower",
    (0.0, 1.0),
    "per table, the share of synthetic rows (keys aside) equal to a training row; the worst",
)
def table_exact_copies(ctx: Context) -> Result:
    per = _per_table(ctx, "exact_copy_rate")
    if per is None:
        return Result(None, skipped=_NOT_A_DATASET)
    return Result(max(per.values()) if per else None, {"per_table": per})


@register(
    "parent_child_trends",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "column pair trends over each child table joined to its parent (mean over foreign keys)",
)
def parent_child_trends(ctx: Context) -> Result:
    d = _datasets(ctx)
    if d is None:
        return Result(None, skipped=_NOT_A_DATASET)
    from synthgen.schema import detect

    real, syn, per = d[0], d[2], {}
    for t, fk in real.spec.edges():
        if fk.ref_table == t:
            continue
        jr, js = _joined(real, t, fk), _joined(syn, t, fk)
        if jr.shape[1] < 2 or len(jr) < 2 or len(js) < 2:
            continue
        c = Context(jr, jr.iloc[:0], js, detect(jr, seed=ctx.seed), seed=ctx.seed)
        r = REGISTRY["column_pair_trends"].compute(c)
        if r.value is not None:
            per[fk.describe(t)] = r.value
    return Result(float(np.mean(list(per.values()))) if per else None, {"per_key": per})


def _joined(ds: Any, t: str, fk: Any) -> pd.DataFrame:
    """The child's non-key columns beside its parent's (``parent.`` prefixed)."""
    child, parent = ds[t], ds[fk.ref_table]
    key_c, key_p = key_columns(ds.spec, t), key_columns(ds.spec, fk.ref_table)
    lookup = pd.Series(np.arange(len(parent)), index=keys(parent, fk.ref_columns).to_numpy())
    lookup = lookup[~lookup.index.duplicated()]
    idx = keys(child, fk.columns).map(lookup)
    ok = idx.notna().to_numpy()
    left = child.loc[ok, [c for c in child.columns if c not in key_c]].reset_index(drop=True)
    pcols = [c for c in parent.columns if c not in key_p]
    right = parent.iloc[idx[ok].astype(int).to_numpy()][pcols].reset_index(drop=True)
    return pd.concat([left, right.add_prefix("parent.")], axis=1)
