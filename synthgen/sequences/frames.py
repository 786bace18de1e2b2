"""The frames a sequence model learns from: events sorted per entity, their gaps, and each
step's context (the entity, where the step is, and the step before it).

A step ``t`` of entity ``e`` is learnt as one row: its gap to the step before (in the order
column's unit; 0 at the first step) and its values, given the entity's attributes, the
sequence's length and start, ``t``, the previous step's values and gap (lag 1, missing at the
first step) and, for a time order, the hour and weekday of the previous event. Within-sequence
memory comes from the lag context; time-of-day and weekday habits from the last two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError
from synthgen.schema.spec import ColumnSpec, Schema
from synthgen.transforms import frame as framemod

GAP, LEN, START, STEP = "__gap", "__len", "__start", "__step"
PREV = "__prev."
HOUR, WDAY = "__prev_hour", "__prev_weekday"
UNITS = (86400, 3600, 60, 1)  # a datetime order's unit: the largest dividing every time
NUMBER_KINDS = ("numeric", "integer", "datetime")
LABEL_KINDS = ("categorical", "boolean")


@dataclass
class Order:
    """How the order column counts: seconds of a datetime, or a number; gaps in ``unit``s
    (0: a number with fractions, gaps kept as they are)."""

    spec: ColumnSpec
    unit: float

    @property
    def is_time(self) -> bool:
        return self.spec.kind == "datetime"

    def seconds(self, s: pd.Series) -> np.ndarray:
        """The order column as floats (a datetime as seconds since 1970)."""
        return framemod.to_model_frame(s.to_frame(), Schema(columns=[self.spec]), [s.name])[
            s.name
        ].to_numpy(float)

    def restore(self, values: np.ndarray) -> pd.Series:
        body = pd.DataFrame({self.spec.name: values})
        return framemod.from_model_frame(body, Schema(columns=[self.spec]), [self.spec.name])[
            self.spec.name
        ]


def check_events(data: pd.DataFrame, entity: str, order: str, table: str) -> None:
    """The events name their entity and order columns, and every event has its entity."""
    for c in (entity, order):
        if c not in data.columns:
            raise DataError(
                f"{table}: no column {c!r} for the sequence's "
                f"{'entity' if c == entity else 'order'}",
                hint=f"columns: {', '.join(map(str, data.columns))}",
            )
    if data[entity].isna().any():
        raise DataError(
            f"{table}: {int(data[entity].isna().sum())} event(s) have no "
            f"{entity!r}; every event needs its entity",
            hint=f"fill or drop the rows with an empty {entity}",
        )


def learn_order(data: pd.DataFrame, order: str, schema: Schema, table: str) -> Order:
    if order not in schema or schema[order].kind not in NUMBER_KINDS:
        kind = schema[order].kind if order in schema else "absent"
        raise DataError(
            f"{table}: the sequence order column {order!r} is {kind}, not a time or a number",
            hint="order a sequence by a datetime or numeric column (sequence: order: ...)",
        )
    o = Order(schema[order], 1.0)
    t = o.seconds(data[order])
    if np.isnan(t).any():
        raise DataError(
            f"{table}: {int(np.isnan(t).sum())} row(s) have no {order!r}; a sequence needs "
            "every event's place",
            hint=f"fill or drop the rows with an empty {order}",
        )
    whole = np.all(t == np.round(t))
    if o.is_time:
        o.unit = float(next((u for u in UNITS if whole and np.all(np.round(t) % u == 0)), 0))
    else:
        o.unit = 1.0 if whole else 0.0
    return o


def sort_events(data: pd.DataFrame, entity: str, order: Order) -> tuple[pd.DataFrame, np.ndarray]:
    """The events sorted by entity then order (stable) and their times as floats."""
    t = order.seconds(data[order.spec.name])
    ent = data[entity].astype(str).to_numpy()
    idx = np.lexsort((np.arange(len(data)), t, ent))
    return data.iloc[idx].reset_index(drop=True), t[idx]


def steps(ent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For events sorted by entity: each event's step index and whether it starts its entity."""
    first = np.ones(len(ent), dtype=bool)
    first[1:] = ent[1:] != ent[:-1]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    return np.arange(len(ent)) - starts[group], first


def gaps(t: np.ndarray, first: np.ndarray, unit: float) -> np.ndarray:
    """Time since the previous event of the same entity, in ``unit``s (0 at a first event)."""
    g = np.diff(t, prepend=t[:1] if len(t) else t)
    g[first] = 0.0
    return g / unit if unit else g


def time_parts(t: np.ndarray, unit: float) -> dict[str, np.ndarray]:
    """The hour and weekday of times in seconds (the hour only below daily resolution)."""
    out = {WDAY: (np.floor(t / 86400) + 3) % 7}  # 1970-01-01 was a Thursday (Monday = 0)
    if unit < 86400:
        out = {HOUR: np.floor(t / 3600) % 24, **out}
    return out


def context_spec(name: str, spec: ColumnSpec, values: pd.Series) -> ColumnSpec:
    """A context column in model-frame form: numbers (and times) as floats, labels as labels."""
    kind = "numeric" if spec.kind in NUMBER_KINDS else spec.kind
    return ColumnSpec(
        name=name,
        kind=kind,
        dtype="float64" if kind == "numeric" else "object",
        null_fraction=float(values.isna().mean()) if len(values) else 0.0,
        cardinality=int(values.nunique()),
        reason="sequence context",
    )


def step_context(
    attrs: pd.DataFrame,
    length: np.ndarray,
    start: np.ndarray,
    step: np.ndarray,
    prev: pd.DataFrame,
    prev_time: np.ndarray,
    order: Order,
) -> pd.DataFrame:
    """One context row per step: the entity's attributes (model frame, one row per step),
    its length and start, the step index, the previous step's values and gap (columns of
    ``prev``, missing at a first step) and the previous event's hour and weekday."""
    parts = {c: attrs[c].to_numpy() for c in attrs.columns}
    parts |= {LEN: length.astype(float), START: start.astype(float), STEP: step.astype(float)}
    parts |= {PREV + c: prev[c].to_numpy() for c in prev.columns}
    if order.is_time:
        parts |= time_parts(prev_time, order.unit)
    return pd.DataFrame(parts)


def lagged(values: pd.DataFrame, first: np.ndarray) -> pd.DataFrame:
    """Each row's previous row of the same entity (missing at an entity's first row)."""
    out = values.shift(1)
    for c in out.columns:
        col = out[c].astype(object) if out[c].dtype == object else out[c]
        out[c] = col.where(~first, None if col.dtype == object else np.nan)
    return out


DELTA = "__d."


def multiplicative(x: pd.Series) -> bool:
    """A skewed count or amount (never negative, its top far above its middle: PM2.5, wind,
    a lab value): it changes in proportion to its level, so its change is learnt on
    ``log1p`` (no step then falls below zero, nor piles up at a bound)."""
    v = x.dropna().to_numpy(float)
    return bool(len(v) and v.min() >= 0 and v.max() > 10 * max(np.median(v), 1.0))


def with_deltas(
    own: pd.DataFrame, first: np.ndarray, cols: list[str], logged: list[str]
) -> pd.DataFrame:
    """Each number ``c`` of ``cols`` as its change from the step before (``__d.c``), and as
    itself only where there is no value before to change from (first step, or missing).
    A change is what a slowly moving value is sharpest as: the network learns that the
    temperature moves by a degree, not which of 64 bins the next reading falls in."""
    out = {}
    for name in own.columns:
        if name not in cols:
            out[name] = own[name]
            continue
        x = pd.to_numeric(own[name], errors="coerce").to_numpy(float)
        before = np.roll(x, 1)
        has = ~first & ~np.isnan(before)
        out[name] = np.where(has, np.nan, x)
        if name in logged:
            x, before = np.log1p(x), np.log1p(before)
        # after a missing value the change is moot (0): a missing change then only ever
        # means "missing now", which keeps missing runs as rare as the source's
        out[DELTA + name] = np.where(has, x - before, 0.0)
    return pd.DataFrame(out, index=own.index)


def undelta(
    body: pd.DataFrame,
    last: dict[str, np.ndarray],
    cols: list[str],
    bounds: dict[str, tuple[float, float]],
    complete: list[str],
    logged: list[str],
) -> pd.DataFrame:
    """Drawn steps back to values: the previous value plus the drawn change, or the drawn
    value itself where the previous one is missing; kept inside the source's range. A column the source never leaves
    empty stays full (a rare draw of neither value nor change keeps the previous value)."""
    for c in cols:
        x = body[c].to_numpy(float) if c in body else np.full(len(body), np.nan)
        d = body[DELTA + c].to_numpy(float) if DELTA + c in body else np.full(len(body), np.nan)
        before = last[c].astype(float)
        moved = np.expm1(np.log1p(before) + d) if c in logged else before + d
        value = np.where(np.isnan(before), x, moved)
        lo, hi = bounds[c]
        if c in complete:
            value = np.where(np.isnan(value), before, value)
            value = np.where(np.isnan(value), (lo + hi) / 2, value)
        body[c] = np.clip(value, lo, hi)
    return body


def delta_specs(
    spec: ColumnSpec, own: pd.DataFrame, deltas: list[str], logged: list[str]
) -> list[ColumnSpec]:
    """A column's spec in the step model: a number learnt as a change has two (itself, where
    there is nothing to change from, and its change ``__d.``)."""
    if spec.name not in deltas:
        return [spec]
    out = []
    for name in (spec.name, DELTA + spec.name):
        s = own[name]
        update: dict[str, Any] = {
            "name": name, "dtype": spec.dtype if name == spec.name else "float64",
            "null_fraction": float(s.isna().mean()), "cardinality": int(s.nunique()),
        }  # fmt: skip
        if name != spec.name and spec.name in logged:  # a ratio: no rounding
            update |= {"kind": "numeric", "decimals": None}
        out.append(spec.model_copy(update=update))
    return out


FIRST = "__first."


def first_spec(name: str, spec: ColumnSpec, values: pd.Series) -> ColumnSpec:
    """A first-step value as the entity model learns it (model-frame form: a time as seconds)."""
    kind = "numeric" if spec.kind == "datetime" else spec.kind
    number = kind in ("numeric", "integer")
    return spec.model_copy(
        update={
            "name": name,
            "kind": kind,
            "dtype": "float64" if number else "object",
            "null_fraction": float(values.isna().mean()) if len(values) else 0.0,
            "cardinality": int(values.nunique()),
            "datetime_format": None,
        }
    )
