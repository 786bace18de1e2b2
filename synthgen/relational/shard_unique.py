"""Unique columns of a table drawn in root shards, unique over the whole output.

A shard knows how many rows it draws of each table, never how many earlier shards drew, so
row numbers restart at 0 in every shard. Keys get the earlier shards' counts added by the
writer (``shards.KeyWriter``); the other columns that must be unique are made so here,
with no set of other shards' values anywhere:

- ids and unique PII fakes of shard ``k`` of ``K`` are derived from the *interleaved* row
  number ``i * K + k`` (``pii.unique.Interleaved``): distinct across shards for any counts,
  and the same whichever worker draws the shard;
- a unique label (a one-column unique key on a label column) may appear only in the shard
  that owns it (a stable hash, ``pii.unique.owner``); other rows take a spare label this
  shard owns, then a copy numbered by the interleaved row number.

A dataset of one shard is left as an unsharded pass draws it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.pii.unique import Interleaved, owner


def unique_columns(
    body: pd.DataFrame,
    model: Any,
    *,
    shard: int,
    shards: int,
    expected: int,
    seed: int,
    exclude: dict[str, set[str]] | None,
) -> pd.DataFrame:
    """``body`` (one shard's rows of a table sampled from ``model``) with its ids and unique
    PII fakes drawn again from interleaved row numbers. ``seed``: the table's seed in the
    run (the same for every shard: it keys the permutation of row numbers);
    ``expected``: the table's expected rows over all shards."""
    from synthgen.pii import fake

    schema, side = getattr(model, "schema_", None), getattr(model, "side_", None) or {}
    if shards <= 1 or schema is None or not side or body.empty:
        return body
    layout = Interleaved(shard, shards, expected)
    out = body.copy()
    for i, spec in enumerate(schema.columns):
        state = side.get(spec.name)
        if state is None or spec.name not in out.columns or not _unique(state):
            continue
        col = fake.side_column(
            state,
            len(out),
            np.random.default_rng([seed, 7919, i, shard, shards]),
            locale="en_US",
            dtype=spec.dtype,
            exclude=(exclude or {}).get(spec.name, set()),
            unique=layout,
            key=[seed, 7927, i],
        )
        col.index = out.index
        try:  # the dtype the model's own decoding gave the column
            out[spec.name] = col.astype(out[spec.name].dtype)
        except (TypeError, ValueError):
            out[spec.name] = col
    return out


def _unique(state: dict[str, Any]) -> bool:
    how = str(state.get("how", ""))
    return how.startswith("id_") or (how == "pii" and bool(state.get("unique", False)))


def owned_labels(
    s: pd.Series, labels: list[str], rng: np.random.Generator, *, shard: int, shards: int
) -> pd.Series:
    """``s`` (one shard's values of a unique label column) with every value another shard
    owns, or repeated here, replaced by a spare label this shard owns, then by a copy
    numbered by the row's interleaved number (``"<label> (#<n>)"``)."""
    vals = s.astype(object).to_numpy()
    present = np.array([v is not None and v == v for v in vals], dtype=bool)
    seen: set[str] = set()
    bad = np.zeros(len(vals), dtype=bool)
    for i in np.flatnonzero(present):
        v = str(vals[i])
        if v in seen or owner(v, shards) != shard:
            bad[i] = True
        else:
            seen.add(v)
    if not bad.any():
        return s
    order = rng.permutation(np.array(labels, dtype=object)).tolist()
    spare = [v for v in order if owner(str(v), shards) == shard and str(v) not in seen]
    out = s.astype(object).copy()
    for j, i in enumerate(np.flatnonzero(bad)):
        out.iloc[i] = spare[j] if j < len(spare) else f"{vals[i]} (#{i * shards + shard})"
    return out
