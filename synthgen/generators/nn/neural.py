"""NeuralGenerator: what CTGAN and TVAE share (encoding, loop control, sampling, persistence).

A subclass builds its torch modules in ``_build(width)``, trains them in ``_train_epoch`` and
turns noise into raw (pre-activation) outputs in ``_generate(n)``, which ``_draw`` turns
into alpha values and drawn slots; ``_sampling_modules`` names the modules
saved as safetensors (only what sampling needs: never the discriminator or the encoder net).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen.errors import DataError, pydantic_problems
from synthgen.generators import distributed
from synthgen.generators.base import Generator
from synthgen.generators.folder import Expected, check_arrays, label_problems, out_of_bounds
from synthgen.generators.nn.ddp import WHOLE, Whole
from synthgen.generators.nn.dpsgd import DPSGD, default_epochs
from synthgen.generators.nn.loop import Trainer, marginal_score, torch_threads
from synthgen.generators.nn.spans import SpanIndex
from synthgen.generators.seeding import seeded
from synthgen.progress import Progress
from synthgen.schema.spec import Schema
from synthgen.transforms.table import TableEncoder, TableEncoderState, state_problems

if TYPE_CHECKING:
    from synthgen.privacy.marginals import TableSummary
    from synthgen.privacy.plan import DPPlan


MAX_MAGNITUDE = 1e150  # larger numbers overflow the mixture fit's squared distances
SAMPLE_STEP = 8192  # rows per forward pass when sampling: fixed, so a seed gives the same rows


class NeuralParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(
        300, gt=0, description="passes over the data (an upper bound with a budget)"
    )
    batch_size: int = Field(500, gt=1)
    time_budget_s: float | None = Field(None, gt=0, description="train until this many seconds")
    early_stopping_patience: int | None = Field(None, gt=0, description="epochs without gain")
    threads: int = Field(1, ge=1, le=256, description="torch threads (1 is fastest for small nets)")
    max_modes: int = Field(10, ge=1, le=50, description="mixture modes per numeric column")
    max_categories: int = Field(100, ge=2, description="one-hot width cap; rarer levels grouped")
    validation_rows: int = Field(2000, ge=100, description="rows for the checkpoint score")
    checkpoint_tolerance: float = Field(
        0.0, ge=0, description="keep the latest checkpoint scoring within this of the best"
    )
    max_grad_norm: float = Field(1.0, gt=0, description="DP runs: per-row gradient clip")


class NeuralGenerator(Generator):
    params: NeuralParams
    supports_dp = True
    dp_: DPSGD | None = None
    # DP-SGD seconds per training row and epoch on one core (per-row gradients): sets the
    # default epochs of a DP run, see dpsgd.default_epochs
    dp_seconds_per_row: float = 0.002

    # ---- subclass hooks -------------------------------------------------------------------
    def _build(self, width: int) -> None:
        raise NotImplementedError

    def _sampling_modules(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def _train_modules(self) -> dict[str, torch.nn.Module]:
        return self._sampling_modules()

    def _prepare(self, data: torch.Tensor, rng: np.random.Generator) -> None:
        """Anything computed once before the first epoch."""

    def _train_epoch(self, data: torch.Tensor, rng: np.random.Generator) -> float:
        raise NotImplementedError

    def _train_epoch_dp(self, data: torch.Tensor, rng: np.random.Generator) -> float:
        """One epoch of DP-SGD steps (``self.dp_``) on the modules that touch real rows."""
        raise NotImplementedError

    def _check_workers(self, workers: int) -> None:
        """Refuse (a UsageError) to train data-parallel on ``workers`` processes if it cannot."""

    def _generate(self, n: int) -> torch.Tensor:
        """Raw outputs (before tanh / softmax) of ``n`` rows, transposed: [width, n]."""
        raise NotImplementedError

    @contextlib.contextmanager
    def _given(self, context: torch.Tensor | None) -> Iterator[None]:
        """Inside: ``_generate`` reads its rows' encoded context from ``context`` in order
        (a context model; no-op for the others)."""
        yield

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""

    # ---- Generator implementation ---------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> None:
        p = self.params
        self._check_magnitudes(data)
        self.encoder_ = TableEncoder(p.max_modes, p.max_categories).fit(data, schema, rng)
        holdout = data.sample(
            min(len(data), p.validation_rows), random_state=int(rng.integers(2**31))
        )
        self._train(data, holdout, rng)

    def _check_magnitudes(self, data: pd.DataFrame) -> None:
        """The mixture encoding squares distances: values beyond MAX_MAGNITUDE overflow it."""
        for c in data.columns:
            if not pd.api.types.is_float_dtype(data[c]):
                continue
            x = np.abs(data[c].to_numpy())
            top = float(np.nanmax(x)) if (~np.isnan(x)).any() else 0.0
            if top > MAX_MAGNITUDE:
                raise DataError(
                    f"column '{c}' holds values as large as {top:.3g}: too large for "
                    f"{self.name}'s encoding (at most {MAX_MAGNITUDE:g} in size)",
                    hint="rescale the column (e.g. to thousands or millions), or use "
                    "generator copula, which takes any finite range",
                )

    def _fit_dp(
        self,
        data: pd.DataFrame,
        schema: Schema,
        rng: np.random.Generator,
        plan: DPPlan,
        side: pd.DataFrame,
    ) -> TableSummary:
        """``metadata_share`` of the budget buys the encoder (DP bounds, histograms, label
        counts; mixtures fitted on draws from them); the rest is DP-SGD. Checkpoints are
        scored against draws from the DP marginals, never against real rows."""
        p = self.params
        summary = plan.summarise(
            data, schema, side, share=plan.metadata_share, rng=rng,
            what="bounds, histograms and label sets for the encoder",
        )  # fmt: skip
        pseudo = summary.pseudo_frame(max(p.validation_rows, 10_000), rng)
        self.encoder_ = TableEncoder(p.max_modes, p.max_categories).fit_dp(summary, pseudo, rng)
        self.dp_n_rows_ = summary.n_rows
        epochs = p.epochs
        if "epochs" not in p.model_fields_set:  # chosen for the budget and the table's size
            epochs = default_epochs(
                len(data), p.batch_size, plan.ledger, self.dp_seconds_per_row, p.epochs
            )
        self.dp_ = DPSGD(len(data), p.batch_size, epochs, plan.ledger, p.max_grad_norm)
        try:
            self._train(data, pseudo.iloc[: p.validation_rows], rng)
        finally:
            dp, self.dp_ = self.dp_, None
            plan.ledger.spend_sgd(
                "DP-SGD", "training rows (clipped per-row gradients)", dp.noise_multiplier,
                dp.sample_rate, dp.steps_done, **dp.describe(),
            )  # fmt: skip
        return summary

    def _train(
        self,
        data: pd.DataFrame,
        holdout: pd.DataFrame,
        rng: np.random.Generator,
        context: torch.Tensor | None = None,
    ) -> None:
        """``context`` (a context model): the encoded context, row-aligned with ``data``,
        appended to the training matrix; its rows for ``holdout`` drive the checkpoint draws."""
        p = self.params
        matrix = torch.from_numpy(self.encoder_.transform(data, rng))
        if context is not None:
            self.score_context_ = context[torch.as_tensor(data.index.get_indexer(holdout.index))]
            matrix = torch.cat([matrix, context], 1)
        self.index_ = SpanIndex(self.encoder_.spans_, self.encoder_.width_)
        with seeded(int(rng.integers(2**31))), torch_threads(p.threads):
            self._build(self.encoder_.width_)
            self._prepare(matrix, rng)
            on = distributed.cluster() if self.trains_on_ray and self.dp_ is None else None
            if on is not None:  # data-parallel on Ray: the same loop in each worker
                from synthgen.scale.ray_train_neural import train_on_ray

                self.history_, self.epochs_trained_ = train_on_ray(self, matrix, holdout, rng, on)
                return
            self.history_, self.epochs_trained_ = self._train_loop(matrix, holdout, rng, WHOLE)

    def _train_loop(
        self,
        matrix: torch.Tensor,
        holdout: pd.DataFrame,
        rng: np.random.Generator,
        shard: Whole,
        on_epoch: Any = None,
    ) -> tuple[list[dict[str, float]], int]:
        """Epochs until done, the best weights kept; the history and epochs trained.
        ``shard``: this process's share of every batch (``nn.ddp``), for the generators
        that train data-parallel; ``on_epoch(entry, epochs)`` after each epoch."""
        p = self.params
        epochs = self.dp_.epochs if self.dp_ is not None else p.epochs
        clock = shard.clock if shard.world > 1 else None
        trainer = Trainer(
            epochs, p.time_budget_s, p.early_stopping_patience, p.checkpoint_tolerance, clock
        )
        epoch = 0
        for epoch in _epochs(trainer, f"training {self.name}" + (" (DP)" if self.dp_ else "")):
            if self.dp_ is not None:
                loss = self._train_epoch_dp(matrix, rng)
            elif shard.world > 1:
                loss = self._train_epoch(matrix, rng, shard)  # type: ignore[call-arg]
            else:
                loss = self._train_epoch(matrix, rng)
            score = None
            if trainer.evaluates:  # the same weights and draws in every process: one decision
                with self._given(getattr(self, "score_context_", None)):
                    score = marginal_score(holdout, self._sample(len(holdout), rng))
                score = shard.agreed(score)
            trainer.record(epoch + 1, loss, score, self._train_modules())
            if on_epoch is not None:
                on_epoch({"epoch": epoch + 1, "pass": 1, "loss": loss}, epochs)
        trainer.restore_best(self._train_modules())
        return trainer.history, epoch + 1

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        alphas, codes = [], []
        with seeded(int(rng.integers(2**31))), torch_threads(self.params.threads):
            for m in self._sampling_modules().values():
                m.eval()
            try:
                with torch.inference_mode():
                    for i in range(0, max(n, 1), SAMPLE_STEP):
                        a, c = self._draw(self._generate(min(SAMPLE_STEP, n - i)))
                        alphas.append(a.numpy())
                        codes.append(c.numpy())
            finally:
                for m in self._train_modules().values():
                    m.train()
        alpha = np.concatenate(alphas, axis=1) if len(alphas) > 1 else alphas[0]
        code = np.concatenate(codes, axis=1) if len(codes) > 1 else codes[0]
        return self.encoder_.inverse_codes(alpha, code, rng, categorical=True)

    def _draw(self, raw_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Transposed raw outputs -> (tanh of the alpha slots [alpha spans, rows], a drawn
        slot per softmax span [spans, rows])."""
        codes = self.index_.sample_codes(raw_t)
        return torch.tanh(raw_t.index_select(0, self.index_.alpha)), codes

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            f"{name}.{key}": t.detach().cpu().numpy()
            for name, m in self._sampling_modules().items()
            for key, t in m.state_dict().items()
        }
        state = {
            "encoder": self.encoder_.to_json(),
            "history": self.history_,
            "epochs_trained": self.epochs_trained_,
            **self._extra_state(),
        }
        return state, arrays

    class _State(BaseModel):
        """generator_state in encoder.json (the encoder's own part checked by its model)."""

        model_config = ConfigDict(extra="forbid", strict=True)

        encoder: TableEncoderState
        history: list[dict[str, Any]]
        epochs_trained: int = Field(ge=0)

    def _check_saved(
        self,
        state: dict[str, Any],
        arrays: dict[str, np.ndarray],
        schema: Schema,
        modelled: list[str],
    ) -> list[str]:
        """The encoder state against the schema, then every tensor of the sampling modules
        as this encoder and these params build them (on torch's meta device: no memory, so
        a damaged embedding_dim cannot allocate anything), all finite."""
        where = "encoder.json: generator_state"
        try:
            saved = self._State.model_validate(state)
        except ValidationError as err:
            return [f"encoder.json: {p}" for p in pydantic_problems(err, "generator_state")]
        problems = [f"{where}.encoder.{p}" for p in state_problems(saved.encoder, schema, modelled)]
        if problems:
            return problems
        for name, d in saved.encoder.discrete.items():
            problems += label_problems(
                d.labels + d.rare, schema[name], f"{where}.encoder.discrete.{name}"
            )
        for name, n in saved.encoder.numeric.items():
            problems += out_of_bounds(
                [n.min, n.max], schema[name], f"{where}.encoder.numeric.{name}"
            )
        if problems:
            return problems
        self.encoder_ = TableEncoder.from_json(state["encoder"])
        problems = self._extra_state_problems(state)
        if problems:
            return problems
        with torch.device("meta"):
            self._build(self.encoder_.width_)
        expected: dict[str, Expected] = {
            f"{name}.{key}": (tuple(t.shape) or (1,), _numpy_dtype(t.dtype))  # saved >= 1-d
            for name, m in self._sampling_modules().items()
            for key, t in m.state_dict().items()
        }
        problems = check_arrays(arrays, expected)
        for name in expected:
            if name.endswith("running_var") and not problems and (arrays[name] < 0).any():
                problems.append(f"weights.safetensors: {name}: negative variances")
        return problems

    def _extra_state_problems(self, state: dict[str, Any]) -> list[str]:
        """What is wrong with ``_extra_state``'s part of a saved state (``encoder_`` is set)."""
        return []

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.encoder_ = TableEncoder.from_json(state["encoder"])
        self.index_ = SpanIndex(self.encoder_.spans_, self.encoder_.width_)
        self.history_ = state["history"]
        self.epochs_trained_ = state["epochs_trained"]
        self._load_extra_state(state)
        self._build(self.encoder_.width_)
        for name, m in self._sampling_modules().items():
            prefix = f"{name}."
            sd = {
                k[len(prefix) :]: torch.from_numpy(np.array(v))
                for k, v in arrays.items()
                if k.startswith(prefix)
            }
            m.load_state_dict(sd)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


def _epochs(trainer: Trainer, what: str):  # type: ignore[no-untyped-def]
    """Epoch numbers while the trainer wants more, with progress on stderr: a bar on a
    terminal, else a plain line every few seconds (epochs, elapsed, the rest)."""
    total = None if trainer.budget is not None else trainer.epochs
    with Progress(what, total, unit="epoch") as progress:
        epoch = 0
        while trainer.keep_going(epoch):
            yield epoch
            epoch += 1
            progress.update(epoch)
