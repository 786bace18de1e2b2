"""The streamed copula fit under differential privacy: the in-memory DP copula's mechanism
(``generators.copula_dp``, ``privacy.plan.DPPlan.summarise_counts``) on exact counts added up
over the source's parts, with every noise drawn once, on the driver, after the reduce.

Three passes (``passes``): 1. the row count, missing counts, each label's count and each
number's log-scale bin counts; the driver releases every number's bounds. 2. each number's
values counted in the cells of its histogram tree's finest grid within those bounds (every
node the tree could split is a run of whole cells, with the same edges as in memory, so any
node's count is exact); the driver releases the trees, the label sets and counts, the row
count and the side columns' missing rates. 3. each row's normal scores through those DP
marginals, clipped to a fixed norm, summed as cross-products per unit and added up in unit
order; the driver adds the Gaussian noise to the sum.

The driver's noise comes from ``numpy.random.default_rng(seed)``, in the in-memory order, so
the DP marginals are the in-memory DP copula's for the same table and seed, bit for bit; the
correlation's noise is the same distribution, drawn from that generator's next draws (the
rows' tie-breaking draws come from each batch's own generator, as without DP). No count
leaves a worker but as a part of a sum; the budget is spent once, whatever the worker count.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from synthgen.generators.copula import CopulaGenerator
from synthgen.generators.copula_dp import (
    clipped,
    dp_marginals,
    dp_scores,
    noisy_correlation,
)
from synthgen.privacy.counts import GridValues, ValueCounter, grid_cells
from synthgen.privacy.marginals import TableSummary, log_bins, tree_grid
from synthgen.privacy.plan import DPPlan
from synthgen.scale.passes import Passes
from synthgen.scale.stream_copula import _NA, Moments, Plan, Summary
from synthgen.transforms import side as sidemod


class GridCounts:
    """Pass 2: each number's values, clipped to its tree's range, counted in its grid's
    cells (``privacy.counts.grid_cells``); merged by addition."""

    def __init__(self, plan: Plan, grids: dict[str, np.ndarray]) -> None:
        self.plan, self.grids = plan, grids
        self.cells: dict[str, np.ndarray] = {}  # made when counted (arrays Ray sends are read-only)

    def add(self, df: pd.DataFrame) -> None:
        frame = self.plan.frame(df)
        for c, edges in self.grids.items():
            self._add(c, grid_cells(frame[c].to_numpy(np.float64), edges))

    def merge(self, other: GridCounts) -> None:
        for c, n in other.cells.items():
            self._add(c, n)

    def _add(self, c: str, n: np.ndarray) -> None:
        self.cells[c] = self.cells[c] + n if c in self.cells else n.copy()

    def of(self, c: str) -> np.ndarray:
        return self.cells.get(c, np.zeros(len(self.grids[c]) - 1, dtype=np.int64))

    def compact(self) -> GridCounts:
        return self


class StreamCounts:
    """The streamed table's exact counts, as a DP release reads them (``TableCounts``):
    pass 1's summary, and pass 2 run when the release gives the trees' ranges."""

    def __init__(self, summary: Summary, passes: Passes) -> None:
        self.summary, self.passes = summary, passes
        self.rows = summary.rows
        self.grid: GridCounts | None = None

    def bins(self, col: str) -> np.ndarray:
        return self.summary.bins.get(col, log_bins(np.zeros(0)))

    def prepare(self, ranges: dict[str, tuple[float, float]]) -> None:
        schema = self.summary.plan.schema
        grids = {
            c: tree_grid(lo, hi, schema[c].kind == "integer") for c, (lo, hi) in ranges.items()
        }
        numbers = Plan(schema, list(grids))  # the pass reads the numbers only
        self.grid = self.passes.count(GridCounts(numbers, grids), "pass 2 of 3")

    def values(self, col: str) -> ValueCounter:
        assert self.grid is not None  # ``prepare`` runs first
        missing = self.summary.missing.get(col, 0)
        return GridValues(self.grid.grids[col], self.grid.of(col), missing)

    def labels(self, col: str) -> dict[Any, int]:
        table = self.summary.labels.get(col, {})
        return {(None if k == _NA else k): int(n) for k, (n, _text) in table.items()}

    def nulls(self, col: str) -> int:
        return int(self.summary.nulls.get(col, 0))


def batch_scores(
    plan: Plan,
    variables: list[dict[str, Any]],
    arrays: dict[str, np.ndarray],
    summary: TableSummary,
    df: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """Pass 3's scorer: a batch's DP normal scores, each row clipped to the fixed norm."""
    return clipped(dp_scores(variables, arrays, summary, plan.frame(df), rng))


def fit_dp(
    gen: CopulaGenerator,
    passes: Passes,
    plan: Plan,
    side: dict[str, dict[str, Any]],
    privacy: Callable[[int], DPPlan],
    seed: int,
) -> DPPlan:
    """Fit ``gen`` (its state, row count, DP missing rates and privacy ledger) and make
    ``side`` private, as ``Generator.fit`` with a DP plan does in memory."""
    counts = passes.count(Summary(plan, dp=True), "pass 1 of 3")
    dp = privacy(counts.rows)  # the default delta, as in memory, from the row count
    rng = np.random.default_rng(seed)
    kinds = {c: str(plan.schema[c].kind) for c in plan.modelled}
    side_cols = [c for c, st in side.items() if st["how"] != "null"]
    table = dp.summarise_counts(StreamCounts(counts, passes), kinds, side_cols, 0.5, rng)
    variables, arrays = dp_marginals(table, plan.modelled, gen.params.max_knots)
    scorer = partial(batch_scores, plan, variables, arrays, table)
    parts = passes.moments(scorer, seed, "pass 3 of 3")
    arrays["corr"] = noisy_correlation(_cross(parts, len(variables)), table.n_rows, dp, rng)
    sidemod.privatise_side_columns(side, table.missing)
    gen._set_state({"variables": variables}, arrays)
    gen.n_rows_ = max(1, int(round(table.n_rows)))
    gen.dp_missing_ = table.missing_rates()
    gen.privacy_ = dp.to_json()
    return dp


def _cross(parts: list[Moments], d: int) -> np.ndarray:
    """The sum of the units' cross-products, added in unit order."""
    out = np.zeros((d, d))
    for p in parts:
        if p.rows:
            assert p.cross is not None
            out = out + p.cross
    return out
