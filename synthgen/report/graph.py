"""The relationship graph of a dataset as a picture: tables as boxes, parents above their
children (one row per dependency level), an arrow from child to parent per foreign key
labelled with its column(s), a loop for a self-reference. Renders a spec; computes nothing
about the data."""

from __future__ import annotations

import base64
import io

# synthgen.report (this package) has imported plots, which chose the Agg backend already
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from synthgen.dataset.spec import DatasetSpec, ForeignKey
from synthgen.report import plots

BOX_W, BOX_H = 1.6, 0.5
X_GAP, Y_GAP = 2.6, 1.6
DPI = 90
MAX_INCHES = 20.0
LABEL_CHARS = 24
LEGEND = "arrow: child -> parent, labelled with its key column; orange: detected, grey: declared"
PARENT_COLOR, EDGE_COLOR, DETECTED_COLOR = "#dde7f3", "#44546a", "#b45f06"


def levels(spec: DatasetSpec) -> dict[str, int]:
    """Each table's dependency level: 0 for tables that reference no other, else one more
    than its deepest parent. A cycle is cut where the walk closes it (so any spec draws)."""
    parents = {t.name: [p for p in t.parents() if p != t.name and p in spec] for t in spec}
    level: dict[str, int] = {}

    def walk(name: str, seen: frozenset[str]) -> int:
        if name not in level:
            ups = [walk(p, seen | {name}) for p in parents[name] if p not in seen | {name}]
            level[name] = 1 + max(ups) if ups else 0
        return level[name]

    for name in spec.names:
        walk(name, frozenset())
    return level


def positions(spec: DatasetSpec) -> dict[str, tuple[float, float]]:
    """Box centres: a row per level (parents on top), each row ordered near its parents
    and the top row then near its children, so arrows cross less."""
    lv = levels(spec)
    rows: dict[int, list[str]] = {}
    for name in spec.names:
        rows.setdefault(lv[name], []).append(name)
    width = max((len(r) for r in rows.values()), default=1)
    pos: dict[str, tuple[float, float]] = {}
    for _ in range(2):
        for depth in sorted(rows):
            row = rows[depth]
            if depth or pos:
                row.sort(key=lambda n: _mean_x(spec, n, pos, below=not depth))
            offset = (width - len(row)) * X_GAP / 2
            for i, name in enumerate(row):
                pos[name] = (offset + i * X_GAP, -depth * Y_GAP)
    return pos


def _mean_x(
    spec: DatasetSpec, name: str, pos: dict[str, tuple[float, float]], below: bool
) -> float:
    near = [c for c, fk in spec.children(name) if c != name] if below else spec[name].parents()
    xs = [pos[n][0] for n in near if n in pos and n != name]
    return sum(xs) / len(xs) if xs else pos.get(name, (float("inf"), 0.0))[0]


def relationship_graph(spec: DatasetSpec) -> str:
    """The graph as a base64-encoded PNG (put it in ``data:image/png;base64,...``)."""
    pos = positions(spec)
    xs = [x for x, _ in pos.values()] or [0.0]
    ys = [y for _, y in pos.values()] or [0.0]
    w = min(MAX_INCHES, 1.5 + (max(xs) - min(xs) + X_GAP) * 1.1)
    h = min(MAX_INCHES, 1.0 + (max(ys) - min(ys) + Y_GAP) * 1.1)
    fig, ax = plt.subplots(figsize=(w, h), dpi=DPI)
    try:
        ax.set_axis_off()
        ax.set_xlim(min(xs) - X_GAP / 2, max(xs) + X_GAP / 2 + 0.6)
        ax.set_ylim(min(ys) - Y_GAP / 2, max(ys) + Y_GAP * 0.7)
        for t in spec:
            _box(ax, pos[t.name], t.name, t.rows)
        seen: dict[tuple[str, str], int] = {}
        for child, fk in spec.edges():
            if fk.ref_table not in pos:
                continue
            k = seen[(child, fk.ref_table)] = seen.get((child, fk.ref_table), -1) + 1
            if fk.ref_table == child:
                _loop(ax, pos[child], fk, k)
            else:
                _arrow(ax, pos[child], pos[fk.ref_table], fk, k)
        ax.text(
            min(xs) - X_GAP / 2,
            min(ys) - Y_GAP / 2,
            LEGEND,
            fontsize=7,
            color="#57606a",
            ha="left",
            va="bottom",
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _label(fk: ForeignKey) -> str:
    text = ", ".join(fk.columns)
    text = text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
    return plots.mpl_text(text)


def _box(ax: object, xy: tuple[float, float], name: str, rows: int | None) -> None:
    x, y = xy
    ax.add_patch(  # type: ignore[attr-defined]
        FancyBboxPatch(
            (x - BOX_W / 2, y - BOX_H / 2),
            BOX_W,
            BOX_H,
            boxstyle="round,pad=0.04",
            facecolor=PARENT_COLOR,
            edgecolor=EDGE_COLOR,
            zorder=3,  # arrows pass beneath the boxes
        )
    )
    text = plots.mpl_text(name, 22) + ("" if rows is None else f"\n{rows:,} rows")
    ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=4)  # type: ignore[attr-defined]


def _style(fk: ForeignKey) -> dict[str, object]:
    color = DETECTED_COLOR if fk.origin == "detected" else EDGE_COLOR
    return {
        "arrowstyle": "-|>",
        "mutation_scale": 12,
        "color": color,
        "linewidth": 1.1,
        "zorder": 2,
    }


def _arrow(
    ax: object, child: tuple[float, float], parent: tuple[float, float], fk: ForeignKey, k: int
) -> None:
    (cx, cy), (px, py) = child, parent
    up = 1 if py > cy else -1 if py < cy else 0
    start = (cx, cy + up * BOX_H / 2) if up else (cx + (BOX_W / 2) * (1 if px > cx else -1), cy)
    end = (px, py - up * BOX_H / 2) if up else (px - (BOX_W / 2) * (1 if px > cx else -1), py)
    rad = 0.15 * k * (1 if k % 2 else -1)
    ax.add_patch(  # type: ignore[attr-defined]
        FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}", **_style(fk))  # type: ignore[arg-type]
    )
    t = 0.35 + 0.1 * (k % 3)  # several labels on one pair of tables do not overlap
    mx, my = start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t
    ax.text(  # type: ignore[attr-defined]
        mx,
        my,
        _label(fk),
        fontsize=7,
        ha="center",
        va="center",
        color=_style(fk)["color"],
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
        zorder=5,
    )


def _loop(ax: object, xy: tuple[float, float], fk: ForeignKey, k: int) -> None:
    """A loop standing on the box's top edge, its label above it."""
    x, y = xy
    top = y + BOX_H / 2
    a, b = x + BOX_W * (0.05 + 0.12 * k), x + BOX_W * (0.35 + 0.12 * k)
    ax.add_patch(  # type: ignore[attr-defined]
        FancyArrowPatch((a, top), (b, top), connectionstyle="arc3,rad=-1.4", **_style(fk))  # type: ignore[arg-type]
    )
    ax.text(  # type: ignore[attr-defined]
        (a + b) / 2,
        top + 0.28 + 0.18 * k,
        _label(fk),
        fontsize=7,
        ha="center",
        va="bottom",
        color=_style(fk)["color"],
    )
