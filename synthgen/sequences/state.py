"""A sequence model's own state (``sequence.json``), checked before it is trusted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen.errors import UsageError, pydantic_problems
from synthgen.relational.keyformat import KeyFormat
from synthgen.schema.spec import ColumnSpec, Schema
from synthgen.sequences.frames import Order

if TYPE_CHECKING:
    from synthgen.sequences.model import SequenceModel

FORMAT_VERSION = 1


class KeyFormatState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["int", "code", "uuid", "text"]
    start: int = 1
    prefix: str = ""
    width: int = Field(0, ge=0, le=64)
    nullable_int: bool = False


class SequenceState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1]
    entity: str
    order: str
    params: dict[str, Any]
    columns: list[str]
    order_spec: ColumnSpec
    unit: float = Field(ge=0)
    key_format: KeyFormatState
    n_entities: int = Field(ge=0)
    max_length: int = Field(ge=0)
    start_fill: float
    attr_schema: Schema | None
    attr_columns: list[str]
    firsts: list[str]
    value_schema: Schema
    deltas: list[str]
    complete: list[str]
    logged: list[str]
    bounds: dict[str, tuple[float, float]]
    statics: list[str] = []
    static_schema: Schema | None = None
    anchor: str | None = None
    offset_fill: float = 0.0


def to_json(m: SequenceModel) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "entity": m.entity,
        "order": m.order,
        "params": m.params,
        "columns": m.columns_,
        "order_spec": m.order_.spec.model_dump(mode="json"),
        "unit": m.order_.unit,
        "key_format": m.key_format_.to_json(),
        "n_entities": m.n_entities_,
        "max_length": m.max_length_,
        "start_fill": m.start_fill_,
        "attr_schema": m.attr_schema_.model_dump(mode="json") if m.attr_schema_ else None,
        "attr_columns": m.attr_columns_,
        "firsts": m.firsts_,
        "value_schema": m.value_schema_.model_dump(mode="json"),
        "deltas": m.deltas_,
        "complete": m.complete_,
        "logged": m.logged_,
        "bounds": m.bounds_,
        "anchor": m.anchor_,
        "offset_fill": getattr(m, "offset_fill_", 0.0),
        "statics": m.statics_,
        "static_schema": m.static_schema_.model_dump(mode="json") if m.static_schema_ else None,
    }


def read(path: Path) -> SequenceState:
    from synthgen.io.jsonfile import BadJson, read_json

    try:
        data = read_json(path, max_bytes=16 << 20)
    except BadJson as err:
        raise UsageError(f"{path}: not a readable sequence model ({err.reason})") from None
    try:
        state = SequenceState.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(pydantic_problems(err)[:5])
        raise UsageError(f"{path}: damaged sequence model: {problems}") from None
    names = set(state.columns)
    bad = [c for c in (state.entity, state.order) if c not in names]
    if state.attr_schema is not None:
        bad += [c for c in state.attr_columns if c not in state.attr_schema.names]
    bad += [c for c in state.deltas if c not in state.firsts or c not in state.bounds]
    bad += [c for c in state.firsts if c not in names or c not in state.value_schema.names]
    static_names = state.static_schema.names if state.static_schema is not None else []
    bad += [c for c in state.statics if c not in names or c not in static_names]
    if bad or state.order_spec.name != state.order:
        raise UsageError(f"{path}: damaged sequence model (columns {bad or [state.order]})")
    return state


def apply(m: SequenceModel, s: SequenceState) -> None:
    m.columns_ = list(s.columns)
    m.order_ = Order(s.order_spec, s.unit)
    m.key_format_ = KeyFormat.from_json(s.key_format.model_dump())
    m.n_entities_ = s.n_entities
    m.max_length_ = s.max_length
    m.start_fill_ = s.start_fill
    m.attr_schema_ = s.attr_schema
    m.attr_columns_ = list(s.attr_columns)
    m.firsts_ = list(s.firsts)
    m.value_schema_ = s.value_schema
    m.deltas_ = list(s.deltas)
    m.complete_ = [c for c in s.complete if c in m.deltas_]
    m.logged_ = [c for c in s.logged if c in m.deltas_]
    m.anchor_ = s.anchor
    m.offset_fill_ = s.offset_fill
    m.statics_ = list(s.statics)
    m.static_schema_ = s.static_schema
    m.bounds_ = {c: (float(lo), float(hi)) for c, (lo, hi) in s.bounds.items()}
