"""A dataset drawn in shards of root entities: a customer (a patient) and every row under
them in one shard, so any worker can draw any shard and the dataset is the same.

The *root* is a table drawn on its own (no context parent) whose subtree (the tables drawn
per its rows, their children, ...) nothing outside references: by default the deepest such
subtree, then the one with the most rows. Every other table is *shared*: drawn once, from
the run's seed, before any shard (reference tables, the catalogue a basket's lines point
at, the other side of a many-to-many link), and given to every shard; a shard's rows may
reference shared rows, never another shard's.

Shard ``k`` holds root rows ``k * shard_rows ..`` (``generators.shards``: the root's rows
are the ``k``-th shard of one sample of its model, so its unique fakes stay unique) and all
their descendants, drawn with randomness from (seed, k) alone. Its key columns hold *local*
row numbers; the writer, taking shards in order, adds each table's count of rows numbered in
earlier shards and makes them keys in the column's format (``KeyFormat.render``), in every
foreign key that points at them too. So keys are unique without a global set, and the local
engine and Ray (any number of workers) give the same bytes for one shard size.

A root whose subtree is referenced from outside (a catalogue the lines point at) or that
holds a one-to-one reference to a shared table cannot be sharded: if no root can, the whole
dataset is drawn as the shared part, in one piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen.errors import UsageError
from synthgen.fixtures import rng as crng
from synthgen.generators.shards import sample_shard, shard_bounds, shard_count
from synthgen.relational.sampling import SamplingPass, sub_seed

if TYPE_CHECKING:
    from synthgen.relational.model import RelationalSynthesizer
    from synthgen.relational.plan import Plan

SHARD_ROOTS = 2_000  # root rows per shard (a shard's memory: these and their descendants)


@dataclass
class RootShard:
    """Shard ``k`` of the root table's ``total`` rows."""

    table: str
    total: int
    k: int
    shard_rows: int
    seed: int  # the run's seed: every shard draws from one sample of the root's model

    @property
    def rows(self) -> int:
        return shard_bounds(self.total, self.k, self.shard_rows)[1]

    def draw(self, gen: Any, conditions: Any, exclude: Any) -> pd.DataFrame:
        part = sample_shard(
            gen, self.total, self.k, seed=sub_seed(self.seed, self.table),
            shard_rows=self.shard_rows, conditions=conditions, exclude=exclude or {},
        )  # fmt: skip
        return part.reset_index(drop=True)


@dataclass
class ShardPlan:
    root: str | None
    sharded: list[str]  # the root's subtree, parents first
    shared: list[str]  # drawn once, parents first
    # table -> key column -> (table, column) whose local row numbers it holds
    numbered: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)  # roots that cannot be sharded


def subtree(plan: Plan, root: str) -> list[str]:
    """``root`` and the tables drawn per its rows, theirs, ... (parents first)."""
    out = [root]
    for t in plan.order:
        ctx = plan.tables[t].context
        if ctx is not None and ctx.ref_table in out and t not in out:
            out.append(t)
    return out


def _refs(plan: Plan, t: str) -> list[Any]:
    tp = plan.tables[t]
    return ([tp.context] if tp.context else []) + tp.assigned + tp.self_refs


def why_not(m: RelationalSynthesizer, root: str, inside: list[str]) -> str | None:
    """Why ``root``'s subtree cannot be drawn in shards (None: it can)."""
    plan = m.plan_
    for t in plan.order:
        for fk in _refs(plan, t):
            if t not in inside and fk.ref_table in inside:
                return f"{t} references {fk.ref_table} ({fk.describe(t)})"
            fid = ",".join(fk.columns)
            if t in inside and fk.ref_table not in inside and fid in plan.tables[t].one_to_one:
                return f"{t} references {fk.ref_table} one to one (shards would share rows)"
    return None


def shard_plan(m: RelationalSynthesizer, shard_by: str | None = None) -> ShardPlan:
    """The root a dataset is sharded by (``shard_by``, or the deepest shardable subtree,
    then the one with the most rows) and every key column a shard numbers locally."""
    plan = m.plan_
    roots = [t for t in plan.order if plan.tables[t].context is None and t not in m.lookups_]
    subtrees = {r: subtree(plan, r) for r in roots}
    why = {r: w for r in roots if (w := why_not(m, r, subtrees[r])) is not None}
    if shard_by is not None:
        if shard_by not in plan.order:
            raise UsageError(f"no table {shard_by} to shard by", hint=f"one of {plan.order}")
        if shard_by not in roots or shard_by in why:
            reason = why.get(shard_by, "it is drawn per row of another table, or kept whole")
            raise UsageError(f"cannot shard by {shard_by}: {reason}")
    ok = [r for r in roots if r not in why]

    def size(r: str) -> tuple[int, int, int]:
        depth = max(plan.depth(t) for t in subtrees[r])
        return depth, sum(m.rows_[t] for t in subtrees[r]), -plan.order.index(r)

    root = shard_by or (max(ok, key=size) if ok else None)
    inside = subtrees[root] if root else []
    out = ShardPlan(root, inside, [t for t in plan.order if t not in inside], why=why)
    out.numbered = {t: {c: (t, c) for c in plan.tables[t].own_keys} for t in inside}
    for _ in inside:  # a reference may copy a reference (a cut one: a later table's key)
        for t in inside:
            cols = out.numbered[t]
            for fk in _refs(plan, t):
                for c, rc in zip(fk.columns, fk.ref_columns, strict=True):
                    src = out.numbered.get(fk.ref_table, {}).get(rc)
                    if src is not None:
                        cols[c] = src
    return out


@dataclass
class Shard:
    """One shard's finished tables (key columns as local row numbers) and, per table, how
    many rows it numbered (the offset the next shard's keys start from)."""

    k: int
    tables: dict[str, pd.DataFrame]
    numbered: dict[str, int]


class DatasetSampler:
    """One sampling of a fitted relational model, cut into root shards."""

    def __init__(
        self,
        m: RelationalSynthesizer,
        *,
        seed: int = 0,
        ratio: float = 1.0,
        conditions: dict[str, dict] | None = None,
        shard_by: str | None = None,
        shard_rows: int = SHARD_ROOTS,
        roots: int | None = None,
        shared_ratio: float | None = None,
    ) -> None:
        """``roots``: the root rows to draw, in place of ``ratio``; ``shared_ratio``: the
        shared tables' scale (default: the roots', as an unsharded sample scales every
        table drawn on its own; 1: as many rows as the source's)."""
        if shard_rows < 1:
            raise UsageError(f"shard_rows must be at least 1, got {shard_rows}")
        self.m, self.seed, self.ratio = m, int(seed), float(ratio)
        self.conditions = conditions or {}
        self.shard_rows = int(shard_rows)
        self.plan = shard_plan(m, shard_by)
        root = self.plan.root
        if roots is not None:
            base = root or next((t for t in m.plan_.order if m.rows_[t]), m.plan_.order[0])
            self.ratio = roots / max(1, m.rows_[base])
        self.total = int(max(0, round(self.ratio * m.rows_[root]))) if root else 0
        if roots is not None and root is not None:
            self.total = int(roots)
        self.shared_ratio = self.ratio if shared_ratio is None else float(shared_ratio)
        self.count = shard_count(self.total, self.shard_rows) if root else 0

    def shared(self) -> SamplingPass:
        """The shared tables, drawn once from the run's seed."""
        st = SamplingPass(self.m, self.seed, self.conditions)
        for t in self.plan.shared:
            st.table(t, self.shared_ratio)
        _cut(st, self.plan.shared)
        for t in self.plan.sharded:  # the profiles shards match against, computed once
            for fk in self.m.plan_.tables[t].assigned:
                if fk.ref_table in self.plan.shared:
                    st.offer(fk.ref_table)
        return st

    def shard(self, shared: dict[str, Any], k: int) -> Shard:
        """Shard ``k``: its root rows and every row under them, randomness from (seed, k)."""
        assert self.plan.root is not None
        if not 0 <= k < self.count:
            raise UsageError(f"no shard {k} in {self.count} shard(s)")
        root = RootShard(self.plan.root, self.total, k, self.shard_rows, self.seed)
        st = SamplingPass(self.m, shard_seed(self.seed, k), self.conditions, root=root)
        st.take(shared)
        for t in self.plan.sharded:
            st.table(t, self.ratio)
        _cut(st, self.plan.sharded)
        tables = {t: st.finish(t, frozenset(self.plan.numbered[t])) for t in self.plan.sharded}
        return Shard(k, tables, {t: len(st.rows[t]) for t in self.plan.sharded})

    def shared_tables(self, shared: SamplingPass) -> dict[str, pd.DataFrame]:
        return {t: shared.finish(t) for t in self.plan.shared}


def shard_seed(seed: int, k: int) -> int:
    """Shard ``k``'s seed: from the run's seed and ``k`` alone (the first shard keeps the
    run's seed: a dataset of one shard is drawn as an unsharded pass draws it)."""
    return seed if k == 0 else crng.key(seed, "relational-shard", str(k)) % (2**31)


def _cut(st: SamplingPass, tables: list[str]) -> None:
    """References cut to break a cycle, once every table of ``tables`` exists."""
    for t in tables:
        tp = st.m.plan_.tables[t]
        for fk in tp.assigned:
            if ",".join(fk.columns) in tp.cut:
                st.assign(t, fk)


class KeyWriter:
    """Makes shards' local row numbers keys; give it the shards in order."""

    def __init__(self, m: RelationalSynthesizer, plan: ShardPlan, seed: int) -> None:
        self.m, self.plan, self.seed = m, plan, seed
        self.offsets = dict.fromkeys(plan.sharded, 0)
        self.next = 0

    def place(self, shard: Shard) -> dict[str, pd.DataFrame]:
        if shard.k != self.next:
            raise UsageError(f"shard {shard.k} came before shard {self.next}")
        out = {}
        for t, df in shard.tables.items():
            df = df.copy()
            for c, (o, oc) in self.plan.numbered[t].items():
                df[c] = self.m.formats_[t][c].cast(self._keys(df[c], o, oc))
            out[t] = df
        for t, n in shard.numbered.items():
            self.offsets[t] += n
        self.next += 1
        return out

    def _keys(self, local: pd.Series, o: str, oc: str) -> pd.Series:
        vals = local.to_numpy(dtype=object)
        has = np.array([v is not None and v == v for v in vals], dtype=bool)
        out = np.full(len(vals), None, dtype=object)
        if has.any():
            rows = self.offsets[o] + vals[has].astype(np.int64)
            out[has] = self.m.formats_[o][oc].render(rows, self.seed, o, oc).to_numpy(object)
        return pd.Series(out, dtype=object)


def join(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """A table's shards in order as one frame; a label column stays categorical."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    out = pd.concat(parts, ignore_index=True)
    for c in parts[0].columns:
        if isinstance(parts[0][c].dtype, pd.CategoricalDtype) and out[c].dtype == object:
            out[c] = out[c].astype("category")
    return out


def sample_tables(
    sampler: DatasetSampler, shards_of: Callable[[dict[str, Any]], Iterable[Shard]] | None = None
) -> dict[str, pd.DataFrame]:
    """Every table: the shared ones, drawn here, and the shards (``shards_of``: given the
    shared tables' state, the shards in order, e.g. from Ray; default: drawn here)."""
    st = sampler.shared()
    tables = sampler.shared_tables(st)
    if sampler.plan.root is None:
        return tables
    shared = st.state(sampler.plan.shared)
    shards = (
        shards_of(shared)
        if shards_of is not None
        else (sampler.shard(shared, k) for k in range(sampler.count))
    )
    writer = KeyWriter(sampler.m, sampler.plan, sampler.seed)
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in sampler.plan.sharded}
    for shard in shards:
        for t, df in writer.place(shard).items():
            parts[t].append(df)
    tables.update({t: join(v) for t, v in parts.items()})
    return tables
