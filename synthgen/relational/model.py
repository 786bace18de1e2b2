"""``RelationalSynthesizer``: learn every table of a dataset and draw a new dataset whose
keys are fresh and all resolve (see synthgen.relational.plan for the algorithm)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen import logs
from synthgen.constraints.stage import ConstraintRun, restore_sampler
from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import DatasetSpec
from synthgen.errors import DataError, RecipeError, UsageError
from synthgen.generators import create, distributed
from synthgen.generators.base import Generator
from synthgen.relational import frames as fr
from synthgen.relational import sequence_tables as seqt
from synthgen.relational.keyformat import KeyFormat
from synthgen.relational.keyformat import learn as learn_format
from synthgen.relational.learn import learn, personal_unique
from synthgen.relational.plan import Plan, make_plan
from synthgen.relational.reference import is_lookup, records, unique_labels
from synthgen.relational.rules import TableRules, fit_frames, table_run
from synthgen.relational.sampling import sub_seed as _sub

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from synthgen.relational.shards import DatasetSampler
    from synthgen.sequences.model import SequenceModel

FORMAT_VERSION = 1


class RelationalSynthesizer:
    """Constructors store parameters; ``fit`` learns, ``sample`` draws a Dataset."""

    def __init__(
        self,
        generator: str = "autoreg",
        params: dict[str, Any] | None = None,
        sequences: dict[str, str] | None = None,
    ) -> None:
        """``sequences``: table -> order column, for child tables learnt as each parent's
        events in order (see synthgen.relational.sequence_tables)."""
        self.generator = generator
        self.params = dict(params or {})
        self.sequences = dict(sequences or {})

    # ---- fit ------------------------------------------------------------------------------
    def fit(
        self,
        ds: Dataset,
        *,
        seed: int = 0,
        rows: dict[str, int] | None = None,
        say: Callable[[str], None] = logs.say,
        rules: dict[str, TableRules] | None = None,
        private: bool = False,
    ) -> RelationalSynthesizer:
        """Learn ``ds``; ``rows``: the source's row counts (default: ``ds``'s), which a
        synthetic table without a context parent reproduces (times the sample ratio);
        ``rules``: each table's rules (``relational.rules.split_rules``), detected ones too
        unless ``private``."""
        self.warnings_: list[str] = []
        self.spec_ = ds.spec
        self.plan_ = make_plan(ds.spec, personal_unique(ds, seed))
        cols = {t: [str(c) for c in ds[t].columns] for t in self.plan_.order}
        bad = seqt.problems(self.plan_, cols, self.sequences, self.generator)
        if bad:
            raise RecipeError("these tables cannot be learnt as sequences:", problems=bad)
        lt = learn(ds, self.plan_, seed, self.warnings_)
        self.rows_ = {t: int((rows or {}).get(t, len(ds[t]))) for t in self.plan_.order}
        self.columns_ = {t: [str(c) for c in ds[t].columns] for t in self.plan_.order}
        self.formats_ = {
            t: {c: learn_format(ds[t][c]) for c in self.plan_.tables[t].key_columns}
            for t in self.plan_.order
        }
        self.profiles_ = lt.profiles
        self.labels_ = {
            t: unique_labels(ds.spec[t], lt.frames[t], lt.schemas[t]) for t in self.plan_.order
        }
        self.context_columns_ = lt.context_columns
        self.lookups_ = {
            t: records(lt.features[t])
            for t in self.plan_.order
            if is_lookup(self.plan_, t, lt.frames[t][lt.own[t]], lt.schemas[t])
        }
        parts = self._entity_parts(ds, lt.frames, seed, say)
        self.models_: dict[str, Generator | None] = {}
        self.seq_models_: dict[str, SequenceModel] = {}  # sequence tables' models
        self.exclude_ = {}
        self.runs_: dict[str, ConstraintRun] = {}  # each table's rules, for the report
        from synthgen.pii.stage import pii_exclusions

        for t in self.plan_.order:
            f = lt.features[t]
            self.exclude_[t] = pii_exclusions(lt.frames[t][lt.own[t]], lt.schemas[t])
            if t in self.sequences:  # its rules kept as each parent's events are drawn
                order = self.sequences[t]
                run = table_run(
                    rules, t, f, lt.schemas[t], private=private, modelled=True,
                    warnings=self.warnings_, protect=(order,),
                )  # fmt: skip
                if run is not None:
                    self.runs_[t] = run
                say(f"fitting {t} ({len(f):,} rows) as each parent's sequence")
                self.models_[t] = None
                with distributed.training(None):  # a sequence model trains here
                    self.seq_models_[t] = seqt.fit(
                        lt, self.plan_, t, order, self.params, _sub(seed, t), run
                    )
                continue
            learnt = not (f.shape[1] == 0 or len(f) == 0 or t in self.lookups_)
            run = table_run(
                rules, t, f, lt.schemas[t], private=private, modelled=learnt,
                warnings=self.warnings_,
            )  # fmt: skip
            if run is not None:
                self.runs_[t] = run
            if not learnt:  # keys only, an empty table, a reference table: nothing to learn
                self.models_[t] = None
                continue
            if len(f) < 2:
                raise DataError(
                    f"table {t} has {len(f)} row(s) to learn from",
                    hint=f"give {t} at least 2 rows, or leave it out (source.tables)",
                )
            say(f"fitting {t} ({len(f):,} rows x {f.shape[1]} columns)")
            f, schema, ctx = fit_frames(run, f, lt.contexts.get(t))
            gen = create(self.generator, **self.params)
            on = distributed.cluster()
            if on is not None and parts is not None:  # this table's rows, each on its worker
                mine = parts[t] if run is None or run.kept_ is None else parts[t][run.kept_]
                on = dataclasses.replace(on, parts=mine)
            # a run scrubbed PII inside values before (relational.run), as pii.embedded says
            with distributed.training(on):
                if ctx is not None and ctx.shape[1] > 0:
                    gen.fit(
                        f, schema or lt.schemas[t], seed=_sub(seed, t), context=ctx,
                        embedded_pii="keep",
                    )  # fmt: skip
                else:
                    gen.fit(f, schema or lt.schemas[t], seed=_sub(seed, t), embedded_pii="keep")
            self.models_[t] = gen
        self.rules_ = {t: r.sampler for t, r in self.runs_.items() if r.sampler is not None}
        return self

    def _entity_parts(
        self, ds: Dataset, frames: dict[str, pd.DataFrame], seed: int, say: Callable[[str], None]
    ) -> dict[str, np.ndarray] | None:
        """Inside ``distributed.training(cluster)`` with more than one worker: each training
        row's worker, by root entity (``relational.entity_parts``); else None."""
        on = distributed.cluster()
        if on is None or not create(self.generator, **self.params).trains_on_own_rows:
            return None
        from synthgen.scale.ray_train import training_workers

        w = on.workers or training_workers(on)
        if w < 2:
            return None
        from synthgen.relational.entity_parts import entity_parts

        entity, parts = entity_parts(ds, frames, w, seed)
        say(
            f"training on {w} Ray workers, sharded by {entity}: each {entity} row and every "
            "row below it on one worker"
        )
        return parts

    # ---- sample ---------------------------------------------------------------------------
    def sample(
        self,
        *,
        seed: int = 0,
        ratio: float = 1.0,
        conditions: dict[str, Any] | None = None,
        shard_by: str | None = None,
        shard_rows: int | None = None,
    ) -> Dataset:
        """A synthetic dataset: parents first, children drawn per synthetic parent, keys
        fresh; the same seed gives the same dataset. ``conditions`` (``--where``) fix
        columns of tables drawn on their own (see synthgen.relational.conditions). Drawn
        in shards of ``shard_rows`` root entities (``relational.shards``; ``shard_by``
        names the root table), the same rows as on Ray with any number of workers."""
        from synthgen.relational.shards import SHARD_ROOTS, sample_tables

        tables = sample_tables(
            self.sampler(seed, ratio, conditions, shard_by, shard_rows or SHARD_ROOTS)
        )
        return self.as_dataset(tables)

    def sampler(
        self,
        seed: int = 0,
        ratio: float = 1.0,
        conditions: dict[str, Any] | None = None,
        shard_by: str | None = None,
        shard_rows: int | None = None,
        roots: int | None = None,
        shared_ratio: float | None = None,
    ) -> DatasetSampler:
        """The shards of one sampling (``relational.shards.DatasetSampler``)."""
        if not hasattr(self, "plan_"):
            from synthgen.errors import NotFittedError

            raise NotFittedError("fit (or load) the relational model before sampling")
        from synthgen.relational.conditions import by_table
        from synthgen.relational.shards import SHARD_ROOTS, DatasetSampler

        return DatasetSampler(
            self, seed=seed, ratio=ratio,
            conditions=by_table(self.plan_, self.columns_, conditions),
            shard_by=shard_by, shard_rows=shard_rows or SHARD_ROOTS, roots=roots,
            shared_ratio=shared_ratio,
        )  # fmt: skip

    def as_dataset(self, tables: dict[str, Any]) -> Dataset:
        """Every table's rows as a Dataset in the source's table order."""
        spec = self.as_dataset_spec({t: len(df) for t, df in tables.items()})
        return Dataset(spec, {t.name: tables[t.name] for t in self.spec_})

    def as_dataset_spec(self, rows: dict[str, int]) -> DatasetSpec:
        """The source's tables and keys with these row counts."""
        return DatasetSpec(tables=[t.model_copy(update={"rows": rows[t.name]}) for t in self.spec_])

    # ---- save / load ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """``relational.json`` and one generator folder per table (JSON + safetensors)."""
        from synthgen.io.atomic import atomic_dir

        with atomic_dir(Path(path)) as tmp:
            (tmp / "relational.json").write_text(json.dumps(self._state(), indent=2), "utf-8")
            for t, gen in self.models_.items():
                if gen is not None:
                    gen.save(tmp / "tables" / _folder(self.plan_, t))
            for t, seq in self.seq_models_.items():
                seq.save(tmp / "sequences" / _folder(self.plan_, t))
        return Path(path)

    def _state(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "generator": self.generator,
            "params": self.params,
            "spec": json.loads(self.spec_.to_json()),
            "plan": self.plan_.to_json(),
            "rows": self.rows_,
            "columns": self.columns_,
            "formats": {
                t: {c: f.to_json() for c, f in v.items()} for t, v in self.formats_.items()
            },
            "profiles": {t: [p.to_json() for p in v] for t, v in self.profiles_.items()},
            "context_columns": self.context_columns_,
            "labels": self.labels_,
            "lookups": self.lookups_,
            "models": {t: g is not None for t, g in self.models_.items()},
            "rules": {t: r.state() for t, r in self.runs_.items() if r.sampler is not None},
            "sequences": self.sequences,
        }

    @classmethod
    def load(cls, path: str | Path) -> RelationalSynthesizer:
        """Read a saved model: JSON and safetensors only, no code runs."""
        from synthgen.io.jsonfile import read_json

        p = Path(path)
        data = read_json(p / "relational.json", max_bytes=64 << 20)
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise UsageError(f"{p / 'relational.json'}: not a relational model of this version")
        self = cls(data["generator"], data["params"], data.get("sequences"))
        self.spec_ = DatasetSpec.model_validate(data["spec"])
        self.plan_ = Plan.from_json(data["plan"])
        self.rows_ = {k: int(v) for k, v in data["rows"].items()}
        self.columns_ = data["columns"]
        self.formats_ = {
            t: {c: KeyFormat.from_json(f) for c, f in v.items()} for t, v in data["formats"].items()
        }
        self.profiles_ = {
            t: [fr.ProfileColumn(**x) for x in v] for t, v in data["profiles"].items()
        }
        self.context_columns_ = data["context_columns"]
        self.labels_ = data["labels"]
        self.lookups_ = data["lookups"]
        self.models_ = {
            t: Generator.load(p / "tables" / _folder(self.plan_, t)) if has else None
            for t, has in data["models"].items()
        }
        from synthgen.sequences.model import SequenceModel

        self.seq_models_ = {
            t: SequenceModel.load(p / "sequences" / _folder(self.plan_, t)) for t in self.sequences
        }
        self.exclude_ = {}
        self.warnings_ = []
        self.runs_ = {}
        try:
            self.rules_ = {t: restore_sampler(v) for t, v in (data.get("rules") or {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:  # pydantic's too
            raise UsageError(
                f"{p / 'relational.json'}: its rules are damaged ({type(err).__name__})"
            ) from None
        seqt.keep_rules(self.seq_models_, self.rules_)
        return self


def _folder(plan: Plan, t: str) -> str:
    """A file-system-safe folder name per table (its position and a cleaned name)."""
    clean = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in t)[:60]
    return f"{plan.order.index(t):03d}-{clean}"
