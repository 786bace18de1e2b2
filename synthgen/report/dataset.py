"""A dataset's inspection, rendered: a standalone HTML page (relationship graph, tables,
relationships, warnings, columns) and the same tables for the terminal. Renders a spec and
a profile; computes nothing about the data."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthgen.dataset.keys import count
from synthgen.dataset.profile import DatasetProfile, RelationshipProfile
from synthgen.dataset.spec import DatasetSpec
from synthgen.report.graph import relationship_graph
from synthgen.report.html import CSS
from synthgen.report.sections import esc, note, section, table
from synthgen.schema.spec import Schema


def cardinality(r: RelationshipProfile) -> str:
    """Children per parent as ``min / median / max``."""
    return f"{r.children_min:,} / {r.children_median:g} / {r.children_max:,}"


def orphans(r: RelationshipProfile) -> str:
    if not r.orphans:
        return "0"
    values = f"{r.orphan_values:,} value{'' if r.orphan_values == 1 else 's'}"
    return f"{r.orphans:,} ({values}, e.g. {', '.join(r.orphan_examples[:3])})"


def _key(columns: list[str]) -> str:
    return " + ".join(columns) if columns else "(none)"


def _table_rows(spec: DatasetSpec, prof: DatasetProfile) -> list[list[str]]:
    rows = []
    for t in prof.tables:
        ts = spec[t.name]
        uniques = "; ".join(_key(u.columns) for u in ts.unique)
        pk = _key(t.primary_key) + (f" ({t.primary_key_origin})" if t.primary_key_origin else "")
        rows.append([t.name, f"{t.rows:,}", f"{t.columns:,}", pk, uniques])
    return rows


def _relationship_rows(prof: DatasetProfile) -> list[list[str]]:
    return [
        [
            r.describe(),
            cardinality(r),
            f"{r.childless_share:.0%}",
            orphans(r),
            r.origin,
            r.evidence or "",
        ]
        for r in prof.relationships
    ]


TABLE_HEADERS = ["table", "rows", "columns", "primary key", "unique keys"]
RELATIONSHIP_HEADERS = [
    "child -> parent",
    "children per parent (min / median / max)",
    "childless parents",
    "orphans",
    "origin",
    "evidence",
]


def print_dataset(console: Console, spec: DatasetSpec, prof: DatasetProfile, title: str) -> None:
    """The tables, the relationships and the warnings, for the terminal."""
    tables, rels = console_tables(spec, prof, title)
    console.print(tables)
    console.print(rels if prof.relationships else "relationships: no foreign keys found")
    for w in prof.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")


def console_tables(spec: DatasetSpec, prof: DatasetProfile, title: str) -> tuple[Table, Table]:
    """The tables and relationships tables for the terminal."""
    tables = Table(title=f"{title}: {count(len(prof.tables), 'table')}")
    for h in TABLE_HEADERS:
        tables.add_column(
            h, overflow="fold", justify="right" if h in ("rows", "columns") else "left"
        )
    for row in _table_rows(spec, prof):
        tables.add_row(*row, style=None if row[3] != "(none)" else "yellow")
    rels = Table(title=f"relationships: {count(len(prof.relationships), 'foreign key')}")
    for h in RELATIONSHIP_HEADERS:
        rels.add_column(h, overflow="fold")
    for row in _relationship_rows(prof):
        rels.add_row(*row)
    return tables, rels


def render_dataset_html(
    spec: DatasetSpec, prof: DatasetProfile, schemas: Mapping[str, Schema], title: str
) -> str:
    """One self-contained page: the relationship graph as an embedded PNG, then the tables."""
    graph = relationship_graph(spec)
    n_rel = len(prof.relationships)
    summary = f"{len(prof.tables)} tables, {n_rel} relationships, {len(prof.warnings)} warnings"
    warnings = (
        "<ul class='notes'>" + "".join(f"<li>{esc(w)}</li>" for w in prof.warnings) + "</ul>"
        if prof.warnings
        else note("none")
    )
    body = [
        f'<section id="header"><h1>{esc(title)}</h1><div class="summary">{esc(summary)}</div>'
        "</section>",
        section(
            "graph",
            "Relationships",
            f'<img src="data:image/png;base64,{graph}" alt="relationship graph of {esc(title)}">',
        ),
        section("warnings", "Warnings", warnings),
        section("tables", "Tables", _html_table(TABLE_HEADERS, _table_rows(spec, prof), (1, 2))),
        section(
            "relationships",
            "Foreign keys",
            _html_table(RELATIONSHIP_HEADERS, _relationship_rows(prof), ())
            if n_rel
            else note("no foreign keys"),
        ),
        section("columns", "Columns", "".join(_columns(n, s) for n, s in schemas.items())),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} — synthgen inspect</title>\n<style>{CSS}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def _html_table(headers: list[str], rows: list[list[str]], num: tuple[int, ...]) -> str:
    return table(map(esc, headers), ([esc(c) for c in row] for row in rows), num)


def _columns(name: str, schema: Schema) -> str:
    rows = [
        [c.name, c.kind, c.pii_type or "", f"{c.null_fraction:.1%}", f"{c.cardinality:,}", c.reason]
        for c in schema.columns
    ]
    headers = ["column", "kind", "pii", "missing", "distinct", "why"]
    return (
        f"<details><summary>{esc(name)} ({len(rows)} columns)</summary>"
        + _html_table(headers, rows, (3, 4))
        + "</details>"
    )


def show_dataset(found: Any, json_out: Path | None, html_out: Path | None) -> None:
    """`synthgen inspect` on a folder or a database: the dataset view (tables, relationships
    with their evidence, proposed rules, warnings) on stdout, and the files asked for."""
    import click

    from synthgen.constraints.show import print_rules
    from synthgen.io import write_text
    from synthgen.logs import say

    if json_out is not None and str(json_out) == "-":
        click.echo(found.to_json())
        return
    out = Console(highlight=False)
    print_dataset(out, found.dataset.spec, found.profile, found.name)
    for name, rules in found.rules.items():
        print_rules(out, name, rules)
    if found.sequences:  # proposed, not applied: a run learns what the recipe declares
        from rich.markup import escape

        from synthgen.sequences.detect import describe

        out.print("sequence tables (proposed; a run applies them only when declared):")
        for p in found.sequences:
            out.print(f"  {escape(describe(p))}")
    if json_out is not None:
        write_text(json_out, found.to_json())
        say(f"wrote {json_out}")
    if html_out is not None:
        page = render_dataset_html(found.dataset.spec, found.profile, found.schemas, found.name)
        write_text(html_out, page)
        say(f"wrote {html_out}")
