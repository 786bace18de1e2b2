"""The autoreg model as JSON + safetensors, and every check a saved one must pass.

``generator_state`` (encoder.json) holds the codec of each column (levels, exact values,
point masses, bin counts, rounding), the context's codec when there is one, and the training
history; ``weights.safetensors`` holds the bin and cell edges (``codec.*``, ``context.*``)
and the network's parameters (``net.*``). Loading checks all of it against the schema
before anything is built: a damaged file is an error naming where, never a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import Field, StrictInt, ValidationError

from synthgen.errors import pydantic_problems
from synthgen.generators.autoreg.codec import ColumnCode, TableCodec
from synthgen.generators.folder import (
    Expected,
    SavedState,
    check_arrays,
    label_problems,
    out_of_bounds,
)
from synthgen.schema.spec import Schema

if TYPE_CHECKING:
    from synthgen.generators.autoreg.generator import AutoregGenerator

F64, F32 = np.dtype("float64"), np.dtype("float32")
_LABEL_KINDS = ("categorical", "boolean")


class AutoregState(SavedState):
    codec: list[ColumnCode]
    context_codec: list[ColumnCode] | None
    history: list[dict[str, Any]]
    epochs_trained: StrictInt = Field(ge=0)


def get_state(gen: AutoregGenerator) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays = {f"codec.{k}": v for k, v in gen.codec_.arrays.items()}
    cc = gen.context_codec_
    if cc is not None:
        arrays |= {f"context.{k}": v for k, v in cc.arrays.items()}
    arrays |= {f"net.{k}": t.detach().numpy() for k, t in gen.net_.named_parameters()}
    state = {
        "codec": gen.codec_.to_json(),
        "context_codec": cc.to_json() if cc is not None else None,
        "history": gen.history_,
        "epochs_trained": len(gen.history_),
    }
    return state, arrays


def set_state(gen: AutoregGenerator, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    gen.codec_ = TableCodec.from_json(state["codec"], _prefixed(arrays, "codec."))
    gen.context_codec_ = None
    if state["context_codec"] is not None:
        gen.context_codec_ = TableCodec.from_json(
            state["context_codec"], _prefixed(arrays, "context.")
        )
    gen.history_ = state["history"]
    gen.net_ = gen._network()
    params = {k: torch.from_numpy(np.array(v)) for k, v in _prefixed(arrays, "net.").items()}
    gen.net_.load_state_dict(params, strict=False)  # buffers follow from the codec
    gen.net_.eval()


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def check_saved(
    gen: AutoregGenerator,
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    schema: Schema,
    modelled: list[str],
) -> list[str]:
    """The codecs against the schemas, then every tensor as they imply it, all finite."""
    where = "encoder.json: generator_state"
    try:
        saved = AutoregState.model_validate(state)
    except ValidationError as err:
        return [f"encoder.json: {p}" for p in pydantic_problems(err, "generator_state")]
    problems = _codec_problems(saved.codec, schema, modelled, f"{where}.codec")
    ctx = gen.context_
    if (saved.context_codec is None) != (ctx is None):
        problems.append(f"{where}.context_codec: does not match encoder.json's context")
    elif saved.context_codec is not None and ctx is not None:
        problems += _codec_problems(
            saved.context_codec, ctx.schema, ctx.columns, f"{where}.context_codec"
        )
    if problems:
        return problems
    expected = _codec_arrays(saved.codec, "codec.")
    expected |= _codec_arrays(saved.context_codec or [], "context.")
    gen.codec_ = TableCodec(saved.codec, {})
    gen.context_codec_ = TableCodec(saved.context_codec, {}) if saved.context_codec else None
    with torch.device("meta"):  # shapes without memory: a damaged width allocates nothing
        net = gen._network()
    expected |= {f"net.{k}": (tuple(t.shape), F32) for k, t in net.named_parameters()}
    problems = check_arrays(arrays, expected)
    return problems or _edge_problems(saved, arrays, schema, gen)


def _codec_problems(
    columns: list[ColumnCode], schema: Schema, modelled: list[str], where: str
) -> list[str]:
    if [c.name for c in columns] != list(modelled):
        return [f"{where}: not one entry per modelled column, in order"]
    problems = []
    for i, c in enumerate(columns):
        at, spec = f"{where}.{i}", schema[c.name]
        if (c.kind == "labels") != (spec.kind in _LABEL_KINDS):
            problems.append(f"{at}.kind: '{c.kind}' for a {spec.kind} column")
            continue
        if c.kind == "labels":
            every = c.labels + c.rare
            if any(v is None for v in every) or len({repr(v) for v in every}) != len(every):
                problems.append(f"{at}.labels: labels must be distinct and not null")
            if len(c.rare_counts) != len(c.rare) or any(not v > 0 for v in c.rare_counts):
                problems.append(f"{at}.rare_counts: one positive count per rare label")
            problems += label_problems(every, spec, f"{at}.labels")
        else:
            problems += out_of_bounds(c.values, spec, f"{at}.values")
            if c.kind == "exact" and np.any(np.diff(c.values) <= 0):
                problems.append(f"{at}.values: exact values must be increasing")
            if c.kind == "binned" and c.n_bins < 1:
                problems.append(f"{at}.n_bins: a binned column has at least one bin")
        if c.n_codes < 1:
            problems.append(f"{at}: a column without any code")
    return problems


def _codec_arrays(columns: list[ColumnCode], prefix: str) -> dict[str, Expected]:
    out: dict[str, Expected] = {}
    for c in columns:
        if c.kind == "binned":
            out[f"{prefix}edges.{c.name}"] = ((c.n_bins + 1,), F64)
            out[f"{prefix}cells.{c.name}"] = ((c.n_bins, None), F64)
    return out


def _edge_problems(
    saved: AutoregState, arrays: dict[str, np.ndarray], schema: Schema, gen: AutoregGenerator
) -> list[str]:
    """Bin and cell edges in order, inside what their column can hold."""
    problems = []
    groups = [("codec.", saved.codec, schema)]
    if saved.context_codec is not None and gen.context_ is not None:
        groups.append(("context.", saved.context_codec, gen.context_.schema))
    for prefix, columns, sch in groups:
        for c in columns:
            if c.kind != "binned":
                continue
            for part in ("edges", "cells"):
                name = f"{prefix}{part}.{c.name}"
                a = arrays[name]
                if np.any(np.diff(a, axis=-1) < 0):
                    problems.append(f"weights.safetensors: {name}: edges out of order")
                problems += out_of_bounds(a.ravel(), sch[c.name], f"weights.safetensors: {name}")
    return problems
