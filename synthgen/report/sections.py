"""HTML building blocks, and the report's per-topic sections: fidelity (correlation heatmaps,
worst pairs), privacy (DCR histogram, risks with intervals, PII replay), utility (TSTR vs
TRTR) and expectations. Each reads the flat ``metrics[group]`` dicts of ``validate.run``
(a metric's value under its name, its details under ``f"{name}_{key}"``) and leaves a note,
or nothing, when a key is missing or malformed."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from synthgen.report import plots

MAX_HEATMAP_COLUMNS = 30
WORST_PAIRS = 10
MAX_EXPECTATION_ROWS = 300
MAX_LIST_ITEMS = 12  # longer lists are left out of the generic metric tables
DIFF_VMAX = 0.5  # |difference| colour scale tops out here (correlations differ by up to 2)
SHOWN_IN_SECTIONS = frozenset(  # details the sections below draw; left out of the generic tables
    ["column_pair_trends_correlation", "column_pair_trends_per_pair", "pii_replay_examples"]
    + [
        f"dcr_share_{k}"
        for k in ("hist_edges", "hist_train", "hist_holdout", "dcr_train", "dcr_holdout")
    ]
    + ["expectations_pass_rate_results"]
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


# ---------------------------------------------------------------- building blocks


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt_value(value: Any) -> str:
    """A number to 4 significant digits (integers exactly); ``None``/NaN as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return "n/a" if math.isnan(value) else f"{float(value):.4g}"
    if isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, default=str, sort_keys=isinstance(value, Mapping))
        return text if len(text) <= 300 else text[:299] + "…"
    return str(value)


def fmt_share(value: Any) -> str:
    """A 0-1 share as a percentage (``n/a`` when not a number)."""
    return f"{float(value):.1%}" if plots.is_finite(value) else "n/a"


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float | np.generic)


def table(
    headers: Iterable[str],
    rows: Iterable[Iterable[str]],
    num: Iterable[int] = (),
    row_classes: Iterable[str] | None = None,
) -> str:
    """A table from already-escaped cell HTML; columns in ``num`` are right-aligned."""
    num = set(num)
    classes = iter(row_classes or ())
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for row in rows:
        cls = next(classes, "")
        cells = "".join(
            f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def img(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{esc(alt)}">' if uri else ""


def section(anchor: str, title: str, inner: str) -> str:
    return f'<section id="{anchor}">\n<h2>{esc(title)}</h2>\n{inner}\n</section>'


def note(text: str) -> str:
    return f'<p class="muted">{esc(text)}</p>'


def metric_names(group: Mapping[str, Any]) -> list[str]:
    """The metrics of a flat group: keys that do not extend another key with ``_``."""
    keys = [str(k) for k in group]
    return [k for k in keys if not any(k.startswith(o + "_") for o in keys if o != k)]


def _bulky(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return len(value) > MAX_LIST_ITEMS or any(isinstance(v, Mapping) for v in value)
    return isinstance(value, Mapping) and any(map(_bulky, value.values()))


def generic_view(group: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The entries fit for the generic metric tables, and the keys left out (shown in a
    section of their own, or long lists and matrices)."""
    keep: dict[str, Any] = {}
    hidden: list[str] = []
    for key, value in group.items():
        if str(key) in SHOWN_IN_SECTIONS or _bulky(value):
            hidden.append(str(key))
        else:
            keep[key] = value
    return keep, hidden


def _direction(name: str, gates: list[dict]) -> str | None:
    for g in gates:
        if g.get("metric") == name and g.get("direction") in ("higher", "lower"):
            return str(g["direction"])
    try:
        from synthgen.metrics import REGISTRY

        return REGISTRY[name].direction
    except Exception:  # an unknown or renamed metric, or metrics that cannot be imported
        return None


def _matrices(corr: Any, keys: tuple[str, ...]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The columns and the n x n float matrices (None -> NaN) of ``corr`` under ``keys``;
    no matrices unless every one is well formed."""
    if not isinstance(corr, Mapping) or not isinstance(corr.get("columns"), list):
        return [], {}
    columns, out = [str(c) for c in corr["columns"]], {}
    for key in keys:
        try:
            rows = [[np.nan if v is None else float(v) for v in row] for row in corr.get(key) or []]
            out[key] = np.array(rows, dtype=float).reshape(len(columns), len(columns))
        except (TypeError, ValueError):
            return columns, {}
    return columns, out


# ---------------------------------------------------------------- fidelity


def fidelity_section(group: Mapping[str, Any]) -> str:
    """Correlation heatmaps (real, synthetic, |difference|) and the worst column pairs."""
    corr = group.get("column_pair_trends_correlation")
    pairs = group.get("column_pair_trends_per_pair")
    parts = [_heatmaps(corr)] if isinstance(corr, Mapping) else []
    if isinstance(pairs, Mapping) and pairs:
        counted, total = (
            group.get("column_pair_trends_pairs"),
            group.get("column_pair_trends_pairs_total"),
        )
        parts.append(_worst_pairs(pairs, corr, counted, total))
    return section("fidelity", "Fidelity", "\n".join(parts)) if parts else ""


def _heatmaps(corr: Mapping[str, Any]) -> str:
    columns, mats = _matrices(corr, ("real", "synthetic", "difference"))
    n = len(columns)
    if n < 2:
        return note("Fewer than two number columns: no correlation heatmap.")
    if not mats:
        return note("The correlation matrices are missing or malformed: no heatmap.")
    keep = list(range(n))
    text = "Pearson correlations of the number columns; real and synthetic share one scale."
    if n > MAX_HEATMAP_COLUMNS:
        diff = mats["difference"]
        worst = np.where(np.isnan(diff), -1.0, np.abs(diff)).max(axis=1)
        keep = sorted(np.argsort(-worst, kind="stable")[:MAX_HEATMAP_COLUMNS].tolist())
        text += f" Showing the {len(keep)} of {n} columns with the largest differences."
    labels = [columns[i] for i in keep]
    images = []
    for key, title, lo, hi, cmap in (
        ("real", "real", -1.0, 1.0, "RdBu_r"),
        ("synthetic", "synthetic", -1.0, 1.0, "RdBu_r"),
        ("difference", "|synthetic − real|", 0.0, DIFF_VMAX, "Reds"),
    ):
        m = mats[key][np.ix_(keep, keep)]
        uri = plots.heatmap_plot(m, labels, title, vmin=lo, vmax=hi, cmap=cmap)
        images.append(f"<div>{img(uri, f'{title} correlation heatmap')}</div>")
    return f'<h3>Correlations</h3>{note(text)}<div class="row">{"".join(images)}</div>'


def _split_pair(pair: str, columns: list[str]) -> tuple[str, str] | None:
    """``"a|b"`` as (a, b) with both in ``columns`` (names may hold ``|`` themselves)."""
    for i, ch in enumerate(pair):
        if ch == "|" and pair[:i] in columns and pair[i + 1 :] in columns:
            return pair[:i], pair[i + 1 :]
    return None


def _worst_pairs(pairs: Mapping[str, Any], corr: Any, counted: Any, total: Any = None) -> str:
    scores = sorted(
        ((str(k), float(v)) for k, v in pairs.items() if plots.is_finite(v)), key=lambda kv: kv[1]
    )
    columns, mats = _matrices(corr, ("real", "synthetic"))
    rows = []
    for pair, score in scores[:WORST_PAIRS]:
        split = _split_pair(pair, columns)
        r = ["", ""]
        if split and mats:
            i, j = columns.index(split[0]), columns.index(split[1])
            r = [esc(fmt_value(float(mats[k][i, j]))) for k in ("real", "synthetic")]
        label = " ↔ ".join(split) if split else pair.replace("|", " ↔ ")
        rows.append([esc(label), esc(fmt_value(score)), *r])
    count = counted if isinstance(counted, int) and counted else len(scores)
    text = f"The {len(rows)} lowest of {count:,} pair scores (1 = the pair's trend is kept)."
    if isinstance(total, int) and isinstance(counted, int):
        text += (
            f" As in SDMetrics' QualityReport, {counted:,} of the {total:,} pairs count: those"
            " with a meaningful real association (|r| > 0.5, or Cramér's V > 0.3)."
            if counted
            else f" None of the {total:,} pairs has a meaningful real association; all shown."
        )
    text += " Pearson r for pairs of number columns."
    headers = ["column pair", "score", "real r", "synthetic r"]
    return f"<h3>Worst column pairs</h3>{note(text)}" + table(headers, rows, num=[1, 2, 3])


# ---------------------------------------------------------------- privacy


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
    return plots.dcr_histogram_plot(edges, train, holdout, medians)


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


def utility_section(group: Mapping[str, Any]) -> str:
    """Train-on-synthetic vs train-on-real scores per metric, or why they were skipped."""
    rows, skipped, sizes = [], {}, None
    for name in metric_names(group):
        if group.get(f"{name}_skipped"):
            skipped[name] = str(group[f"{name}_skipped"])
            continue
        positive = group.get(f"{name}_positive_class")
        label = name + (f" (positive class: {positive})" if positive is not None else "")
        scores = (group.get(name), group.get(f"{name}_trtr"), group.get(f"{name}_gap"))
        rows.append(
            [esc(group.get(f"{name}_task", "")), esc(label), *map(esc, map(fmt_value, scores))]
        )
        sizes = sizes or group.get(f"{name}_rows")
    parts = []
    if rows:
        headers = [
            "task",
            "metric",
            "TSTR (synthetic-trained)",
            "TRTR (real-trained ceiling)",
            "gap",
        ]
        parts.append(table(headers, rows, num=[2, 3, 4]))
    if rows and isinstance(sizes, Mapping):
        n = {k: fmt_value(sizes.get(k)) for k in ("synthetic", "train", "holdout")}
        text = f"Models trained on {n['synthetic']} synthetic rows (TSTR) or {n['train']} real"
        text += f" training rows (TRTR), scored on {n['holdout']} real holdout rows."
        parts.append(note(text + " Gap = TRTR − TSTR (0 = nothing lost)."))
    if skipped and not rows and len(set(skipped.values())) == 1:
        parts.append(note(f"Skipped: {next(iter(skipped.values()))}."))
    elif skipped:
        items = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in skipped.items())
        parts.append(f'<p class="muted">Skipped:</p><ul class="notes">{items}</ul>')
    return section("utility", "Utility", "\n".join(parts)) if parts else ""


def expectations_section(group: Mapping[str, Any]) -> str:
    """Each expectation's result, failed first, with the pass rate in the heading."""
    key = "expectations_pass_rate"
    rate, results = group.get(key), group.get(f"{key}_results")
    if key not in group and results is None:
        return ""
    title = "Expectations" + (f" — pass rate {fmt_share(rate)}" if plots.is_finite(rate) else "")
    records = [r for r in results if isinstance(r, Mapping)] if isinstance(results, list) else []
    if group.get(f"{key}_skipped") or not records:
        why = f"Skipped: {group[f'{key}_skipped']}." if group.get(f"{key}_skipped") else None
        return section("expectations", title, note(why or "No expectation results recorded."))
    records.sort(key=lambda r: bool(r.get("success")))  # stable: failed first, in suite order
    bits = [f"{sum(bool(r.get('success')) for r in records)} of {len(records)} checks passed"]
    if plots.is_finite(group.get(f"{key}_user_pass_rate")):
        bits.append(f"user suite pass rate {fmt_share(group[f'{key}_user_pass_rate'])}")
    if group.get(f"{key}_rows_validated") is not None:
        bits.append(f"{fmt_value(group[f'{key}_rows_validated'])} synthetic rows validated")
    rows, classes = [], []
    for r in records[:MAX_EXPECTATION_ROWS]:
        observed = "" if r.get("observed") is None else fmt_value(r.get("observed"))
        observed = observed if len(observed) <= 160 else observed[:159] + "…"
        classes.append("pass" if r.get("success") else "fail")
        status = f'<span class="st">{classes[-1].upper()}</span>'
        cells = [r.get(k) or "" for k in ("expectation", "column", "source")] + [observed]
        rows.append([status, *map(esc, cells)])
    headers = ["status", "expectation", "column", "source", "observed"]
    out = note("; ".join(bits) + ".") + table(headers, rows, row_classes=classes)
    if len(records) > MAX_EXPECTATION_ROWS:
        out += note(f"{len(records) - MAX_EXPECTATION_ROWS} more checks not listed (failed first).")
    return section("expectations", title, out)
