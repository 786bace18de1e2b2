"""A tiny GPT: pre-LN transformer blocks, learned positions, KV-cached batched sampling.

Only ``nn.Linear``, ``nn.Embedding`` and ``nn.LayerNorm`` hold parameters (attention is built
from Linear layers), so opacus' GradSampleModule can compute per-sample gradients for DP-SGD.
Positions are passed per row, so a batch of left-padded prompts of different lengths samples
exactly as each prompt would alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

Cache = list[tuple[torch.Tensor, torch.Tensor]]
NUCLEUS_TRIES = 8  # draws per row before a row falls back to sorting for its nucleus


class KVBuffer:
    """One layer's keys and values, preallocated for the whole generation: each step writes
    its slot in place instead of concatenating (which copied the whole cache every step)."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, capacity: int) -> None:
        b, h, t, dh = k.shape
        self.k = k.new_empty((b, h, capacity, dh))
        self.v = v.new_empty((b, h, capacity, dh))
        self.k[:, :, :t], self.v[:, :, :t] = k, v
        self.n = t

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = k.shape[2]
        self.k[:, :, self.n : self.n + t] = k
        self.v[:, :, self.n : self.n + t] = v
        self.n += t
        return self.k[:, :, : self.n], self.v[:, :, : self.n]

    def keep(self, rows: torch.Tensor) -> None:
        self.k, self.v = self.k[rows], self.v[rows]


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    context: int = 256
    d_model: int = 128
    n_layer: int = 2
    n_head: int = 4
    dropout: float = 0.1

    def to_json(self) -> dict[str, int | float]:
        return asdict(self)


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.d_model % cfg.n_head:
            raise ValueError("d_model must be a multiple of n_head")
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        past: KVBuffer | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape
        q, k, v = (
            z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2)
            for z in self.qkv(x).split(d, dim=2)
        )
        if past is not None:
            k, v = past.append(k, v)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=mask is None,
        )
        return self.proj(y.transpose(1, 2).reshape(b, t, d)), (k, v)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.out = nn.Linear(4 * cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        past: KVBuffer | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attn(self.ln1(x), mask, past)
        x = x + self.drop(a)
        x = x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))
        return x, kv


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.context, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith(("proj.weight", "out.weight")):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(
        self,
        ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        cache: list[KVBuffer] | None = None,
    ) -> tuple[torch.Tensor, Cache]:
        """Logits ``(B, T, V)`` and each layer's keys and values (a prompt's, to start a
        :class:`KVBuffer` from). With ``cache`` the new keys and values are written into its
        buffers. Without ``mask``, plain causal attention over ``ids`` (training); ``mask`` is
        ``(B, 1, T, T_past + T)``, True = may attend."""
        if positions is None:
            positions = torch.arange(ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
        x = self.drop(self.tok(ids) + self.pos(positions))
        new: Cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, mask, cache[i] if cache is not None else None)
            new.append(kv)
        return self.head(self.ln_f(x)), new


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def attention_mask(key_valid: torch.Tensor, n_query: int) -> torch.Tensor:
    """``(B, 1, Tq, Tk)``: causal over the last ``n_query`` keys, pads hidden.

    Each query may also see its own slot, so a pad query never has an empty row (which would
    make NaNs that leak through the value sums)."""
    b, tk = key_valid.shape
    q_abs = torch.arange(tk - n_query, tk, device=key_valid.device)
    k_abs = torch.arange(tk, device=key_valid.device)
    causal = k_abs[None, :] <= q_abs[:, None]
    own = k_abs[None, :] == q_abs[:, None]
    return ((causal[None] & key_valid[:, None, :]) | own[None])[:, None]


@dataclass(frozen=True)
class SamplingOptions:
    max_new_tokens: int
    eos_id: int
    pad_id: int
    temperature: float = 0.9  # <= 0 means greedy
    top_p: float = 0.95
    guidance: float = 1.0  # classifier-free guidance weight; 1 = the plain conditional model


def pick_next(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """One token per row from ``(B, V)`` logits: greedy, or nucleus sampling at a temperature.

    No sort of the vocabulary (the slowest step of sampling when it was done every step): a
    token is drawn from the whole distribution by inverse CDF and kept if it lies in the
    nucleus, i.e. the tokens likelier than it hold at most ``top_p`` of the mass; otherwise it
    is drawn again. That is exactly a draw from the nucleus, accepted with probability >=
    ``top_p``. Rows still unlucky after ``NUCLEUS_TRIES`` draws (only for a tiny ``top_p``)
    are sorted and drawn from the nucleus directly."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    out = _inverse_cdf(probs, torch.rand((len(probs), 1), generator=generator))
    if top_p >= 1.0:
        return out
    todo = torch.arange(len(probs))
    for _ in range(NUCLEUS_TRIES):
        p, x = probs[todo], out[todo]
        above = (p * (p > p.gather(1, x[:, None]))).sum(dim=-1)
        todo = todo[above > top_p]
        if not len(todo):
            return out
        out[todo] = _inverse_cdf(probs[todo], torch.rand((len(todo), 1), generator=generator))
    if len(todo):
        full, order = probs[todo].sort(dim=-1, descending=True)
        u = torch.rand((len(todo), 1), generator=generator)
        out[todo] = order.gather(1, _inverse_cdf(_nucleus(full, top_p), u)[:, None])[:, 0]
    return out


def _nucleus(sorted_p: torch.Tensor, top_p: float) -> torch.Tensor:
    """Descending probabilities with everything past the nucleus zeroed (the top one stays)."""
    return sorted_p.masked_fill(sorted_p.cumsum(dim=-1) - sorted_p > top_p, 0.0)


def _inverse_cdf(weights: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Per row, the index whose cumulative weight first exceeds ``u`` times the row's total."""
    cdf = weights.cumsum(dim=-1)
    i = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(1)
    return i.clamp(max=weights.shape[1] - 1)


@torch.no_grad()
def sample(
    model: GPT,
    prompts: list[list[int]],
    opts: SamplingOptions,
    generator: torch.Generator,
    *,
    null_prompts: list[list[int]] | None = None,
    use_cache: bool = True,
) -> list[list[int]]:
    """Continue each prompt until EOS or ``max_new_tokens``; returns the new ids (no EOS).

    Prompts are left-padded and positioned per row; finished rows leave the batch (and the
    cache) at once. ``use_cache=False`` recomputes the whole sequence each step (a reference
    for tests: it must give the same tokens).

    With ``null_prompts`` (one per prompt: the same row with its fields left out) and
    ``opts.guidance != 1``, each step mixes the two next-token distributions,
    ``log p_null + w (log p_row - log p_null)`` (classifier-free guidance): w > 1 pushes the
    text towards what its own fields make likelier than the fields-free model would say. Both
    continuations share the chosen tokens, so they run as one batch of twice the rows."""
    guided = null_prompts is not None and opts.guidance != 1.0
    if guided and len(null_prompts or []) != len(prompts):
        raise ValueError("one null prompt per prompt is needed for guidance")
    batch = [*prompts, *(null_prompts or [])] if guided else prompts
    longest = max(len(p) for p in batch)
    steps = min(opts.max_new_tokens, model.cfg.context - longest)
    if steps <= 0:
        raise ValueError(f"prompts of {longest} tokens leave no room in the context")
    ids = torch.full((len(batch), longest), opts.pad_id, dtype=torch.long)
    valid = torch.zeros((len(batch), longest), dtype=torch.bool)
    for i, p in enumerate(batch):
        ids[i, longest - len(p) :] = torch.tensor(p, dtype=torch.long)
        valid[i, longest - len(p) :] = True
    pos = (valid.long().cumsum(1) - 1).clamp(min=0)
    rows = torch.arange(len(prompts))  # the prompt each conditional batch row belongs to
    alive = torch.ones(len(prompts), dtype=torch.bool)
    out: list[list[int]] = [[] for _ in prompts]
    logits, prefill = model(ids, pos, attention_mask(valid, longest))
    cache = [KVBuffer(k, v, longest + steps) for k, v in prefill]
    for step in range(steps):
        last = logits[:, -1]
        if guided:
            cond, null = last[: len(rows)], last[len(rows) :]
            last = null + opts.guidance * (cond - null)
        nxt = pick_next(last, opts.temperature, opts.top_p, generator)
        alive &= nxt != opts.eos_id
        for r, t, a in zip(rows.tolist(), nxt.tolist(), alive.tolist(), strict=True):
            if a:
                out[r].append(t)
        if not bool(alive.any()) or step == steps - 1:
            break
        if guided:
            nxt = torch.cat([nxt, nxt])
        # finished rows ride along (their tokens are ignored) until a quarter of the batch
        # has finished: dropping rows copies the cache, so it is done in a few big steps
        if float(alive.float().mean()) < 0.75:
            keep = torch.cat([alive, alive]) if guided else alive
            rows, alive, nxt = rows[alive], alive[alive], nxt[keep]
            valid, pos = valid[keep], pos[keep]
            if use_cache:
                for buf in cache:
                    buf.keep(keep)
            else:
                ids = ids[keep]
        valid = torch.cat([valid, torch.ones((len(nxt), 1), dtype=torch.bool)], 1)
        new_pos = pos[:, -1:] + 1
        if use_cache:
            pos = new_pos
            logits, _ = model(nxt[:, None], new_pos, attention_mask(valid, 1), cache)
        else:
            ids = torch.cat([ids, nxt[:, None]], 1)
            pos = torch.cat([pos, new_pos], 1)
            logits, _ = model(ids, pos, attention_mask(valid, ids.shape[1]))
    return out
