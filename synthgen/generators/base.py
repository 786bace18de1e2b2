"""The generator base class: validation, seeding, chunking, decoding, fakes and persistence.

A generator implements ``_fit(data, schema, rng)`` on the modelled columns (numeric, integer,
categorical, boolean, datetime) and ``_sample(n, rng) -> DataFrame`` of those columns in a
decodable form; ``_get_state() -> (json_state, arrays)`` and ``_set_state(json_state, arrays)``
make it persistable. Everything else lives here, once.

A generator that can learn a table *given a context* (a parent row's attributes, one context
row per row; ``supports_context``) also implements ``_fit_context`` and takes the context
chunk in ``_sample_chunk``; the others refuse a context clearly.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from synthgen import __version__
from synthgen.errors import DataError, NotFittedError, RecipeError, SchemaError, UsageError
from synthgen.generators import context as ctxmod
from synthgen.generators.context import MODELLED_KINDS
from synthgen.generators.guards import (
    by_rejection,
    conditions_with_context,
    public_schema,
    refuse_infinity,
    whole_rows,
)
from synthgen.progress import chunk_progress
from synthgen.schema.spec import Schema
from synthgen.transforms import frame as framemod
from synthgen.transforms import side as sidemod
from synthgen.transforms.frame import with_decimals

if TYPE_CHECKING:
    from synthgen.privacy.marginals import TableSummary
    from synthgen.privacy.plan import DPPlan

MODEL_FORMAT_VERSION = 1


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Generator(ABC):
    """Fit on a table, sample new rows. Constructors only store (validated) parameters."""

    name: ClassVar[str] = "base"
    Params: ClassVar[type[BaseModel]] = NoParams
    supports_dp: ClassVar[bool] = False
    supports_context: ClassVar[bool] = False
    trains_on_ray: ClassVar[bool] = False  # data-parallel inside distributed.training()
    dp_trains_on_ray: ClassVar[bool] = False  # DP-SGD too
    # each Ray worker can hold only its own rows (a multi-table fit sharded by root entity)
    trains_on_own_rows: ClassVar[bool] = False
    privacy_: dict[str, Any] | None = None
    context_: ctxmod.ContextSpec | None = None  # the context's schema, when fitted with one

    def __init__(self, **params: Any) -> None:
        from synthgen.recipe import format_validation_error

        try:
            self.params = self.Params.model_validate(params)
        except ValidationError as err:
            problems = format_validation_error(err, prefix="generator.params")
            raise RecipeError(
                f"bad parameters for generator '{self.name}':", problems=problems
            ) from None

    # ---- public API -----------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        schema: Schema | None = None,
        *,
        seed: int = 0,
        privacy: DPPlan | None = None,
        context: pd.DataFrame | None = None,
        context_schema: Schema | None = None,
        embedded_pii: Literal["refuse", "keep"] = "refuse",
    ) -> Generator:
        """Learn the table. ``schema`` defaults to ``synthgen.schema.detect(data)``.

        A model learns label values as they are: a categorical column with personal data
        inside its labels is refused (a DataError naming it) unless ``embedded_pii='keep'``
        (a run scrubs them first, ``synthgen.synthesize`` on a DataFrame too).

        With ``privacy`` every read of ``data`` goes through the plan's budget (refused when
        a part cannot); column names, kinds and dtypes count as public metadata.
        ``context``: one row of parent attributes per row of ``data`` (a child table learnt
        given its parents; ``context_schema`` defaults to the detected one)."""
        if len(data) < 2:
            raise DataError(
                f"cannot learn from {len(data)} row(s)", hint="give a table with at least 2 rows"
            )
        if schema is None:
            from synthgen.schema.detect import detect

            schema = detect(data)
        missing = [c for c in schema.names if c not in data.columns]
        if missing:
            raise SchemaError(f"schema names columns the data lacks: {', '.join(missing)}")
        if embedded_pii != "keep":
            from synthgen.pii.stage import refuse_embedded_pii

            refuse_embedded_pii(data, schema, self.name)
        self.schema_ = with_decimals(schema, data)
        self.n_rows_ = len(data)
        self.modelled_ = [
            c.name for c in schema.columns if c.kind in MODELLED_KINDS and c.null_fraction < 1.0
        ]
        self.side_ = sidemod.fit_side_columns(data, schema)
        frame = framemod.to_model_frame(data, schema, self.modelled_)
        refuse_infinity(frame)
        rng = np.random.default_rng(seed)
        self.context_ = None
        if context is not None:
            self.context_, ctx = ctxmod.prepare_fit(self, data, context, context_schema, privacy)
            self._fit_context(frame, schema, rng, ctx)
        elif privacy is None:
            self._fit(frame, schema, rng)
        else:
            from synthgen.privacy.plan import refuse_if_outside

            refuse_if_outside(schema, self.name, self.supports_dp, privacy.text_columns)
            side = data[[c for c, st in self.side_.items() if st["how"] != "null"]]
            summary = self._fit_dp(frame, schema, rng, privacy, side)
            sidemod.privatise_side_columns(self.side_, summary.missing)
            self.n_rows_ = max(1, int(round(summary.n_rows)))
            self.dp_missing_ = summary.missing_rates()
            self.privacy_ = privacy.to_json()
        self.fitted_ = True
        return self

    def sample(
        self,
        n: int,
        *,
        seed: int = 0,
        conditions: dict[str, Any] | None = None,
        chunk_size: int = 50_000,
        progress: bool = False,
        locale: str = "en_US",
        exclude: dict[str, set[str]] | None = None,
        context: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """``n`` synthetic rows in the source's column order and dtypes. Same seed, same rows.

        ``conditions`` fixes column values: a value (``{"sex": "Female"}``), a list of values
        (``{"race": ["Black", "Other"]}``) or a range (``{"age": {"min": 30, "max": 40}}``).
        ``exclude`` maps a PII/id column to source values its fakes must never take.
        ``context``: for a model fitted with one, ``n`` rows of parent attributes, one per
        row to sample. The rows are those of :meth:`iter_sample` with the same arguments,
        put together; to keep memory flat for a large ``n``, iterate over that instead.
        """
        from synthgen.generators.memory import check_rows

        self._check_fitted()
        n = check_rows(float(whole_rows(n)), self.schema_, self.side_, what="rows to sample")
        parts = list(
            self.iter_sample(
                n,
                seed=seed,
                conditions=conditions,
                chunk_size=chunk_size,
                progress=progress,
                locale=locale,
                exclude=exclude,
                context=context,
            )
        )
        from synthgen.generators.shards import join_shards

        return join_shards(self, parts)

    def iter_sample(
        self,
        n: int,
        *,
        seed: int = 0,
        conditions: dict[str, Any] | None = None,
        chunk_size: int = 50_000,
        progress: bool = False,
        locale: str = "en_US",
        exclude: dict[str, set[str]] | None = None,
        context: pd.DataFrame | None = None,
    ) -> Iterator[pd.DataFrame]:
        """:meth:`sample`'s rows, ``chunk_size`` at a time (the last chunk may be shorter;
        ``n = 0`` gives one empty chunk); each chunk is indexed by its row numbers.
        Memory stays flat for any ``n``: no state is kept between chunks. Chunk ``k`` is the
        shard ``k`` of ``generators.shards.sample_shard`` with ``shard_rows = chunk_size``.
        Arguments are checked now, rows drawn as the chunks are asked for."""
        self._check_fitted()
        n = whole_rows(n)
        if int(chunk_size) != chunk_size or chunk_size < 1:
            raise UsageError(f"chunk_size must be a whole number >= 1, got {chunk_size}")
        n, chunk_size = int(n), int(chunk_size)
        model_conditions = self._model_conditions(conditions)
        ctx = ctxmod.prepare_sample(self.context_, context, n)
        side = sidemod.SideColumns(
            self.schema_, self.side_, n, seed, locale, exclude or {}, chunk_size
        )
        if n == 0:
            rng = np.random.default_rng(0)
            return iter([self._decode(self._sample_chunk(0, rng, None, context=ctx), side, 0)])
        return self._chunks(n, seed, model_conditions, chunk_size, progress, side, ctx)

    def _chunks(
        self,
        n: int,
        seed: int,
        model_conditions: dict[str, Any] | None,
        chunk_size: int,
        progress: bool,
        side: sidemod.SideColumns,
        ctx: pd.DataFrame | None,
    ) -> Iterator[pd.DataFrame]:
        for start in chunk_progress(range(0, n, chunk_size), n, chunk_size, progress):
            m = min(chunk_size, n - start)
            part = None if ctx is None else ctx.iloc[start : start + m]
            yield self._shard(start // chunk_size, start, m, seed, model_conditions, side, part)

    def _shard(
        self,
        k: int,
        start: int,
        m: int,
        seed: int,
        model_conditions: dict[str, Any] | None,
        side: sidemod.SideColumns,
        ctx: pd.DataFrame | None,
    ) -> pd.DataFrame:
        """Shard ``k``: rows ``start .. start + m``, drawn with the ``k``-th child of
        ``seed``'s SeedSequence (what spawning one child per chunk in order gives)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
        body = self._sample_chunk(m, rng, model_conditions, seed=seed, start=start, context=ctx)
        return self._decode(body, side, start)

    def _decode(self, body: pd.DataFrame, side: sidemod.SideColumns, start: int) -> pd.DataFrame:
        """A model chunk in the source's dtypes, side columns added, indexed by row number."""
        out = framemod.from_model_frame(body.reset_index(drop=True), self.schema_, self.modelled_)
        out = framemod.with_text_dtypes(side.add(out, start)[self.schema_.names], self.schema_)
        out.index = pd.RangeIndex(start, start + len(out))
        return out

    def save(self, path: str | Path) -> Path:
        """Write ``config.json``, ``schema.json``, ``encoder.json`` and ``weights.safetensors``."""
        from synthgen.io.atomic import atomic_dir
        from synthgen.io.weights import save_arrays

        self._check_fitted()
        state, arrays = self._get_state()
        config = {
            "format_version": MODEL_FORMAT_VERSION,
            "synthgen_version": __version__,
            "generator": self.name,
            "params": self.params.model_dump(mode="json"),
            "n_rows": self.n_rows_,
            "modelled_columns": self.modelled_,
            "privacy": self.privacy_,
        }
        with atomic_dir(Path(path)) as tmp:
            (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
            (tmp / "schema.json").write_text(public_schema(self).to_json(), encoding="utf-8")
            encoder = {"generator_state": state, "side_columns": self.side_}
            if self.context_ is not None:
                encoder["context"] = self.context_.to_json()
            (tmp / "encoder.json").write_text(json.dumps(encoder, indent=2), encoding="utf-8")
            save_arrays(arrays, tmp / "weights.safetensors")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Generator:
        """Load a saved model. Reads JSON and safetensors only: loading runs no code. Every
        file is checked first (generators.folder, then ``_check_saved``): a damaged folder
        is a UsageError naming the file and the place in it."""
        from synthgen.generators.folder import damaged, read_model_folder

        p = Path(path)
        saved = read_model_folder(p)
        klass, config = saved.klass, saved.config
        if cls is not Generator and not issubclass(klass, cls):
            raise UsageError(f"{p} holds a '{config.generator}' model, not a {cls.__name__}")
        gen = klass(**saved.params.model_dump())
        gen.context_ = saved.context  # a context model checks its state against it
        problems = gen._check_saved(
            saved.state, saved.arrays, saved.schema, config.modelled_columns
        )
        if problems:
            raise damaged(p, problems)
        gen.schema_ = saved.schema
        gen.n_rows_ = config.n_rows
        gen.modelled_ = list(config.modelled_columns)
        gen.side_ = saved.side
        gen.privacy_ = config.privacy
        gen.context_ = saved.context
        gen._set_state(saved.state, saved.arrays)
        gen.fitted_ = True
        return gen

    # ---- for subclasses -------------------------------------------------------------------
    @abstractmethod
    def _fit(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> None: ...

    def _fit_dp(
        self,
        data: pd.DataFrame,
        schema: Schema,
        rng: np.random.Generator,
        plan: DPPlan,
        side: pd.DataFrame,
    ) -> TableSummary:
        """Fit within ``plan``'s budget; return the DP summary (it carries side-column rates)."""
        from synthgen.errors import PrivacyBudgetError

        raise PrivacyBudgetError(f"generator '{self.name}' cannot train with differential privacy")

    def _fit_context(
        self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator, context: pd.DataFrame
    ) -> None:
        """Fit given ``context`` (a model frame, row-aligned with ``data``); only called when
        ``supports_context``."""
        raise NotImplementedError

    @abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame: ...

    @abstractmethod
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

    @abstractmethod
    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None: ...

    def _check_saved(
        self,
        state: dict[str, Any],
        arrays: dict[str, np.ndarray],
        schema: Schema,
        modelled: list[str],
    ) -> list[str]:
        """What is wrong with a saved state before ``_set_state`` trusts it: the JSON state
        against its schema and ``modelled`` (already checked against ``schema``), every tensor's
        name, shape and dtype as the JSON state implies them. One 'file: where: what' each."""
        return []

    def _sample_conditional(
        self, n: int, rng: np.random.Generator, conditions: dict[str, Any]
    ) -> pd.DataFrame:
        """Rows meeting ``conditions`` by rejection, with a cap; subclasses may do better."""
        return by_rejection(self._sample, n, rng, conditions)

    # ---- internals ------------------------------------------------------------------------
    def _model_conditions(self, conditions: dict[str, Any] | None) -> dict[str, Any] | None:
        """Conditions as the model frame holds them; an unknown column is a UsageError."""
        if not conditions:
            return None
        unknown = [c for c in conditions if c not in self.modelled_]
        if unknown:
            raise UsageError(
                f"cannot condition on {', '.join(map(repr, unknown))}: not a modelled column",
                hint=f"modelled columns: {', '.join(self.modelled_)}",
            )
        return framemod.condition_values(conditions, self.schema_)

    def _sample_chunk(
        self,
        n: int,
        rng: np.random.Generator,
        model_conditions: dict[str, Any] | None,
        *,
        seed: int = 0,
        start: int = 0,
        context: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Rows ``start .. start + n`` of the sample with ``seed``; ``rng`` is this chunk's
        own generator (a generator with counted randomness uses ``seed`` and ``start``
        instead). ``context``: those rows' context (a model frame), for context models."""
        if context is not None:
            if model_conditions:
                raise conditions_with_context(self.name)
            return self._sample_context(n, rng, context)
        if not model_conditions:
            return self._sample(n, rng)
        return self._sample_conditional(n, rng, model_conditions)

    def _sample_context(self, n: int, rng: np.random.Generator, ctx: pd.DataFrame) -> pd.DataFrame:
        """``n`` rows given their context (a model frame); a context model implements it."""
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() first")
