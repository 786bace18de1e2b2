"""The gate table and the run's verdict (pass, fail or inconclusive) for report.html."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.report.sections import esc, fmt_value, section, table

OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def report_verdict(report: Mapping[str, Any], gates: list[dict]) -> str:
    """pass, fail or inconclusive: the report's own, else from its gates (older reports)."""
    given = report.get("verdict")
    if given in ("pass", "fail", "inconclusive"):
        return str(given)
    if "passed" in report and report["passed"]:
        return "pass"
    statuses = {gate_status(g) for g in gates}
    if "fail" in statuses or "passed" in report:
        return "fail"
    return "inconclusive" if "inconclusive" in statuses else "pass"


def gates_section(gates: list[dict]) -> str:
    """One row per gate: status, name, metric, value, condition, meaning."""
    if not gates:
        return section("gates", "Gates", '<p class="muted">No gates configured.</p>')
    rows, classes = [], []
    for g in gates:
        status = gate_status(g)
        error = str(g.get("error") or "")
        if status == "skipped":
            reason = error.removeprefix("skipped:").strip() or "the metric does not apply"
            value_html = f'<div class="muted">skipped: {esc(reason)}</div>'
        else:
            value_html = esc(fmt_value(g.get("value")))
            if g.get("pass_bound") is not None and status != "inconclusive":
                conf = g.get("confidence") or {}
                key, level = ("pass_bound", "pass") if status == "pass" else ("fail_bound", "fail")
                value_html += (
                    f'<div class="muted">{esc(_pct(conf.get(level)))} bound '
                    f"{esc(fmt_value(g.get(key)))}</div>"
                )
            value_html += f'<div class="err">{esc(error)}</div>' if error else ""
        op = OPS.get(str(g.get("op")), str(g.get("op", "")))
        metric = str(g.get("metric", "")) + (f".{g['field']}" if g.get("field") else "")
        classes.append(status)
        rows.append(
            [
                f'<span class="st">{status.upper()}</span>',
                esc(g.get("name", "")),
                esc(metric),
                value_html,
                f"{esc(op)} {esc(fmt_value(g.get('threshold')))}",
                esc(g.get("meaning", "")),
            ]
        )
    headers = ["status", "gate", "metric", "value", "must be", "meaning"]
    text = (
        "A gate on an estimate from a sample (the privacy attacks) passes when its 95 % "
        "confidence bound meets the rule, fails when its 99.5 % bound breaks it, and is "
        "inconclusive when the sample cannot tell: more rows would decide. An inconclusive "
        "gate does not pass a release, nor does it report a leak."
    )
    body = f'<p class="muted">{esc(text)}</p>' + table(headers, rows, num=[3], row_classes=classes)
    return section("gates", "Gates", body)


def _pct(x: Any) -> str:
    return f"{float(x):.1%}".replace(".0%", "%") if isinstance(x, (int, float)) else "confidence"


def gate_status(gate: Mapping[str, Any]) -> str:
    """pass, fail, inconclusive or skipped; from ``status``, else from ``passed`` and a
    "skipped:" error."""
    status = str(gate.get("status") or "")
    if status in ("pass", "fail", "inconclusive", "skipped"):
        return status
    if str(gate.get("error") or "").startswith("skipped:"):
        return "skipped"
    return "pass" if gate.get("passed") else "fail"
