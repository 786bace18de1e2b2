"""Privacy of a sequence table at the entity level: whole sequences against training and
holdout entities.

A sequence generator can give a day back without copying any one hour on its own terms: the
same 24 readings in the same order. So each sequence is compared whole, two ways:

- its **profile** (one row per entity: length, mean gap, per number its mean, spread, first,
  last and step change, per label the share of the training side's commonest levels, as
  :func:`synthgen.metrics.sequential.summaries` makes for the detection AUC), on which the
  row-level distance metrics run (:func:`synthgen.metrics.entities.profile_metric`);
- its **events**, hashed in order (every compared column rounded as ``exact_copy_rate``
  does, and the gaps between events, so a real day replayed on another date is a copy):
  a synthetic sequence equal to a training one is a whole-sequence copy.

The holdout must hold whole entities (a sequence run splits by entity).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import NEEDS_HOLDOUT, Context, Result, register
from synthgen.metrics.entities import profile_metric
from synthgen.metrics.evidence import copy_excess
from synthgen.metrics.privacy import row_hashes
from synthgen.metrics.sequential import (
    _NOT_A_SEQUENCE,
    LABELS,
    Events,
    _events,
    columns,
    summaries,
)


def _three(ctx: Context, metric: str) -> tuple[Events, Events, Events, str, str] | None:
    """Training, holdout and synthetic events (the holdout's cached beside the others')."""
    got = _events(ctx, metric)
    if got is None:
        return None
    real, syn, entity, order = got
    held = ctx.cache.get("sequence.holdout_events")
    if held is None:
        if entity not in ctx.holdout.columns or order not in ctx.holdout.columns:
            held = Events.of(ctx.train.iloc[:0], entity, order, ctx.schema)
        else:
            held = Events.of(ctx.holdout, entity, order, ctx.schema)
        ctx.cache["sequence.holdout_events"] = held
    return real, held, syn, entity, order


def sequence_hashes(ev: Events, ctx: Context, cols: list[str]) -> np.ndarray:
    """One hash per sequence (in entity-code order) over its events in order: each event's
    ``cols`` (normalised and rounded as :func:`row_hashes` does) and its gap to the one
    before (0 for the first)."""
    if len(ev.entity) == 0:
        return np.zeros(0, dtype=np.uint64)
    rows = row_hashes(ev.frame, ctx, cols) if cols else np.zeros(len(ev.entity), np.uint64)
    gap = np.where(ev.first, 0.0, np.diff(ev.time, prepend=ev.time[:1]))
    gap = np.round(np.nan_to_num(gap, nan=-1.0), 6)
    event = pd.util.hash_pandas_object(pd.DataFrame({"row": rows, "gap": gap}), index=False)
    starts = np.flatnonzero(ev.first)
    out = np.empty(len(starts), dtype=np.uint64)
    for i, part in enumerate(np.split(event.to_numpy(np.uint64), starts[1:])):
        digest = hashlib.blake2b(part.tobytes(), digest_size=8).digest()
        out[i] = np.frombuffer(digest, dtype=np.uint64)[0]
    return out


def _copy_sides(ctx: Context, metric: str) -> tuple[np.ndarray, ...] | Result:
    got = _three(ctx, metric)
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    entity, order = got[3], got[4]
    cols = [c for c in ctx.compared_columns() if c not in (entity, order)]
    if "sequence.hashes" not in ctx.cache:
        ctx.cache["sequence.hashes"] = tuple(sequence_hashes(e, ctx, cols) for e in got[:3])
    return ctx.cache["sequence.hashes"]  # type: ignore[no-any-return]


@register(
    "sequence_exact_copy_rate", "privacy", "lower", (0.0, 1.0),
    "share of synthetic sequences equal, event by event, to a training sequence",
)  # fmt: skip
def sequence_exact_copy_rate(ctx: Context) -> Result:
    """Lower is better (0: no synthetic sequence replays a training one). Details:
    ``holdout_copy_rate`` (synthetic sequences equal to a holdout one: chance copies) and
    ``holdout_own_rate`` (holdout sequences equal to a training one: how often real unseen
    sequences repeat a training sequence; a generator at or below it copies nothing)."""
    got = _copy_sides(ctx, "sequence_exact_copy_rate")
    if isinstance(got, Result):
        return got
    train, hold, syn = got
    if len(syn) == 0:
        return Result(0.0, {"sequences": 0, "copies": 0})
    copies = np.isin(syn, train)
    details: dict[str, Any] = {"sequences": len(syn), "copies": int(copies.sum())}
    if len(hold):
        details["holdout_copy_rate"] = float(np.isin(syn, hold).mean())
        details["holdout_own_rate"] = float(np.isin(hold, train).mean())
    return Result(float(copies.mean()), details)


@register(
    "sequence_copy_excess", "privacy", "lower", (-1.0, 1.0),
    "share of synthetic sequences copying a training sequence no other real one equals, "
    "beyond chance",
)  # fmt: skip
def sequence_copy_excess(ctx: Context) -> Result:
    """Lower is better (0: no more whole-sequence copies than unseen real sequences give,
    1: every synthetic sequence replays a distinct training one); see
    :func:`synthgen.metrics.evidence.copy_excess`. Sequences that repeat naturally (a
    customer's single purchase of the commonest item) are equal to several real ones and
    do not count. Without a holdout every copy counts."""
    got = _copy_sides(ctx, "sequence_copy_excess")
    if isinstance(got, Result):
        return got
    train, hold, syn = got
    if len(train) == 0:
        return Result(None, skipped="no training sequences")
    ev = copy_excess(syn, train, hold)
    ev = dataclasses.replace(ev, unit="holdout sequences")
    lo, hi = ev.interval()
    details: dict[str, Any] = {"ci_low": lo, "ci_high": hi, "synthetic_sequences": len(syn)}
    if not len(hold):
        details["note"] = "no holdout: every copy counts, natural repeats too"
    return Result(ev.estimate, details, evidence=ev)


def profiles(ctx: Context, metric: str) -> tuple[pd.DataFrame, ...] | Result:
    """One profile row per sequence on each side (training, holdout, synthetic), with the
    training side's label levels (cached)."""
    if "sequence.profiles" in ctx.cache:
        return ctx.cache["sequence.profiles"]  # type: ignore[no-any-return]
    got = _three(ctx, metric)
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    real, held, syn, entity, order = got
    if len(held.entity) == 0:
        return Result(None, skipped=f"{NEEDS_HOLDOUT} as the baseline")
    nums = columns(ctx.schema, entity, order, ("numeric", "integer"))
    labels = columns(ctx.schema, entity, order, LABELS)
    base = summaries(real, ctx.schema, nums, labels)
    levels = {c: [k[len(c) + 1 :] for k in base if k.startswith(f"{c}=")] for c in labels}
    out = tuple(summaries(e, ctx.schema, nums, labels, levels) for e in (real, held, syn))
    ctx.cache["sequence.profiles"] = out
    return out


def _profile_metric(ctx: Context, name: str, metric: str) -> Result:
    got = profiles(ctx, name)
    if isinstance(got, Result):
        return got
    train, hold, syn = got
    r = profile_metric(metric, train, hold, syn, ctx.seed)
    if r is None:
        return Result(None, skipped="needs at least 2 sequences on every side")
    details = dict(r.details or {}) | {"sequences": [len(s) for s in got]}
    return Result(r.value, details, evidence=r.evidence)


@register(
    "sequence_dcr_share", "privacy", "lower", (0.0, 1.0),
    "share of synthetic sequences (by their profiles) closer to a training sequence than to "
    "a holdout one (0.5 = no leak)",
)  # fmt: skip
def sequence_dcr_share(ctx: Context) -> Result:
    """``dcr_share`` on whole sequences' profiles: 0.5 = synthetic sequences no closer to
    the training entities than to unseen ones, 1 = each sits on a training sequence."""
    return _profile_metric(ctx, "sequence_dcr_share", "dcr_share")


@register(
    "sequence_membership_auc", "privacy", "lower", (0.0, 1.0),
    "ROC AUC of telling training from holdout sequences by their distance to the synthetic "
    "ones (0.5 = no leak)",
)  # fmt: skip
def sequence_membership_auc(ctx: Context) -> Result:
    """``membership_auc`` on whole sequences' profiles (0.5 = no leak)."""
    return _profile_metric(ctx, "sequence_membership_auc", "membership_auc")
