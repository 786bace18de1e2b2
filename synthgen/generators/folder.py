"""A saved model folder, checked completely before anything uses it.

``config.json``, ``schema.json`` and ``encoder.json`` are read size-capped and depth-safe and
validated against a schema each (strict: a '1' is not a 1); the side columns' states are
bounded (an id 10^8 digits wide would take the machine down); the JSON files must agree with
each other; every tensor in ``weights.safetensors`` must have the name, shape and dtype the
generator expects from its JSON state (``Generator._check_saved``) and be finite. Any problem
is a UsageError (exit 2) naming the folder, the file and the place in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from synthgen.errors import UsageError, pydantic_problems
from synthgen.generators.base import MODEL_FORMAT_VERSION, MODELLED_KINDS
from synthgen.generators.context import ContextSpec
from synthgen.generators.context import parse as parse_context
from synthgen.io.jsonfile import BadJson, MiB, read_json
from synthgen.schema.spec import ColumnSpec, PiiType, Schema, cap_problems, parse_schema
from synthgen.transforms.side import MAX_ID_WIDTH, MAX_PREFIX, MAX_SHAPE, MAX_TEXT_CHARS

if TYPE_CHECKING:
    from synthgen.generators.base import Generator
FILES = ("config.json", "schema.json", "encoder.json", "weights.safetensors")
MAX_BYTES = {"config.json": 16 * MiB, "schema.json": 256 * MiB, "encoder.json": 1024 * MiB}
MAX_INT = 2**62
DATETIME_SECONDS = 9.2e9  # pandas' nanosecond timestamps reach 1677..2262: +-9.2e9 s
FIX = "point at the model/ folder of a run (e.g. runs/adult/model), or run the recipe again"


def damaged(folder: Path, problems: list[str]) -> UsageError:
    listed = cap_problems(problems)
    body = listed[0] if len(listed) == 1 else "\n" + "\n".join(f"  - {p}" for p in listed)
    return UsageError(f"model folder {folder} is damaged or not a synthgen model: {body}", hint=FIX)


class SavedState(BaseModel):
    """Base of every saved-JSON model: no unknown keys, no type coercion, finite numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# a label as JSON holds it (None = missing); numbers are finite
Label = StrictStr | StrictBool | StrictInt | float | None
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class ModelConfig(SavedState):
    format_version: StrictInt
    synthgen_version: StrictStr = Field(max_length=100)
    generator: StrictStr = Field(max_length=200)
    params: dict[str, Any]
    n_rows: StrictInt = Field(ge=0, le=MAX_INT)
    modelled_columns: list[StrictStr]
    privacy: dict[str, Any] | None


class _NullSide(SavedState):
    how: Literal["null"]


class _IdInt(SavedState):
    how: Literal["id_int"]
    start: StrictInt = Field(ge=-MAX_INT, le=MAX_INT)
    null_fraction: Share


class _IdUuid(SavedState):
    how: Literal["id_uuid"]
    null_fraction: Share


class _IdPattern(SavedState):
    how: Literal["id_pattern"]
    prefix: StrictStr = Field(max_length=MAX_PREFIX)
    width: StrictInt = Field(ge=0, le=MAX_ID_WIDTH)
    null_fraction: Share


class _IdShape(SavedState):
    how: Literal["id_shape"]
    shape: list[Annotated[StrictStr, Field(pattern=r"^(9|A|a|=.)$")]] = Field(
        min_length=1, max_length=MAX_SHAPE
    )
    null_fraction: Share


class _IdHex(SavedState):
    how: Literal["id_hex"]
    length: StrictInt = Field(ge=0, le=MAX_ID_WIDTH)
    null_fraction: Share


class _Pii(SavedState):
    how: Literal["pii"]
    pii_type: PiiType
    null_fraction: Share
    unique: StrictBool
    format: StrictStr | None = Field(max_length=100)


class _Text(SavedState):
    how: Literal["text"]
    null_fraction: Share
    length_quantiles: list[Annotated[float, Field(ge=0, le=MAX_TEXT_CHARS)]] = Field(
        min_length=2, max_length=1001
    )


SideColumn = Annotated[
    _NullSide | _IdInt | _IdUuid | _IdPattern | _IdShape | _IdHex | _Pii | _Text,
    Field(discriminator="how"),
]
_SIDE_KINDS = {"id": "id_", "pii": "pii", "text": "text"}  # schema kind -> the state it takes


class EncoderFile(SavedState):
    generator_state: dict[str, Any]
    side_columns: dict[str, SideColumn]
    context: dict[str, Any] | None = None  # a model fitted given a context: its schema


@dataclass
class SavedModel:
    folder: Path
    klass: type[Generator]
    config: ModelConfig
    params: BaseModel
    schema: Schema
    state: dict[str, Any]
    side: dict[str, dict[str, Any]]
    arrays: dict[str, np.ndarray]
    context: ContextSpec | None = None


def read_model_folder(folder: Path) -> SavedModel:
    """Every file of a model folder, each validated and all agreeing; else ``damaged``."""
    from synthgen.generators.registry import get_class

    if not folder.exists():
        raise UsageError(f"model folder not found: {folder}", hint=FIX)
    if not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a synthgen model folder", hint=FIX)
    for name in FILES:
        if not (folder / name).is_file():
            raise UsageError(f"{folder} is not a synthgen model folder (missing {name})", hint=FIX)
    config = _config(folder)
    try:
        klass = get_class(config.generator)
    except UsageError as err:  # unknown name, or an engine whose extra is missing
        raise damaged(folder, [f"config.json: generator: {err.message}"]) from None
    try:
        params = klass.Params.model_validate(config.params)
    except ValidationError as err:
        raise damaged(folder, _in("config.json", pydantic_problems(err, "params"))) from None
    schema = _schema(folder)
    encoder = _parse(folder, "encoder.json", EncoderFile)
    side = {k: v.model_dump() for k, v in encoder.side_columns.items()}
    problems = _agreement(config.modelled_columns, side, schema)
    context = None
    if encoder.context is not None:
        context, more = parse_context(encoder.context)
        problems += more
    if problems:
        raise damaged(folder, problems)
    arrays = _weights(folder)
    state = encoder.generator_state
    return SavedModel(folder, klass, config, params, schema, state, side, arrays, context)


def _in(file: str, problems: list[str]) -> list[str]:
    return [f"{file}: {p}" for p in problems]


def _json(folder: Path, name: str) -> Any:
    try:
        return read_json(folder / name, max_bytes=MAX_BYTES[name])
    except BadJson as err:
        raise damaged(folder, [f"{name}: {err.reason}"]) from None


def _parse(folder: Path, name: str, model: type[SavedState]) -> Any:
    try:
        return model.model_validate(_json(folder, name))
    except ValidationError as err:
        raise damaged(folder, _in(name, pydantic_problems(err))) from None


def _config(folder: Path) -> ModelConfig:
    data = _json(folder, "config.json")
    version = data.get("format_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool):
        if version != MODEL_FORMAT_VERSION:
            wrote = data.get("synthgen_version")
            raise UsageError(
                f"model folder {folder}: config.json: model format {version} is not "
                f"supported (this synthgen reads format {MODEL_FORMAT_VERSION})",
                hint=f"use the synthgen that wrote it ({str(wrote)[:40]})"
                if isinstance(wrote, str)
                else FIX,
            )
    elif isinstance(data, dict) and "format_version" in data:
        raise damaged(
            folder, [f"config.json: format_version: must be the number {MODEL_FORMAT_VERSION}"]
        )
    return _parse_data(folder, "config.json", ModelConfig, data)


def _parse_data(folder: Path, name: str, model: type[SavedState], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise damaged(folder, _in(name, pydantic_problems(err))) from None


def _schema(folder: Path) -> Schema:
    schema, problems = parse_schema(_json(folder, "schema.json"), complete=True)
    if schema is None or problems:
        raise damaged(folder, _in("schema.json", problems))
    return schema


def _agreement(modelled: list[str], side: dict[str, dict[str, Any]], schema: Schema) -> list[str]:
    """Every schema column is modelled or a side column (never both), of a fitting kind."""
    problems = []
    names = set(schema.names)
    if len(set(modelled)) != len(modelled):
        problems.append("config.json: modelled_columns: a column is named twice")
    for c in modelled:
        if c not in names:
            problems.append(f"config.json: modelled_columns: {c[:40]!r} is not in schema.json")
        elif schema[c].kind not in MODELLED_KINDS:
            problems.append(
                f"config.json: modelled_columns: {c[:40]!r} is a {schema[c].kind} column in "
                "schema.json, which no model learns"
            )
    for c, state in side.items():
        where = f"encoder.json: side_columns.{c[:40]}"
        if c not in names:
            problems.append(f"{where}: not a column of schema.json")
        elif c in modelled:
            problems.append(f"{where}: also a modelled column")
        elif state["how"] != "null":
            want = _SIDE_KINDS.get(schema[c].kind)
            if want is None or not state["how"].startswith(want):
                problems.append(f"{where}: a '{state['how']}' state for a {schema[c].kind} column")
    lost = [c for c in schema.names if c not in side and c not in modelled]
    if lost:
        problems.append(
            f"schema.json: column(s) {', '.join(repr(c[:40]) for c in lost[:5])} are neither "
            "modelled (config.json) nor side columns (encoder.json)"
        )
    return problems


def _weights(folder: Path) -> dict[str, np.ndarray]:
    from synthgen.io.weights import load_arrays

    try:
        return load_arrays(folder / "weights.safetensors")
    except ValueError as err:
        raise damaged(folder, [str(err)]) from None


# ---- what generators use to check their own state --------------------------------------------
# a tensor's expected shape (None: any length from 1) and dtype
Expected = tuple[tuple[int | None, ...], np.dtype]


def check_arrays(arrays: dict[str, np.ndarray], expected: dict[str, Expected]) -> list[str]:
    """Each expected tensor present with its shape and dtype, nothing else, all finite."""
    problems = []
    for name in sorted(set(arrays) - set(expected))[:5]:
        problems.append(f"weights.safetensors: {name[:60]}: not a tensor this model has")
    for name, (shape, dtype) in expected.items():
        where = f"weights.safetensors: {name}"
        a = arrays.get(name)
        if a is None:
            problems.append(f"{where}: missing")
        elif len(a.shape) != len(shape) or not all(
            w == s or (w is None and s >= 1) for w, s in zip(shape, a.shape, strict=True)
        ):
            want = "(" + ", ".join("k" if w is None else str(w) for w in shape) + ")"
            problems.append(f"{where}: shape {tuple(a.shape)}, expected {want}")
        elif a.dtype != dtype:
            problems.append(f"{where}: dtype {a.dtype}, expected {np.dtype(dtype)}")
        elif a.dtype.kind == "f" and not np.isfinite(a).all():
            problems.append(f"{where}: holds {int((~np.isfinite(a)).sum())} non-finite value(s)")
    return problems


def value_bounds(spec: ColumnSpec) -> tuple[float, float]:
    """The numbers a column's decoding can take without overflowing its dtype."""
    if spec.kind == "datetime":
        return -DATETIME_SECONDS, DATETIME_SECONDS
    try:
        dtype = np.dtype(spec.dtype.lower())
    except TypeError:
        return -math.inf, math.inf
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if dtype.kind == "f":
        top = float(np.finfo(dtype).max)
        return -top, top
    return -math.inf, math.inf


def out_of_bounds(values: np.ndarray | list[float], spec: ColumnSpec, where: str) -> list[str]:
    lo, hi = value_bounds(spec)
    x = np.asarray(values, dtype=np.float64)
    if len(x) and (x.min() < lo or x.max() > hi):
        return [f"{where}: values beyond what column {spec.name[:40]!r} ({spec.dtype}) can hold"]
    return []


def label_problems(labels: list[Any], spec: ColumnSpec, where: str) -> list[str]:
    """Labels the column's dtype can be restored to (a text label in an int column cannot)."""
    dtype = spec.dtype
    if dtype in ("bool", "boolean"):
        ok = all(v is None or isinstance(v, bool) for v in labels)
        want = "true/false"
    elif dtype.startswith(("int", "Int")):
        ok = all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in labels)
        want = "whole numbers"
    else:
        return []
    return [] if ok else [f"{where}: column {spec.name[:40]!r} ({dtype}) holds only {want}"]
