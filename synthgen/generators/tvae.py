"""TVAE-style variational autoencoder for tables (after Xu et al., NeurIPS 2019).

The evidence lower bound with per-span output heads: a Gaussian head (learned scale) on each
numeric offset, a categorical head on each mode / label / missing span, and the KL term of a
standard-normal prior. Only the decoder is saved: sampling never touches the encoder net.

Given a context (a child table learnt given its parent's attributes) it is a conditional VAE:
the parent's encoded attributes go into both the encoder and the decoder, so a child row is
decoded from noise *and* its parent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, ValidationError
from torch import Tensor, nn

from synthgen.generators.nn.ddp import WHOLE, Whole
from synthgen.generators.nn.dpsgd import add_grads
from synthgen.generators.nn.neural import NeuralGenerator, NeuralParams
from synthgen.schema.spec import Schema
from synthgen.transforms.table import TableEncoder, TableEncoderState, state_problems


class TVAEParams(NeuralParams):
    embedding_dim: int = Field(128, gt=0)
    compress_dims: tuple[int, ...] = (128, 128)
    decompress_dims: tuple[int, ...] = (128, 128)
    lr: float = Field(1e-3, gt=0)
    l2scale: float = Field(1e-5, ge=0)
    # 4, not 2: a heavier reconstruction term keeps more of each row in the latent code, so
    # sampled rows keep how a label depends on the other columns (not just the marginals).
    loss_factor: float = Field(4.0, gt=0, description="weight of the reconstruction term")
    # the marginal checkpoint score peaks early at loss_factor 4; keep a later epoch as good
    # within the score's noise (see Trainer)
    checkpoint_tolerance: float = Field(
        0.02, ge=0, description="keep the latest checkpoint scoring within this of the best"
    )


def _mlp(inp: int, dims: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for d in dims:
        layers += [nn.Linear(inp, d), nn.ReLU()]
        inp = d
    return nn.Sequential(*layers), inp


class _Encoder(nn.Module):
    def __init__(self, width: int, dims: tuple[int, ...], emb: int) -> None:
        super().__init__()
        self.body, last = _mlp(width, dims)
        self.mu, self.logvar = nn.Linear(last, emb), nn.Linear(last, emb)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class _Decoder(nn.Module):
    def __init__(self, emb: int, dims: tuple[int, ...], width: int) -> None:
        super().__init__()
        body, last = _mlp(emb, dims)
        self.net = nn.Sequential(*body, nn.Linear(last, width))
        self.sigma = nn.Parameter(torch.full((width,), 0.1))

    def forward(self, z: Tensor) -> Tensor:
        out: Tensor = self.net(z)
        return out


class _Both(nn.Module):
    """Encoder + decoder as one module whose forward is the per-batch loss (for DP-SGD, and
    for DistributedDataParallel, whose forward must be the whole step's)."""

    def __init__(self, enc: nn.Module, dec: nn.Module, loss: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.enc, self.dec = enc, dec
        self._loss_fn = loss

    def forward(self, x: Tensor, *scale: float) -> Tensor:
        return self._loss_fn(x, *scale)  # type: ignore[call-arg]


class TVAEGenerator(NeuralGenerator):
    name = "tvae"
    trains_on_ray = True
    dp_seconds_per_row = 0.002
    Params = TVAEParams
    params: TVAEParams
    supports_context = True
    ctx_width_ = 0  # columns of the encoded context (0: no context)

    def _build(self, width: int) -> None:
        p = self.params
        self.width_ = width
        self.enc_ = _Encoder(width + self.ctx_width_, p.compress_dims, p.embedding_dim)
        self.dec_ = _Decoder(p.embedding_dim + self.ctx_width_, p.decompress_dims, width)

    # ---- a context ------------------------------------------------------------------------
    def _fit_context(
        self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator, context: pd.DataFrame
    ) -> None:
        p = self.params
        self._check_magnitudes(data)
        assert self.context_ is not None
        self.encoder_ = TableEncoder(p.max_modes, p.max_categories).fit(data, schema, rng)
        self.ctx_encoder_ = TableEncoder(p.max_modes, p.max_categories).fit(
            context, self.context_.schema, rng
        )
        encoded = torch.from_numpy(self.ctx_encoder_.transform(context, rng))
        self.ctx_width_ = int(encoded.shape[1])
        holdout = data.sample(
            min(len(data), p.validation_rows), random_state=int(rng.integers(2**31))
        )
        self._train(data, holdout, rng, context=encoded)
        del self.score_context_

    def _sample_context(
        self, n: int, rng: np.random.Generator, context: pd.DataFrame
    ) -> pd.DataFrame:
        """Rows decoded from noise and their parent's encoded attributes."""
        encoded = torch.from_numpy(self.ctx_encoder_.transform(context, rng))
        with self._given(encoded):
            return self._sample(n, rng)

    @contextlib.contextmanager
    def _given(self, context: Tensor | None) -> Iterator[None]:
        self._ctx_rows, self._ctx_at = context, 0
        try:
            yield
        finally:
            self._ctx_rows = None

    def _next_context(self, n: int) -> Tensor | None:
        rows = getattr(self, "_ctx_rows", None)
        if rows is None or not self.ctx_width_:
            return None
        part = rows[self._ctx_at : self._ctx_at + n].to(torch.float32)
        self._ctx_at += n
        return part

    def _extra_state(self) -> dict[str, Any]:
        return {"context_encoder": self.ctx_encoder_.to_json()} if self.ctx_width_ else {}

    class _State(NeuralGenerator._State):
        context_encoder: dict[str, Any] | None = None  # checked in _extra_state_problems

    def _extra_state_problems(self, state: dict[str, Any]) -> list[str]:
        saved = state.get("context_encoder")
        if (saved is None) != (self.context_ is None):
            return ["encoder.json: generator_state.context_encoder does not match the context"]
        if saved is None or self.context_ is None:
            return []
        where = "encoder.json: generator_state.context_encoder"
        try:
            checked = TableEncoderState.model_validate(saved)
        except ValidationError:
            return [f"{where}: not a table encoder's state"]
        problems = state_problems(checked, self.context_.schema, self.context_.columns)
        if problems:
            return [f"{where}.{q}" for q in problems]
        self._load_extra_state(state)
        return []

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        saved = state.get("context_encoder")
        if saved is not None:
            self.ctx_encoder_ = TableEncoder.from_json(saved)
            self.ctx_width_ = int(self.ctx_encoder_.width_)

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"decoder": self.dec_}

    def _train_modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.enc_, "decoder": self.dec_}

    def _prepare(self, data: Tensor, rng: np.random.Generator) -> None:
        params = list(self.enc_.parameters()) + list(self.dec_.parameters())
        self.opt_ = torch.optim.Adam(
            params, lr=self.params.lr, weight_decay=self.params.l2scale, fused=True
        )

    def _loss(self, xc: Tensor, scale: float | None = None, eps: Tensor | None = None) -> Tensor:
        """``xc``: a batch of encoded rows, their encoded context after them (if any); the
        loss summed over its rows times ``scale`` (default: their mean). ``eps``: the rows'
        reparametrisation noise (default: drawn here)."""
        mu, logvar = self.enc_(xc)
        z = mu + (torch.randn_like(mu) if eps is None else eps) * torch.exp(0.5 * logvar)
        x = xc[:, : self.width_] if self.ctx_width_ else xc
        out = self.dec_(torch.cat([z, xc[:, self.width_ :]], 1) if self.ctx_width_ else z)
        mask = self.index_.alpha_mask
        sigma = self.dec_.sigma
        err = (x - torch.tanh(out)) * mask
        gauss = (err**2 / (2 * sigma**2)).sum() + (torch.log(sigma) * mask).sum() * len(x)
        recon = gauss + self.index_.cross_entropy(out, x)
        kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
        total = self.params.loss_factor * recon + kl
        return total / len(x) if scale is None else total * scale

    def _train_epoch(self, data: Tensor, rng: np.random.Generator, shard: Whole = WHOLE) -> float:
        """One pass in batches; with a ``shard`` (data-parallel: ``nn.ddp``) every process
        draws the same batches and the same noise and takes its share, its summed loss
        scaled by ``W / batch`` so the averaged gradient is the single-process batch mean's."""
        bs = self.params.batch_size
        order = torch.from_numpy(rng.permutation(len(data)))
        whole = shard.world == 1
        model = None if whole else self._ddp(shard)
        total, steps = 0.0, 0
        for i in range(0, len(data) - bs + 1 if len(data) >= bs else 1, bs):
            rows = data[order[i : i + bs]]
            if model is None:
                loss = self._loss(rows)
            else:  # the whole batch's noise drawn in every process: the single-process draw
                eps = torch.randn(len(rows), self.params.embedding_dim)
                loss = model(shard.part(rows), shard.world / len(rows), shard.part(eps))
            self.opt_.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_.step()
            self.dec_.sigma.data.clamp_(0.01, 1.0)
            total, steps = total + float(loss.detach()), steps + 1
        if not whole:  # each process's loss is W x its share of the batch mean
            total = shard.total(total) / shard.world
        return total / max(steps, 1)

    def _ddp(self, shard: Whole) -> nn.Module:
        if getattr(self, "ddp_", None) is None:
            self.ddp_ = shard.wrap(_Both(self.enc_, self.dec_, self._loss))
        return self.ddp_

    def _train_epoch_dp(self, data: Tensor, rng: np.random.Generator) -> float:
        """DP-SGD: the encoder and decoder both read real rows, so every parameter's update
        is a clipped per-row gradient sum plus noise."""
        assert self.dp_ is not None
        both = _Both(self.enc_, self.dec_, self._loss)
        total = 0.0
        for _ in range(self.dp_.steps_per_epoch):
            rows = data[torch.from_numpy(self.dp_.batch(rng))]
            grads = self.dp_.private_grads(both, lambda call, x: call(x), rows)
            self.opt_.zero_grad(set_to_none=True)
            add_grads(both, grads)
            self.opt_.step()
            self.dp_.step_done()
            self.dec_.sigma.data.clamp_(0.01, 1.0)
            if len(rows):
                with torch.no_grad():
                    total += float(self._loss(rows))
        return total / self.dp_.steps_per_epoch

    def _generate(self, n: int) -> Tensor:
        *body, last = self.dec_.net
        h = torch.randn(n, self.params.embedding_dim)
        given = self._next_context(n)
        if given is not None:
            h = torch.cat([h, given], 1)
        for layer in body:  # Linear, ReLU pairs; the ReLU in place
            h = h.relu_() if isinstance(layer, nn.ReLU) else layer(h)
        assert isinstance(last, nn.Linear)
        return torch.addmm(last.bias[:, None], last.weight, h.T)  # transposed: [width, n]

    def _draw(self, raw_t: Tensor) -> tuple[Tensor, Tensor]:
        """Slots drawn as usual; each alpha is tanh plus the decoder's learned Gaussian noise."""
        alpha, codes = super()._draw(raw_t)
        a = self.index_.alpha
        if len(a):
            noise = torch.randn(len(a), raw_t.shape[1]) * self.dec_.sigma[a][:, None]
            alpha = alpha.add_(noise).clamp_(-1, 1)
        return alpha, codes
