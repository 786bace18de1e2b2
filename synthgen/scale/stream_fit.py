"""Fit the copula on a table larger than memory: two map-reduce passes over the source's
units (``stream_copula``), here in one process or on Ray workers (``ray_fit``), then the
same ``CopulaGenerator`` a fit in memory makes (saved as JSON + safetensors, sampled as ever).

The schema, the numbers' decimals and the side columns' shapes (ids, PII, text) come from
the first rows (``stream_source.SAMPLE_ROWS``); the row count, every missing rate and an
integer id's first value from all rows. The model is the same whatever the engine or the
worker count: pass 1 only adds whole counts, pass 2's sums are added in unit order.
Under differential privacy the fit is ``stream_dp``'s three passes (the in-memory DP
copula's mechanism, its noise drawn once on the driver after each reduce).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthgen import logs
from synthgen.generators.context import MODELLED_KINDS
from synthgen.generators.copula import CopulaGenerator
from synthgen.scale.passes import LocalPasses, Passes
from synthgen.scale.stream_copula import Plan, Summary, correlation, marginals, scores
from synthgen.scale.stream_source import StreamSource, Unit
from synthgen.schema.spec import Schema
from synthgen.transforms import side as sidemod
from synthgen.transforms.frame import with_decimals

if TYPE_CHECKING:
    from synthgen.privacy.plan import DPPlan


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
    privacy: Callable[[int], DPPlan] | None = None,
) -> CopulaGenerator:
    """A fitted copula of the whole source. ``sample``: its first rows (``src.sample()``),
    ``schema`` detected on them. ``stats`` receives each Ray worker's peak memory.
    ``privacy``: the DP plan for a table of so many rows; the fit is then the in-memory DP
    copula's mechanism (``stream_dp``)."""
    gen = CopulaGenerator(**(params or {}))
    modelled = [
        c.name for c in schema.columns if c.kind in MODELLED_KINDS and c.null_fraction < 1.0
    ]
    side = sidemod.fit_side_columns(sample, schema)
    plan = Plan(schema, modelled, [c for c, s in side.items() if s["how"] == "id_int"])
    units = src.units()
    k = 2 if privacy is None else 3
    say(f"fitting the copula on {src.where}: {len(units)} part(s), {k} passes")
    with _passes(src, units, engine, workers, address, stats) as passes:
        if privacy is None:
            summary = passes.count(Summary(plan), "pass 1 of 2")
            m = marginals(summary, gen.params.max_knots)
            parts = passes.moments(partial(scores, plan, m), seed, "pass 2 of 2")
            corr = correlation(parts, len(m.variables), gen.params.shrinkage)
            _finish_side(side, summary)
            gen.n_rows_ = summary.rows
            gen._set_state({"variables": m.variables}, {**m.arrays, "corr": corr})
        else:
            from synthgen.scale.stream_dp import fit_dp

            fit_dp(gen, passes, plan, side, privacy, seed)
    gen.schema_ = with_decimals(schema, sample)
    gen.modelled_ = modelled
    gen.side_ = side
    gen.context_ = None
    gen.fitted_ = True
    return gen


def _passes(
    src: StreamSource,
    units: list[Unit],
    engine: str,
    workers: int | None,
    address: str | None,
    stats: dict[str, Any] | None,
) -> AbstractContextManager[Passes]:
    if engine == "ray":
        from synthgen.scale.ray_fit import ray_passes

        return ray_passes(src, units, workers, address, stats)
    return nullcontext(LocalPasses(src, units))


def _finish_side(side: dict[str, dict[str, Any]], summary: Summary) -> None:
    """Side columns' missing rates and integer ids' first values from every row."""
    for name, state in side.items():
        if state["how"] == "null":
            continue
        state["null_fraction"] = summary.nulls.get(name, 0) / max(summary.rows, 1)
        if state["how"] == "id_int" and name in summary.id_min:
            state["start"] = int(summary.id_min[name])
