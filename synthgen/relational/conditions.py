"""Conditions (``--where``) of a dataset run: on the tables drawn on their own (no parent
they are drawn per: a patient, a customer). Their rows then all match, and every table drawn
per them follows (a female patient's admissions and lab events). A child table's rows are
drawn given their parent, so a condition on one is refused, saying so."""

from __future__ import annotations

from typing import Any

from synthgen.errors import UsageError
from synthgen.relational.plan import Plan


def by_table(
    plan: Plan, columns: dict[str, list[str]], conditions: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Each condition's table: ``Table.column``, or a column name one table has (keys
    aside). An unknown, ambiguous, key or child-table column is a UsageError naming what a
    condition may name."""
    if not conditions:
        return {}
    own = {
        t: [c for c in columns.get(t, []) if c not in plan.tables[t].key_columns]
        for t in plan.order
    }
    roots = [t for t in plan.order if plan.tables[t].context is None]
    allowed = ", ".join(f"{t}.{c}" for t in roots for c in own[t]) or "none"
    out: dict[str, dict[str, Any]] = {}
    for name, cond in conditions.items():
        table, col = _split(name, plan)
        holders = [table] if table else [t for t in plan.order if col in own[t]]
        if table and col not in own[table]:
            holders = []
        if not holders:
            keyed = [t for t in ([table] if table else plan.order) if col in columns.get(t, [])]
            why = "it is a key, made fresh" if keyed else "no table has that column"
            raise UsageError(f"cannot condition on {name!r}: {why}", hint=f"columns: {allowed}")
        if len(holders) > 1:
            raise UsageError(
                f"cannot condition on {name!r}: tables {', '.join(holders)} all have it",
                hint=f"name it with its table: {', '.join(f'{t}.{col}' for t in holders)}",
            )
        t = holders[0]
        ctx = plan.tables[t].context
        if ctx is not None:
            raise UsageError(
                f"cannot condition on {t}.{col}: {t}'s rows are drawn per their "
                f"{ctx.ref_table} (given its attributes), so a condition applies to the "
                "tables drawn on their own",
                hint=f"columns a condition may name: {allowed}",
            )
        out.setdefault(t, {})[col] = cond
    return out


def _split(name: str, plan: Plan) -> tuple[str, str]:
    """``Table.column`` -> (Table, column); a bare column (which may hold dots) -> ('', it)."""
    for t in sorted(plan.tables, key=len, reverse=True):
        if name.startswith(t + "."):
            return t, name[len(t) + 1 :]
    return "", name
