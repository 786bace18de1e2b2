"""An entity's own columns in a sequence table: columns whose value never changes within an
entity (a patient's sex on every lab event, a customer's billing country on every invoice).
They are the entity's attributes: the entity model draws them once per entity, every step of
the entity repeats them, and the step model is given them as context. A condition
(``--where``) on them picks whole sequences of matching entities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen.errors import UsageError
from synthgen.schema.spec import ColumnSpec, Schema
from synthgen.sequences import frames as fr
from synthgen.transforms import frame as framemod

if TYPE_CHECKING:
    from synthgen.sequences.model import SequenceModel

CTX = "__entity."  # a static column in the step model's context


def detect(rows: pd.DataFrame, entity: str, candidates: list[str]) -> list[str]:
    """The ``candidates`` holding one value (or only missing values) within every entity;
    none unless some entity has two events (with one event per entity, anything is static)."""
    key = rows[entity].astype(str)
    if not key.duplicated().any():
        return []
    out = []
    for c in candidates:
        distinct = rows[c].astype(object).where(rows[c].notna(), None).groupby(key).nunique()
        if len(distinct) and int(distinct.max()) <= 1 and rows[c].notna().any():
            out.append(c)
    return out


def fit(
    m: SequenceModel,
    rows: pd.DataFrame,
    schema: Schema,
    candidates: list[str],
    where: np.ndarray,
    n: int,
) -> pd.DataFrame:
    """Find the model's static columns (``statics_``, ``static_schema_``) among
    ``candidates`` and return their values, one row per entity."""
    m.statics_ = detect(rows, m.entity, candidates)
    raw = first_values(rows, m.entity, m.statics_, where, n)
    m.static_schema_ = entity_schema(schema, raw) if m.statics_ else None
    return raw


def first_values(
    rows: pd.DataFrame, entity: str, columns: list[str], where: np.ndarray, n: int
) -> pd.DataFrame:
    """One row per entity (``n``; ``where``: each entity's row, in the order the sorted
    ``rows`` hold them): the columns' one value (missing for an entity without events)."""
    got = rows[columns].groupby(rows[entity].astype(str), sort=False).first()  # non-missing
    out = {}
    for c in columns:
        col = pd.Series([None] * n, dtype=object)
        col.iloc[where] = got[c].to_numpy(dtype=object)
        out[c] = col.where(col.notna(), None)
    return pd.DataFrame(out, index=range(n))


def entity_schema(schema: Schema, raw: pd.DataFrame) -> Schema:
    """The static columns' specs as the entity model learns them (one row per entity)."""
    return Schema(
        columns=[
            schema[c].model_copy(
                update={
                    "null_fraction": float(raw[c].isna().mean()) if len(raw) else 0.0,
                    "cardinality": int(raw[c].nunique()),
                }
            )
            for c in raw.columns
        ]
    )


def as_context(m: SequenceModel, raw: pd.DataFrame) -> pd.DataFrame:
    """Static values (one row per entity, source dtypes) as step-model context columns."""
    if not m.statics_:
        return pd.DataFrame(index=range(len(raw)))
    assert m.static_schema_ is not None
    mf = framemod.to_model_frame(raw.reset_index(drop=True), m.static_schema_, m.statics_)
    return mf.add_prefix(CTX).reset_index(drop=True)


def context_spec(m: SequenceModel, name: str, values: pd.Series) -> ColumnSpec:
    """The spec of the step-model context column ``name`` (``CTX`` + a static column)."""
    assert m.static_schema_ is not None
    return fr.context_spec(name, m.static_schema_[name[len(CTX) :]], values)


def entity_conditions(m: SequenceModel, conditions: dict[str, Any] | None) -> dict[str, Any]:
    """``--where`` as conditions of the entity model: a static column as itself, the order
    column as the sequence's start (its first event). A per-step column, the entity key, a
    column a rule rewrote or an unknown name is a UsageError saying why and what may be
    conditioned on."""
    rules = getattr(m, "rules_", None)  # set by a run with rules (sequences.rules)
    steps = rules.sampler.enforcer.steps_ if rules is not None else []
    rewritten = {
        c: f"{', '.join(s['takes'])} as one {s['how']} value" for s in steps for c in s["takes"]
    }
    return split_conditions(conditions, m.statics_, m.entity, m.order, m.columns_, rewritten)


def split_conditions(
    conditions: dict[str, Any] | None,
    static: list[str],
    entity: str,
    order: str,
    columns: list[str],
    rewritten: dict[str, str] | None = None,
) -> dict[str, Any]:
    """:func:`entity_conditions` for a table's ``static`` columns (before any fit);
    ``rewritten``: columns the model learns only through a rule, with how."""
    if not conditions:
        return {}
    allowed = [*static, order]
    shown = ", ".join(f"{c} (the first event's)" if c == order else c for c in allowed)
    out: dict[str, Any] = {}
    for col, cond in conditions.items():
        if col in static:
            out[col] = cond
        elif col == order:
            out[fr.START] = cond
        elif col == entity:
            raise UsageError(
                f"cannot condition on {col!r}: it is the sequence's entity key, made fresh "
                "for every synthetic entity",
                hint=f"condition on the entity's attributes: {shown}",
            )
        elif col in columns:
            raise UsageError(
                f"cannot condition on {col!r}: it changes within an entity's sequence (a "
                "per-step column); a condition picks whole sequences by their entity",
                hint=f"columns a condition may name: {shown}",
            )
        elif col in (rewritten or {}):
            raise UsageError(
                f"cannot condition on {col!r}: the model learns it only through a rule "
                f"({(rewritten or {})[col]})",
                hint=f"columns a condition may name: {shown}",
            )
        else:
            raise UsageError(
                f"cannot condition on {col!r}: no such column in this sequence model",
                hint=f"columns a condition may name: {shown}",
            )
    return out
