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
    rows: np.ndarray,
    seed: int,
    context: np.ndarray | None,
    allowed: dict[int, Allowed],
    particles: int,
) -> np.ndarray:
    """(len(rows), columns) codes for the row numbers ``rows``, drawn in the table's column
    order; ``context``: their context codes (rows, context columns) or None."""
    n, c = len(rows), net.n_cols
    k = 1 if not allowed or exact(list(range(c)), allowed) else particles
    ids = (rows[:, None] * k + np.arange(k)[None, :]).ravel()  # candidate numbers, counted
    shares = {j: torch.from_numpy(a.share).float() for j, a in allowed.items()}
    codes = np.empty((n * k, c), dtype=np.int64)
    log_w = np.zeros(n * k)
    for s in range(0, n * k, SAMPLE_STEP):
        part = slice(s, min(s + SAMPLE_STEP, n * k))
        ctx = None if context is None else context[np.arange(s, part.stop) // k]
        codes[part], log_w[part] = _draw_block(net, ids[part], seed, ctx, shares)
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
    ids: np.ndarray,
    seed: int,
    context: np.ndarray | None,
    shares: dict[int, Tensor],
) -> tuple[np.ndarray, np.ndarray]:
    m, c = len(ids), net.n_cols
    u = torch.from_numpy(counted_uniforms(seed, ids, STREAM_CODES, c)).float()
    u = u.clamp_(max=_BELOW_ONE)  # a float32 1.0 would land past the last allowed code
    codes = torch.zeros(m, c, dtype=torch.long)
    x = torch.zeros(m, c * net.block)  # the input blocks of the columns drawn so far
    ctx = None
    if context is not None:
        ctx = net.block_inputs(torch.from_numpy(context), c)
    log_w = torch.zeros(m, dtype=torch.float64)
    for j in range(c):
        prob = torch.softmax(net.next_logits(x, ctx, j), -1)
        if j in shares:
            prob = prob * shares[j]
            log_w += torch.log(prob.sum(-1).double().clamp(min=1e-300))
        cdf = prob.cumsum_(-1)
        target = u[:, j : j + 1] * cdf[:, -1:]
        code = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_(max=cdf.shape[1] - 1)
        codes[:, j] = code
        x[:, j * net.block : (j + 1) * net.block] = net.block_inputs(code[:, None], j)
    return codes.numpy(), log_w.numpy()


_BELOW_ONE = float(np.nextafter(np.float32(1), np.float32(0)))
