"""Drawing rows column by column, with conditions and without rejection.

Without conditions each column's code is drawn from the network's conditional given the
codes drawn before it (an inverse-CDF draw from a counted uniform, so row ``r`` of seed
``s`` is the same however the rows are chunked).

With conditions (sampling-importance-resampling): each row draws ``particles`` candidates;
a conditioned column is drawn among its allowed codes only, in proportion to probability
times the share the condition keeps, and the candidate's weight is multiplied by the mass
kept, ``Z_j = sum_k p(k | earlier codes) share_k``. Candidates are then proper weighted
draws from the table's distribution restricted to the conditions, and one is picked per
row by weight. No loop waits for a rare event: a condition held by 0.1 % of rows costs the
same as one held by half of them. When the conditioned columns lead the column order (and
all but the last of them allow one code), every candidate weighs the same and one draw per
row is exact.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from synthgen.generators.autoreg.conditions import Allowed, exact
from synthgen.generators.autoreg.network import MaskedNet
from synthgen.generators.seeding import counted_uniforms

SAMPLE_STEP = 8192  # candidates per forward pass: fixed, so a seed gives the same rows
STREAM_CODES, STREAM_PICK, STREAM_DECODE = 1, 2, 3


@torch.inference_mode()
def draw_codes(
    net: MaskedNet,
    order: list[int],
    rows: np.ndarray,
    seed: int,
    context: np.ndarray | None,
    allowed: dict[int, Allowed],
    particles: int,
) -> np.ndarray:
    """(len(rows), columns) codes for the row numbers ``rows``; ``context``: their context
    codes (rows, context columns) or None."""
    k = 1 if not allowed or exact(order, allowed) else particles
    n, c = len(rows), net.n_cols
    ids = (rows[:, None] * k + np.arange(k)[None, :]).ravel()  # candidate numbers, counted
    rank = torch.empty(c, dtype=torch.long)
    rank[torch.tensor(order, dtype=torch.long)] = torch.arange(c)
    w1m = net.w1 * net.mask(rank)
    shares = {j: torch.from_numpy(a.share).double() for j, a in allowed.items()}
    codes = np.empty((n * k, c), dtype=np.int64)
    log_w = np.zeros(n * k)
    for s in range(0, n * k, SAMPLE_STEP):
        part = slice(s, min(s + SAMPLE_STEP, n * k))
        ctx = None if context is None else context[np.arange(s, part.stop) // k]
        codes[part], log_w[part] = _draw_block(net, order, w1m, ids[part], seed, ctx, shares)
    if k == 1:
        return codes
    w = log_w.reshape(n, k)
    w = np.exp(w - w.max(1, keepdims=True))
    cum = np.cumsum(w, 1) / w.sum(1, keepdims=True)
    u = counted_uniforms(seed, rows, STREAM_PICK, 1)
    pick = (cum <= u).sum(1).clip(max=k - 1)
    return codes.reshape(n, k, c)[np.arange(n), pick]


def _draw_block(
    net: MaskedNet,
    order: list[int],
    w1m: Tensor,
    ids: np.ndarray,
    seed: int,
    context: np.ndarray | None,
    shares: dict[int, Tensor],
) -> tuple[np.ndarray, np.ndarray]:
    m, c = len(ids), net.n_cols
    u = torch.from_numpy(counted_uniforms(seed, ids, STREAM_CODES, c))
    codes = torch.zeros(m, c + net.n_ctx, dtype=torch.long)
    if context is not None:
        codes[:, c:] = torch.from_numpy(context)
    log_w = torch.zeros(m, dtype=torch.float64)
    for j in order:
        prob = torch.softmax(net.column_logits(codes, w1m, j).double(), -1)
        if j in shares:
            prob = prob * shares[j]
            log_w += torch.log(prob.sum(-1).clamp(min=1e-300))
        cdf = prob.cumsum(-1)
        target = u[:, j : j + 1] * cdf[:, -1:]
        codes[:, j] = (
            torch.searchsorted(cdf, target, right=True).squeeze(1).clamp(max=cdf.shape[1] - 1)
        )
    return codes[:, :c].numpy(), log_w.numpy()
