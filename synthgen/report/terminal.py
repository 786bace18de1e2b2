"""What the commands print: a table's detected schema and the PII inside its values
(`inspect`), the gate table and the warnings (`run`, `validate`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_schema(out: Console, name: str, df: Any, schema: Any) -> None:
    table = Table(title=f"{name}: {len(df):,} rows x {df.shape[1]} columns")
    for col in ("column", "kind", "pii", "missing", "distinct", "why"):
        table.add_column(col, overflow="fold")
    for c in schema.columns:
        style = "bold magenta" if c.kind == "pii" else None
        table.add_row(
            c.name,
            c.kind,
            c.pii_type or "",
            f"{c.null_fraction:.1%}",
            f"{c.cardinality:,}",
            c.reason,
            style=style,
        )
    out.print(table)


def print_embedded_pii(out: Console, df: Any, schema: Any) -> None:
    """PII found inside text, label and id values (what `run` replaces by default)."""
    from synthgen.pii.pseudonym import Pseudonymiser
    from synthgen.pii.stage import scrub_frame, source_pii

    _, found = scrub_frame(df, schema, source_pii(df, schema), "flag", Pseudonymiser(b"-"))
    if not found:
        return
    t = Table(title="PII inside values (replaced by `run` unless pii.embedded says otherwise)")
    for col in ("column", "found", "distinct values holding it"):
        t.add_column(col)
    for name, counts in found.items():
        t.add_row(
            name, ", ".join(sorted(counts)), ", ".join(f"{k}: {v:,}" for k, v in counts.items())
        )
    out.print(t)


def usefulness(report: dict[str, Any]) -> list[str]:
    """The few figures that say whether the rows are useful: quality, whether a classifier
    tells them from real ones, what a model trained on them is worth, the worst column pair."""
    m = report.get("metrics") or {}
    fid, util = m.get("fidelity") or {}, m.get("utility") or {}
    parts = []
    if isinstance(fid.get("quality"), (int, float)):
        parts.append(f"quality {fid['quality']:.3f}")
    if isinstance(auc := fid.get("detection_auc"), (int, float)):
        parts.append(f"detection AUC {auc:.3f} (0.5: a classifier cannot tell them from real)")
    for name, label in (("tstr_f1", "TSTR F1"), ("tstr_r2", "TSTR R2")):
        if isinstance(v := util.get(name), (int, float)):
            real = util.get(f"{name}_trtr")
            ceiling = f" (trained on real rows: {real:.3f})" if isinstance(real, float) else ""
            parts.append(f"{label} {v:.3f}{ceiling}")
            break
    pairs = fid.get("column_pair_trends_per_pair")
    if isinstance(pairs, dict) and pairs:
        worst = min(pairs, key=lambda k: pairs[k])
        parts.append(f"worst pair {worst.replace('|', ' x ')} {pairs[worst]:.3f}")
    return parts


def print_outcome(out: Console, report: dict[str, Any]) -> None:
    """After `run` or `validate`: the gate table, the usefulness figures, the warnings."""
    print_gates(out, report)
    if parts := usefulness(report):
        out.print("useful? " + " · ".join(parts))
    print_warnings(out, report)


def print_gates(out: Console, report: dict[str, Any]) -> None:
    verdict = report.get("verdict") or ("pass" if report["passed"] else "fail")
    title = {"pass": "passed", "fail": "FAILED", "inconclusive": "INCONCLUSIVE"}[verdict]
    t = Table(title=f"gates ({title})")
    for col in ("gate", "value", "rule", "result"):
        t.add_column(col)
    for g in report["gates"]:
        value = "n/a" if g["value"] is None else f"{g['value']:.4g}"
        mark = {
            "pass": "[green]pass[/]",
            "skipped": "[yellow]skipped[/]",
            "inconclusive": "[bold yellow]inconclusive[/]",
        }.get(g.get("status", ""), "[bold red]FAIL[/]")
        t.add_row(g["name"], value, f"{g['op']} {g['threshold']:g}", mark)
    out.print(t)


def raise_for_gates(out: Console, report: dict[str, Any], tail: str = "") -> None:
    """Exit 3 when a gate failed, else 4 when one could not decide (never a silent pass)."""
    from rich.markup import escape

    from synthgen.errors import GateFailed, GateInconclusive

    by = {s: [g for g in report["gates"] if g.get("status") == s] for s in ("fail", "inconclusive")}
    if by["fail"] or report.get("verdict", "fail") == "fail":
        names = ", ".join(g["name"] for g in by["fail"]) or "(see the report)"
        out.print(f"[bold red]gate(s) failed:[/] {names}{tail}")
        raise GateFailed("validation gates failed")
    for g in by["inconclusive"]:
        out.print(f"[yellow]{escape(g['name'])}:[/] {escape(str(g.get('error') or ''))}")
    names = ", ".join(g["name"] for g in by["inconclusive"])
    out.print(f"[bold yellow]gate(s) inconclusive:[/] {names}{tail}")
    raise GateInconclusive("validation gates could not decide on this sample")


def print_warnings(out: Console, report: dict[str, Any]) -> None:
    from rich.markup import escape

    for w in report.get("warnings") or []:
        out.print(f"[yellow]warning:[/] {escape(w)}", markup=True, highlight=False)


def print_registry(out: Console) -> None:
    """`synthgen list`: the generators (with the extra each needs) and the suites."""
    from synthgen.generators import registry
    from synthgen.validate import available_suites, load_suite

    t = Table(title="generators")
    for col in ("name", "what", "needs"):
        t.add_column(col)
    for name, e in sorted(registry.entries().items()):
        needs = (
            ""
            if e.extra is None
            else (f"synthgen[{e.extra}]" + ("" if registry.is_installed(e) else " (not installed)"))
        )
        t.add_row(name, e.summary, needs)
    out.print(t)
    s = Table(title="validation suites")
    for col in ("name", "gates", "file"):
        s.add_column(col)
    for name, path in sorted(available_suites().items()):
        suite = load_suite(str(path))
        s.add_row(name, ", ".join(g.name for g in suite.gates), str(path))
    out.print(s)


def registry_json() -> dict[str, Any]:
    """`synthgen list --json`: what `list` shows, for scripts (installed: importable now)."""
    from synthgen.generators import registry
    from synthgen.text.base import TEXT_BACKENDS
    from synthgen.validate import available_suites, load_suite

    def entries(reg: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "summary": e.summary,
                "extra": e.extra,
                "installed": registry.is_installed(e),
            }
            for name, e in sorted(reg.entries().items())
        ]

    suites = []
    for name, path in sorted(available_suites().items()):
        suite = load_suite(str(path))
        gates = [
            {"name": g.name, "metric": g.metric, "op": g.op, "threshold": g.threshold}
            for g in suite.gates
        ]
        suites.append({"name": name, "file": str(path), "gates": gates})
    return {
        "generators": entries(registry.GENERATORS),
        "text_backends": entries(TEXT_BACKENDS),
        "suites": suites,
    }
