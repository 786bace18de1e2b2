"""What the relational model learns from the source, table by table (see synthgen.relational.frames
for the extra columns): the training frames, the contexts, the profiles to match on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthgen.dataset.data import Dataset
from synthgen.relational import frames as fr
from synthgen.relational.assign import agreement, label_cells
from synthgen.relational.plan import Plan, TablePlan, fk_id
from synthgen.schema import Schema, apply_overrides, detect

MODELLED = ("numeric", "integer", "categorical", "boolean", "datetime")


@dataclass
class Learnt:
    frames: dict[str, pd.DataFrame]  # source rows kept (orphans left out)
    own: dict[str, list[str]]  # each table's non-key columns
    schemas: dict[str, Schema] = field(default_factory=dict)  # of the training frames
    features: dict[str, pd.DataFrame] = field(default_factory=dict)
    contexts: dict[str, pd.DataFrame] = field(default_factory=dict)
    context_columns: dict[str, list[str]] = field(default_factory=dict)  # given to children
    profiles: dict[str, list[fr.ProfileColumn]] = field(default_factory=dict)


def all_fks(tp: TablePlan) -> list:
    return ([tp.context] if tp.context else []) + tp.assigned + tp.self_refs


def drop_orphans(ds: Dataset, plan: Plan, warnings: list[str]) -> dict[str, pd.DataFrame]:
    """Rows whose reference resolves to no parent row are reported and left out of training."""
    frames = {t: ds[t].reset_index(drop=True) for t in ds.names}
    for t in plan.order:
        bad = np.zeros(len(frames[t]), dtype=bool)
        for fk in all_fks(plan.tables[t]):
            miss = fr.parent_index(frames[t], fk, frames[fk.ref_table]) == -2
            if miss.any():
                warnings.append(
                    f"{t}: {int(miss.sum())} row(s) reference no existing {fk.ref_table} row "
                    f"({fk.describe(t)}); they are left out of training (fix the source's "
                    "references, or declare the key differently under tables:)"
                )
                bad |= miss
        frames[t] = frames[t][~bad].reset_index(drop=True)
    return frames


def own_columns(df: pd.DataFrame, tp: TablePlan) -> list[str]:
    return [str(c) for c in df.columns if c not in tp.key_columns]


def learn(ds: Dataset, plan: Plan, seed: int, warnings: list[str]) -> Learnt:
    frames = drop_orphans(ds, plan, warnings)
    own = {t: own_columns(frames[t], plan.tables[t]) for t in plan.order}
    kinds = {t: detect(frames[t][own[t]], seed=seed) for t in plan.order}
    modelled = {t: [c.name for c in kinds[t].columns if c.kind in MODELLED] for t in plan.order}
    out = Learnt(frames, own)
    referenced = {fk.ref_table for tp in plan.tables.values() for fk in tp.assigned}
    for p in plan.order:
        if p in referenced:
            out.profiles[p] = fr.choose_profile(plan, p, frames, modelled)
    cells = {p: fr.profile_cells(plan, p, cols, frames) for p, cols in out.profiles.items()}
    labels = {p: cells[p][label_cells(cols)] for p, cols in out.profiles.items()}
    for t in plan.order:
        out.features[t] = features(plan, t, frames, own[t], cells, labels)
    for t in plan.order:  # parents first: a context carries the parent's own context
        tp = plan.tables[t]
        if tp.context is not None:
            idx = fr.parent_index(frames[t], tp.context, frames[tp.context.ref_table])
            out.contexts[t] = given(out, tp.context.ref_table, idx)
        out.schemas[t] = schema_of(out.features[t], seed)
        out.context_columns[t] = context_columns(out, t, kinds[t])
    return out


def features(
    plan: Plan, t: str, frames: dict[str, pd.DataFrame], own: list[str], cells: dict, labels: dict
) -> pd.DataFrame:
    tp = plan.tables[t]
    df = frames[t]
    f = df[own].copy()
    for child, fk in plan.children(t):
        idx = fr.parent_index(frames[child], fk, df)
        f[f"__n.{child}.{fk_id(fk)}"] = fr.counts(idx, len(df))
        for other in plan.tables[child].assigned:  # how alike its children's references are
            if 0 in labels[other.ref_table].shape:
                continue
            j = fr.parent_index(frames[child], other, frames[other.ref_table])
            asked = labels[other.ref_table].iloc[np.clip(j, 0, None)].reset_index(drop=True)
            asked.loc[j < 0] = None  # no reference: one profile of its own
            f[f"__same.{child}.{fk_id(other)}"] = agreement(idx, asked, len(df))
    for child, fk in plan.referrers(t):
        idx = fr.parent_index(frames[child], fk, df)
        f[f"__deg.{child}.{fk_id(fk)}"] = fr.counts(idx, len(df))
    for fk in tp.self_refs:
        idx = fr.parent_index(df, fk, df)
        idx = np.where(idx == np.arange(len(df)), -1, idx)  # a root pointing at itself
        f[f"__depth.{fk_id(fk)}"] = fr.depths(idx)
    for fk in tp.assigned:
        idx = fr.parent_index(df, fk, frames[fk.ref_table])
        if tp_nullable(plan, t, fk, frames):
            f[f"__has.{fk_id(fk)}"] = idx >= 0
        c = cells[fk.ref_table]
        for i in c.columns:
            vals = c[i].to_numpy()
            f[f"__want.{fk_id(fk)}.{i}"] = [vals[j] if j >= 0 else "~" for j in idx]
    return f


def tp_nullable(plan: Plan, t: str, fk, frames: dict[str, pd.DataFrame]) -> bool:  # type: ignore[no-untyped-def]
    return bool(frames[t][fk.columns].isna().any(axis=None))


def given(out: Learnt, parent: str, idx: np.ndarray) -> pd.DataFrame:
    """The context of child rows whose parent rows are ``idx``: the parent's features
    named in context_columns (its own context's columns carry a ``^`` per level up)."""
    cf = context_frame(out.features[parent], out.contexts.get(parent), out.context_columns[parent])
    return cf.iloc[np.clip(idx, 0, None)].reset_index(drop=True)


def context_frame(
    feats: pd.DataFrame, ctx: pd.DataFrame | None, columns: list[str]
) -> pd.DataFrame:
    parts = [feats]
    if ctx is not None:
        parts.append(ctx.add_prefix("^"))
    whole = pd.concat([p.reset_index(drop=True) for p in parts], axis=1)
    return whole[columns]


def context_columns(out: Learnt, t: str, kinds: Schema) -> list[str]:
    """What a child of ``t`` is given: t's labels, numbers and counts, then its ancestors'."""
    f = out.features[t]
    schema = out.schemas[t]
    mine = [
        c
        for c in f.columns
        if not c.startswith(("__want.", "__has.", "__same."))
        and schema[c].kind in MODELLED
        and not (schema[c].kind == "categorical" and schema[c].cardinality > fr.MAX_LABELS)
    ]
    up = ["^" + c for c in out.contexts[t].columns] if t in out.contexts else []
    return (mine + up)[: fr.MAX_CONTEXT]


def schema_of(f: pd.DataFrame, seed: int) -> Schema:
    """The training frame's schema; the extra columns' kinds are ours, not detected."""
    schema = detect(f, seed=seed)
    kinds = {
        "__n.": "integer",
        "__deg.": "integer",
        "__depth.": "integer",
        "__want.": "categorical",
        "__has.": "boolean",
        "__same.": "numeric",
    }
    over = {c: {"kind": k} for c in f.columns for p, k in kinds.items() if c.startswith(p)}
    return apply_overrides(schema, over, f) if over else schema


def personal_unique(ds: Dataset, seed: int) -> dict[str, set[str]]:
    """One-column UNIQUE columns (not the primary key) whose values are personal data: an
    email is faked (uniquely) like any PII column, not numbered like a key."""
    out: dict[str, set[str]] = {}
    for t in ds.spec:
        cols = [
            u.columns[0]
            for u in t.unique
            if len(u.columns) == 1 and u.columns != t.primary_key and u.columns[0] in ds[t.name]
        ]
        if cols:
            kinds = detect(ds[t.name][cols], seed=seed)
            out[t.name] = {c.name for c in kinds.columns if c.kind == "pii"}
    return out
