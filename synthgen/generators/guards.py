"""Checks on what a generator is given: a frame it can learn, a row count it can draw."""

from __future__ import annotations

from collections.abc import Callable
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


def conditions_with_context(name: str) -> UsageError:
    """The error of a generator asked to fix column values and follow a context at once."""
    return UsageError(
        f"{name} cannot fix column values and follow a context at once",
        hint="sample with conditions or with a context, or use generator 'autoreg'",
    )


def by_rejection(
    sample: Callable[[int, np.random.Generator], pd.DataFrame],
    n: int,
    rng: np.random.Generator,
    conditions: dict[str, Any],
) -> pd.DataFrame:
    """``n`` rows of ``sample`` meeting ``conditions``, drawn in batches and filtered, with a
    cap on the rows drawn (a UsageError saying what was seen when the cap is hit)."""
    from synthgen.transforms import frame as framemod

    kept: list[pd.DataFrame] = []
    have, drawn, cap = 0, 0, max(1000, 200 * n)
    seen: pd.DataFrame | None = None
    while have < n:
        if drawn >= cap:
            raise UsageError(
                f"conditions {conditions} matched {have} of {drawn} sampled rows; "
                f"too rare to reach {n} rows",
                hint=unmet_condition_hint(conditions, seen)
                or "relax the condition or check the value is spelt as in the data",
            )
        batch = sample(max(2 * (n - have), 256), rng)
        seen = batch if seen is None else seen
        drawn += len(batch)
        mask = framemod.condition_mask(batch, conditions)
        kept.append(batch[mask])
        have += int(mask.sum())
    return pd.concat(kept, ignore_index=True).iloc[:n]
