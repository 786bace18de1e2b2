"""CTGAN-style conditional tabular GAN (after Xu et al., NeurIPS 2019), written for speed.

Mode-specific normalisation (synthgen.transforms), a conditional vector with
training-by-sampling over the label columns, a residual generator, a PacGAN critic trained
with WGAN-GP, and gumbel-softmax on every discrete span. The conditional sampler and the span
activations are vectorised (no Python loop per row or per column in the hot path).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn
from torch.func import grad
from torch.nn import functional as F

from synthgen.errors import UsageError
from synthgen.generators.nn.ddp import WHOLE, Whole
from synthgen.generators.nn.dpsgd import add_grads
from synthgen.generators.nn.fused import FusedGenerator
from synthgen.generators.nn.neural import NeuralGenerator, NeuralParams
from synthgen.generators.nn.sampler import CondSampler
from synthgen.generators.nn.spans import SpanIndex
from synthgen.transforms.frame import Between, OneOf


class CTGANParams(NeuralParams):
    embedding_dim: int = Field(128, gt=0)
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    discriminator_steps: int = Field(1, gt=0)
    pac: int = Field(10, gt=0)
    gradient_penalty: float = Field(10.0, ge=0)
    log_frequency: bool = True

    @model_validator(mode="after")
    def _pac_divides_batch(self) -> CTGANParams:
        if self.batch_size % self.pac:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of pac ({self.pac})"
            )
        return self


class _SamplerState(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    counts: list[list[Annotated[float, Field(ge=0.0)]]]


class _Residual(nn.Module):
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc, self.bn = nn.Linear(i, o), nn.BatchNorm1d(o)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


def _make_generator(inp: int, dims: tuple[int, ...], out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for d in dims:
        layers.append(_Residual(inp, d))
        inp += d
    layers.append(nn.Linear(inp, out))
    return nn.Sequential(*layers)


class _Dropout(nn.Module):
    """``nn.Dropout``; or, with ``part = (a, b, n)`` set (data-parallel training, ``nn.ddp``),
    rows a:b of the mask one process draws for all n rows: every process draws the whole
    mask, so the processes' shares are cut from one draw and their random states stay in
    step whatever their shares' sizes."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.part: tuple[int, int, int] | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not self.p:
            return x
        if self.part is None:
            return F.dropout(x, self.p, True)
        a, b, n = self.part
        keep = torch.empty(n, x.shape[1]).bernoulli_(1 - self.p)[a:b]
        return x * keep / (1 - self.p)


def _make_critic(inp: int, dims: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for d in dims:
        layers += [nn.Linear(inp, d), nn.LeakyReLU(0.2), _Dropout(0.5)]
        inp = d
    layers.append(nn.Linear(inp, 1))
    return nn.Sequential(*layers)


def _adam(module: nn.Module, lr: float, weight_decay: float) -> torch.optim.Adam:
    """Adam with the paper's betas; fused (one kernel for all parameters) on CPU."""
    return torch.optim.Adam(
        module.parameters(), lr=lr, betas=(0.5, 0.9), weight_decay=weight_decay, fused=True
    )


class CTGANGenerator(NeuralGenerator):
    name = "ctgan"
    trains_on_ray = True  # the critic and generator steps on shares of every batch
    dp_seconds_per_row = 0.006  # the critic's per-row gradients with a gradient penalty
    Params = CTGANParams
    params: CTGANParams

    def _build(self, width: int) -> None:
        p = self.params
        self.cond_width_ = sum(s.width for s in self.encoder_.discrete_spans)
        self.pac_ = 1 if self.dp_ is not None else p.pac  # under DP a pack would mix rows
        self.gen_ = _make_generator(p.embedding_dim + self.cond_width_, p.generator_dim, width)
        self.critic_ = _make_critic((width + self.cond_width_) * self.pac_, p.discriminator_dim)

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.gen_}

    def _train_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.gen_, "critic": self.critic_}

    def _prepare(self, data: Tensor, rng: np.random.Generator) -> None:
        p = self.params
        if self.dp_ is None:
            self.sampler_ = CondSampler(data.numpy(), self.encoder_.discrete_spans, p.log_frequency)
        else:
            counts = [
                (self.encoder_.discrete_[s.column].freq_ * self.dp_n_rows_).tolist()
                for s in self.encoder_.discrete_spans
            ]
            self.sampler_ = CondSampler(
                None, self.encoder_.discrete_spans, p.log_frequency, counts=counts
            )
        self.label_index_ = SpanIndex(self.encoder_.spans_, self.encoder_.width_, kinds=("labels",))
        self.cond_to_data_ = torch.zeros(self.sampler_.width, self.encoder_.width_)
        self.cond_to_data_[torch.arange(self.sampler_.width), self.sampler_.cond_to_data] = 1.0
        self.opt_g_ = _adam(self.gen_, p.generator_lr, p.weight_decay)
        self.opt_d_ = _adam(self.critic_, p.discriminator_lr, p.weight_decay)

    def _fake(self, cond: Tensor, z: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if z is None:
            z = torch.randn(len(cond), self.params.embedding_dim)
        raw = self.gen_(torch.cat([z, cond], dim=1) if cond.shape[1] else z)
        return raw, self.index_.activate(raw, tau=0.2)

    def _critic(self, rows: Tensor, cond: Tensor) -> Tensor:
        x = torch.cat([rows, cond], dim=1) if cond.shape[1] else rows
        return self.critic_(x.reshape(-1, x.shape[1] * self.pac_))

    def _penalty(self, real: Tensor, fake: Tensor, eps: Tensor | None = None) -> Tensor:
        """WGAN-GP at points between real and generated packs; ``eps``: each pack's mixing
        weight [packs, 1, 1] (default: drawn here)."""
        pac = self.pac_
        if eps is None:
            eps = torch.rand(len(real) // pac, 1, 1)
        eps = eps.expand(-1, pac, real.shape[1]).reshape(real.shape)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        out = self.critic_(mixed.reshape(-1, mixed.shape[1] * pac))
        (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        norm = grad.reshape(-1, grad.shape[1] * pac).norm(2, dim=1)
        return self.params.gradient_penalty * ((norm - 1) ** 2).mean()

    def _train_epoch(self, data: Tensor, rng: np.random.Generator, shard: Whole = WHOLE) -> float:
        if shard.world > 1:
            return self._train_epoch_shared(data, rng, shard)
        p = self.params
        steps = max(1, len(data) // p.batch_size)
        loss_g = torch.zeros(())
        for _ in range(steps):
            for _ in range(p.discriminator_steps):
                cond, _mask, rows = self.sampler_.sample(p.batch_size, rng)
                perm = rng.permutation(p.batch_size)
                real, real_cond = data[torch.from_numpy(rows[perm])], cond[torch.from_numpy(perm)]
                with torch.no_grad():
                    fake = self._fake(cond)[1]
                loss_d = (
                    self._critic(fake, cond).mean()
                    - self._critic(real, real_cond).mean()
                    + self._penalty_pair(real, real_cond, fake, cond)
                )
                self.opt_d_.zero_grad(set_to_none=True)
                loss_d.backward()
                self.opt_d_.step()
            loss_g = self._generator_step(rng)
        return float(loss_g.detach())

    def _check_workers(self, workers: int) -> None:
        packs = self.params.batch_size // self.pac_
        if packs < workers:
            raise UsageError(
                f"ctgan: {workers} training workers but a batch of {packs} pack(s) "
                f"(batch_size {self.params.batch_size} / pac {self.pac_}): "
                "a worker would get no rows",
                hint=f"raise batch_size to at least {self.pac_ * workers} or use fewer workers",
            )

    def _train_epoch_shared(self, data: Tensor, rng: np.random.Generator, shard: Whole) -> float:
        """Data-parallel (``nn.ddp``): every process draws the whole batch (rows, labels,
        noise, mixing weights, dropout masks) and runs its share of the packs through the
        critic and the generator; each share's loss is its part of the batch mean, the
        gradients are summed over the processes (by hand: the gradient penalty's double
        backward is beyond DDP's hooks), and every process takes the same step. Batch norm
        sees each share's rows (as DDP without SyncBatchNorm); its running statistics are
        averaged after every epoch, so all processes hold the same model."""
        p = self.params
        bs, pac = p.batch_size, self.pac_
        packs = bs // pac
        a, b = packs * shard.rank // shard.world, packs * (shard.rank + 1) // shard.world
        share, mine = (b - a) / packs, slice(a * pac, b * pac)
        drops = [m for m in self.critic_.modules() if isinstance(m, _Dropout)]
        for m in drops:
            m.part = (a, b, packs)
        loss_g = torch.zeros(())
        try:
            for _ in range(max(1, len(data) // bs)):
                for _ in range(p.discriminator_steps):
                    cond, _mask, rows = self.sampler_.sample(bs, rng)
                    perm = rng.permutation(bs)[mine]
                    z = torch.randn(bs, p.embedding_dim)[mine]
                    eps = torch.rand(packs, 1, 1)[a:b]
                    real = data[torch.from_numpy(rows[perm])]
                    real_cond, fc = cond[torch.from_numpy(perm)], cond[mine]
                    with torch.no_grad():
                        fake = self._fake(fc, z)[1]
                    loss_d = share * (
                        self._critic(fake, fc).mean()
                        - self._critic(real, real_cond).mean()
                        + self._penalty_pair(real, real_cond, fake, fc, eps)
                    )
                    self.opt_d_.zero_grad(set_to_none=True)
                    loss_d.backward()
                    shard.add_grads(self.critic_)
                    self.opt_d_.step()
                cond, mask, _ = self.sampler_.sample_cond(bs, rng)
                z = torch.randn(bs, p.embedding_dim)[mine]
                raw, fake = self._fake(cond[mine], z)
                loss_g = share * (
                    -self._critic(fake, cond[mine]).mean()
                    + self._cond_loss(raw, cond[mine], mask[mine])
                )
                self.opt_g_.zero_grad(set_to_none=True)
                loss_g.backward()
                shard.add_grads(self.gen_)
                self.opt_g_.step()
        finally:
            for m in drops:
                m.part = None
        shard.mean_buffers(self.gen_)
        return shard.total(float(loss_g.detach()))

    def _train_epoch_dp(self, data: Tensor, rng: np.random.Generator) -> float:
        """DP-SGD on the critic (the only part that reads real rows): each real row's loss
        term and gradient penalty are clipped per row and noised; the generated rows' term is
        public. The generator learns through the private critic (post-processing)."""
        dp = self.dp_
        assert dp is not None
        bs = int(round(dp.expected_batch))
        loss_g = torch.zeros(())
        for _ in range(dp.steps_per_epoch):
            real = data[torch.from_numpy(dp.batch(rng))]
            real = torch.cat([real, self.sampler_.own_cond(real, rng)], 1)
            cond, _mask, _ = self.sampler_.sample_cond(max(bs, len(real)), rng)
            with torch.no_grad():
                fake = torch.cat([self._fake(cond)[1], cond], 1)
            eps = torch.rand(len(real), 1)
            grads = dp.private_grads(self.critic_, self._real_term, real, fake[: len(real)], eps)
            self.opt_d_.zero_grad(set_to_none=True)
            self.critic_(fake[:bs]).mean().backward()
            add_grads(self.critic_, grads)
            self.opt_d_.step()
            dp.step_done()
            loss_g = self._generator_step(rng)
        return float(loss_g.detach())

    def _real_term(self, call: Any, real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
        """One real row's share of the critic loss: -D(real) + the gradient penalty at a
        point between it and a generated row (pac = 1 under DP)."""
        loss: Tensor = -call(real).sum()
        if self.params.gradient_penalty:
            mixed = eps * real + (1 - eps) * fake
            g = grad(lambda x: call(x).sum())(mixed)
            loss = loss + self.params.gradient_penalty * (g.norm(2) - 1) ** 2
        return loss

    def _generator_step(self, rng: np.random.Generator) -> Tensor:
        cond, mask, _ = self.sampler_.sample_cond(self.params.batch_size, rng)
        raw, fake = self._fake(cond)
        loss_g = -self._critic(fake, cond).mean() + self._cond_loss(raw, cond, mask)
        self.opt_g_.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g_.step()
        return loss_g

    def _penalty_pair(
        self, real: Tensor, rc: Tensor, fake: Tensor, fc: Tensor, eps: Tensor | None = None
    ) -> Tensor:
        if not self.params.gradient_penalty:
            return torch.zeros(())
        a = torch.cat([real, rc], 1) if rc.shape[1] else real
        b = torch.cat([fake, fc], 1) if fc.shape[1] else fake
        return self._penalty(a, b, eps)

    def _cond_loss(self, raw: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """Cross-entropy of the generated label for the column each row was conditioned on."""
        if not cond.shape[1]:
            return torch.zeros(())
        target = cond @ self.cond_to_data_
        ce = self.label_index_.span_cross_entropy(raw, target)  # [batch, label columns]
        return (ce * mask).sum() / len(raw)

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        self._fused = FusedGenerator.fold(self.gen_, self.params.embedding_dim)
        try:
            return super()._sample(n, rng)
        finally:
            self._fused = None

    def _generate(self, n: int) -> Tensor:
        cond = self._sample_cond(n)
        z = torch.randn(n, self.params.embedding_dim)
        assert self._fused is not None
        return self._fused(z, cond)

    def _sample_cond(self, n: int) -> Tensor | None:
        """The conditional slot of each row (None without label columns): at sampling time
        it follows the real label frequencies."""
        if not self.sampler_.columns:
            return None
        if self._fixed_cond is not None:
            return self._fixed_cond.argmax(1).expand(n)
        return self.sampler_.sample_original(n)

    _fused: FusedGenerator | None = None
    _fixed_cond: Tensor | None = None

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, conditions: dict[str, Any]
    ) -> pd.DataFrame:
        """A label condition goes through the conditional vector (the generator is asked for
        it); what the generator still gets wrong, and any other condition (sets and ranges
        too), by rejection."""
        for col, val in conditions.items():
            if col in self.sampler_.columns and not isinstance(val, (OneOf, Between)):
                code = self.encoder_.discrete_[col].code_of(val)
                if code is None:
                    raise UsageError(
                        f"condition {col}={val!r}: no such value in the training data",
                        hint="spell it as it appears in the data (see the report)",
                    )
                self._fixed_cond = self.sampler_.cond_for(col, code)
                break
        try:
            return super()._sample_conditional(n, rng, conditions)
        finally:
            self._fixed_cond = None

    def _extra_state(self) -> dict[str, Any]:
        return {"sampler": self.sampler_.to_json()}

    class _State(NeuralGenerator._State):
        sampler: _SamplerState

    def _extra_state_problems(self, state: dict[str, Any]) -> list[str]:
        counts = state["sampler"]["counts"]
        widths = [s.width for s in self.encoder_.discrete_spans]
        if [len(c) for c in counts] != widths:
            return ["encoder.json: generator_state.sampler.counts: not one count per label slot"]
        return []

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.sampler_ = CondSampler.from_json(state["sampler"], self.encoder_.discrete_spans)
