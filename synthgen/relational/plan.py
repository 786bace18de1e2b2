"""The relational plan: which table is learnt from which, and how every key is filled.

Tables are taken parents first (``DatasetSpec.order``; a cycle is cut at a nullable foreign
key). Each table has at most one *context* foreign key: its rows are drawn per synthetic
parent row, as many as the parent's learnt child count, given the parent's attributes. Every
other reference is *assigned*: matched to parents so that each parent keeps its learnt degree
and the profile the child asked for. A self-reference becomes a forest with the source's
depth distribution. A key made only of foreign keys (a link table) holds no pair twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.dataset.spec import DatasetSpec, ForeignKey, TableSpec


def fk_id(fk: ForeignKey) -> str:
    """A foreign key's name in feature columns: its columns, joined."""
    return ",".join(fk.columns)


@dataclass
class TablePlan:
    name: str
    context: ForeignKey | None = None  # the parent the rows are drawn per
    assigned: list[ForeignKey] = field(default_factory=list)  # other references, matched
    self_refs: list[ForeignKey] = field(default_factory=list)  # a forest each
    cut: list[str] = field(default_factory=list)  # fk_ids filled after every table exists
    joint: list[str] = field(default_factory=list)  # fk_ids whose columns form a unique key
    one_to_one: list[str] = field(default_factory=list)  # fk_ids whose columns are unique
    own_keys: list[str] = field(default_factory=list)  # key columns made fresh here
    key_columns: list[str] = field(default_factory=list)  # every key column (not modelled)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["context"] = self.context.model_dump(mode="json") if self.context else None
        out["assigned"] = [fk.model_dump(mode="json") for fk in self.assigned]
        out["self_refs"] = [fk.model_dump(mode="json") for fk in self.self_refs]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TablePlan:
        data = dict(data)
        ctx = data.pop("context")
        return cls(
            context=ForeignKey.model_validate(ctx) if ctx else None,
            assigned=[ForeignKey.model_validate(f) for f in data.pop("assigned")],
            self_refs=[ForeignKey.model_validate(f) for f in data.pop("self_refs")],
            **data,
        )


@dataclass
class Plan:
    order: list[str]
    tables: dict[str, TablePlan]

    def children(self, parent: str) -> list[tuple[str, ForeignKey]]:
        """Tables drawn per row of ``parent`` (their context key points at it)."""
        return [
            (t.name, t.context)
            for t in self.tables.values()
            if t.context is not None and t.context.ref_table == parent
        ]

    def referrers(self, parent: str) -> list[tuple[str, ForeignKey]]:
        """Assigned references to ``parent`` (each parent row keeps a learnt degree)."""
        return [
            (t.name, fk)
            for t in self.tables.values()
            for fk in t.assigned
            if fk.ref_table == parent
        ]

    def depth(self, name: str) -> int:
        """How many context parents are above a table."""
        d, t = 0, self.tables[name]
        while t.context is not None:
            d, t = d + 1, self.tables[t.context.ref_table]
        return d

    def to_json(self) -> dict[str, Any]:
        return {"order": self.order, "tables": [self.tables[n].to_json() for n in self.order]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        tables = [TablePlan.from_json(t) for t in data["tables"]]
        return cls(list(data["order"]), {t.name: t for t in tables})


def make_plan(spec: DatasetSpec, personal: dict[str, set[str]] | None = None) -> Plan:
    """``personal``: per table, one-column UNIQUE columns holding personal data (an email):
    they are faked uniquely by the table's generator, not numbered as keys."""
    order, cut = spec.order()
    cut_ids = {(t, fk_id(fk)) for t, fk in cut}
    referenced: dict[str, set[str]] = {}
    for _t, fk in spec.edges():
        referenced.setdefault(fk.ref_table, set()).update(fk.ref_columns)
    tables = {}
    for name in order:
        t = spec[name]
        free = (personal or {}).get(name, set()) - referenced.get(name, set())
        tables[name] = _table_plan(t, {i for n, i in cut_ids if n == name}, referenced, free)
    return Plan(order, tables)


def _table_plan(
    t: TableSpec, cut: set[str], referenced: dict[str, set[str]], free: set[str]
) -> TablePlan:
    keys = [t.primary_key] if t.primary_key else []
    keys += [u.columns for u in t.unique if not (len(u.columns) == 1 and u.columns[0] in free)]
    fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
    plan = TablePlan(name=t.name, cut=sorted(cut))
    for key in keys:
        cover = [fk for fk in t.foreign_keys if set(fk.columns) <= set(key)]
        if len(cover) == 1 and set(cover[0].columns) == set(key):
            plan.one_to_one.append(fk_id(cover[0]))
        elif len(cover) > 1 and set().union(*(fk.columns for fk in cover)) == set(key):
            plan.joint = [fk_id(fk) for fk in cover]
    others = [fk for fk in t.foreign_keys if fk.ref_table != t.name]
    plan.self_refs = [fk for fk in t.foreign_keys if fk.ref_table == t.name]
    # the context parent: a reference every row has (not cut, not nullable); a link table
    # is drawn per its first parent, the other side matched
    candidates = [fk for fk in others if fk_id(fk) not in cut and not t.nullable_fk(fk)]
    plan.context = candidates[0] if candidates else None
    plan.assigned = [fk for fk in others if fk is not plan.context]
    own = [c for key in keys for c in key if c not in fk_cols]
    own += sorted(referenced.get(t.name, set()) - fk_cols)
    plan.own_keys = list(dict.fromkeys(own))
    plan.key_columns = list(dict.fromkeys(plan.own_keys + sorted(fk_cols)))
    return plan
