"""The report's "At scale" section (`synthgen validate --engine`): which figures were
counted over every row, the sample each other metric ran on, and each one's interval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.report.sections import esc, fmt_value, note, section, table


def scale_section(scale: Mapping[str, Any] | None) -> str:
    if not scale:
        return ""
    rows, samples = scale.get("rows") or {}, scale.get("sample_rows") or {}
    sizes = [
        [esc(role), esc(fmt_value(rows.get(role))), esc(fmt_value(samples.get(role)))]
        for role in rows
    ]
    exact = scale.get("exact") or {}
    counts = [
        ["synthetic rows equal to a training row", fmt_value(exact.get("copies"))],
        ["synthetic rows equal to a holdout row", fmt_value(exact.get("holdout_copies"))],
        ["distinct real PII values", fmt_value(exact.get("real_pii_values"))],
    ]
    for col, k in (exact.get("pii_replayed_cells") or {}).items():
        checked = (exact.get("pii_cells_checked") or {}).get(col)
        counts.append([f"'{col}': cells replaying a real PII value", f"{k:,} of {checked:,}"])
    intervals = []
    for name, e in (scale.get("intervals") or {}).items():
        lo, hi = e.get("ci_low"), e.get("ci_high")
        shown = f"{fmt_value(lo)} – {fmt_value(hi)}" if lo is not None and hi is not None else ""
        intervals.append(
            [
                esc(name),
                esc(e.get("scope")),
                esc(e.get("method")),
                esc(shown),
                esc(e.get("why", "")),
            ]
        )
    bound = exact.get("collision_bound")
    inner = (
        note(
            "Counts marked exact were computed over every row (64-bit row and value hashes, "
            f"partitioned into {exact.get('hash_ranges')} hash range(s)); the expected number of "
            f"rows matched by a hash collision alone is at most {fmt_value(bound)}. Every other "
            f"metric ran on the samples below ({scale.get('sampling')})."
        )
        + "<h3>Rows and samples</h3>"
        + table(["table", "rows", "sample rows"], sizes, num=[1, 2])
        + "<h3>Exact counts (every row)</h3>"
        + table(["count", "value"], [[esc(a), esc(b)] for a, b in counts], num=[1])
        + "<h3>Intervals (95 %)</h3>"
        + note(
            "analytic: the metric's own interval; bootstrap: the estimate ± 1.96 standard "
            f"errors over {scale.get('bootstrap_replicates')} resamples of the samples; exact: "
            "counted over every row, no sampling error."
        )
        + table(["metric", "scope", "method", "interval", "why"], intervals)
    )
    return section("scale", "At scale: exact counts and samples", inner)
