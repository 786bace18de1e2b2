"""A sequence's start relative to a time of its entity (an admission's lab events start
hours after its admit time): the entity model learns the offset from that *anchor* column of
the entity frame, not the absolute start, so each synthetic sequence starts where its
synthetic entity's time says. Without an anchor the start is learnt as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthgen.schema.spec import ColumnSpec
from synthgen.sequences import frames as fr

if TYPE_CHECKING:
    from synthgen.sequences.model import SequenceModel

_EPOCH = np.datetime64("1970-01-01T00:00:00")


def seconds(values: pd.Series, is_time: bool) -> np.ndarray:
    """An anchor column as floats on the order's scale: a time as seconds since 1970
    (whatever its text format; unreadable: missing), else a number."""
    if not is_time:
        return pd.to_numeric(values, errors="coerce").to_numpy(float)
    t = pd.to_datetime(values, errors="coerce", format="mixed")
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    out = (t.to_numpy(dtype="datetime64[ns]") - _EPOCH) / np.timedelta64(1, "s")
    return np.where(t.isna().to_numpy(), np.nan, out).astype(float)


def choose(entities: pd.DataFrame, candidates: list[str], first: np.ndarray, is_time: bool) -> str | None:  # fmt: skip
    """The candidate column (one row per entity) closest to the entities' first events
    (``first``: NaN for an entity without events), by median distance; none when no
    candidate is near them (within the spread of the first events themselves)."""
    has = ~np.isnan(first)
    if has.sum() < 2:
        return None
    best, best_d = None, float(np.nanstd(first[has]))
    for c in candidates:
        a = seconds(entities[c], is_time)
        ok = has & ~np.isnan(a)
        if ok.sum() < max(2, has.sum() // 2):
            continue
        d = float(np.median(np.abs(first[ok] - a[ok])))
        if d < best_d:
            best, best_d = c, d
    return best


def fit_offsets(m: SequenceModel, attrs_raw: pd.DataFrame | None, start: np.ndarray) -> np.ndarray | None:  # fmt: skip
    """Each entity's start as an offset (in order units) from its anchor, or None (no anchor)."""
    m.anchor_ = m.anchor if attrs_raw is not None and m.anchor in attrs_raw else None
    if m.anchor_ is None:
        return None
    assert attrs_raw is not None
    a = seconds(attrs_raw[m.anchor_].reset_index(drop=True), m.order_.is_time)
    off = (start - a) / (m.order_.unit or 1.0)
    m.offset_fill_ = float(np.nanmedian(off)) if np.isfinite(off).any() else 0.0
    return off


def offset_spec(off: np.ndarray) -> ColumnSpec:
    return ColumnSpec(
        name=fr.START, kind="numeric", dtype="float64", reason="sequence start after its anchor",
        null_fraction=float(np.isnan(off).mean()), cardinality=int(pd.Series(off).nunique()),
    )  # fmt: skip


def sample_starts(m: SequenceModel, drawn: pd.DataFrame, entities: pd.DataFrame | None) -> np.ndarray:  # fmt: skip
    """Each drawn entity's start in seconds: its anchor plus the drawn offset (the learnt
    median offset where one is missing), or the drawn start itself without an anchor."""
    if m.anchor_ is None or entities is None:
        start = m.order_.seconds(drawn[fr.START].rename(m.order))
        return np.where(np.isnan(start), m.start_fill_, start)
    a = seconds(entities[m.anchor_].reset_index(drop=True), m.order_.is_time)
    off = pd.to_numeric(drawn[fr.START], errors="coerce").to_numpy(float)
    off = np.where(np.isnan(off), m.offset_fill_, off)
    start = a + off * (m.order_.unit or 1.0)
    return np.where(np.isnan(start), m.start_fill_, start)
