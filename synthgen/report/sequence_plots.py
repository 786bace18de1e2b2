"""The report's sequences section: a few real and a few synthetic sequences side by side.

Small multiples, one row per numeric column and one column per side (real, synthetic): each
panel draws a handful of entities' values over the time since their first event, so a reader
sees at a glance whether synthetic sequences move like real ones (gradually, with the same
daily swing) or jump about. Entities are drawn with the report's seed: the same run gives the
same picture. Nothing here computes a metric; the figures quoted come from the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.report import plots
from synthgen.report.plots import DPI, FONT_SIZE, REAL_COLOR, SYNTH_COLOR, mpl_text, plt
from synthgen.report.sections import esc, fmt_value, img, note, section

ENTITIES = 3  # sequences drawn per side
MAX_COLUMNS = 4  # numeric columns drawn
NUMBER_KINDS = ("numeric", "integer")
STYLES = ("-", "--", ":", "-.")
UNITS = ((3 * 86_400.0, 86_400.0, "days"), (3 * 3_600.0, 3_600.0, "hours"), (0.0, 60.0, "minutes"))
FIGURES = (
    ("sequence_length_similarity", "length similarity"),
    ("sequence_gap_similarity", "gap similarity"),
    ("lag1_autocorrelation_error", "lag-1 autocorrelation error"),
    ("sequence_detection_auc", "sequence detection AUC"),
    ("sequence_copy_excess", "whole-sequence copies beyond chance"),
    ("sequence_dcr_share", "sequence DCR share"),
)


def elapsed(values: pd.Series, kind: str) -> np.ndarray:
    """The order column as numbers: seconds since 1970 for a time, else the numbers."""
    if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        secs = (ts - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return secs.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def pick(df: pd.DataFrame, entity: str, k: int, seed: int, salt: int) -> list[Any]:
    """``k`` entities of ``df`` drawn with ``seed`` (in the order they first appear)."""
    keys = pd.unique(df[entity].dropna())
    if len(keys) == 0:
        return []
    rng = np.random.default_rng([seed, salt])
    return [keys[i] for i in np.sort(rng.choice(len(keys), min(k, len(keys)), replace=False))]


def _traces(
    df: pd.DataFrame, entity: str, order: str, kind: str, keys: list[Any]
) -> list[tuple[np.ndarray, pd.DataFrame]]:
    """Per entity: its events' time since its first event, and its rows, in order."""
    out = []
    for key in keys:
        rows = df[df[entity] == key]
        t = elapsed(rows[order], kind)
        idx = np.argsort(t, kind="stable")
        t = t[idx]
        out.append((t - np.nanmin(t) if np.isfinite(t).any() else t, rows.iloc[idx]))
    return out


def _unit(kind: str, spans: list[float]) -> tuple[float, str]:
    if kind != "datetime":
        return 1.0, ""
    span = max([s for s in spans if np.isfinite(s)], default=0.0)
    return next((scale, name) for low, scale, name in UNITS if span >= low)


def sequence_plot(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    entity: str,
    order: str,
    numbers: list[str],
    *,
    order_kind: str = "datetime",
    seed: int = 0,
    entities: int = ENTITIES,
) -> str | None:
    """A few real and synthetic sequences side by side (rows: ``numbers``, at most
    MAX_COLUMNS; left real, right synthetic); None when there is nothing to draw."""
    cols = [c for c in numbers if c in real.columns and c in synthetic.columns][:MAX_COLUMNS]
    sides = [
        _traces(df, entity, order, order_kind, pick(df, entity, entities, seed, salt))
        for salt, df in enumerate((real, synthetic))
    ]
    if not cols or not all(sides):
        return None
    scale, unit = _unit(order_kind, [float(np.nanmax(t)) for s in sides for t, _ in s if len(t)])
    fig, axes = plt.subplots(
        len(cols), 2, figsize=(6.4, 0.3 + 1.45 * len(cols)), dpi=DPI,
        sharex=True, sharey="row", squeeze=False,
    )  # fmt: skip
    for j, (traces, colour, title) in enumerate(
        zip(sides, (REAL_COLOR, SYNTH_COLOR), ("real", "synthetic"), strict=True)
    ):
        axes[0, j].set_title(f"{title}: {len(traces)} sequences", fontsize=FONT_SIZE + 1)
        for i, c in enumerate(cols):
            ax = axes[i, j]
            for n, (t, rows) in enumerate(traces):
                y = pd.to_numeric(rows[c], errors="coerce").to_numpy(float, na_value=np.nan)
                ax.plot(t / scale, y, STYLES[n % len(STYLES)], color=colour, linewidth=0.9,
                        marker=".", markersize=2.5, alpha=0.9)  # fmt: skip
            ax.tick_params(labelsize=FONT_SIZE)
            for spine in ("top", "right"):
                ax.spines[spine].set_visible(False)
            if j == 0:
                ax.set_ylabel(mpl_text(c, 14), fontsize=FONT_SIZE)
    x_label = f"{order}: {unit} since the first event" if unit else f"{order} from the first event"
    for ax in axes[-1]:
        ax.set_xlabel(mpl_text(x_label, 40), fontsize=FONT_SIZE)
    fig.tight_layout()
    return plots.to_data_uri(fig)


def sequence_section(
    spec: Mapping[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[dict],
    metrics: Mapping[str, Any] | None,
    seed: int,
) -> str:
    """The report's ``sequences`` section: the sequence figures the suite computed and the
    side-by-side plot."""
    entity, order = str(spec.get("entity")), str(spec.get("order"))
    kinds = {str(c["name"]): str(c.get("kind")) for c in columns}
    numbers = [n for n, k in kinds.items() if k in NUMBER_KINDS and n not in (entity, order)]
    counts = [df[entity].nunique() if entity in df else 0 for df in (real, synthetic)]
    parts = [
        f'<p class="muted">Each {esc(entity)}\u2019s events by {esc(order)}: '
        f"{counts[0]:,} real (training) and {counts[1]:,} synthetic sequences.</p>"
    ]
    found = _figures(metrics or {})
    if found:
        rows = "".join(f"<tr><td>{esc(k)}</td><td class='num'>{v}</td></tr>" for k, v in found)
        parts.append(f"<table><tr><th>figure</th><th>value</th></tr>{rows}</table>")
    try:
        uri = sequence_plot(
            real, synthetic, entity, order, numbers,
            order_kind=kinds.get(order, "datetime"), seed=seed,
        )  # fmt: skip
    except Exception as exc:  # odd data must not sink the report
        uri, why = None, f"could not draw the sequences ({type(exc).__name__}: {exc})"
    else:
        why = "no numeric column to draw, or no sequence on a side"
    if uri is None:
        parts.append(note(why))
    else:
        parts.append(
            f'<p class="muted">{ENTITIES} sequences a side, drawn with the run\u2019s seed; '
            "one line style per sequence.</p>"
            + img(uri, "a few real and synthetic sequences side by side")
        )
    return section("sequences", "Sequences", "\n".join(parts))


def _figures(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    flat: dict[str, Any] = {}
    for group in metrics.values():
        if isinstance(group, Mapping):
            flat |= dict(group)
    return [(label, esc(fmt_value(flat[k]))) for k, label in FIGURES if k in flat]
