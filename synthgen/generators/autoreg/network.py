"""The network: every column's conditional p(x_j | columns before j, context) in one pass.

    e       = [E[x_1], s_1 x_1, ..., E[x_C], s_C x_C, context inputs alike]   (B, (C + Cc) de)
    h1_j    = relu(e @ (W1 * M)[:, j] + b1_j)   M: input block i feeds column j iff i comes first
    h2_j    = h1_j + relu(h1_j @ W2_j + b2_j)    one residual layer per column (a bmm)
    logit_j = h2_j @ W3_j + b3_j                 a softmax head over column j's codes

``s_c x_c`` is an ordered code's 0..1 position (numbers), 0 for labels, so neighbouring bins
share what they learn. Context columns (a parent row's attributes) come before every column:
all of them see it, none is predicted. The mask is a function of the column order, so one set
of weights serves the order it was trained in; cost per row ~ (C + Cc) de C h + C h^2 + h sum K.
"""

from __future__ import annotations

import math
from itertools import accumulate

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedNet(nn.Module):
    def __init__(
        self,
        cards: list[int],
        ordinal: list[float],
        embedding: int,
        hidden: int,
        context_cards: list[int] | None = None,
        context_ordinal: list[float] | None = None,
    ) -> None:
        super().__init__()
        ccards = list(context_cards or [])
        every = list(cards) + ccards
        self.cards = list(cards)
        self.n_cols, self.n_ctx, self.hidden = len(cards), len(ccards), hidden
        self.block = embedding + 1  # inputs per column: its embedding and its ordinal position
        offsets = [0, *accumulate(every)][:-1]
        scale = list(ordinal) + list(context_ordinal or [0.0] * self.n_ctx)
        self.offsets: Tensor
        self.ord_scale: Tensor
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.long))
        self.register_buffer("ord_scale", torch.tensor(scale, dtype=torch.float32))
        n_in, c, h = (self.n_cols + self.n_ctx) * self.block, self.n_cols, hidden
        self.emb = nn.Embedding(max(sum(every), 1), embedding)
        fan = self.block * max((c + 2 * self.n_ctx) / 2, 1)  # inputs a column sees, on average
        self.w1 = nn.Parameter(torch.randn(n_in, c * h) / math.sqrt(fan))
        self.b1 = nn.Parameter(torch.zeros(c * h))
        self.w2 = nn.Parameter(torch.randn(c, h, h) / math.sqrt(h))
        self.b2 = nn.Parameter(torch.zeros(c, 1, h))
        self.w3 = nn.ParameterList(
            [nn.Parameter(torch.randn(h, k) * (0.5 / math.sqrt(h))) for k in cards]
        )
        self.b3 = nn.ParameterList([nn.Parameter(torch.zeros(k)) for k in cards])
        nn.init.normal_(self.emb.weight, std=0.5)

    def init_output_bias(self, codes: Tensor) -> None:
        """Heads start at the log marginals: the first column is right from the first step and
        the others converge in fewer epochs (without it, Adult's first column never learnt its
        marginal in 12 epochs)."""
        with torch.no_grad():
            for j, k in enumerate(self.cards):
                b = torch.log(torch.bincount(codes[:, j], minlength=k).float() + 0.5)
                self.b3[j].copy_(b - b.mean())

    def init_output_bias_from(self, marginals: list[Tensor]) -> None:
        """The same from given (DP) marginal probabilities."""
        with torch.no_grad():
            for j, p in enumerate(marginals):
                b = torch.log(p.clamp(min=1e-6))
                self.b3[j].copy_(b - b.mean())

    def mask(self, rank: Tensor) -> Tensor:
        """(inputs, C * h) 0/1: ``rank[j]`` is column j's place in the order."""
        before = torch.cat([rank, torch.full((self.n_ctx,), -1, dtype=rank.dtype)])
        m = (before[:, None] < rank[None, :]).float()
        return m.repeat_interleave(self.block, 0).repeat_interleave(self.hidden, 1)

    def inputs(self, codes: Tensor) -> Tensor:
        """codes: (B, C + Cc), the table's columns then the context's."""
        e = self.emb(codes + self.offsets)
        pos = (codes * self.ord_scale).unsqueeze(-1)
        return torch.cat([e, pos], -1).flatten(1)  # (B, inputs), an empty batch too

    def hidden_states(self, codes: Tensor, w1m: Tensor) -> Tensor:
        """(C, B, h); ``w1m`` = w1 * mask."""
        b = codes.shape[0]
        h1 = F.relu(torch.addmm(self.b1, self.inputs(codes), w1m))
        h1 = h1.view(b, self.n_cols, self.hidden).transpose(0, 1)
        return h1 + F.relu(torch.baddbmm(self.b2, h1, self.w2))

    def loss(self, codes: Tensor, w1m: Tensor, reduction: str = "mean") -> Tensor:
        """Sum over columns of the cross-entropy of each column's codes."""
        total = codes.new_zeros((), dtype=torch.float32)
        for j, hj in enumerate(self.hidden_states(codes, w1m).unbind(0)):  # one grad buffer
            logits = torch.addmm(self.b3[j], hj, self.w3[j])
            total = total + F.cross_entropy(logits, codes[:, j], reduction=reduction)
        return total

    def forward(self, codes: Tensor, w1m: Tensor) -> Tensor:
        """The mean loss (what DP-SGD differentiates per row)."""
        return self.loss(codes, w1m)

    def block_inputs(self, codes: Tensor, first: int) -> Tensor:
        """The input blocks of consecutive columns from ``first`` (the table's, then the
        context's): ``codes`` (B, k) are their codes."""
        k = codes.shape[1]
        e = self.emb(codes + self.offsets[first : first + k])
        pos = (codes * self.ord_scale[first : first + k]).unsqueeze(-1)
        return torch.cat([e, pos], -1).flatten(1)  # (B, inputs), an empty batch too

    def next_logits(self, x: Tensor, context: Tensor | None, j: int) -> Tensor:
        """Logits of column j in the table's own order, from the input blocks of the columns
        before it (``x[:, : j * block]``) and the context's blocks: only the inputs the
        mask lets through are multiplied (sampling draws one column at a time)."""
        cols, width = slice(j * self.hidden, (j + 1) * self.hidden), j * self.block
        h = self.b1[cols].expand(x.shape[0], -1)
        if width:
            h = torch.addmm(h, x[:, :width], self.w1[:width, cols])
        if context is not None:
            h = torch.addmm(h, context, self.w1[self.n_cols * self.block :, cols])
        h = F.relu(h)
        h = h + F.relu(torch.addmm(self.b2[j, 0], h, self.w2[j]))
        return torch.addmm(self.b3[j], h, self.w3[j])
