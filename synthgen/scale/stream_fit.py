"""Fit the copula on a table larger than memory: two map-reduce passes over the source's
units (``stream_copula``), here in one process or on Ray workers (``ray_fit``), then the
same ``CopulaGenerator`` a fit in memory makes (saved as JSON + safetensors, sampled as ever).

The schema, the numbers' decimals and the side columns' shapes (ids, PII, text) come from
the first rows (``stream_source.SAMPLE_ROWS``); the row count, every missing rate and an
integer id's first value from all rows. The model is the same whatever the engine or the
worker count: pass 1 only adds whole counts, pass 2's sums are added in unit order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from synthgen import logs
from synthgen.generators.context import MODELLED_KINDS
from synthgen.generators.copula import CopulaGenerator
from synthgen.progress import Progress
from synthgen.scale.stream_copula import Marginals, Moments, Plan, Summary, marginals, scores
from synthgen.scale.stream_source import StreamSource, Unit
from synthgen.schema.spec import Schema
from synthgen.transforms import side as sidemod
from synthgen.transforms.frame import with_decimals


def unit_rng(seed: int, unit: Unit, batch: int) -> np.random.Generator:
    """A batch's own draws: from (seed, file, row group, batch) alone."""
    key = (unit.file, unit.row_group, batch)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def summarise(src: StreamSource, plan: Plan, units: Iterable[Unit]) -> Summary:
    """Pass 1 over ``units``."""
    out = Summary(plan)
    for unit in units:
        for df in src.batches(unit):
            out.add(df)
    return out.compact()


def unit_moments(src: StreamSource, plan: Plan, m: Marginals, unit: Unit, seed: int) -> Moments:
    """Pass 2 over one unit."""
    out = Moments()
    for b, df in enumerate(src.batches(unit)):
        out.add(scores(plan, m, df, unit_rng(seed, unit, b)))
    return out


def fit_copula_streamed(
    src: StreamSource,
    schema: Schema,
    sample: pd.DataFrame,
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    say: Callable[[str], None] = logs.say,
    stats: dict[str, Any] | None = None,
) -> CopulaGenerator:
    """A fitted copula of the whole source. ``sample``: its first rows (``src.sample()``),
    ``schema`` detected on them. ``stats`` receives each Ray worker's peak memory."""
    from synthgen.scale.stream_copula import correlation

    gen = CopulaGenerator(**(params or {}))
    modelled = [
        c.name for c in schema.columns if c.kind in MODELLED_KINDS and c.null_fraction < 1.0
    ]
    side = sidemod.fit_side_columns(sample, schema)
    plan = Plan(schema, modelled, [c for c, s in side.items() if s["how"] == "id_int"])
    units = src.units()
    say(f"fitting the copula on {src.where}: {len(units)} part(s), two passes")
    if engine == "ray":
        from synthgen.scale.ray_fit import ray_fit

        summary, m, parts = ray_fit(
            src, plan, units, gen.params.max_knots, seed, workers, address, stats
        )
    else:
        summary = summarise(src, plan, _bar("pass 1 of 2", units))
        m = marginals(summary, gen.params.max_knots)
        parts = [unit_moments(src, plan, m, u, seed) for u in _bar("pass 2 of 2", units)]
    corr = correlation(parts, len(m.variables), gen.params.shrinkage)
    _finish_side(side, summary)
    gen.schema_ = with_decimals(schema, sample)
    gen.n_rows_ = summary.rows
    gen.modelled_ = modelled
    gen.side_ = side
    gen.context_ = None
    gen._set_state({"variables": m.variables}, {**m.arrays, "corr": corr})
    gen.fitted_ = True
    return gen


def _finish_side(side: dict[str, dict[str, Any]], summary: Summary) -> None:
    """Side columns' missing rates and integer ids' first values from every row."""
    for name, state in side.items():
        if state["how"] == "null":
            continue
        state["null_fraction"] = summary.nulls.get(name, 0) / max(summary.rows, 1)
        if state["how"] == "id_int" and name in summary.id_min:
            state["start"] = int(summary.id_min[name])


def _bar(what: str, units: list[Unit]) -> Iterator[Unit]:
    with Progress(f"fitting: {what}", len(units), unit="part") as bar:
        for i, unit in enumerate(units):
            yield unit
            bar.update(i + 1)
