"""One sampling pass of a dataset: tables parents first, children drawn per synthetic
parent (a sequence table as each parent's events), references assigned, keys made fresh."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen.dataset.spec import ForeignKey
from synthgen.errors import DataError, UsageError
from synthgen.fixtures import rng as crng
from synthgen.generators.shards import shard_count
from synthgen.relational import assign
from synthgen.relational import frames as fr
from synthgen.relational import sequence_tables as seqt
from synthgen.relational.learn import context_frame
from synthgen.relational.reference import distinct_labels
from synthgen.relational.shard_unique import owned_labels, unique_columns

if TYPE_CHECKING:
    from synthgen.relational.model import RelationalSynthesizer
    from synthgen.relational.shards import RootShard


def sub_seed(seed: int, *parts: str) -> int:
    """A table's own seed: counted from the run's seed and its name."""
    return crng.key(seed, *parts) % (2**31)


_sub = sub_seed


def _plain(gen: Any, n: int, seed: int, conditions: Any, **kw: Any) -> pd.DataFrame:
    """A table without rules: the generator's rows as they are."""
    return gen.sample(n, seed=seed, conditions=conditions, **kw)


class SamplingPass:
    """One sampling pass of a RelationalSynthesizer: synthetic features, contexts and keyed rows per table so far."""

    def __init__(
        self,
        m: RelationalSynthesizer,
        seed: int,
        conditions: dict[str, dict] | None = None,
        *,
        root: RootShard | None = None,
    ) -> None:
        """``root``: this pass draws one shard of the root table (``relational.shards``):
        its rows and those under them are numbered from 0 here (local row numbers in the
        key columns), the writer makes them fresh keys once it knows the earlier shards'."""
        self.m, self.seed = m, seed
        self.conditions = conditions or {}
        self.root = root
        self.feats: dict[str, pd.DataFrame] = {}
        self.ctx: dict[str, pd.DataFrame | None] = {}
        self.rows: dict[str, pd.DataFrame] = {}
        self.keep: dict[str, np.ndarray] = {}
        self.local: set[str] = set()  # tables whose own keys are local row numbers
        self.offers: dict[str, pd.DataFrame] = {}  # profile cells of tables drawn before

    def state(self, tables: list[str]) -> dict[str, Any]:
        """What later passes need of ``tables`` (plain frames and arrays: it travels to
        workers)."""
        drawn = {t: (self.feats[t], self.ctx[t], self.rows[t], self.keep[t]) for t in tables}
        return {"tables": drawn, "offers": dict(self.offers)}

    def take(self, state: dict[str, Any]) -> None:
        """Tables as another pass drew them (``state``: the shared tables, drawn once)."""
        for t, (feats, ctx, rows, keep) in state["tables"].items():
            self.feats[t], self.ctx[t], self.rows[t], self.keep[t] = feats, ctx, rows, keep
        self.offers = dict(state["offers"])

    def rng(self, *parts: str) -> np.random.Generator:
        return np.random.default_rng(crng.key(self.seed, *parts))

    def table(self, t: str, ratio: float) -> None:
        m, tp = self.m, self.m.plan_.tables[t]
        pidx = None
        ctx = None
        n_per = np.zeros(0)
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
        elif self.root is not None and t == self.root.table:
            n = self.root.rows
        else:
            n = int(max(0, round(ratio * m.rows_[t])))
        gen = m.models_[t]
        if t in self.conditions and (gen is None or t in m.lookups_):
            raise UsageError(
                f"cannot condition on {', '.join(self.conditions[t])}: table {t} is kept as "
                "it is (a reference table) or has nothing learnt to condition"
            )
        if t in m.lookups_:
            body = whole.iloc[self.rng(t, "lookup").permutation(n)]
        elif t in m.seq_models_ and tp.context is not None:  # the parents' events, in order
            p = tp.context.ref_table
            body = seqt.sample(
                m.seq_models_[t], self.feats[p], self.ctx[p], m.context_columns_[p],
                n_per, _sub(self.seed, t), m.exclude_.get(t),
            )  # fmt: skip
        elif gen is None:
            body = pd.DataFrame(index=range(n))
        elif self.root is not None and t == self.root.table and t not in m.rules_:
            body = self.root.draw(gen, self.conditions.get(t), m.exclude_.get(t))
        else:
            given = ctx if gen.context_ is not None else None
            draw = m.rules_[t].sample if t in m.rules_ else _plain
            body = draw(
                gen, n, _sub(self.seed, t), self.conditions.get(t), context=given,
                exclude=m.exclude_.get(t),
            )  # fmt: skip
        body = body.reset_index(drop=True)
        if tp.context is not None and pidx is not None:  # siblings ask for alike parents
            p_feats, r = self.feats[tp.context.ref_table], self.rng(t, "alike")
            body = assign.siblings_alike(body, t, tp, m.profiles_, p_feats, pidx, r)
        body = self._unique(t, body)
        self.feats[t], self.ctx[t] = body, ctx
        rows = pd.DataFrame(index=range(n))
        if self.root is not None:
            self.local.add(t)
        for c in tp.own_keys:
            if t in self.local:  # numbered here; made fresh keys by the writer
                rows[c] = np.arange(n, dtype=np.int64)
            else:
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

    def _unique(self, t: str, body: pd.DataFrame) -> pd.DataFrame:
        """Unique labels distinct, and in a dataset of several root shards every unique
        column unique over all of them (``shard_unique``)."""
        m, root = self.m, self.root
        shards = 1 if root is None else shard_count(root.total, root.shard_rows)
        for c, labels in m.labels_.get(t, {}).items():
            r = self.rng(t, c, "unique")
            if shards > 1:
                assert root is not None
                body[c] = owned_labels(body[c], labels, r, shard=root.k, shards=shards)
            else:
                body[c] = distinct_labels(body[c], labels, r)
        if root is None or shards <= 1 or (t == root.table and t not in m.rules_):
            return body  # the root's own draw numbers its rows over every shard
        model = m.models_[t]
        if t in m.seq_models_:  # a sequence's side columns are its step model's
            model = getattr(m.seq_models_[t], "step_model_", None)
        expected = m.rows_[t] * root.total / max(1, m.rows_[root.table])
        return unique_columns(
            body, model, shard=root.k, shards=shards, expected=int(expected),
            seed=_sub(root.seed, t), exclude=m.exclude_.get(t),
        )  # fmt: skip

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
        offer = self.offer(p)[[c.rsplit(".", 1)[1] for c in cols]]
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

    def offer(self, p: str) -> pd.DataFrame:
        """The profile cells of ``p``'s rows; a table drawn once (shared by every shard)
        has them computed once."""
        if p in self.offers:
            return self.offers[p]
        cells = fr.profile_cells(self.m.plan_, p, self.m.profiles_.get(p, []), self.rows)
        if p not in self.local and self.root is None:
            self.offers[p] = cells
        return cells

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

    def finish(self, t: str, numbered: frozenset[str] = frozenset()) -> pd.DataFrame:
        """Table ``t`` as written: its columns in order, keys in their dtypes (but the
        ``numbered`` columns, local row numbers the writer makes keys)."""
        rows = self.rows[t]
        has_children = bool(self.m.plan_.children(t) or self.m.plan_.referrers(t))
        if not has_children:
            rows = rows[self.keep[t]].reset_index(drop=True)
        for c in self.m.columns_[t]:
            if c not in rows:  # a table learnt from no rows is written empty
                rows[c] = pd.Series([None] * len(rows), dtype=object)
        for c, f in self.m.formats_[t].items():
            if c in numbered:
                continue
            rows[c] = f.cast(pd.Series(rows[c].to_numpy(), dtype=object))
        return rows[self.m.columns_[t]]
