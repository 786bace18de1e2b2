"""TVAE-style variational autoencoder for tables (after Xu et al., NeurIPS 2019).

The evidence lower bound with per-span output heads: a Gaussian head (learned scale) on each
numeric offset, a categorical head on each mode / label / missing span, and the KL term of a
standard-normal prior. Only the decoder is saved: sampling never touches the encoder net.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn

from synthgen.generators.nn.dpsgd import add_grads
from synthgen.generators.nn.neural import NeuralGenerator, NeuralParams


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
    """Encoder + decoder as one module whose forward is the per-batch loss (for DP-SGD)."""

    def __init__(self, enc: nn.Module, dec: nn.Module, loss: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.enc, self.dec = enc, dec
        self._loss_fn = loss

    def forward(self, x: Tensor) -> Tensor:
        return self._loss_fn(x)


class TVAEGenerator(NeuralGenerator):
    name = "tvae"
    dp_seconds_per_row = 0.002
    Params = TVAEParams
    params: TVAEParams

    def _build(self, width: int) -> None:
        p = self.params
        self.enc_ = _Encoder(width, p.compress_dims, p.embedding_dim)
        self.dec_ = _Decoder(p.embedding_dim, p.decompress_dims, width)

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"decoder": self.dec_}

    def _train_modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.enc_, "decoder": self.dec_}

    def _prepare(self, data: Tensor, rng: np.random.Generator) -> None:
        params = list(self.enc_.parameters()) + list(self.dec_.parameters())
        self.opt_ = torch.optim.Adam(
            params, lr=self.params.lr, weight_decay=self.params.l2scale, fused=True
        )

    def _loss(self, x: Tensor) -> Tensor:
        mu, logvar = self.enc_(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        out = self.dec_(z)
        mask = self.index_.alpha_mask
        sigma = self.dec_.sigma
        err = (x - torch.tanh(out)) * mask
        gauss = (err**2 / (2 * sigma**2)).sum() + (torch.log(sigma) * mask).sum() * len(x)
        recon = gauss + self.index_.cross_entropy(out, x)
        kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
        return (self.params.loss_factor * recon + kl) / len(x)

    def _train_epoch(self, data: Tensor, rng: np.random.Generator) -> float:
        bs = self.params.batch_size
        order = torch.from_numpy(rng.permutation(len(data)))
        total, steps = 0.0, 0
        for i in range(0, len(data) - bs + 1 if len(data) >= bs else 1, bs):
            loss = self._loss(data[order[i : i + bs]])
            self.opt_.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_.step()
            self.dec_.sigma.data.clamp_(0.01, 1.0)
            total, steps = total + float(loss.detach()), steps + 1
        return total / max(steps, 1)

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
