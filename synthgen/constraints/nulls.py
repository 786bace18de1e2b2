"""``null_if_null`` (``y`` missing wherever ``x`` is), kept by construction.

``y`` is learnt as it is on the rows that have ``x``; on the rows missing ``x`` (the rows the
rule blanks) it is learnt as a draw from the rows that have ``x`` (a fixed draw, missing
values included), so the model's share of rows with a ``y`` is the source's share among the
rows with an ``x``. After sampling ``y`` is blanked wherever ``x`` is missing, which leaves
``y``'s share of the source whatever the model learnt of the two columns' nulls together.
Blanking the model's own ``y`` instead kept only the values it drew next to an ``x``: on
Chinook's customers (Company only next to a Fax) Company's shape score fell from 0.86 to 0.63.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

FILL_SEED = 5417  # the fixed draw of a fill: the same training rows give the same fill


def fill_given(
    rules: list[Any], i: int, frame: pd.DataFrame, train: pd.DataFrame, steps: list[dict]
) -> dict[str, Any] | None:
    """Rule ``i``'s column filled in ``frame`` (in place) on the rows of ``train`` missing
    any of the columns the null rules on it name; the step, or None when there is nothing
    to fill, nothing to draw from, or a step already took the column."""
    col = rules[i].column
    conds = [q.if_null for q in rules if q.type == "null_if_null" and q.column == col]
    if col not in frame.columns or any(s.get("column") == col for s in steps):
        return None
    if not set(conds) <= set(train.columns):
        return None
    off = train[conds].isna().any(axis=1).to_numpy()
    pool = np.flatnonzero(~off)
    if not off.any() or not len(pool):
        return None
    rng = np.random.default_rng([FILL_SEED, i, len(frame)])
    vals = frame[col].to_numpy(copy=True)
    vals[off] = vals[rng.choice(pool, int(off.sum()))]
    frame[col] = pd.Series(vals, index=frame.index).astype(frame[col].dtype)
    return {"how": "given", "rule": i, "column": col, "if_null": conds, "takes": []}


def blank(rules: list[Any], frame: pd.DataFrame) -> pd.DataFrame:
    """Every null rule's column blanked where its condition's column is missing (a copy
    when anything changes); a chain (z missing if y is, y if x is) in any order."""
    out = frame
    todo = [r for r in rules if r.type == "null_if_null"]
    todo = [r for r in todo if {r.column, r.if_null} <= set(out.columns)]
    for _ in range(len(todo)):
        changed = False
        for r in todo:
            gone = out[r.if_null].isna() & out[r.column].notna()
            if gone.any():
                out = out.copy() if out is frame else out
                out[r.column] = out[r.column].mask(gone)
                changed = True
        if not changed:
            break
    return out
