"""Reference tables and unique labels: what a model of a few unique names gets wrong.

A reference table (Genre, MediaType) is kept as it is, keys made fresh; a one-column unique
key on a label column keeps its values distinct.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from synthgen.relational.plan import Plan

LOOKUP_ROWS = 1000


def is_lookup(plan: Plan, t: str, own: pd.DataFrame, schema: Any) -> bool:
    """A reference table (Genre, MediaType): no references of its own, at most LOOKUP_ROWS
    rows, referenced by others, no PII or free text, and a label column whose values are
    (nearly) all distinct. Its rows are kept as they are (keys fresh): a model of 25 unique
    names would repeat some and lose others, and every child's profile with them."""
    tp = plan.tables[t]
    if tp.context or tp.assigned or tp.self_refs or not 0 < len(own) <= LOOKUP_ROWS:
        return False
    if not (plan.children(t) or plan.referrers(t)):
        return False
    kinds = {c.name: c.kind for c in schema.columns if c.name in own.columns}
    if any(k in ("pii", "text") for k in kinds.values()):
        return False
    return any(k == "categorical" and own[c].nunique() >= 0.5 * len(own) for c, k in kinds.items())


def records(df: pd.DataFrame) -> dict[str, Any]:
    """A frame as plain JSON (columns and rows)."""
    return json.loads(df.to_json(orient="split", index=False, date_format="iso"))


def unique_labels(spec: Any, df: pd.DataFrame, schema: Any) -> dict[str, list[str]]:
    """The labels of each one-column unique key on a label column (a lookup's names): the
    model's own label set, from which repeated draws are replaced by unused ones."""
    out = {}
    for u in spec.unique:
        c = u.columns[0]
        if len(u.columns) == 1 and c in schema and schema[c].kind == "categorical":
            out[c] = sorted(map(str, df[c].dropna().unique()))
    return out


def distinct_labels(s: pd.Series, labels: list[str], rng: np.random.Generator) -> pd.Series:
    """``s`` with repeated values replaced by labels not drawn yet (then numbered copies)."""
    dup = s.duplicated() & s.notna()
    if not dup.any():
        return s
    used = set(s[~dup].astype(str))
    spare = [v for v in rng.permutation(np.array(labels, dtype=object)).tolist() if v not in used]
    out = s.astype(object).copy()
    for k, i in enumerate(np.flatnonzero(dup.to_numpy())):
        out.iloc[i] = spare[k] if k < len(spare) else f"{s.iloc[i]} ({k + 2})"
    return out
