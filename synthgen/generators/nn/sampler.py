"""The conditional vector and training-by-sampling, vectorised over the batch.

Each training row is conditioned on one label column picked uniformly and one of its labels
picked by log-frequency (so rare labels are seen), and the critic's real rows are drawn among
the rows that carry that label. All draws for a batch are a few numpy array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthgen.transforms.table import Span


class CondSampler:
    def __init__(
        self,
        matrix: np.ndarray | None,
        spans: list[Span],
        log_frequency: bool = True,
        counts: list[list[float]] | None = None,
    ) -> None:
        self.columns = [s.column for s in spans]
        widths = [s.width for s in spans]
        starts = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        self.col_slices = [(int(starts[j]), int(starts[j + 1])) for j in range(len(spans))]
        self.width = int(starts[-1])
        self.cond_to_data = torch.tensor(
            [i for s in spans for i in range(s.start, s.stop)], dtype=torch.long
        )
        if counts is None:
            assert matrix is not None
            counts = [matrix[:, s.start : s.stop].sum(0).tolist() for s in spans]
        self.counts = counts
        self.offsets = starts[:-1]
        max_w = max(widths, default=1)
        self._cum_train = self._cum(
            [np.log1p(c) if log_frequency else np.asarray(c) for c in counts], max_w
        )
        orig = np.zeros((len(spans), max_w))
        for j, c in enumerate(counts):
            orig[j, : len(c)] = np.cumsum(np.maximum(np.asarray(c, dtype=np.float64), 0.0))
            orig[j, len(c) :] = orig[j, len(c) - 1] if len(c) else 0.0
        self._orig_cum = torch.from_numpy(orig)
        self._orig_total = self._orig_cum[:, -1:].clone()
        self._offsets_t = torch.from_numpy(starts[:-1].copy())
        self._last = torch.tensor(widths, dtype=torch.long) - 1
        self.n_rows = len(matrix) if matrix is not None else 0  # training rows (training only)
        if matrix is not None:
            self._index_rows(matrix, spans)

    @staticmethod
    def _cum(weights: list[np.ndarray], max_w: int) -> np.ndarray:
        cum = np.ones((len(weights), max_w))
        for j, w in enumerate(weights):
            p = np.asarray(w, dtype=float) / max(float(np.sum(w)), 1e-12)
            cum[j, : len(p)] = np.cumsum(p)
        return cum

    def _index_rows(self, matrix: np.ndarray, spans: list[Span]) -> None:
        """For every global label g: the rows carrying it, as a slice of one array."""
        rows, starts, counts = [], [], []
        at = 0
        for s in spans:
            cat = matrix[:, s.start : s.stop].argmax(1)
            order = np.argsort(cat, kind="stable")
            per = np.bincount(cat, minlength=s.width)
            rows.append(order)
            starts.append(at + np.concatenate([[0], np.cumsum(per)[:-1]]))
            counts.append(per)
            at += len(order)
        self._rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self._start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self._count = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)

    def sample(
        self, n: int, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(cond one-hots, column mask, matching real row indices) for a training batch."""
        if not self.columns:
            return torch.zeros(n, 0), torch.zeros(n, 0), rng.integers(0, self.n_rows, n)
        cond, mask, g = self.sample_cond(n, rng)
        pick = (rng.random(n) * self._count[g]).astype(np.int64)
        return cond, mask, self._rows[self._start[g] + pick]

    def sample_cond(
        self, n: int, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(cond one-hots, column mask, global label index) drawn from the counts alone."""
        if not self.columns:
            return torch.zeros(n, 0), torch.zeros(n, 0), np.zeros(n, dtype=np.int64)
        col = rng.integers(0, len(self.columns), n)
        k = (rng.random(n)[:, None] > self._cum_train[col]).sum(1)
        g = self.offsets[col] + k
        cond = torch.zeros(n, self.width)
        cond[torch.arange(n), torch.from_numpy(g)] = 1.0
        mask = torch.zeros(n, len(self.columns))
        mask[torch.arange(n), torch.from_numpy(col)] = 1.0
        return cond, mask, g

    def own_cond(self, rows: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Each real row conditioned on its own label in one column picked uniformly: the
        critic's real inputs without training-by-sampling (which picks rows by label and so
        cannot be accounted for under DP)."""
        cond = torch.zeros(len(rows), self.width)
        if not self.columns or not len(rows):
            return cond
        col = torch.from_numpy(rng.integers(0, len(self.columns), len(rows)))
        member = torch.zeros(len(self.columns), self.width)
        for j, (a, b) in enumerate(self.col_slices):
            member[j, a:b] = 1.0
        return rows[:, self.cond_to_data] * member[col]

    def sample_original(self, n: int) -> torch.Tensor:
        """Conditional slots for sampling ([n] int64, global): a column uniformly, then one of
        its labels by its real frequency (inverse CDF, one uniform number per row)."""
        col = torch.randint(len(self.columns), (n,))
        u = torch.rand(n, 1, dtype=torch.float64) * self._orig_total[col]
        k = (u > self._orig_cum[col]).sum(1)
        return self._offsets_t[col] + torch.minimum(k, self._last[col])

    def cond_for(self, column: str, code: int) -> torch.Tensor:
        j = self.columns.index(column)
        cond = torch.zeros(1, self.width)
        cond[0, self.col_slices[j][0] + code] = 1.0
        return cond

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts}

    @classmethod
    def from_json(cls, state: dict[str, Any], spans: list[Span]) -> CondSampler:
        return cls(None, spans, counts=state["counts"])
