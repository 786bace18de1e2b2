"""The report's metric plots: a matrix as a heatmap (pair trends), the distances to the
closest record as histograms. Column plots and the shared figure helpers: ``plots``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from synthgen.report.plots import (
    DPI,
    FIG_SIZE,
    FONT_SIZE,
    is_finite,
    legend_above,
    matplotlib,
    mpl_text,
    new_axes,
    plt,
    to_data_uri,
)

ANNOTATE_MAX = 12  # heatmaps write their values into the cells up to this many columns
TRAIN_COLOR, HOLDOUT_COLOR = "#c44e52", "#4c72b0"


def heatmap_plot(
    matrix: np.ndarray, labels: list[str], title: str, *, vmin: float, vmax: float, cmap: str
) -> str:
    """A square matrix as a heatmap on a fixed colour scale; missing cells grey."""
    n = len(labels)
    side = float(np.clip(0.3 * n + 1.6, 3.0, 8.0))
    fig, ax = plt.subplots(figsize=(side + 0.7, side), dpi=DPI)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#d0d7de")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=colours, vmin=vmin, vmax=vmax)
    ticks = [mpl_text(c if len(c) <= 16 else f"{c[:8]}…{c[-7:]}") for c in labels]  # keep ends
    ax.set_xticks(range(n), ticks, rotation=90, fontsize=FONT_SIZE)
    ax.set_yticks(range(n), ticks, fontsize=FONT_SIZE)
    ax.set_title(mpl_text(title), fontsize=FONT_SIZE + 1)
    extend = "max" if np.nanmax(np.r_[matrix.ravel(), vmin]) > vmax else "neither"
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, extend=extend).ax.tick_params(
        labelsize=FONT_SIZE
    )
    for (i, j), v in np.ndenumerate(matrix if n <= ANNOTATE_MAX else np.empty((0, 0))):
        if np.isfinite(v):  # white text on the darkest quarter of the scale
            dark = abs(v) > 0.6 * vmax if vmin < 0 else v > vmin + 0.75 * (vmax - vmin)
            colour = "white" if dark else "#1f2328"
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6.5, color=colour)
    return to_data_uri(fig)


def dcr_histogram_plot(
    edges: np.ndarray,
    train: np.ndarray,
    holdout: np.ndarray,
    medians: Sequence[Any] = (None, None),
) -> str:
    """Distances of synthetic rows to their nearest training and holdout row, overlaid as
    shares of rows on shared bins; dashed lines at the medians."""
    fig, ax = new_axes(FIG_SIZE[0] * 1.5, FIG_SIZE[1] * 1.2)
    for counts, colour, label, median in (
        (train, TRAIN_COLOR, "to nearest training row", medians[0]),
        (holdout, HOLDOUT_COLOR, "to nearest holdout row", medians[1]),
    ):
        shares = counts / max(float(counts.sum()), 1.0)
        ax.stairs(shares, edges, fill=True, alpha=0.35, color=colour, label=label)
        ax.stairs(shares, edges, color=colour, linewidth=0.9)
        if median is not None and is_finite(median):
            ax.axvline(float(median), color=colour, linestyle="--", linewidth=0.9)
    ax.set_xlim(float(edges[0]), float(edges[-1]))
    ax.set_xlabel("distance (last bin: the 1 % farthest; dashed: medians)", fontsize=FONT_SIZE)
    ax.set_ylabel("share of synthetic rows", fontsize=FONT_SIZE)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    legend_above(ax)
    return to_data_uri(fig)
