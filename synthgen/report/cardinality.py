"""Children per parent, real against synthetic: the numbers (for report.json) and the plot
(for report.html), one per foreign key of a multi-table run."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.dataset.data import Dataset
from synthgen.metrics.relational import children_per_parent

MAX_BARS = 30


def histograms(real: Dataset, syn: Dataset, table: str) -> dict[str, dict[str, Any]]:
    """Per foreign key of ``table`` (self-references aside): the share of parent rows with
    each number of children, from the fewest any parent has up to the 99th percentile, the
    last bar holding the rest (``values[-1]`` or more)."""
    out = {}
    for fk in real.spec[table].foreign_keys:
        if fk.ref_table == table or fk.ref_table not in syn.spec:
            continue
        r = children_per_parent(real, table, fk)
        s = children_per_parent(syn, table, fk)
        both = np.concatenate([r, s])
        if not len(both):
            continue
        low = int(both.min())
        top = int(min(max(low + 1.0, np.percentile(both, 99)), low + MAX_BARS - 1))
        out[fk.describe(table)] = {
            "values": list(range(low, top + 1)),
            "real": _shares(r, low, top),
            "synthetic": _shares(s, low, top),
            "parents": [len(r), len(s)],
        }
    return out


def _shares(x: np.ndarray, low: int, top: int) -> list[float]:
    if not len(x):
        return [0.0] * (top - low + 1)
    counts = np.bincount(np.minimum(x.astype(np.int64), top) - low, minlength=top - low + 1)
    return [round(float(c), 6) for c in counts / len(x)]


def plot(entry: dict[str, Any], title: str) -> str:
    """Side-by-side bars of the two shares, as a data URI."""
    from synthgen.report.plots import FONT_SIZE, new_axes, to_data_uri

    fig, ax = new_axes(5.2, 2.4)
    x = np.asarray(entry["values"], dtype=float)
    ax.bar(x - 0.2, entry["real"], width=0.4, label="real (train)", color="#4c72b0")
    ax.bar(x + 0.2, entry["synthetic"], width=0.4, label="synthetic", color="#dd8452")
    labels = [str(v) for v in entry["values"]]
    labels[-1] += "+"
    step = max(1, len(labels) // 12)
    ax.set_xticks(x[::step], labels[::step])
    ax.set_xlabel("children per parent row", fontsize=FONT_SIZE)
    ax.set_ylabel("share of parents", fontsize=FONT_SIZE)
    ax.set_title(title, fontsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE, frameon=False)
    return to_data_uri(fig)
