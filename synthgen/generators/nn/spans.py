"""Vectorised activations and losses over an encoded row's spans.

Softmax spans of different widths are gathered into one padded [batch, spans, max_width]
tensor, so a whole row's activations or cross-entropies are a handful of tensor ops instead
of a Python loop over columns.
"""

from __future__ import annotations

import torch
from torch import Tensor

from synthgen.transforms.table import Span


class SpanIndex:
    """Index tensors for the tanh (alpha) slots and the padded softmax spans of an encoding."""

    def __init__(self, spans: list[Span], width: int) -> None:
        self.width = width
        self.alpha = torch.tensor([s.start for s in spans if s.kind == "alpha"], dtype=torch.long)
        soft = [s for s in spans if s.kind != "alpha"]
        self.soft = [(s.start, s.stop) for s in soft]
        self.max_w = max((s.width for s in soft), default=1)
        pad = torch.full((len(soft), self.max_w), -1, dtype=torch.long)
        for i, s in enumerate(soft):
            pad[i, : s.width] = torch.arange(s.start, s.stop)
        self.valid = pad >= 0
        self.gather = pad.clamp(min=0)
        self.positions = pad[self.valid]  # where each valid padded slot goes back to

    def padded(self, x: Tensor, fill: float) -> Tensor:
        out = x[:, self.gather]
        return out.masked_fill(~self.valid, fill)

    def activate(self, raw: Tensor, tau: float = 0.2) -> Tensor:
        """tanh on alpha slots; gumbel-softmax (temperature ``tau``) on every softmax span.

        Noise is drawn for the real slots only, not the padding (torch's CPU generator is slow)."""
        out = torch.zeros_like(raw)
        if len(self.alpha):
            out[:, self.alpha] = torch.tanh(raw[:, self.alpha])
        if self.valid.any():
            logits = self.padded(raw, float("-inf"))
            u = torch.rand(len(raw), len(self.positions)).clamp_(1e-10, 1.0 - 1e-7)
            noise = torch.zeros_like(logits)
            noise[:, self.valid] = -torch.log(-torch.log(u))
            y = torch.softmax((logits + noise) / tau, dim=-1)
            out[:, self.positions] = y[:, self.valid]
        return out

    def sample_discrete(self, raw: Tensor) -> Tensor:
        """tanh on alpha slots; each softmax span a one-hot draw from its softmax, by the
        inverse CDF (one uniform number per span and row). A loop over spans, not a padded
        tensor: the work is proportional to the real width, not spans x widest span."""
        out = torch.zeros_like(raw)
        if len(self.alpha):
            out[:, self.alpha] = torch.tanh(raw[:, self.alpha])
        rows = torch.arange(len(raw))
        u = torch.rand(len(raw), len(self.soft))
        for j, (start, stop) in enumerate(self.soft):
            cum = torch.softmax(raw[:, start:stop], dim=1).cumsum_(1)
            k = (u[:, j : j + 1] > cum).sum(1).clamp_(max=stop - start - 1)
            out[rows, start + k] = 1.0
        return out

    def cross_entropy(self, raw: Tensor, target: Tensor) -> Tensor:
        """Sum over rows and softmax spans of -log p(target slot); ``target`` is one-hot rows."""
        if not self.valid.any():
            return raw.new_zeros(())
        logp = torch.log_softmax(self.padded(raw, float("-inf")), dim=-1)
        tgt = self.padded(target, 0.0)
        return -(tgt * logp.masked_fill(~self.valid, 0.0)).sum()
