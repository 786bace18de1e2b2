"""The report's privacy sections: the DP budget's ledger, and the privacy metrics (DCR
histogram, risks with their intervals, PII replay). Each reads the flat ``metrics`` dicts of
``validate.run`` and leaves a note, or nothing, when a key is missing or malformed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from synthgen.report import metric_plots, plots
from synthgen.report.sections import (
    _direction,
    esc,
    fmt_share,
    fmt_value,
    img,
    metric_names,
    note,
    section,
    table,
)

PRIVACY_REFERENCE = {  # metric -> (detail shown beside it or None, text)
    "exact_copy_rate": ("holdout_copy_rate", "holdout rows copied by chance: {}"),
    "exact_copy_excess": (None, "0 = no copies beyond chance, 1 = every row copies a record"),
    "dcr_share": (None, "0.5 = no memorisation"),
    "nndr": ("holdout_median", "holdout rows: {} (near 0 = copies)"),
    "membership_auc": (None, "0.5 = no leak"),
    "attribute_inference": (None, "0 = nothing beyond what generalises"),
    "pii_replay": (None, "0 = none"),
}


def budget_section(privacy: Mapping[str, Any] | None) -> str:
    """Differential privacy: the budget, what each mechanism read and spent, the total."""
    if not privacy:
        return ""
    rows = [
        [
            esc(m.get("mechanism", "")),
            esc(m.get("reads", "")),
            esc(_noise(m)),
            esc(fmt_value(m.get("epsilon"))),
            esc(f"{float(m.get('delta', 0.0)):.3g}"),
        ]
        for m in privacy.get("mechanisms", [])
    ]
    spent_delta = f"{float(privacy.get('delta_spent', 0.0)):.3g}"
    rows.append(
        [
            "<strong>total</strong>",
            esc(privacy.get("composition", "")),
            "",
            f"<strong>{esc(fmt_value(privacy.get('epsilon_spent')))}</strong>",
            f"<strong>{esc(spent_delta)}</strong>",
        ]
    )
    budget_delta = f"{float(privacy.get('delta', 0.0)):.3g}"
    head = (
        f"<p>Budget: epsilon = {esc(fmt_value(privacy.get('epsilon')))}, delta = "
        f"{esc(budget_delta)}. Every read of the training rows is listed; column names, kinds "
        "and dtypes are treated as public.</p>"
    )
    head += (
        "<p>The parts compose tightly (see the last row), so each part's epsilon, what it "
        "would cost alone, does not add up to the total.</p>"
    )
    headers = ["mechanism", "reads", "noise", "epsilon alone", "delta"]
    body = head + table(headers, rows, num=[3, 4])
    return section("dp", "Differential privacy", body)


def _noise(m: Mapping[str, Any]) -> str:
    """A mechanism's noise: mu of a Gaussian release (and its share), DP-SGD's multiplier."""
    if m.get("mu") is not None:
        share = m.get("share_of_gaussian")
        return f"mu {float(m['mu']):.4g}" + (f" ({share:.0%} of mu²)" if share else "")
    sgd = m.get("sgd")
    if sgd:
        return (
            f"σ {float(sgd['noise_multiplier']):.3g}, q {float(sgd['sample_rate']):.3g}, "
            f"{int(sgd['steps'])} steps"
        )
    return "threshold"


def privacy_section(group: Mapping[str, Any], gates: list[dict]) -> str:
    """The DCR histogram and its reading, every privacy metric with its direction (and CI
    for the Anonymeter-style risks), and the PII replay count with masked examples."""
    if not group:
        return ""
    parts = [_dcr_block(group)] if "dcr_share" in group else []
    rows = _privacy_rows(group, gates)
    if rows:
        headers = ["metric", "value", "better", "95 % CI", "reading"]
        parts.append("<h3>Privacy metrics</h3>" + table(headers, rows, num=[1]))
    if "pii_replay" in group:
        parts.append(_pii_block(group))
    return section("privacy", "Privacy", "\n".join(parts)) if parts else ""


def _dcr_block(g: Mapping[str, Any]) -> str:
    head = "<h3>Distance to closest record (DCR)</h3>"
    if g.get("dcr_share_skipped"):
        return head + note(f"Skipped: {g['dcr_share_skipped']}.")
    share = fmt_share(g.get("dcr_share"))
    reading = f"Synthetic rows closer to training than to unseen (holdout) rows: {share} "
    out = [head, f"<p>{esc(reading)}(50% = no memorisation).</p>"]
    raw, chance = g.get("dcr_share_raw_share"), g.get("dcr_share_chance_raw_share")
    if plots.is_finite(raw) and plots.is_finite(chance):
        sizes = [fmt_value(g.get(f"dcr_share_n_{k}")) for k in ("train", "holdout")]
        text = "That share is corrected for the sizes of the two sets: uncorrected it is "
        text += f"{fmt_share(raw)}, against {fmt_share(chance)} by chance alone with {sizes[0]} "
        text += f"training and {sizes[1]} holdout rows. A bigger set is closer by chance, so the "
        out.append(note(text + "training curve may sit left of the holdout one without any leak."))
    uri = _dcr_plot(g)
    out.append(note("No DCR histogram recorded.") if uri is None else "")
    chart = f"<div>{img(uri, 'DCR histogram')}</div>" if uri else ""
    return "".join(out) + f'<div class="row">{chart}<div>{_dcr_quantiles(g)}</div></div>'


def _dcr_plot(g: Mapping[str, Any]) -> str | None:
    try:
        edges, train, holdout = (
            np.asarray(g.get(f"dcr_share_hist_{k}"), dtype=float)
            for k in ("edges", "train", "holdout")
        )
    except (TypeError, ValueError):
        return None
    if edges.ndim != 1 or len(edges) < 2 or train.shape != (len(edges) - 1,):
        return None
    if holdout.shape != train.shape or not np.isfinite(np.r_[edges, train, holdout]).all():
        return None
    q = [g.get(f"dcr_share_dcr_{k}") for k in ("train", "holdout")]
    medians = [x.get("p50") if isinstance(x, Mapping) else None for x in q]
    return metric_plots.dcr_histogram_plot(edges, train, holdout, medians)


def _dcr_quantiles(g: Mapping[str, Any]) -> str:
    train, holdout = g.get("dcr_share_dcr_train"), g.get("dcr_share_dcr_holdout")
    if not isinstance(train, Mapping) or not isinstance(holdout, Mapping):
        return ""
    keys = list(dict.fromkeys([*train, *holdout]))
    rows = [[esc(k), esc(fmt_value(train.get(k))), esc(fmt_value(holdout.get(k)))] for k in keys]
    return table(["quantile", "to training", "to holdout"], rows, num=[1, 2])


def _privacy_rows(g: Mapping[str, Any], gates: list[dict]) -> list[list[str]]:
    rows = []
    for name in metric_names(g):
        skipped = g.get(f"{name}_skipped")
        value = '<span class="muted">skipped</span>' if skipped else esc(fmt_value(g.get(name)))
        lo, hi = g.get(f"{name}_ci_low"), g.get(f"{name}_ci_high")
        ci = (
            f"{fmt_value(lo)} – {fmt_value(hi)}"
            if plots.is_finite(lo) and plots.is_finite(hi)
            else ""
        )
        reading = f"skipped: {skipped}" if skipped else _privacy_reading(name, g)
        rows.append([esc(name), value, esc(_direction(name, gates) or ""), esc(ci), esc(reading)])
    return rows


def _privacy_reading(name: str, g: Mapping[str, Any]) -> str:
    if f"{name}_main_rate" in g:
        rates = (g.get(f"{name}_{k}_rate") for k in ("main", "control", "baseline"))
        text = "attack success {}, on holdout {}, naive guess {}".format(*map(fmt_share, rates))
        worst = g.get(f"{name}_worst")
        return f"worst: {worst}; {text}" if worst else text
    key, text = PRIVACY_REFERENCE.get(name, (None, ""))
    if key is None:
        return text
    return text.format(fmt_value(g[f"{name}_{key}"])) if f"{name}_{key}" in g else ""


def _pii_block(g: Mapping[str, Any]) -> str:
    head = "<h3>PII replay</h3>"
    if g.get("pii_replay_skipped"):
        return head + note(f"Not checked: {g['pii_replay_skipped']}.")
    count: Any = g.get("pii_replay")
    shown = int(count) if plots.is_finite(count) and float(count).is_integer() else count
    columns = g.get("pii_replay_pii_columns")
    text = f"Real PII values found again in the synthetic table: {fmt_value(shown)}"
    if isinstance(columns, list) and columns:
        text += f" (PII columns checked: {', '.join(map(str, columns))})"
    out = [head, f"<p>{esc(text)}.</p>"]
    per = g.get("pii_replay_per_column")
    if isinstance(per, Mapping) and per:
        rows = [[esc(k), esc(fmt_value(v))] for k, v in per.items()]
        out.append(table(["synthetic column", "replayed values"], rows, num=[1]))
    examples = g.get("pii_replay_examples")
    if isinstance(examples, list) and examples:
        items = "".join(f"<li><code>{esc(e)}</code></li>" for e in examples)
        out.append(f'<p>Examples (masked):</p><ul class="notes">{items}</ul>')
    return "".join(out)


# ---------------------------------------------------------------- utility and expectations
