"""Privacy leakage: does the synthetic table give back training records?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.generators.columns import to_model_frame
from synthgen.metrics.base import Context, Result, register


def row_hashes(df: pd.DataFrame, ctx: Context, cols: list[str]) -> np.ndarray:
    """One 64-bit hash per row over ``cols`` with types normalised (1 == 1.0, NaN == None)."""
    frame = to_model_frame(df, ctx.schema, cols)
    norm = pd.DataFrame(
        {
            c: (
                frame[c].round(9)
                if frame[c].dtype.kind == "f"
                else frame[c].astype(str).where(frame[c].notna(), "\0NA")
            )
            for c in cols
        }
    )
    return pd.util.hash_pandas_object(norm, index=False).to_numpy()


@register(
    "exact_copy_rate",
    "privacy",
    "lower",
    (0.0, 1.0),
    "share of synthetic rows identical to a training row (on the modelled columns)",
)
def exact_copy_rate(ctx: Context) -> Result:
    cols = ctx.compared_columns()
    if not cols or len(ctx.synthetic) == 0:
        return Result(0.0, {"columns": cols, "copies": 0})
    syn = row_hashes(ctx.synthetic, ctx, cols)
    train = row_hashes(ctx.train, ctx, cols)
    copies = np.isin(syn, train)
    details: dict[str, Any] = {"columns": len(cols), "copies": int(copies.sum())}
    if len(ctx.holdout):
        details["holdout_copy_rate"] = float(
            np.isin(syn, row_hashes(ctx.holdout, ctx, cols)).mean()
        )
    return Result(float(copies.mean()), details)
