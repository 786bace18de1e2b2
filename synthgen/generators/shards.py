"""Sharded sampling: ``n`` rows cut into shards of a fixed size, each drawn on its own.

Shard ``k`` holds rows ``k * shard_rows .. min(n, (k + 1) * shard_rows) - 1``; its randomness
comes from (seed, k) alone (the ``k``-th child of the seed's SeedSequence; counted
generators use the row numbers), and its side columns from the row numbers (ids, unique
fakes: ``pii.unique``). So a shard is the same whichever worker draws it, in whatever order,
and ``Generator.iter_sample(n, chunk_size=shard_rows)`` yields exactly these shards: the
local engine and Ray give the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from synthgen.errors import UsageError

if TYPE_CHECKING:
    from synthgen.generators.base import Generator

SHARD_ROWS = 50_000  # `synthgen sample` draws these shards, to a file, a folder or on Ray


def shard_count(n: int, shard_rows: int = SHARD_ROWS) -> int:
    """How many shards ``n`` rows make (one, empty, for ``n = 0``)."""
    return max(1, -(-int(n) // int(shard_rows)))


def shard_bounds(n: int, k: int, shard_rows: int = SHARD_ROWS) -> tuple[int, int]:
    """(first row, rows) of shard ``k``."""
    start = k * shard_rows
    return start, max(0, min(shard_rows, n - start))


def sample_shard(
    gen: Generator,
    n: int,
    k: int,
    *,
    seed: int = 0,
    shard_rows: int = SHARD_ROWS,
    conditions: dict[str, Any] | None = None,
    locale: str = "en_US",
    exclude: dict[str, set[str]] | None = None,
) -> pd.DataFrame:
    """Shard ``k`` of an ``n``-row sample of ``gen`` (indexed by its row numbers): the
    rows ``gen.iter_sample(n, seed=seed, chunk_size=shard_rows, ...)`` gives as its
    ``k``-th chunk. Models fitted with a context are sampled through ``iter_sample``."""
    from synthgen.transforms.side import SideColumns

    gen._check_fitted()
    if gen.context_ is not None:
        raise UsageError("a model fitted with a context (a child table) cannot be sharded alone")
    if shard_rows < 1 or not 0 <= k < shard_count(n, shard_rows):
        raise UsageError(f"no shard {k} in {n} rows of shards of {shard_rows}")
    if n == 0:
        (empty,) = gen.iter_sample(0, seed=seed, locale=locale)
        return empty
    model_conditions = gen._model_conditions(conditions)
    side = SideColumns(gen.schema_, gen.side_, n, seed, locale, exclude or {}, shard_rows)
    start, m = shard_bounds(n, k, shard_rows)
    return gen._shard(k, start, m, seed, model_conditions, side, None)


def join_shards(gen: Generator, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Shards in row order as one frame, in the source's dtypes (``Generator.sample``)."""
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    for c in gen.schema_.columns:  # shards with other label sets concatenate as object
        if c.dtype == "category" and not isinstance(out[c.name].dtype, pd.CategoricalDtype):
            out[c.name] = out[c.name].astype("category")
    return out.reset_index(drop=True)
