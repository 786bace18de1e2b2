"""Checks on what a generator is given: a frame it can learn, a row count it can draw."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError, UsageError
from synthgen.schema.spec import Schema


def refuse_infinity(frame: pd.DataFrame) -> None:
    """Infinity cannot be learned (read_table refuses it in files; a DataFrame passed in, or
    a text column read as numbers, can still hold it): name each column and the fix."""
    problems = []
    for c in frame.columns:
        if pd.api.types.is_float_dtype(frame[c]):
            n_inf = int(np.isinf(frame[c].to_numpy()).sum())
            if n_inf:
                problems.append(f"column '{c}' holds {n_inf:,} infinite value(s)")
    if problems:
        raise DataError(
            "; ".join(problems) + "; infinity cannot be modelled",
            hint="replace them with missing values (NaN) or finite numbers before fitting",
        )


def whole_rows(n: Any) -> int:
    """A row count: a whole number >= 0 (a bool or 2.5 is refused)."""
    whole = isinstance(n, (int, np.integer)) or (
        isinstance(n, (float, np.floating)) and float(n).is_integer()
    )
    if isinstance(n, (bool, np.bool_)) or not whole or n < 0:
        raise UsageError(f"number of rows must be a whole number >= 0, got {n!r}")
    return int(n)


def unmet_condition_hint(conditions: dict[str, Any], seen: pd.DataFrame | None) -> str | None:
    """For a label condition no sampled row ever met: the labels the model does give."""
    from synthgen.errors import labels_hint

    if seen is None:
        return None
    for col, cond in conditions.items():
        wanted = cond if isinstance(cond, list) else [cond]
        if col not in seen or not all(isinstance(v, str) for v in wanted):
            continue
        labels = [v for v in seen[col].dropna().unique().tolist() if isinstance(v, str)]
        if labels and not set(wanted) & set(labels):
            return f"{col}: " + labels_hint(wanted[0], labels)
    return None


def public_schema(gen: Any) -> Schema:
    """A generator's schema to save: under DP, without the raw statistics detection read."""
    if gen.privacy_ is None:
        return gen.schema_
    missing = getattr(gen, "dp_missing_", {})
    cols = [
        c.model_copy(
            update={
                "null_fraction": round(float(missing.get(c.name, c.null_fraction)), 4),
                "cardinality": 0,
                "reason": "statistics withheld: differentially private model",
            }
        )
        for c in gen.schema_.columns
    ]
    return gen.schema_.model_copy(update={"columns": cols})
