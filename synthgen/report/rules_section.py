"""The report's section on rules: every declared or detected constraint, where it came from
and on what evidence, how it is kept, and how many synthetic rows break it (0 is the gate);
then the real rows that broke a declared rule, left out of the fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.report.sections import esc, note, section, table


def rules_section(constraints: Mapping[str, Any] | None, metrics: Mapping[str, Any]) -> str:
    if not constraints or not constraints.get("rules"):
        return ""
    schema = metrics.get("schema") or {}
    broken = schema.get("constraint_violations_per_rule") or {}
    rows = []
    for r in constraints["rules"]:
        ev = r.get("evidence") or {}
        evidence = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in ev.items() if _num(v))
        bad = broken.get(r.get("label"))
        rows.append(
            [
                esc(r.get("id") or r.get("label")),
                esc(r.get("origin", "")),
                esc(evidence or "-"),
                esc(r.get("enforced", "")),
                esc("-" if bad is None else f"{bad:,}"),
            ]
        )
    parts = [
        table(["rule", "origin", "evidence", "kept", "synthetic rows breaking it"], rows, num=(4,))
    ]
    real = constraints.get("real_violations") or []
    if real:
        items = "".join(
            f"<li>{esc(v.get('rule', ''))}: {esc(v.get('rows', ''))} real row(s), e.g. "
            f"{esc('; '.join(map(str, v.get('examples', [])[:3])))}</li>"
            for v in real
            if isinstance(v, Mapping)
        )
        parts.append(
            f"<p>Real rows breaking a declared rule (left out of the fit):</p><ul>{items}</ul>"
        )
    if constraints.get("resampled_rows"):
        parts.append(note(f"{constraints['resampled_rows']:,} sampled rows were drawn again"))
    if constraints.get("detected_left_out_for_privacy"):
        n = constraints["detected_left_out_for_privacy"]
        parts.append(note(f"{n} detected rule(s) left out: finding them reads the data (privacy)"))
    return section("rules", "Rules", "\n".join(parts))


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
