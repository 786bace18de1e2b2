"""``RelationalSynthesizer``: learn every table of a dataset and draw a new dataset whose
keys are fresh and all resolve (see synthgen.relational.plan for the algorithm)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen import logs
from synthgen.dataset.data import Dataset
from synthgen.dataset.spec import DatasetSpec, ForeignKey
from synthgen.errors import DataError, UsageError
from synthgen.fixtures import rng as crng
from synthgen.generators import create
from synthgen.generators.base import Generator
from synthgen.relational import assign
from synthgen.relational import frames as fr
from synthgen.relational.keyformat import KeyFormat
from synthgen.relational.keyformat import learn as learn_format
from synthgen.relational.learn import context_frame, learn
from synthgen.relational.plan import Plan, make_plan
from synthgen.relational.reference import distinct_labels, is_lookup, records, unique_labels

FORMAT_VERSION = 1


class RelationalSynthesizer:
    """Constructors store parameters; ``fit`` learns, ``sample`` draws a Dataset."""

    def __init__(self, generator: str = "autoreg", params: dict[str, Any] | None = None) -> None:
        self.generator = generator
        self.params = dict(params or {})

    # ---- fit ------------------------------------------------------------------------------
    def fit(
        self,
        ds: Dataset,
        *,
        seed: int = 0,
        rows: dict[str, int] | None = None,
        say: Callable[[str], None] = logs.say,
    ) -> RelationalSynthesizer:
        """Learn ``ds``; ``rows``: the source's row counts (default: ``ds``'s), which a
        synthetic table without a context parent reproduces (times the sample ratio)."""
        self.warnings_: list[str] = []
        self.spec_ = ds.spec
        self.plan_ = make_plan(ds.spec, personal_unique(ds, seed))
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
        self.models_: dict[str, Generator | None] = {}
        self.exclude_ = {}
        from synthgen.pii.stage import pii_exclusions

        for t in self.plan_.order:
            f = lt.features[t]
            self.exclude_[t] = pii_exclusions(lt.frames[t][lt.own[t]], lt.schemas[t])
            if (
                f.shape[1] == 0 or len(f) == 0 or t in self.lookups_
            ):  # keys only, or an empty table: nothing to learn
                self.models_[t] = None
                continue
            if len(f) < 2:
                raise DataError(
                    f"table {t} has {len(f)} row(s) to learn from",
                    hint=f"give {t} at least 2 rows, or leave it out (source.tables)",
                )
            ctx = lt.contexts.get(t)
            say(f"fitting {t} ({len(f):,} rows x {f.shape[1]} columns)")
            gen = create(self.generator, **self.params)
            # a run scrubbed PII inside values before (relational.run), as pii.embedded says
            if ctx is not None and ctx.shape[1] > 0:
                gen.fit(f, lt.schemas[t], seed=_sub(seed, t), context=ctx, embedded_pii="keep")
            else:
                gen.fit(f, lt.schemas[t], seed=_sub(seed, t), embedded_pii="keep")
            self.models_[t] = gen
        return self

    # ---- sample ---------------------------------------------------------------------------
    def sample(self, *, seed: int = 0, ratio: float = 1.0) -> Dataset:
        """A synthetic dataset: parents first, children drawn per synthetic parent, keys
        fresh; the same seed gives the same dataset."""
        if not hasattr(self, "plan_"):
            from synthgen.errors import NotFittedError

            raise NotFittedError("fit (or load) the relational model before sampling")
        st = _State(self, seed)
        for t in self.plan_.order:
            st.table(t, ratio)
        for t in self.plan_.order:  # references cut to break a cycle, now every table exists
            tp = self.plan_.tables[t]
            for fk in tp.assigned:
                if ",".join(fk.columns) in tp.cut:
                    st.assign(t, fk)
        tables = {t: st.finish(t) for t in self.plan_.order}
        spec = DatasetSpec(
            tables=[t.model_copy(update={"rows": len(tables[t.name])}) for t in self.spec_]
        )
        return Dataset(spec, {t.name: tables[t.name] for t in self.spec_})

    # ---- save / load ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """``relational.json`` and one generator folder per table (JSON + safetensors)."""
        from synthgen.io.atomic import atomic_dir

        with atomic_dir(Path(path)) as tmp:
            (tmp / "relational.json").write_text(json.dumps(self._state(), indent=2), "utf-8")
            for t, gen in self.models_.items():
                if gen is not None:
                    gen.save(tmp / "tables" / _folder(self.plan_, t))
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
        }

    @classmethod
    def load(cls, path: str | Path) -> RelationalSynthesizer:
        """Read a saved model: JSON and safetensors only, no code runs."""
        from synthgen.io.jsonfile import read_json

        p = Path(path)
        data = read_json(p / "relational.json", max_bytes=64 << 20)
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise UsageError(f"{p / 'relational.json'}: not a relational model of this version")
        self = cls(data["generator"], data["params"])
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
        self.exclude_ = {}
        self.warnings_ = []
        return self


def personal_unique(ds: Dataset, seed: int) -> dict[str, set[str]]:
    """One-column UNIQUE columns (not the primary key) whose values are personal data: an
    email is faked (uniquely) like any PII column, not numbered like a key."""
    from synthgen.schema import detect

    out: dict[str, set[str]] = {}
    for t in ds.spec:
        cols = [
            u.columns[0]
            for u in t.unique
            if len(u.columns) == 1 and u.columns != t.primary_key and u.columns[0] in ds[t.name]
        ]
        if cols:
            kinds = detect(ds[t.name][cols], seed=seed)
            out[t.name] = {c.name for c in kinds.columns if c.kind == "pii"}
    return out


def _sub(seed: int, *parts: str) -> int:
    return crng.key(seed, *parts) % (2**31)


def _folder(plan: Plan, t: str) -> str:
    """A file-system-safe folder name per table (its position and a cleaned name)."""
    clean = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in t)[:60]
    return f"{plan.order.index(t):03d}-{clean}"


class _State:
    """One sampling pass: synthetic features, contexts and keyed rows per table so far."""

    def __init__(self, m: RelationalSynthesizer, seed: int) -> None:
        self.m, self.seed = m, seed
        self.feats: dict[str, pd.DataFrame] = {}
        self.ctx: dict[str, pd.DataFrame | None] = {}
        self.rows: dict[str, pd.DataFrame] = {}
        self.keep: dict[str, np.ndarray] = {}

    def rng(self, *parts: str) -> np.random.Generator:
        return np.random.default_rng(crng.key(self.seed, *parts))

    def table(self, t: str, ratio: float) -> None:
        m, tp = self.m, self.m.plan_.tables[t]
        pidx = None
        ctx = None
        if t in m.lookups_:  # a reference table: its rows as they are, in a seeded order
            whole = pd.DataFrame(m.lookups_[t]["data"], columns=m.lookups_[t]["columns"])
            n = len(whole)
        elif tp.context is not None:
            p = tp.context.ref_table
            n_per = self.feats[p][f"__n.{t}.{','.join(tp.context.columns)}"]
            n_per = np.clip(np.rint(pd.to_numeric(n_per).fillna(0).to_numpy(float)), 0, None)
            n_per = self._calibrated(t, n_per, ratio)
            if ",".join(tp.context.columns) in tp.one_to_one:
                n_per = np.minimum(n_per, 1)
            pidx = np.repeat(np.arange(len(n_per)), n_per.astype(np.int64))
            cf = context_frame(self.feats[p], self.ctx[p], m.context_columns_[p])
            ctx = cf.iloc[pidx].reset_index(drop=True)
            n = len(pidx)
        else:
            n = int(max(0, round(ratio * m.rows_[t])))
        gen = m.models_[t]
        if t in m.lookups_:
            body = whole.iloc[self.rng(t, "lookup").permutation(n)]
        elif gen is None:
            body = pd.DataFrame(index=range(n))
        else:
            given = ctx if gen.context_ is not None else None
            body = gen.sample(n, seed=_sub(self.seed, t), context=given, exclude=m.exclude_.get(t))
        body = body.reset_index(drop=True)
        for c, labels in m.labels_.get(t, {}).items():
            body[c] = distinct_labels(body[c], labels, self.rng(t, c, "unique"))
        self.feats[t], self.ctx[t] = body, ctx
        rows = pd.DataFrame(index=range(n))
        for c in tp.own_keys:
            rows[c] = m.formats_[t][c].make(n, self.seed, t, c).to_numpy()
        if tp.context is not None and pidx is not None:
            self._put(rows, tp.context, self.rows[tp.context.ref_table], pidx)
        self.rows[t] = rows
        for fk in tp.assigned:
            if ",".join(fk.columns) not in tp.cut:
                self.assign(t, fk)
        for fk in tp.self_refs:
            self._forest(t, fk)
        self.keep[t] = self._distinct(t)
        for c in m.columns_[t]:
            if c in body.columns:
                rows[c] = body[c].to_numpy()

    def _calibrated(self, t: str, n_per: np.ndarray, ratio: float) -> np.ndarray:
        """Children per synthetic parent, rescaled so the table keeps the source's children
        per parent on average (a model's count column can drift; its shape is kept)."""
        m, tp = self.m, self.m.plan_.tables[t]
        assert tp.context is not None
        p = tp.context.ref_table
        per_parent = m.rows_[t] / max(1, m.rows_[p])
        target = int(round(per_parent * len(n_per)))
        if len(n_per) == 0 or n_per.sum() == target:
            return n_per
        cap = self._pair_cap(t)
        r = self.rng(t, "counts")
        out = assign.scale_degrees(n_per, target, r)
        for _ in range(4):  # a link row per pair at most: move the excess to other parents
            over = out > cap
            if not over.any() or (~over).sum() == 0:
                break
            excess = int((out[over] - cap).sum())
            out[over] = cap
            room = np.where(~over, out, 0).astype(float)
            out = out + assign.scale_degrees(room, excess, r) * (~over)
        return np.minimum(out, cap).astype(float)

    def _pair_cap(self, t: str) -> float:
        """At most this many children per parent: a link table holds each pair once."""
        tp = self.m.plan_.tables[t]
        others = [fk for fk in tp.assigned if ",".join(fk.columns) in tp.joint]
        if not others or tp.context is None or ",".join(tp.context.columns) not in tp.joint:
            return float("inf")
        return float(np.prod([len(self.rows[fk.ref_table]) for fk in others]))

    def _put(
        self, rows: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame, idx: np.ndarray
    ) -> None:
        for c, rc in zip(fk.columns, fk.ref_columns, strict=True):
            vals = parent[rc].to_numpy(dtype=object)
            rows[c] = pd.Series([vals[i] if i >= 0 else None for i in idx], dtype=object).to_numpy()

    def assign(self, t: str, fk: ForeignKey) -> None:
        m, body, fid = self.m, self.feats[t], ",".join(fk.columns)
        p = fk.ref_table
        n = len(body)
        has = (
            body[f"__has.{fid}"].astype(bool).to_numpy()
            if f"__has.{fid}" in body
            else np.ones(n, bool)
        )
        cols = [c for c in body.columns if c.startswith(f"__want.{fid}.")]
        want = body.loc[has, cols].reset_index(drop=True).astype(object)
        offer = fr.profile_cells(m.plan_, p, m.profiles_.get(p, []), self.rows)[
            [c.rsplit(".", 1)[1] for c in cols]
        ]
        offer.columns = cols
        r = self.rng(t, fid, "assign")
        if len(self.rows[p]) == 0:
            if has.any():
                raise DataError(
                    f"{t}: {p} got no synthetic rows, so {fk.describe(t)} cannot resolve"
                )
            idx = np.full(n, -1)
        else:
            deg_col = f"__deg.{t}.{fid}"
            deg = (
                self.feats[p][deg_col].to_numpy(float)
                if deg_col in self.feats[p]
                else np.ones(len(offer))
            )
            if fid in m.plan_.tables[t].one_to_one:
                deg = np.minimum(deg, 1)
            deg = assign.scale_degrees(deg, int(has.sum()), r)
            idx = np.full(n, -1)
            idx[has] = assign.match(want, offer, deg, r)
        self._put(self.rows[t], fk, self.rows[p], idx)

    def _forest(self, t: str, fk: ForeignKey) -> None:
        fid = ",".join(fk.columns)
        depth = self.feats[t][f"__depth.{fid}"].to_numpy(float)
        par = assign.forest(depth, self.rng(t, fid, "forest"))
        rows = self.rows[t]
        nullable = self.m.spec_[t].nullable_fk(fk)
        if not nullable:  # a root that may not be empty points at itself
            par = np.where(par < 0, np.arange(len(par)), par)
        self._put(rows, fk, rows, par)

    def _distinct(self, t: str) -> np.ndarray:
        """Link-table rows: no pair twice (the last assigned side moved, else the row left out)."""
        tp = self.m.plan_.tables[t]
        rows = self.rows[t]
        keep = np.ones(len(rows), dtype=bool)
        if not tp.joint or tp.context is None:
            return keep
        moved = [fk for fk in tp.assigned if ",".join(fk.columns) in tp.joint]
        if not moved:
            return keep
        fk = moved[-1]
        left = fr.key_of(rows, [c for c in tp.key_columns if c not in fk.columns and c in rows])
        parent = self.rows[fk.ref_table]
        right = fr.parent_index(rows, fk, parent)
        codes = pd.factorize(left)[0]
        new, keep = assign.distinct_pairs(codes, right, len(parent), self.rng(t, "distinct"))
        self._put(rows, fk, parent, new)
        return keep

    def finish(self, t: str) -> pd.DataFrame:
        rows = self.rows[t]
        has_children = bool(self.m.plan_.children(t) or self.m.plan_.referrers(t))
        if not has_children:
            rows = rows[self.keep[t]].reset_index(drop=True)
        for c in self.m.columns_[t]:
            if c not in rows:  # a table learnt from no rows is written empty
                rows[c] = pd.Series([None] * len(rows), dtype=object)
        for c, f in self.m.formats_[t].items():
            rows[c] = f.cast(pd.Series(rows[c].to_numpy(), dtype=object))
        return rows[self.m.columns_[t]]
