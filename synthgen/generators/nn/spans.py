"""Vectorised activations and losses over an encoded row's spans.

Softmax spans are grouped by width (widths up to 2, 4, 8, 16, ... share a group) and each
group is gathered into one padded [batch, spans, group_width] tensor (index_select, whose
backward is a plain index_add) and gathered back. A row's activations or cross-entropies are
then a few tensor ops per group instead of a Python loop over columns, and one 41-level
column does not pad every 2-level column to 41 slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from synthgen.transforms.table import Span

_NEG = -1e9  # padding logit: exp() is 0, and unlike -inf it never makes 0 * inf = nan


@dataclass
class _Group:
    order: list[int]  # positions of this group's spans in the index's span order
    to_pad: Tensor  # padded slot -> data slot (``width`` = a zero column)
    from_pad: Tensor  # data slot -> padded slot (``n * w`` = a zero column)
    bias: Tensor  # 0 on real slots, _NEG on padding
    last: Tensor  # [n, 1] per span, its last real slot (width - 1)
    span: Tensor  # ``order`` as a tensor
    take_t: Tensor  # slot-major ``to_pad``, padding reading a real slot (the bias masks it)
    bias_t: Tensor  # [w, n, 1]: ``bias`` slot-major
    tri: Tensor  # [w, w] lower triangle of ones: a cumulative sum as a matmul
    n: int
    w: int


def _group(spans: list[Span], order: list[int], width: int) -> _Group:
    """Built in numpy, then handed to torch: small tensor item assignments are slow."""
    w = max(spans[i].width for i in order)
    n = len(order)
    to_pad = np.full(n * w, width, dtype=np.int64)
    from_pad = np.full(width, n * w, dtype=np.int64)
    bias = np.full((n, w), _NEG, dtype=np.float32)
    for g, i in enumerate(order):
        s, slots = spans[i], np.arange(spans[i].width)
        to_pad[g * w + slots] = s.start + slots
        from_pad[s.start + slots] = g * w + slots
        bias[g, : s.width] = 0.0
    last = torch.tensor([[spans[i].width - 1] for i in order], dtype=torch.long)
    pads = torch.from_numpy(to_pad), torch.from_numpy(from_pad), torch.from_numpy(bias)
    take_t = torch.from_numpy(np.minimum(to_pad, width - 1).reshape(n, w).T.copy().ravel())
    bias_t = torch.from_numpy(bias.T.copy()[:, :, None])
    tri = torch.tril(torch.ones(w, w))
    span = torch.tensor(order, dtype=torch.long)
    return _Group(order, *pads, last, span, take_t, bias_t, tri, n, w)


class SpanIndex:
    """Index tensors for the tanh (alpha) slots and the width-grouped softmax spans."""

    def __init__(self, spans: list[Span], width: int, kinds: tuple[str, ...] | None = None) -> None:
        self.width = width
        soft = [s for s in spans if (s.kind != "alpha" if kinds is None else s.kind in kinds)]
        self.soft = [(s.start, s.stop) for s in soft]
        self.n_spans = len(soft)
        alpha = [s.start for s in spans if s.kind == "alpha"] if kinds is None else []
        self.alpha = torch.tensor(alpha, dtype=torch.long)
        mask = np.zeros(width, dtype=np.float32)
        mask[alpha] = 1.0
        self.alpha_mask = torch.from_numpy(mask)
        buckets: dict[int, list[int]] = {}
        for i, s in enumerate(soft):
            buckets.setdefault(max(1, (s.width - 1).bit_length()), []).append(i)
        self.groups = [_group(soft, order, width) for _, order in sorted(buckets.items())]
        self.span_order = torch.argsort(
            torch.tensor([i for g in self.groups for i in g.order], dtype=torch.long)
        )

    @staticmethod
    def _pad(x: Tensor, g: _Group) -> Tensor:
        x = torch.cat([x, x.new_zeros(len(x), 1)], dim=1)
        return x.index_select(1, g.to_pad).view(len(x), g.n, g.w)

    @staticmethod
    def _unpad(y: Tensor, g: _Group) -> Tensor:
        flat = y.reshape(len(y), -1)
        return torch.cat([flat, flat.new_zeros(len(y), 1)], dim=1).index_select(1, g.from_pad)

    def activate(self, raw: Tensor, tau: float = 0.2) -> Tensor:
        """tanh on alpha slots; gumbel-softmax (temperature ``tau``) on every softmax span."""
        out = torch.tanh(raw) * self.alpha_mask if len(self.alpha) else torch.zeros_like(raw)
        if self.n_spans:
            u = torch.rand_like(raw).clamp_(1e-10, 1.0 - 1e-7)
            noisy = raw - torch.log(-torch.log(u))
            for g in self.groups:
                y = torch.softmax((self._pad(noisy, g) + g.bias) / tau, dim=-1)
                out = out + self._unpad(y, g)
        return out

    def sample_codes(self, raw_t: Tensor) -> Tensor:
        """[softmax spans, rows] int64 for transposed raw outputs ``raw_t`` ([width, rows]):
        per span and row, a slot drawn from the span's softmax by the inverse CDF (one
        uniform number each). Slots are the outer dimension, so softmax, cumsum (a matmul
        with a triangular matrix) and the count of passed slots run along long rows; torch
        is many times slower on a short innermost dimension (softmax over 7 slots)."""
        n = raw_t.shape[1]
        u = torch.rand(self.n_spans, n)
        codes = torch.empty(self.n_spans, n, dtype=torch.long)
        for g in self.groups:
            x = raw_t.index_select(0, g.take_t).view(g.w, g.n, n).add_(g.bias_t)
            cum = (g.tri @ torch.softmax(x, dim=0).view(g.w, -1)).view(g.w, g.n, n)
            passed = torch.gt(u.index_select(0, g.span) * cum[-1], cum, out=torch.empty_like(cum))
            codes.index_copy_(0, g.span, torch.minimum(passed.sum(0).long(), g.last))
        return codes

    def span_cross_entropy(self, raw: Tensor, target: Tensor) -> Tensor:
        """[batch, spans] in span order: -log p(target slot); ``target`` is one-hot rows."""
        parts = []
        for g in self.groups:
            logp = torch.log_softmax(self._pad(raw, g) + g.bias, dim=-1)
            parts.append(-(self._pad(target, g) * logp).sum(-1))
        return torch.cat(parts, dim=1)[:, self.span_order]

    def cross_entropy(self, raw: Tensor, target: Tensor) -> Tensor:
        """Sum over rows and softmax spans of -log p(target slot)."""
        if not self.n_spans:
            return raw.new_zeros(())
        total = raw.new_zeros(())
        for g in self.groups:
            logp = torch.log_softmax(self._pad(raw, g) + g.bias, dim=-1)
            total = total - (self._pad(target, g) * logp).sum()
        return total
