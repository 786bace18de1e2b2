"""``SequenceModel``: per-entity event streams (a station's hourly readings, a customer's
invoices), learnt with two autoreg models and drawn step by step.

* the **entity model** learns each entity's sequence length and start (order value of its
  first event) given the entity's attributes (none when the entity is only a key);
* the **step model** learns each event's gap to the previous one and its values given the
  step context of :mod:`synthgen.sequences.frames` (entity, length, start, step index, the
  previous step: lag 1 of every modelled column and of the gap, previous hour and weekday).

Sampling draws the entities, then step ``t`` of every entity still running at once (one
network call per step, vectorised across entities, the previous step as context); times are
the start plus the cumulative gaps. Randomness is counted: step ``t`` of entity ``i`` depends
on (seed, t, i) and the entity's own draws only, so the same seed gives the same sequences
whichever other entities are drawn with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthgen.errors import DataError, NotFittedError, UsageError
from synthgen.generators import create
from synthgen.generators.base import Generator
from synthgen.generators.context import MODELLED_KINDS
from synthgen.relational.keyformat import learn as learn_key
from synthgen.schema.spec import ColumnSpec, Schema
from synthgen.sequences import anchor as anchormod
from synthgen.sequences import frames as fr
from synthgen.sequences import rules as seqrules
from synthgen.sequences import state as statemod
from synthgen.sequences import statics
from synthgen.sequences.sampling import draw_steps
from synthgen.sequences.sampling import sub_seed as _sub
from synthgen.transforms import frame as framemod
from synthgen.transforms import side as sidemod


class SequenceModel:
    """Constructors store parameters; ``fit`` learns, ``sample`` draws new sequences.

    ``params``: the autoreg generator's parameters (both models); ``anchor``: a time column
    of the entities frame the sequences start after (see synthgen.sequences.anchor)."""

    anchor_: str | None  # the anchor in use; offset_fill_: its median offset
    offset_fill_: float
    statics_: list[str]  # the entity's own columns (synthgen.sequences.statics)
    static_schema_: Schema | None
    rules_: seqrules.StepRules  # a run's rules, set after fit or load (absent: none)

    def __init__(
        self,
        entity: str,
        order: str,
        params: dict[str, Any] | None = None,
        anchor: str | None = None,
    ) -> None:
        self.entity = entity
        self.order = order
        self.params = dict(params or {})
        self.anchor = anchor

    # ---- fit ------------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        *,
        entities: pd.DataFrame | None = None,
        schema: Schema | None = None,
        seed: int = 0,
        table: str = "table",
        embedded_pii: Literal["refuse", "keep"] = "refuse",
    ) -> SequenceModel:
        """Learn the events ``data`` (one row per event). ``entities``: one row per entity,
        indexed by its key, holding the attributes the sequences are learnt given (an entity
        without events has length 0); without it the entities are the keys in ``data``.
        ``embedded_pii``: as ``Generator.fit`` (a run scrubs the labels first, then keeps)."""
        self.embedded_pii_ = embedded_pii
        from synthgen.schema.detect import detect

        fr.check_events(data, self.entity, self.order, table)
        schema = schema or detect(data, seed=seed)
        self.columns_ = [str(c) for c in data.columns]
        self.order_ = fr.learn_order(data, self.order, schema, table)
        rows, t = fr.sort_events(data, self.entity, self.order_)
        ent = rows[self.entity].astype(str).to_numpy()
        step, first = fr.steps(ent)
        keys = ent[first]
        length, start = np.diff(np.append(np.flatnonzero(first), len(ent))), t[first]
        attrs_raw = self._entities(entities, keys, table)
        where = np.arange(len(keys))
        if attrs_raw is not None:
            pos = pd.Index(attrs_raw.index.astype(str))
            where = pos.get_indexer(keys)
            length = np.bincount(where, weights=length, minlength=len(pos)).astype(np.int64)
            start = np.full(len(pos), np.nan)
            start[where] = t[first]
            row_entity = where[np.cumsum(first) - 1]
        else:
            row_entity = np.cumsum(first) - 1
        self.key_format_ = learn_key(data[self.entity])
        self.n_entities_ = len(length)
        self.max_length_ = int(length.max())
        self.start_fill_ = float(np.nanmedian(start))
        attrs = self._fit_attrs(attrs_raw, len(length), seed)
        ent_of_first = where if attrs_raw is not None else np.arange(len(keys))
        cands = [
            c for c in self.columns_
            if c not in (self.entity, self.order) and c in schema
            and schema[c].kind in MODELLED_KINDS
        ]  # fmt: skip
        static_raw = statics.fit(self, rows, schema, cands, ent_of_first, len(length))
        own, own_schema, mf, prev = self._step_frames(rows, schema, t, first)
        if int((~first).sum()) < 2:
            raise DataError(
                f"{table}: fewer than 2 events follow an earlier one of their {self.entity}; "
                "there is no sequence to learn",
                hint="check the entity column: most entities should have several events",
            )
        offsets = anchormod.fit_offsets(self, attrs_raw, start)
        self._fit_entities(
            length, start, attrs, mf[first], ent_of_first, own_schema, seed, static_raw, offsets
        )
        later = ~first
        whole = pd.concat([attrs, statics.as_context(self, static_raw)], axis=1)
        ctx = fr.step_context(
            whole.iloc[row_entity[later]].reset_index(drop=True), length[row_entity[later]],
            start[row_entity[later]], step[later], prev[later].reset_index(drop=True),
            np.roll(t, 1)[later], self.order_,
        )  # fmt: skip
        own = own[later].reset_index(drop=True)
        self.step_model_ = create("autoreg", **self.params)
        self.step_model_.fit(
            own, own_schema, seed=_sub(seed, "steps"), context=ctx,
            embedded_pii=self.embedded_pii_,
            context_schema=self._step_context_schema(ctx, own_schema, prev),
        )  # fmt: skip
        return self

    def _entities(
        self, entities: pd.DataFrame | None, keys: np.ndarray, table: str
    ) -> pd.DataFrame | None:
        if entities is None:
            return None
        index = pd.Index(entities.index.astype(str))
        if index.has_duplicates:
            raise DataError(f"{table}: the entities frame holds a key twice")
        unknown = ~pd.Index(keys).isin(index)
        if unknown.any():
            raise DataError(
                f"{table}: {int(unknown.sum())} {self.entity} value(s) are no entity's key "
                f"(e.g. {keys[unknown][0]!r})",
                hint="give every entity a row in the entities frame, or drop those events",
            )
        return entities

    def _fit_attrs(self, attrs_raw: pd.DataFrame | None, n: int, seed: int) -> pd.DataFrame:
        """The entities' attributes as a model frame (none: a frame of ``n`` rows, no column)."""
        from synthgen.schema.detect import detect

        self.attr_schema_: Schema | None = None
        self.attr_columns_: list[str] = []
        if attrs_raw is None or attrs_raw.shape[1] == 0:
            return pd.DataFrame(index=range(n))
        raw = attrs_raw.reset_index(drop=True)
        schema = detect(raw, seed=seed)
        cols = [c.name for c in schema.columns if c.kind in MODELLED_KINDS and c.null_fraction < 1]
        self.attr_schema_ = Schema(columns=[schema[c] for c in cols])
        self.attr_columns_ = cols
        mf = framemod.to_model_frame(raw, self.attr_schema_, cols)
        return mf.reset_index(drop=True)

    def _attr_context_schema(self, attrs: pd.DataFrame) -> Schema:
        assert self.attr_schema_ is not None
        return Schema(
            columns=[fr.context_spec(c, self.attr_schema_[c], attrs[c]) for c in attrs.columns]
        )

    def _fit_entities(
        self,
        length: np.ndarray,
        start: np.ndarray,
        attrs: pd.DataFrame,
        firsts: pd.DataFrame,
        where: np.ndarray,
        own_schema: Schema,
        seed: int,
        static_raw: pd.DataFrame,
        offsets: np.ndarray | None,
    ) -> None:
        """Length, start, own (static) columns and first step of each entity, given its
        attributes."""
        starts = self.order_.restore(start).to_numpy() if offsets is None else offsets
        frame = pd.DataFrame({fr.LEN: length.astype(np.int64), fr.START: starts})
        specs = [
            ColumnSpec(name=fr.LEN, kind="integer", dtype="int64", reason="sequence length"),
            self.order_.spec.model_copy(
                update={"name": fr.START, "null_fraction": float(np.isnan(start).mean())}
            )
            if offsets is None
            else anchormod.offset_spec(offsets),
        ]
        for c in self.firsts_:
            col = pd.Series([None] * len(length), dtype=object)
            col.iloc[where] = firsts[c].to_numpy(dtype=object)
            frame[fr.FIRST + c] = col.to_numpy()
            specs.append(fr.first_spec(fr.FIRST + c, own_schema[c], col))
        for c in self.statics_:
            assert self.static_schema_ is not None
            frame[c] = static_raw[c].to_numpy()
            specs.append(self.static_schema_[c])
        for c, sp in zip(frame.columns, specs, strict=True):
            if sp.kind in ("numeric", "integer"):
                frame[c] = pd.to_numeric(frame[c], errors="coerce")
        schema = Schema(columns=specs)
        self.entity_model_ = create("autoreg", **self._entity_params(len(frame)))
        if attrs.shape[1]:
            self.entity_model_.fit(
                frame, schema, seed=_sub(seed, "entities"), context=attrs,
                embedded_pii=self.embedded_pii_,
                context_schema=self._attr_context_schema(attrs),
            )  # fmt: skip
        else:
            self.entity_model_.fit(
                frame, schema, seed=_sub(seed, "entities"), embedded_pii=self.embedded_pii_
            )

    def _entity_params(self, n: int) -> dict[str, Any]:
        """The entity model trains its whole default schedule on every entity: one row per
        entity is a small table, where the validation loss (of memorised start times) would
        cut training to an epoch and lose how the attributes shape length and start."""
        from synthgen.generators.autoreg.generator import AutoregParams
        from synthgen.generators.autoreg.training import batch_size, default_epochs

        p = AutoregParams.model_validate(self.params)
        if p.epochs is not None:
            return self.params
        epochs = default_epochs(n, batch_size(n, p.batch_size), p.min_steps)
        return {**self.params, "epochs": epochs, "validation_share": 0.0}

    def _step_frames(
        self, rows: pd.DataFrame, schema: Schema, t: np.ndarray, first: np.ndarray
    ) -> tuple[pd.DataFrame, Schema, pd.DataFrame, pd.DataFrame]:
        """The step model's own frame (gap, values, changes) and schema, the values' model
        frame, and its lag (the previous step's model frame)."""
        values = [c for c in self.columns_ if c not in (self.entity, self.order, *self.statics_)]
        gap = fr.gaps(t, first, self.order_.unit)
        kind = "integer" if self.order_.unit else "numeric"
        gap_spec = ColumnSpec(name=fr.GAP, kind=kind, dtype="float64", reason="sequence gap")
        own_schema = Schema(columns=[gap_spec, *[schema[c] for c in values]])
        own = pd.concat([pd.DataFrame({fr.GAP: gap}), rows[values]], axis=1)
        modelled = [c.name for c in own_schema.columns if c.kind in MODELLED_KINDS]
        modelled = [c for c in modelled if own[c].notna().any()]
        mf = framemod.to_model_frame(own, own_schema, modelled)
        prev = fr.lagged(mf, first)
        self.firsts_ = [c for c in modelled if c != fr.GAP]
        self.value_schema_ = Schema(columns=[schema[c] for c in self.firsts_])
        self.deltas_ = [c for c in self.firsts_ if schema[c].kind in ("numeric", "integer")]
        self.bounds_ = {c: (float(mf[c].min()), float(mf[c].max())) for c in self.deltas_}
        self.complete_ = [c for c in self.deltas_ if not mf[c].isna().any()]
        self.logged_ = [c for c in self.deltas_ if fr.multiplicative(mf[c])]
        own = fr.with_deltas(own, first, self.deltas_, self.logged_)
        own_schema = Schema(columns=[
            s for c in own_schema.columns
            for s in fr.delta_specs(c, own[~first], self.deltas_, self.logged_)
        ])  # fmt: skip
        return own, own_schema, mf, prev

    def _step_context_schema(
        self, ctx: pd.DataFrame, own_schema: Schema, prev: pd.DataFrame
    ) -> Schema:
        cols = []
        for c in ctx.columns:
            name = c[len(fr.PREV) :]
            if c.startswith(fr.PREV) and name in prev.columns:
                cols.append(fr.context_spec(c, own_schema[name], ctx[c]))
            elif self.attr_schema_ is not None and c in self.attr_schema_:
                cols.append(fr.context_spec(c, self.attr_schema_[c], ctx[c]))
            elif c.startswith(statics.CTX):
                cols.append(statics.context_spec(self, c, ctx[c]))
            else:
                cols.append(ColumnSpec(name=c, kind="numeric", dtype="float64", reason="step"))
        return Schema(columns=cols)

    # ---- sample ---------------------------------------------------------------------------
    def sample(
        self,
        n: int | None = None,
        *,
        entities: pd.DataFrame | None = None,
        lengths: np.ndarray | None = None,
        conditions: dict[str, Any] | None = None,
        seed: int = 0,
        locale: str = "en_US",
        progress: bool = False,
        exclude: dict[str, set[str]] | None = None,
    ) -> pd.DataFrame:
        """One sequence per entity: ``n`` new ones (default: as many as the source), or one
        per row of ``entities`` (keys as index, the attributes learnt from). ``lengths``: the
        caller's counts (a dataset's); ``conditions`` (``--where``) on the entity's own
        columns or the order (its first event) keep whole matching sequences; ``exclude``:
        values PII fakes never take. Sorted by entity, then order; same seed, same rows."""
        if not hasattr(self, "step_model_"):
            raise NotFittedError("fit (or load) the sequence model before sampling")
        wanted = statics.entity_conditions(self, conditions)
        attrs, keys = self._sample_entities(n, entities, seed)
        if wanted and attrs.shape[1]:
            raise UsageError(
                "conditions on sequences drawn for given entities apply to those entities",
                hint="condition the entities (the parent table) instead",
            )
        m, given = len(keys), attrs if attrs.shape[1] else None  # drawn with the rules kept:
        drawn = seqrules.entity_draws(self, m, seed, given, wanted or None, entities, lengths)
        if lengths is None:
            length = np.nan_to_num(np.rint(drawn[fr.LEN].to_numpy(float)))
            length = np.clip(length, 0, self.max_length_).astype(np.int64)
        else:  # counts the caller drew (a dataset's child-count model) are kept
            length = np.clip(np.rint(np.asarray(lengths, float)), 0, None).astype(np.int64)
            if len(length) != m:
                raise UsageError(f"{len(length)} lengths for {m} entities")
        start = anchormod.sample_starts(self, drawn, entities)
        static_raw = drawn[self.statics_].reset_index(drop=True)
        whole = pd.concat([attrs, statics.as_context(self, static_raw)], axis=1)
        body, ent_idx, times = draw_steps(self, whole, drawn, length, start, seed, progress)
        gen = self.step_model_
        # one shard: every row's side columns are decoded here, at once
        side = sidemod.SideColumns(
            gen.schema_, gen.side_, len(body), seed, locale, exclude or {}, max(1, len(body))
        )
        values = gen._decode(body[gen.modelled_], side, 0).reset_index(drop=True)
        own = framemod.from_model_frame(body, self.value_schema_, self.firsts_)
        for c in self.firsts_:  # a value the step model never draws itself (only changes)
            values[c] = own[c].to_numpy()
        for c in self.statics_:  # the entity's own columns, repeated on its every step
            values[c] = static_raw[c].to_numpy()[ent_idx] if len(ent_idx) else []
        values[self.entity] = keys.to_numpy()[ent_idx] if len(ent_idx) else []
        values[self.order] = self.order_.restore(times).to_numpy()
        rules = getattr(self, "rules_", None)  # set by a run with rules (sequences.rules)
        return values[self.columns_] if rules is None else rules.finish(values[self.columns_], seed)

    def _sample_entities(
        self, n: int | None, entities: pd.DataFrame | None, seed: int
    ) -> tuple[pd.DataFrame, pd.Series]:
        if entities is None:
            n = self.n_entities_ if n is None else int(n)
            if n < 0:
                raise UsageError(f"cannot draw {n} sequences")
            keys = self.key_format_.make(n, seed, "sequence", self.entity)
            if self.attr_columns_:
                raise UsageError(
                    "this model learnt its sequences given entity attributes "
                    f"({', '.join(self.attr_columns_)}): give entities=... to sample"
                )
            return pd.DataFrame(index=range(n)), keys
        missing = [c for c in self.attr_columns_ if c not in entities.columns]
        if missing:
            raise UsageError(f"the entities frame lacks column(s) {', '.join(missing)}")
        keys = pd.Series(entities.index.to_numpy(), dtype=object)
        if not self.attr_columns_:
            return pd.DataFrame(index=range(len(entities))), keys
        assert self.attr_schema_ is not None
        raw = entities.reset_index(drop=True)
        return framemod.to_model_frame(raw, self.attr_schema_, self.attr_columns_), keys

    # ---- save / load ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """``sequence.json`` and two generator folders (JSON + safetensors each)."""
        from synthgen.io.atomic import atomic_dir

        with atomic_dir(Path(path)) as tmp:
            (tmp / "sequence.json").write_text(
                json.dumps(statemod.to_json(self), indent=2), "utf-8"
            )
            self.entity_model_.save(tmp / "entities")
            self.step_model_.save(tmp / "steps")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> SequenceModel:
        """Read a saved model: JSON and safetensors only, no code runs."""
        p = Path(path)
        state = statemod.read(p / "sequence.json")
        self = cls(state.entity, state.order, state.params, state.anchor)
        statemod.apply(self, state)
        self.entity_model_ = Generator.load(p / "entities")
        self.step_model_ = Generator.load(p / "steps")
        return self


__all__ = ["SequenceModel"]
