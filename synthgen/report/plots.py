"""Small matplotlib plots for the HTML report, returned as ``data:image/png;base64`` URIs.

The Agg backend is selected before anything touches pyplot; every figure is closed as soon
as its PNG is written, so rendering hundreds of plots does not leak memory.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _ensure_writable_mpl_config() -> None:
    """Point ``MPLCONFIGDIR`` at a temp dir only when matplotlib's default is not writable."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = os.path.expanduser("~")
    if sys.platform.startswith(("linux", "freebsd")):
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        target = os.path.join(base, "matplotlib")
    else:
        target = os.path.join(home, ".matplotlib")
    probe = target
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not (os.path.isdir(probe) and os.access(probe, os.W_OK)):
        os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="synthgen-mpl-")


_ensure_writable_mpl_config()

import matplotlib  # noqa: E402

if "matplotlib.pyplot" not in sys.modules:  # don't switch the backend under a live session
    matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

REAL_COLOR = "#4c72b0"
SYNTH_COLOR = "#dd8452"
BAR_COLOR = "#6c8ebf"
FIG_SIZE = (3.2, 2.2)
DPI = 80
FONT_SIZE = 7
MAX_PLOT_ROWS = 50_000
TOP_CATEGORIES = 12
LABEL_CHARS = 18
OTHER, MISSING = "(other)", "(missing)"
NOT_COMPARED = {
    "id": "identifier; regenerated, not compared",
    "pii": "replaced with fake values; not compared",
    "text": "free text; not compared",
}


@dataclass
class ColumnPlots:
    """The distribution plots of a real/synthetic pair, and notes on every column left out."""

    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (column, kind, data URI)
    notes: list[str] = field(default_factory=list)
    skipped: int = 0  # comparable columns beyond max_plots
    real_rows: tuple[int, int] = (0, 0)  # (rows, rows plotted)
    synthetic_rows: tuple[int, int] = (0, 0)


def sample_frame(df: pd.DataFrame, max_rows: int = MAX_PLOT_ROWS, seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``df``, drawn reproducibly with ``seed``."""
    if len(df) <= max_rows:
        return df
    return df.sample(n=max_rows, random_state=seed)


def mpl_text(value: object, limit: int | None = None) -> str:
    """A label safe for matplotlib: one line, truncated, ``$`` escaped (no mathtext)."""
    text = " ".join(str(value).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def new_axes(width: float = FIG_SIZE[0], height: float = FIG_SIZE[1]) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=DPI)
    ax.tick_params(labelsize=FONT_SIZE)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def to_data_uri(fig: Figure) -> str:
    """Encode ``fig`` as a base64 PNG data URI and close it."""
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="AutoDateLocator was unable")  # falls back
            fig.savefig(
                buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None}
            )
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _note_figure(fig: Figure, ax: Axes, text: str) -> str:
    """``fig`` with ``text`` in the middle of ``ax`` instead of a plot."""
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=FONT_SIZE, transform=ax.transAxes)
    return to_data_uri(fig)


def hbar_plot(values: Mapping[str, float], xlabel: str = "") -> str | None:
    """Horizontal bars, one per entry, first entry on top; ``None`` when nothing is finite."""
    items = [(k, float(v)) for k, v in values.items() if is_finite(v)]
    if not items:
        return None
    fig, ax = new_axes(FIG_SIZE[0] + 0.8, max(1.2, 0.45 + 0.17 * len(items)))
    ypos = np.arange(len(items))
    ax.barh(ypos, [v for _, v in items], color=BAR_COLOR, height=0.7)
    ax.set_yticks(ypos, [mpl_text(k, 24) for k, _ in items])
    ax.invert_yaxis()
    ax.set_xlabel(mpl_text(xlabel), fontsize=FONT_SIZE)
    return to_data_uri(fig)


def distribution_plot(real: pd.Series, synthetic: pd.Series, kind: str) -> str | None:
    """Real vs synthetic for one column of ``kind``; ``None`` for kinds that are not compared."""
    if kind in ("numeric", "integer"):
        return _histogram_plot(
            _numeric_values(real),
            _numeric_values(synthetic),
            real,
            synthetic,
            integer=kind == "integer",
        )
    if kind == "datetime":
        return _histogram_plot(
            _epoch_seconds(real), _epoch_seconds(synthetic), real, synthetic, dates=True
        )
    if kind in ("categorical", "boolean"):
        return _category_plot(real, synthetic)
    return None


def is_finite(value: Any) -> bool:
    """True for a real, finite number (or something float() turns into one)."""
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def _missing_share(s: pd.Series) -> float:
    return float(s.isna().mean()) if len(s) else 0.0


def _numeric_values(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def _epoch_seconds(s: pd.Series) -> np.ndarray:
    """Seconds since 1970 (UTC) of the parseable, non-missing values of ``s``."""
    try:
        if pd.api.types.is_datetime64_any_dtype(s):
            ts = s.dt.tz_convert("UTC") if s.dt.tz is not None else s
        else:
            ts = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        secs = (ts - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    except (TypeError, ValueError, OverflowError):
        return np.array([], dtype=float)
    values = secs.to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def _bins(real: np.ndarray, integer: bool, dates: bool = False) -> np.ndarray:
    """Shared bin edges over the 0.5-99.5 % quantile range of the real values."""
    lo, hi = (float(q) for q in np.quantile(real, [0.005, 0.995]))
    if integer:
        lo, hi = float(np.floor(lo)), float(np.ceil(hi))
        if hi - lo <= 40:
            return np.arange(lo - 0.5, hi + 1.5)
    if hi <= lo:
        pad = 1.0 if dates else max(abs(lo) * 0.05, 0.5)  # dates: one day either side
        lo, hi = lo - pad, hi + pad
    return np.linspace(lo, hi, 31)


def legend_above(ax: Axes) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=2,
        fontsize=FONT_SIZE - 1,
        frameon=False,
        borderaxespad=0.1,
        handlelength=1.2,
    )


def _to_date_numbers(seconds: np.ndarray) -> np.ndarray:
    """Seconds since 1970 as matplotlib date numbers (days since ``mdates.get_epoch()``)."""
    offset = float(mdates.date2num(np.datetime64("1970-01-01T00:00:00")))
    return offset + seconds / 86_400.0


def _histogram_plot(
    real: np.ndarray,
    synth: np.ndarray,
    real_raw: pd.Series,
    synth_raw: pd.Series,
    *,
    integer: bool = False,
    dates: bool = False,
) -> str:
    """Overlaid density histograms on shared bins, clipped to the bulk of the real data."""
    fig, ax = new_axes()
    if real.size == 0:
        return _note_figure(fig, ax, "no real values to compare")
    if dates:
        real, synth = _to_date_numbers(real), _to_date_numbers(synth)
    bins = _bins(real, integer, dates)
    for values, color, label in ((real, REAL_COLOR, "real"), (synth, SYNTH_COLOR, "synthetic")):
        inside = values[(values >= bins[0]) & (values <= bins[-1])]
        if inside.size:
            heights, _ = np.histogram(inside, bins=bins, density=True)
            ax.stairs(heights, bins, fill=True, alpha=0.45, color=color, label=label)
            ax.stairs(heights, bins, color=color, linewidth=0.8)
        else:
            ax.plot([], [], color=color, label=f"{label} (none in range)")
    legend_above(ax)
    ax.set_yticks([])
    if dates:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.xaxis.get_offset_text().set_fontsize(FONT_SIZE)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    missing = (_missing_share(real_raw), _missing_share(synth_raw))
    if max(missing) > 0:
        ax.set_xlabel(
            f"missing: real {missing[0]:.1%}, synthetic {missing[1]:.1%}", fontsize=FONT_SIZE - 1
        )
    return to_data_uri(fig)


def _label(value: object) -> str:
    """A category as text, so ``1.0`` and ``1`` (or ``True`` and ``"True"``) compare equal."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _label_counts(s: pd.Series) -> pd.Series:
    """Counts of non-missing values keyed by label, most frequent first."""
    counts = s.value_counts(dropna=True)
    counts = counts[counts > 0]  # a categorical dtype lists unused categories too
    if counts.empty:
        return counts
    counts.index = [_label(v) for v in counts.index]
    counts = counts.groupby(level=0, sort=False).sum()
    return counts.sort_values(ascending=False, kind="stable")


def category_shares(
    real: pd.Series, synthetic: pd.Series
) -> tuple[list[str], list[float], list[float]]:
    """Labels and relative frequencies: top real categories, then ``(other)`` / ``(missing)``."""
    r_counts, s_counts = _label_counts(real), _label_counts(synthetic)
    top = [str(c) for c in r_counts.index[:TOP_CATEGORIES]]

    def shares(counts: pd.Series, n: int) -> list[float]:
        n_present, n = int(counts.sum()), max(n, 1)
        head = [int(counts.get(c, 0)) for c in top]
        return [*(h / n for h in head), (n_present - sum(head)) / n, (n - n_present) / n]

    r_sh, s_sh = shares(r_counts, len(real)), shares(s_counts, len(synthetic))
    names = [*top, OTHER, MISSING]
    keep = [i for i in range(len(names)) if i < len(top) or r_sh[i] > 0 or s_sh[i] > 0]
    return [names[i] for i in keep], [r_sh[i] for i in keep], [s_sh[i] for i in keep]


def _category_plot(real: pd.Series, synthetic: pd.Series) -> str:
    """Side-by-side horizontal bars of category shares, most frequent real category on top."""
    names, r_sh, s_sh = category_shares(real, synthetic)
    fig, ax = new_axes(FIG_SIZE[0], max(FIG_SIZE[1], 0.55 + 0.2 * len(names)))
    if not names:
        return _note_figure(fig, ax, "no values to compare")
    ypos = np.arange(len(names))
    ax.barh(ypos - 0.2, r_sh, height=0.4, color=REAL_COLOR, label="real")
    ax.barh(ypos + 0.2, s_sh, height=0.4, color=SYNTH_COLOR, label="synthetic")
    ax.set_yticks(ypos, [mpl_text(n, LABEL_CHARS) for n in names])
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.set_xlabel("share of rows", fontsize=FONT_SIZE)
    legend_above(ax)
    return to_data_uri(fig)


def kind_of_series(s: pd.Series) -> str:
    """A best-effort column kind from a pandas dtype, for columns the schema does not know."""
    from synthgen.schema.spec import dtype_kind

    return dtype_kind(s)


def column_plots(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[dict],
    *,
    max_plots: int = 40,
    seed: int = 0,
) -> ColumnPlots:
    """Plot every comparable column (schema order, then frame order) on seeded samples."""
    real_s, synth_s = sample_frame(real, seed=seed), sample_frame(synthetic, seed=seed)
    out = ColumnPlots(
        real_rows=(len(real), len(real_s)), synthetic_rows=(len(synthetic), len(synth_s))
    )
    by_name = {str(c["name"]): c for c in columns}
    real_cols = {str(c): c for c in real.columns}
    synth_cols = {str(c): c for c in synthetic.columns}
    for name in dict.fromkeys([*by_name, *real_cols, *synth_cols]):
        if name not in real_cols or name not in synth_cols:
            where = "real" if name in real_cols else "synthetic" if name in synth_cols else ""
            out.notes.append(
                f"{name}: only in the {where} data; not compared"
                if where
                else f"{name}: in the schema but in neither frame; not compared"
            )
            continue
        r, s = real_s[real_cols[name]], synth_s[synth_cols[name]]
        spec = by_name.get(name, {})
        kind = str(spec.get("kind") or kind_of_series(r))
        if kind in NOT_COMPARED:
            label = f"pii ({spec['pii_type']})" if kind == "pii" and spec.get("pii_type") else kind
            out.notes.append(f"{name}: {label}: {NOT_COMPARED[kind]}")
        elif len(out.figures) >= max_plots:
            out.skipped += 1
        else:
            _plot_one(out, name, kind, r, s)
    return out


def _plot_one(out: ColumnPlots, name: str, kind: str, real: pd.Series, synth: pd.Series) -> None:
    try:
        uri = distribution_plot(real, synth, kind)
    except Exception as exc:  # one odd column must not sink the whole report
        out.notes.append(f"{name}: could not plot ({type(exc).__name__}: {exc})")
        return
    if uri is None:
        out.notes.append(f"{name}: kind {kind!r} is not plotted")
    else:
        out.figures.append((name, kind, uri))
