"""A numeric column's distribution as mergeable weighted values: exact counts of each value
while a column has at most ``cap`` distinct values, else counts of relative-error buckets.

Exact mode gives the same quantiles as ``np.quantile`` over the whole column and the same
empirical CDF. Past ``cap`` distinct values every value is replaced by its bucket's
representative (buckets ``(g^(k-1), g^k]`` with ``g = (1 + alpha) / (1 - alpha)``, the
representative ``2 g^k / (g + 1)``): each value moves by at most ``alpha`` of itself, so each
quantile does too, and the memory is bounded by the buckets the values span (about
``ln(max / min) / (2 alpha)``). Zero is its own bucket. Merging is addition of counts: the
result does not depend on how the rows were split or in which order parts were merged
(a part past ``cap`` implies the whole is, and bucketing is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_CAP = 1 << 18
DEFAULT_ALPHA = 1e-4


@dataclass
class ValueCounts:
    cap: int = DEFAULT_CAP
    alpha: float = DEFAULT_ALPHA
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bucketed: bool = False
    _pending: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    _pending_len: int = 0

    # ---- building -------------------------------------------------------------------------
    def add(self, x: np.ndarray) -> None:
        """Count the (finite, non-missing) values ``x``."""
        if len(x):
            if self.bucketed:
                x = bucket(x, self.alpha)
            v, c = np.unique(x, return_counts=True)
            self._push(v, c.astype(np.int64))

    def merge(self, other: ValueCounts) -> None:
        other.compact()
        if other.bucketed and not self.bucketed:
            self._to_buckets()
        v = bucket(other.values, self.alpha) if self.bucketed else other.values
        self._push(v, other.counts)

    def _push(self, v: np.ndarray, c: np.ndarray) -> None:
        self._pending.append((v, c))
        self._pending_len += len(v)
        if self._pending_len > max(self.cap, len(self.values)):
            self.compact()

    def compact(self) -> ValueCounts:
        """Fold pending counts in; switch to buckets when past ``cap`` distinct values."""
        if self._pending:
            v = np.concatenate([self.values, *(p[0] for p in self._pending)])
            c = np.concatenate([self.counts, *(p[1] for p in self._pending)])
            self._pending, self._pending_len = [], 0
            self.values, inverse = np.unique(v, return_inverse=True)
            self.counts = _summed(inverse, c, len(self.values))
        if not self.bucketed and len(self.values) > self.cap:
            self._to_buckets()
        return self

    def _to_buckets(self) -> None:
        self.bucketed = True
        v = bucket(self.values, self.alpha)
        self.values, inverse = np.unique(v, return_inverse=True)
        self.counts = _summed(inverse, self.counts, len(self.values))
        self._pending = [(bucket(p[0], self.alpha), p[1]) for p in self._pending]

    # ---- reading --------------------------------------------------------------------------
    @property
    def n(self) -> int:
        self.compact()
        return int(self.counts.sum())

    def quantiles(self, q: np.ndarray) -> np.ndarray:
        """``np.quantile`` (method 'linear') of the counted values at ``q``."""
        self.compact()
        n = self.n
        if n == 0:
            return np.zeros(0)
        cum = np.cumsum(self.counts)
        h = (n - 1) * np.asarray(q, dtype=np.float64)
        lo = np.floor(h).astype(np.int64)
        t = h - lo
        a = self.values[np.searchsorted(cum, lo, side="right")]
        b = self.values[np.searchsorted(cum, np.minimum(lo + 1, n - 1), side="right")]
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)
            if not np.isfinite(out).all():  # neighbours too far apart to subtract
                unit = float(np.max(np.abs(self.values)))
                a, b = a / unit, b / unit
                out = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t) * unit
        return out

    def steps(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For counted values ``x``: how many counted values are below each, and how many
        equal it (its step of the empirical CDF)."""
        self.compact()
        if self.bucketed:
            x = bucket(x, self.alpha)
        before = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        i = np.clip(np.searchsorted(self.values, x), 0, max(len(self.values) - 1, 0))
        return before[i], self.counts[i]


def bucket(x: np.ndarray, alpha: float) -> np.ndarray:
    """Each value's bucket representative (within ``alpha`` of it, relatively); 0 stays 0."""
    x = np.asarray(x, dtype=np.float64)
    lg = np.log1p(alpha) - np.log1p(-alpha)  # ln g
    out = np.zeros_like(x)
    nz = x != 0
    a = np.abs(x[nz])
    k = np.ceil(np.log(a) / lg)
    # 2 g^k / (g + 1), in logs so the largest floats do not overflow
    rep = np.exp(k * lg + np.log(2.0) - np.log1p(np.exp(lg)))
    out[nz] = np.copysign(np.minimum(rep, np.finfo(np.float64).max), x[nz])
    return out


def _summed(inverse: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """Counts added up by group (exact: float64 holds whole numbers to 2^53)."""
    return np.rint(np.bincount(inverse, weights=counts, minlength=size)).astype(np.int64)
