"""What every metric declares: its group, direction and range, and how to compute it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from synthgen.metrics.evidence import Evidence
from synthgen.schema.spec import Schema

COMPARED_KINDS = ("numeric", "integer", "categorical", "boolean", "datetime")
# how a metric that needs unseen real rows starts its skip reason (the run warns on it)
NEEDS_HOLDOUT = "needs a holdout (real rows not used for training)"


@dataclass
class Context:
    """The frames a suite compares; ``holdout`` may be empty, ``target`` may be None."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    synthetic: pd.DataFrame
    schema: Schema
    target: str | None = None
    seed: int = 0
    sensitive: list[str] = field(default_factory=list)  # columns for attribute inference
    options: dict[str, Any] = field(default_factory=dict)  # per-metric settings from the suite
    cache: dict[str, Any] = field(default_factory=dict)  # shared work (e.g. nearest neighbours)

    def compared_columns(self) -> list[str]:
        """Columns a model learned and that both frames hold (ids, PII and text are replaced)."""
        return [
            c.name
            for c in self.schema.columns
            if c.kind in COMPARED_KINDS
            and c.name in self.synthetic.columns
            and c.name in self.train.columns
        ]


@dataclass
class Result:
    """A metric's number and what explains it. ``skipped`` (a reason) when it does not apply
    (e.g. a utility metric with no target): its gate is then skipped, not failed; a value of
    None without ``skipped`` fails its gate. ``evidence`` (a metric estimated from a sample):
    how sure the value is; a gate then passes, fails or is inconclusive on it. ``baseline``:
    the value real unseen rows (the holdout) get in place of the synthetic ones; a gate that
    they miss too cannot tell synthetic from real data, so it is inconclusive, not failed
    (how far below real data a synthetic score may fall by chance on such a table is as
    uncertain as the score: a rule that failed it below the holdout's false-failed 5 % of
    clean splits of tables under 400 rows)."""

    value: float | None
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    evidence: Evidence | None = None
    baseline: float | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    group: Literal["fidelity", "privacy", "utility", "schema"]
    direction: Literal["higher", "lower"]
    range: tuple[float, float]
    summary: str
    compute: Callable[[Context], Result]


REGISTRY: dict[str, Metric] = {}


def register(name: str, group: str, direction: str, range: tuple[float, float], summary: str):  # type: ignore[no-untyped-def]
    def deco(fn: Callable[[Context], Result]) -> Callable[[Context], Result]:
        REGISTRY[name] = Metric(name, group, direction, range, summary, fn)  # type: ignore[arg-type]
        return fn

    return deco
