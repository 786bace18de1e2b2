"""The passes of a streamed fit over a source's units, in this process (``LocalPasses``) or
on Ray workers (``ray_fit.RayPasses``), with the same results.

A *count* pass folds every batch into an accumulator (``add``) whose parts are added up
(``merge``): whole counts, so who read which unit and the merge order do not matter. A
*moments* pass turns each batch into rows of scores (a ``Scorer``, given the batch's own
draws from (seed, file, row group, batch)) and returns each unit's sums, added up in unit
order by the caller: the same floats whatever the worker count."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from synthgen.progress import Progress
from synthgen.scale.stream_copula import Moments
from synthgen.scale.stream_source import StreamSource, Unit

Scorer = Callable[[pd.DataFrame, np.random.Generator], np.ndarray]


class Accumulator(Protocol):
    def add(self, df: pd.DataFrame) -> None: ...

    def merge(self, other: Any) -> None: ...

    def compact(self) -> Any: ...


A = TypeVar("A", bound=Accumulator)


class Passes(Protocol):
    def count(self, acc: A, what: str) -> A: ...

    def moments(self, scorer: Scorer, seed: int, what: str) -> list[Moments]: ...


def unit_rng(seed: int, unit: Unit, batch: int) -> np.random.Generator:
    """A batch's own draws: from (seed, file, row group, batch) alone."""
    key = (unit.file, unit.row_group, batch)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def unit_moments(src: StreamSource, scorer: Scorer, unit: Unit, seed: int) -> Moments:
    """A moments pass over one unit."""
    out = Moments()
    for b, df in enumerate(src.batches(unit)):
        out.add(scorer(df, unit_rng(seed, unit, b)))
    return out


class LocalPasses:
    """Every pass in this process, unit after unit."""

    def __init__(self, src: StreamSource, units: list[Unit]) -> None:
        self.src, self.units = src, units

    def count(self, acc: A, what: str) -> A:
        for unit in _bar(what, self.units):
            for df in self.src.batches(unit):
                acc.add(df)
        out: A = acc.compact()
        return out

    def moments(self, scorer: Scorer, seed: int, what: str) -> list[Moments]:
        return [unit_moments(self.src, scorer, u, seed) for u in _bar(what, self.units)]


def _bar(what: str, units: list[Unit]) -> Iterator[Unit]:
    with Progress(f"fitting: {what}", len(units), unit="part") as bar:
        for i, unit in enumerate(units):
            yield unit
            bar.update(i + 1)
