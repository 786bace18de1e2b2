"""Mode-specific normalisation of a continuous column (the CTGAN encoding), in-process.

A 1-D variational Gaussian mixture (mean-field VB with a Dirichlet prior on the weights, so
unneeded components fade away) is fitted on a capped, seeded subsample. A value is then coded
as (the one-hot of a mode drawn from its posterior, its offset from that mode's mean in units
of 4 standard deviations). Everything is vectorised over values x components.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import digamma, logsumexp

_LOG_2PI = float(np.log(2 * np.pi))


@dataclass
class VGM1D:
    """A 1-D variational Gaussian mixture. After ``fit``: ``weights``, ``means``, ``stds``."""

    max_components: int = 10
    weight_prior: float = 1e-3
    max_iter: int = 200
    tol: float = 1e-5
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    means: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stds: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> VGM1D:
        x = np.asarray(x, dtype=np.float64)
        loc, scale = float(np.mean(x)), float(np.std(x))
        scale = scale if scale > 0 else 1.0
        z = (x - loc) / scale
        k = int(min(self.max_components, max(1, len(np.unique(z[:5000])))))
        # priors (Bishop 10.2, 1-D): mean m0 = 0, beta0, Gamma(a0, b0) on the precision
        beta0, a0, b0 = 1.0, 1.0, 1.0 / k
        resp = self._init_resp(z, k, rng)
        prev = -np.inf
        for _ in range(self.max_iter):
            nk = resp.sum(0) + 1e-10
            xbar = (resp * z[:, None]).sum(0) / nk
            sk = (resp * (z[:, None] - xbar) ** 2).sum(0) / nk
            alpha = self.weight_prior + nk
            beta = beta0 + nk
            m = nk * xbar / beta
            a = a0 + nk / 2
            b = b0 + 0.5 * (nk * sk + beta0 * nk * xbar**2 / beta)
            e_log_pi = digamma(alpha) - digamma(alpha.sum())
            e_log_lam = digamma(a) - np.log(b)
            e_quad = (a / b) * (z[:, None] - m) ** 2 + 1.0 / beta
            log_rho = (e_log_pi + 0.5 * e_log_lam) - 0.5 * e_quad
            top = log_rho.max(axis=1, keepdims=True)
            resp = np.exp(log_rho - top)
            total = resp.sum(axis=1, keepdims=True)
            resp /= total
            bound = float((np.log(total) + top).mean())
            if abs(bound - prev) < self.tol * max(1.0, abs(bound)):
                break
            prev = bound
        weights = alpha / alpha.sum()
        stds = np.sqrt(b / a)
        self.weights = weights
        self.means = m * scale + loc
        self.stds = np.maximum(stds * scale, 1e-6 * scale)
        return self

    @staticmethod
    def _init_resp(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        centers = np.quantile(z, (np.arange(k) + 0.5) / k) + rng.normal(0, 1e-3, k)
        d = np.abs(z[:, None] - centers[None, :])
        resp = np.zeros((len(z), k))
        resp[np.arange(len(z)), d.argmin(1)] = 1.0
        return resp

    def log_posterior(self, x: np.ndarray) -> np.ndarray:
        """log p(component | x) for each value (rows) and component (columns)."""
        z = (x[:, None] - self.means) / self.stds
        logp = np.log(self.weights + 1e-12) - np.log(self.stds) - 0.5 * (z**2 + _LOG_2PI)
        return logp - logsumexp(logp, axis=1, keepdims=True)


class ContinuousEncoder:
    """Encode one numeric column as [alpha, one-hot mode]; decode it back, clipped to range."""

    def __init__(
        self,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        subsample: int = 10_000,
        integer: bool = False,
    ) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.subsample = subsample
        self.integer = integer

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> ContinuousEncoder:
        x = x[~np.isnan(x)]
        if len(x) == 0:
            x = np.zeros(1)
        self.min_, self.max_ = float(x.min()), float(x.max())
        fit_on = rng.choice(x, self.subsample, replace=False) if len(x) > self.subsample else x
        vgm = VGM1D(max_components=self.max_modes).fit(fit_on, rng)
        keep = vgm.weights > self.weight_threshold
        if not keep.any():
            keep = vgm.weights == vgm.weights.max()
        self.means_ = vgm.means[keep]
        self.stds_ = vgm.stds[keep]
        self.weights_ = vgm.weights[keep] / vgm.weights[keep].sum()
        self._vgm = VGM1D(weights=self.weights_, means=self.means_, stds=self.stds_)
        self._tighten(fit_on)
        return self

    def _tighten(self, x: np.ndarray) -> None:
        """No mode wider than its own values: the prior on the precision gives a point mass
        (a column's zeros, say) a std of many units, and a model's small error on the offset
        then decodes to values beside it (1, 2, 3 for 0). Each mode's mean and std become
        those of the values it holds (weighted by their posterior) when that std is smaller."""
        post = np.exp(self._vgm.log_posterior(x))
        nk = post.sum(0)
        held = nk > 0
        mean = (post * x[:, None]).sum(0) / np.maximum(nk, 1e-12)
        std = np.sqrt((post * (x[:, None] - mean) ** 2).sum(0) / np.maximum(nk, 1e-12))
        floor = 1e-6 * (float(np.std(x)) or 1.0)
        tight = held & (std < self.stds_)
        self.means_ = np.where(tight, mean, self.means_)
        self.stds_ = np.where(tight, np.maximum(std, floor), self.stds_)
        self._vgm = VGM1D(weights=self.weights_, means=self.means_, stds=self.stds_)

    @property
    def _scale(self) -> np.ndarray:
        return 4 * self.stds_

    @property
    def width(self) -> int:
        return 1 + len(self.means_)

    def transform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Rows of [alpha, one-hot mode]; the mode is drawn from its posterior (seeded)."""
        x = np.where(np.isnan(x), float(np.dot(self.weights_, self.means_)), x)
        post = np.exp(self._vgm.log_posterior(x))
        cum = np.cumsum(post, axis=1)
        mode = (rng.random(len(x))[:, None] > cum).sum(1).clip(0, len(self.means_) - 1)
        alpha = (x - self.means_[mode]) / (4 * self.stds_[mode])
        far = np.abs(alpha) > 0.99  # a rare draw far from its mode: take the likeliest mode
        if far.any():
            mode[far] = post[far].argmax(1)
            alpha[far] = (x[far] - self.means_[mode[far]]) / (4 * self.stds_[mode[far]])
        out = np.zeros((len(x), self.width), dtype=np.float32)
        out[:, 0] = np.clip(alpha, -0.99, 0.99)
        out[np.arange(len(x)), 1 + mode] = 1.0
        return out

    def inverse(self, block: np.ndarray) -> np.ndarray:
        return self.decode(block[:, 0], block[:, 1:].argmax(1))

    def decode(self, alpha: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Values from their offsets ``alpha`` and mode indices: float64, clipped to range."""
        x = np.clip(alpha, -1.0, 1.0).astype(np.float64)
        x *= self._scale[mode]
        x += self.means_[mode]
        np.clip(x, self.min_, self.max_, out=x)
        return np.round(x, out=x) if self.integer else x

    def to_json(self) -> dict[str, Any]:
        return {
            "min": self.min_,
            "max": self.max_,
            "integer": self.integer,
            "means": self.means_.tolist(),
            "stds": self.stds_.tolist(),
            "weights": self.weights_.tolist(),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> ContinuousEncoder:
        enc = cls(integer=bool(state["integer"]))
        enc.min_, enc.max_ = float(state["min"]), float(state["max"])
        enc.means_ = np.asarray(state["means"], dtype=float)
        enc.stds_ = np.asarray(state["stds"], dtype=float)
        enc.weights_ = np.asarray(state["weights"], dtype=float)
        enc._vgm = VGM1D(weights=enc.weights_, means=enc.means_, stds=enc.stds_)
        return enc
