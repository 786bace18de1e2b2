"""Proposed rules as `synthgen inspect` shows them: a terminal table and a recipe snippet."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_rules(out: Console, title: str, found: list[Any]) -> None:
    """``found``: detect.Found items. Prints what `run` keeps by default and how to drop."""
    if not found:
        out.print(f"{escape(title)}: no rule found that every row obeys")
        return
    table = getattr(found[0].rule, "table", None)  # one of several tables: drop names it
    drop = f'"{table}: ID"' if table else "ID"
    t = Table(
        title=f"{title}: rules every row obeys",
        caption=escape(f"`run` keeps them; leave one out with constraints: {{drop: [{drop}]}}"),
    )
    for col in ("id", "type", "rows checked", "exceptions"):
        t.add_column(col, overflow="fold")
    for f in found:
        ev = f.evidence
        t.add_row(
            escape(f.rule.key()),
            f.rule.type,
            f"{ev.get('rows_checked', 0):,}",
            str(ev.get("exceptions", 0)),
        )
    out.print(t)


def rules_json(found: list[Any]) -> list[dict[str, Any]]:
    return [f.to_json() for f in found]


def print_file_rules(out: Console, df: Any, schema: Any, name: str, rules_out: Any) -> None:
    """`synthgen inspect FILE`: the rules every row obeys, and ``--rules`` written."""
    import json

    from synthgen.constraints.detect import detect_rules
    from synthgen.io import write_text

    found = detect_rules(df, schema)
    print_rules(out, name, found)
    if rules_out is not None:
        write_text(rules_out, json.dumps(rules_json(found), indent=2, ensure_ascii=False))
        Console(stderr=True, highlight=False).print(f"wrote {rules_out}")
