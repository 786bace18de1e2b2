"""A DP plan for one fit: the ledger, the public facts the user gave, and the checks that
refuse a recipe whose pieces would read data outside the budget."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen.errors import PrivacyBudgetError
from synthgen.privacy.accounting import PrivacyLedger, default_delta
from synthgen.privacy.marginals import TableSummary, release_counts

if TYPE_CHECKING:
    from synthgen.privacy.counts import TableCounts
    from synthgen.schema.spec import Schema

LABEL_DELTA_SHARE = 0.25  # of delta, for releasing label sets by threshold


@dataclass
class DPPlan:
    epsilon: float
    delta: float
    metadata_share: float = 0.2
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    categories: dict[str, list[Any]] = field(default_factory=dict)
    text_columns: set[str] = field(default_factory=set)  # text trained under this budget
    uncovered: list[str] = field(default_factory=list)  # steps the budget does not cover
    ledger: PrivacyLedger = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = PrivacyLedger(self.epsilon, self.delta)

    @classmethod
    def build(
        cls,
        epsilon: float,
        delta: float | None,
        n_rows: int,
        *,
        metadata_share: float = 0.2,
        bounds: dict[str, tuple[float, float]] | None = None,
        categories: dict[str, list[Any]] | None = None,
    ) -> DPPlan:
        """``n_rows`` is the training table's size; only the default delta depends on it."""
        return cls(
            epsilon,
            default_delta(n_rows) if delta is None else delta,
            metadata_share,
            dict(bounds or {}),
            dict(categories or {}),
        )

    def summarise(
        self,
        frame: pd.DataFrame,
        schema: Schema,
        side: pd.DataFrame,
        *,
        share: float,
        rng: np.random.Generator,
        what: str = "bounds, histograms and label sets",
    ) -> TableSummary:
        """The one-way DP summary of the table (side columns: their missing rate only), one
        Gaussian release taking ``share`` of what is left of the budget's mu^2 (Gaussian DP's
        currency: the rest stays for later mechanisms). A quarter of delta pays for label
        thresholds when a label set is not public."""
        from synthgen.privacy.counts import FrameCounts

        data = FrameCounts(frame, {c: side[c] for c in side.columns})
        kinds = {c: str(schema[c].kind) for c in frame.columns}
        return self.summarise_counts(data, kinds, list(side.columns), share, rng, what)

    def summarise_counts(
        self,
        data: TableCounts,
        kinds: dict[str, str],
        side: list[str],
        share: float,
        rng: np.random.Generator,
        what: str = "bounds, histograms and label sets",
    ) -> TableSummary:
        """``summarise`` of a table read through its counts (``privacy.counts``): the
        columns ``kinds`` in order, the side columns ``side``."""
        n_label = sum(1 for k in kinds.values() if k in ("categorical", "boolean"))
        unknown = sum(
            1
            for c, k in kinds.items()
            if k in ("categorical", "boolean") and c not in self.categories
        )
        d_label = self.delta * LABEL_DELTA_SHARE if unknown else 0.0
        if d_label:
            self.ledger.spend_delta(
                "label threshold", f"label sets of {unknown} of {n_label} label column(s)", d_label
            )
        mu = self.ledger.gaussian_mu_left() * math.sqrt(share)
        if mu <= 0:
            raise PrivacyBudgetError("no privacy budget is left for the table's summary")
        summary = release_counts(
            data,
            kinds,
            side,
            mu=mu,
            delta_label=d_label / unknown if unknown else 1e-12,
            rng=rng,
            bounds=self.bounds,
            categories={c: v for c, v in self.categories.items() if c in kinds},
        )
        self.ledger.spend_gaussian(
            "gaussian histograms", what, mu, sigma=round(summary.sigma, 4), queries=summary.queries
        )
        return summary

    def to_json(self) -> dict[str, Any]:
        out = self.ledger.to_json()
        out["public_bounds"] = sorted(self.bounds)
        out["public_categories"] = sorted(self.categories)
        out["not_covered"] = list(self.uncovered)
        return out


def refuse_if_outside(
    schema: Schema, generator: str, supports_dp: bool, text_ok: set[str] | None = None
) -> None:
    """A DP recipe must not have parts that learn from the data without the budget."""
    problems = []
    if not supports_dp:
        problems.append(
            f"generator.name: '{generator}' cannot train with differential privacy; "
            "use autoreg, copula, ctgan or tvae"
        )
    for c in schema.of_kind("text"):
        if c.name in (text_ok or set()):
            continue
        problems.append(
            f"schema.{c.name}: free-text column would be modelled outside the budget; "
            f"give it text.{c.name}.params.epsilon (backend hf: params.lora.epsilon), drop it, "
            "or mark it `kind: pii`"
        )
    if problems:
        raise PrivacyBudgetError(
            "this recipe would read data outside its privacy budget:", problems=problems
        )
