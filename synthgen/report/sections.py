"""HTML building blocks, and the report's per-topic sections: fidelity (correlation heatmaps,
worst pairs), utility (TSTR vs TRTR) and expectations (privacy and the DP budget:
``report/privacy_sections.py``). Each reads the flat ``metrics[group]`` dicts of ``validate.run``
(a metric's value under its name, its details under ``f"{name}_{key}"``) and leaves a note,
or nothing, when a key is missing or malformed."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from synthgen.report import metric_plots, plots

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
        uri = metric_plots.heatmap_plot(m, labels, title, vmin=lo, vmax=hi, cmap=cmap)
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
