"""Per-step marginals of a sequence table: each column's distribution at each position of a
sequence (its first event, its second, ... its tenth, and its last) compared between real
and synthetic sequences. A model can match a column's overall shape while drawing every
first event alike, or letting values drift as a sequence goes on; this catches both."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.sequential import _NOT_A_SEQUENCE, LABELS, NUMBERS, Events, _events, columns
from synthgen.schema.spec import Schema
from synthgen.stats import ks_complement, tv_complement
from synthgen.transforms.frame import to_model_frame

MAX_STEPS = 10  # steps compared one by one (then the last event)
MIN_EVENTS = 20  # events a position needs on each side to be judged


def positions(ev: Events) -> dict[str, np.ndarray]:
    """Masks of the events at each position: ``step 1`` .. ``step MAX_STEPS`` (by their
    index in their sequence) and ``last`` (each sequence's last event)."""
    n = len(ev.entity)
    starts = np.flatnonzero(ev.first)
    step = np.arange(n) - starts[np.cumsum(ev.first) - 1] if n else np.zeros(0, np.int64)
    out = {f"step {k + 1}": step == k for k in range(MAX_STEPS)}
    out["last"] = np.append(ev.first[1:], True) if n else np.zeros(0, bool)
    return out


def step_scores(
    real: Events, syn: Events, schema: Schema, numbers: list[str], labels: list[str]
) -> dict[tuple[str, str], float]:
    """(column, position) -> 1 - KS (numbers) or 1 - TV (labels) between the real and
    synthetic values at that position; positions with fewer than MIN_EVENTS real or
    synthetic events are left out (a synthetic side with none there scores 0)."""
    cols = numbers + labels
    mf = [to_model_frame(e.frame, schema, cols) for e in (real, syn)]
    at = [positions(e) for e in (real, syn)]
    out: dict[tuple[str, str], float] = {}
    for pos, rmask in at[0].items():
        smask = at[1][pos]
        if rmask.sum() < MIN_EVENTS or 0 < smask.sum() < MIN_EVENTS:
            continue
        for c in cols:
            r, s = mf[0][c][rmask], mf[1][c][smask]
            if c in numbers:
                score = ks_complement(r.to_numpy(float), s.to_numpy(float))
            else:
                score = tv_complement(r.astype(object), s.astype(object)) if len(s) else 0.0
            out[(c, pos)] = score
    return out


@register(
    "step_marginal_similarity", "fidelity", "higher", (0.0, 1.0),
    "mean over columns and positions in a sequence (first event, second, ..., last) of "
    "1 - KS (numbers) or 1 - TV (labels) between real and synthetic values there",
)  # fmt: skip
def step_marginal_similarity(ctx: Context) -> Result:
    """Higher is better (1: every column is distributed at every position as in the
    source). Details name the worst (column, position) and the mean per position."""
    got = _events(ctx, "step_marginal_similarity")
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    real, syn, entity, order = got
    numbers = columns(ctx.schema, entity, order, NUMBERS)
    labels = columns(ctx.schema, entity, order, LABELS)
    scores = step_scores(real, syn, ctx.schema, numbers, labels)
    if not scores:
        return Result(None, skipped=f"needs {MIN_EVENTS} real events at a position of a column")
    (col, pos), worst = min(scores.items(), key=lambda kv: kv[1])
    per_pos = pd.Series(scores).groupby(level=1).mean()
    details: dict[str, Any] = {
        "worst": {"column": col, "position": pos, "score": round(worst, 4)},
        "per_position": {p: round(float(v), 4) for p, v in per_pos.items()},
        "positions": len(per_pos),
    }
    return Result(float(np.mean(list(scores.values()))), details)
