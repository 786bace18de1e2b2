"""The report of a multi-table run: report.json (the same keys as a one-table run's, plus
``tables``) and report.html with the relationship graph, the gates and one section per table.
Nothing here computes a metric: the values come from the relational suite's results."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from synthgen.dataset.data import Dataset
from synthgen.report.assemble import build_report, report_json


def build_dataset_report(
    recipe: Any,
    seed: int,
    ds: Dataset,
    train: Dataset,
    syn: Dataset,
    verdict: dict[str, Any],
    warnings: list[str],
    timings: dict[str, float],
    entity: str | None,
) -> dict[str, Any]:
    from synthgen.io.sql import mask_url
    from synthgen.report.cardinality import histograms
    from synthgen.schema.spec import Schema

    m = verdict["metrics"]
    per_quality = m.get("fidelity", {}).get("table_quality_per_table", {}) or {}
    per_copies = m.get("privacy", {}).get("table_exact_copies_per_table", {}) or {}
    card = m.get("fidelity", {}).get("cardinality_similarity_per_key", {}) or {}
    tables = {}
    for t in ds.names:
        spec = ds.spec[t]
        tables[t] = {
            "rows": {"source": len(ds[t]), "train": len(train[t]), "synthetic": len(syn[t])},
            "primary_key": spec.primary_key,
            "foreign_keys": [fk.describe(t) for fk in spec.foreign_keys],
            "quality": per_quality.get(t),
            "exact_copy_rate": per_copies.get(t),
            "cardinality": {k: v for k, v in card.items() if k.startswith(f"{t}.")},
            "children_per_parent": histograms(train, syn, t),
        }
    rows = {
        "source": sum(len(ds[t]) for t in ds.names),
        "train": sum(len(train[t]) for t in ds.names),
        "synthetic": sum(len(syn[t]) for t in ds.names),
    }
    return build_report(
        recipe.name,
        seed,
        Schema(columns=[]),
        verdict,
        warnings,
        timings,
        rows,
        tables=tables,
        holdout_entity=entity,
        generator={"name": recipe.generator.name, "params": recipe.generator.params},
        outputs=[
            {"url": mask_url(o.url), "mode": o.mode, "written": False}
            for o in recipe.outputs
            if o.url is not None
        ],
    )


def write_dataset_report(folder: Path, report: dict[str, Any], syn: Dataset) -> None:
    (folder / "report.json").write_text(report_json(report), encoding="utf-8")
    (folder / "report.html").write_text(render(report, syn), encoding="utf-8")


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else html.escape(str(v)))


def render(report: dict[str, Any], syn: Dataset) -> str:
    from synthgen.report.gates import gates_section
    from synthgen.report.graph import relationship_graph
    from synthgen.report.rules_section import rules_section

    graph = relationship_graph(syn.spec)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>synthgen report: {html.escape(report['recipe'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
        ".muted{color:#777}</style></head><body>",
        f"<h1>{html.escape(report['recipe'])}: {html.escape(report['verdict'])}</h1>",
        f"<p>{len(report['tables'])} tables, {report['rows']['synthetic']:,} synthetic rows "
        f"from {report['rows']['source']:,} source rows (seed {report['seed']}).</p>",
        "<h2>Relationships</h2>",
        f'<img alt="relationship graph" src="data:image/png;base64,{graph}">',
        gates_section(report["gates"]),
        rules_section(report.get("constraints"), report.get("metrics") or {}),
    ]
    if report["warnings"]:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in report["warnings"])
        parts.append(f"<h2>Warnings</h2><ul>{items}</ul>")
    for t, info in report["tables"].items():
        rows = info["rows"]
        card = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>"
            for k, v in info["cardinality"].items()
        )
        parts.append(
            f"<section id='table-{html.escape(t)}'><h2>Table {html.escape(t)}</h2>"
            f"<p>rows: source {rows['source']:,}, train {rows['train']:,}, synthetic "
            f"{rows['synthetic']:,}; primary key {html.escape(', '.join(info['primary_key']) or '-')}"
            f"; quality {_fmt(info['quality'])}; exact copies {_fmt(info['exact_copy_rate'])}</p>"
            + (
                "<table><tr><th>foreign key</th><th>children per parent (1 - KS)</th></tr>"
                f"{card}</table>"
                if card
                else ""
            )
            + _sequence_line(info.get("sequence"))
            + _cardinality_plots(info.get("children_per_parent") or {})
            + "</section>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def _cardinality_plots(hists: dict[str, Any]) -> str:
    from synthgen.report.cardinality import plot

    return "".join(
        f'<figure><img alt="children per parent, {html.escape(k)}" src="{plot(v, k)}"></figure>'
        for k, v in hists.items()
    )


def _sequence_line(seq: dict[str, Any] | None) -> str:
    """A sequence table's figures: each parent's events by their order column."""
    if not seq:
        return ""
    lag = ", ".join(f"{html.escape(c)} {_fmt(v)}" for c, v in seq["lag1_error"].items())
    return (
        f"<p>sequence per {html.escape(seq['entity'])} by {html.escape(seq['order'])}: length "
        f"similarity {_fmt(seq['length_similarity'])}, gap similarity "
        f"{_fmt(seq['gap_similarity'])}; lag-1 autocorrelation error {lag or '-'}</p>"
    )
