"""Conditions as the codes they allow.

A condition on a column (a value, a set of values or a range, as
``synthgen.transforms.frame.condition_values`` gives them) becomes, for each of the column's
codes, the share of that code's mass the condition keeps: 1 or 0 for labels, exact numbers
and point masses, the part of a bin inside a range for binned numbers. Sampling draws such a
column among the allowed codes only, in proportion to model probability times share, and
weighs the row by the probability mass it kept (see ``sampling``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthgen.errors import UsageError, labels_hint
from synthgen.generators.autoreg.codec import TableCodec
from synthgen.transforms.frame import Between, OneOf


@dataclass
class Allowed:
    """What a condition keeps of one column."""

    share: np.ndarray  # (n_codes,) in [0, 1]
    values: dict[int, list[float]] = field(default_factory=dict)  # numbers given as values
    within: tuple[float, float] | None = None  # a range: numbers drawn inside it


def compile_conditions(codec: TableCodec, conditions: dict[str, Any]) -> dict[int, Allowed]:
    """Column index -> :class:`Allowed`; a condition no code meets is a UsageError."""
    out = {}
    for name, cond in conditions.items():
        j = codec.names.index(name)
        col = codec.columns[j]
        if isinstance(cond, Between):
            if col.kind == "labels":
                raise UsageError(f"condition {name}: a range needs a number or date column")
            allowed = Allowed(
                codec.range_share(j, cond.low, cond.high), within=(cond.low, cond.high)
            )
        else:
            values = cond.values if isinstance(cond, OneOf) else (cond,)
            allowed = _values(codec, j, values)
        if not allowed.share.any():
            raise UsageError(
                f"condition {name}: no value the model learnt meets it",
                hint="check the value is spelt as in the data, or widen the range",
            )
        out[j] = allowed
    return out


def _values(codec: TableCodec, j: int, values: tuple[Any, ...]) -> Allowed:
    col = codec.columns[j]
    allowed = Allowed(np.zeros(col.n_codes))
    for v in values:
        if v is None:
            if not col.missing:
                raise UsageError(f"condition {col.name}: the column has no missing values")
            allowed.share[col.missing_code] = 1.0
            continue
        if col.kind == "labels":
            code = int(codec.label_codes(j, [v])[0])
            if code < 0:
                raise UsageError(
                    f"condition {col.name}={v!r}: no such value in the training data",
                    hint=labels_hint(v, [*col.labels, *col.rare]),
                )
            allowed.share[code] = 1.0
            continue
        code = int(codec.number_codes(j, np.array([float(v)]))[0])
        allowed.share[code] = 1.0
        allowed.values.setdefault(code, []).append(float(v))
    return allowed


def exact(order: list[int], allowed: dict[int, Allowed]) -> bool:
    """Is one draw per row exact? When the conditioned columns come first in the order and
    all but the last of them allow one code only, the mass each condition keeps depends on
    nothing random, every row weighs the same and no resampling is needed."""
    head = order[: len(allowed)]
    if set(head) != set(allowed):
        return False
    return all(np.count_nonzero(allowed[j].share) == 1 for j in head[:-1])


def fill_values(allowed: Allowed, codes: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Numbers conditioned on values take one of the values their code stands for (by the
    uniform ``u``), not a draw inside the code's bin."""
    out = x.copy()
    for code, vals in allowed.values.items():
        rows = codes == code
        pick = np.minimum((u[rows] * len(vals)).astype(np.int64), len(vals) - 1)
        out[rows] = np.asarray(vals)[pick]
    return out
