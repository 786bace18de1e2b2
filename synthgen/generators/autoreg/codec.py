"""Every modelled column as small integer codes, and back.

The network only ever sees codes; this module decides them from the model frame (numbers and
datetimes as float64 seconds, labels as Python objects, missing as NaN / None):

* **labels** -> one code per level, sorted by text. Levels held by fewer than ``rare_min``
  rows, and those beyond the ``max_labels`` most frequent, share one *rare* code, decoded by
  drawing one of them by its count (the network's cost grows with the codes of a column).
* **numbers with at most ``max_exact`` distinct values** -> one code per value (exact).
* **other numbers** (datetimes too) -> each *point mass* (a value held by at least
  ``mass_share`` of the rows: ``capital-gain = 0``) is a code of its own, the rest fall in
  ``n_bins`` quantile bins. Decoding draws uniformly inside one of ``n_sub`` equal-mass
  cells of the bin and rounds to the column's decimals (datetimes: to its resolution), so a
  long tail keeps its shape and no training value is stored or given back as such.
* **missing** -> a code of its own, the last one, in every kind (only when the column has any).

The state is JSON (a :class:`ColumnCode` per column) plus two float arrays per binned column
(bin edges, cell edges), saved as safetensors.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, StrictBool, StrictInt, StrictStr

from synthgen.generators.folder import Label, SavedState

MASS_SHARE = 0.01
_UNITS = (86400, 3600, 60, 1)  # datetime resolutions tried, in seconds


class ColumnCode(SavedState):
    """How one column maps to codes 0 .. n_codes - 1 (also its saved, checked state)."""

    name: StrictStr
    kind: Literal["labels", "exact", "binned"]
    labels: list[Label] = Field(default_factory=list)  # labels: the level of each code
    rare: list[Label] = Field(default_factory=list)  # labels sharing the rare code
    rare_counts: list[float] = Field(default_factory=list)
    values: list[float] = Field(default_factory=list)  # exact: each code's value; binned: masses
    n_bins: StrictInt = Field(0, ge=0)
    missing: StrictBool = False  # the last code stands for missing
    decimals: StrictInt | None = Field(None, ge=0, le=12)  # numbers: round decoded values
    unit: StrictInt | None = Field(None, ge=1)  # datetimes: resolution in seconds

    @property
    def n_codes(self) -> int:
        if self.kind == "labels":
            base = len(self.labels) + bool(self.rare)
        elif self.kind == "exact":
            base = len(self.values)
        else:
            base = len(self.values) + self.n_bins
        return base + int(self.missing)

    @property
    def missing_code(self) -> int:
        return self.n_codes - 1 if self.missing else -1

    @property
    def ordinal(self) -> float:
        """Scale giving an ordered code its 0..1 position as a network input (labels: 0)."""
        if self.kind == "labels":
            return 0.0
        return 1.0 / max(self.n_codes - 1 - int(self.missing), 1)


class TableCodec:
    """Codes for a list of columns. ``edges[name]``: (n_bins + 1,) bin edges; ``cells[name]``:
    (n_bins, n_sub + 1) equal-mass cell edges inside each bin."""

    def __init__(self, columns: list[ColumnCode], arrays: dict[str, np.ndarray]) -> None:
        self.columns = columns
        self.arrays = arrays
        self._index = [
            pd.Index(_objects(c.labels), dtype=object) if c.kind == "labels" else None
            for c in columns
        ]

    # ---- fit --------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        kinds: dict[str, str],
        *,
        max_exact: int,
        n_bins: int,
        n_sub: int,
        rare_min: int,
        max_labels: int = 1000,
        levels: dict[str, list[Any]] | None = None,
    ) -> TableCodec:
        """``levels``: label columns whose levels are given (a DP release), not read."""
        columns, arrays = [], {}
        for name in frame.columns:
            if levels is not None and name in levels:
                columns.append(_given_labels(name, levels[name]))
                continue
            if kinds[name] in ("categorical", "boolean"):
                columns.append(_fit_labels(name, frame[name], rare_min, max_labels))
                continue
            x = frame[name].to_numpy(np.float64)
            col, edges, cells = _fit_numbers(
                name, x, kinds[name] == "datetime", max_exact, n_bins, n_sub
            )
            columns.append(col)
            if edges is not None and cells is not None:
                arrays[f"edges.{name}"], arrays[f"cells.{name}"] = edges, cells
        return cls(columns, arrays)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def cards(self) -> list[int]:
        return [c.n_codes for c in self.columns]

    def __getitem__(self, name: str) -> ColumnCode:
        return self.columns[self.names.index(name)]

    # ---- encode -----------------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """(rows, columns) int64 codes. A label the codec does not know takes the rare code
        (else the first); missing where the column has no missing code, the first too."""
        out = np.empty((len(frame), len(self.columns)), dtype=np.int64)
        for j, c in enumerate(self.columns):
            out[:, j] = self.encode_column(j, frame[c.name])
        return out

    def encode_column(self, j: int, s: pd.Series) -> np.ndarray:
        c = self.columns[j]
        if c.kind == "labels":
            codes = self.label_codes(j, s.to_numpy())
            missing = codes == -2
            codes[codes == -1] = len(c.labels) if c.rare else 0
        else:
            x = s.to_numpy(np.float64, na_value=np.nan)
            missing = np.isnan(x)
            codes = self._number_codes(j, np.where(missing, 0.0, x))
        codes[missing] = c.missing_code if c.missing else 0
        return codes

    def label_codes(self, j: int, values: Any) -> np.ndarray:
        """Codes of labels: -2 for missing, -1 for a label without a code of its own."""
        index = self._index[j]
        assert index is not None
        s = pd.Series(_objects(values), dtype=object)
        codes = index.get_indexer(s).astype(np.int64)
        codes[s.isna().to_numpy()] = -2
        return codes

    def number_codes(self, j: int, x: np.ndarray) -> np.ndarray:
        """Codes of (non-missing) numbers: the exact value or point mass, else the bin."""
        return self._number_codes(j, x)

    def _number_codes(self, j: int, x: np.ndarray) -> np.ndarray:
        c = self.columns[j]
        values = np.asarray(c.values, dtype=np.float64)
        if c.kind == "exact":
            i = np.clip(np.searchsorted(values, x), 0, max(len(values) - 1, 0))
            lower = np.clip(i - 1, 0, None)  # the nearer of the two neighbours
            # halves: the distance between -1e308 and 1e308 overflows, half of it does not
            closer = np.abs(values[lower] / 2 - x / 2) < np.abs(values[i] / 2 - x / 2)
            return np.where(closer, lower, i).astype(np.int64)
        edges = self.arrays[f"edges.{c.name}"]
        codes = len(values) + np.clip(np.searchsorted(edges, x, side="right") - 1, 0, c.n_bins - 1)
        for m, v in enumerate(values):
            codes[x == v] = m
        return codes.astype(np.int64)

    # ---- decode -----------------------------------------------------------------------------
    def decode(self, codes: np.ndarray, u: np.ndarray) -> pd.DataFrame:
        """The model frame of ``codes``; ``u``: (rows, columns, 2) uniforms, the only source of
        randomness (which rare label; where inside a bin)."""
        return pd.DataFrame(
            {
                c.name: self.decode_column(j, codes[:, j], u[:, j])
                for j, c in enumerate(self.columns)
            }
        )

    def decode_column(
        self, j: int, k: np.ndarray, u: np.ndarray, within: tuple[float, float] | None = None
    ) -> np.ndarray:
        """Values of column ``j`` for codes ``k`` (``u``: (rows, 2) uniforms); ``within``
        keeps numbers drawn inside a bin in a range."""
        c = self.columns[j]
        miss = k == c.missing_code
        if c.kind == "labels":
            out = np.empty(len(k), dtype=object)
            levels = np.empty(len(c.labels), dtype=object)
            levels[:] = c.labels
            plain = (k < len(c.labels)) & ~miss
            out[plain] = levels[k[plain]]
            rare = (k == len(c.labels)) & ~miss & bool(c.rare)
            if rare.any():
                names = np.empty(len(c.rare), dtype=object)
                names[:] = c.rare
                cum = np.cumsum(c.rare_counts) / np.sum(c.rare_counts)
                pick = np.searchsorted(cum, u[rare, 0], side="right").clip(max=len(names) - 1)
                out[rare] = names[pick]
            out[miss] = None
            return out
        x = np.full(len(k), np.nan)
        values = np.asarray(c.values, dtype=np.float64)
        fixed = (k < len(values)) & ~miss
        x[fixed] = values[k[fixed]]
        if c.kind == "binned":
            inside = (k >= len(values)) & ~miss
            x[inside] = self._draw_in_bins(c, k[inside] - len(values), u[inside], within)
        return x

    def _draw_in_bins(
        self, c: ColumnCode, b: np.ndarray, u: np.ndarray, within: tuple[float, float] | None
    ) -> np.ndarray:
        cells = self.arrays[f"cells.{c.name}"]
        lo, hi = cells[b, :-1], cells[b, 1:]  # (rows, n_sub) each: equal-mass cells
        weight = np.ones_like(lo)
        if within is not None:  # a cell keeps the share of its mass inside the range
            weight = _share_inside(lo, hi, *within)
            lo, hi = np.clip(lo, *within), np.clip(hi, *within)
        total = weight.sum(1, keepdims=True)
        weight = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 1.0 / lo.shape[1])
        pick = (weight.cumsum(1) <= u[:, :1]).sum(1).clip(max=lo.shape[1] - 1)
        rows = np.arange(len(b))
        a, z = lo[rows, pick], hi[rows, pick]
        v = a * (1 - u[:, 1]) + z * u[:, 1]  # no overflow between -1e308 and 1e308
        v = _round(v, c)
        return np.clip(v, *within) if within is not None else v

    def range_share(self, j: int, low: float, high: float) -> np.ndarray:
        """For each code of numeric column ``j``: the share of its mass within [low, high]."""
        c = self.columns[j]
        share = np.zeros(c.n_codes)
        values = np.asarray(c.values, dtype=np.float64)
        share[: len(values)] = (values >= low) & (values <= high)
        if c.kind == "binned":
            cells = self.arrays[f"cells.{c.name}"]
            inside = _share_inside(cells[:, :-1], cells[:, 1:], low, high)
            share[len(values) : len(values) + c.n_bins] = inside.mean(1)
        return share

    # ---- state ------------------------------------------------------------------------------
    def to_json(self) -> list[dict[str, Any]]:
        return [c.model_dump(mode="json") for c in self.columns]

    @classmethod
    def from_json(cls, state: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> TableCodec:
        columns = [ColumnCode.model_validate(c) for c in state]
        return cls(columns, {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})


# ---- fitting one column -------------------------------------------------------------------------
def _fit_labels(name: str, s: pd.Series, rare_min: int, max_labels: int) -> ColumnCode:
    values = pd.Series(_objects(s.to_numpy()), dtype=object)
    counts = values.value_counts(dropna=True, sort=False)
    pairs = [(_key(k), int(n)) for k, n in counts.items()]
    by_count = sorted(pairs, key=lambda kn: (-kn[1], _order(kn[0])))
    common = {k for k, n in by_count[:max_labels] if n >= rare_min}
    keep = sorted((k for k, _ in pairs if k in common), key=_order)
    rare = sorted(((k, n) for k, n in pairs if k not in common), key=lambda kn: _order(kn[0]))
    return ColumnCode(
        name=name,
        kind="labels",
        labels=keep,
        rare=[k for k, _ in rare],
        rare_counts=[float(n) for _, n in rare],
        missing=bool(values.isna().any()),
    )


def _given_labels(name: str, levels: list[Any]) -> ColumnCode:
    """Labels from a released list (None in it: the column has missing values)."""
    keep = sorted({_key(v) for v in levels if not _isna(v)}, key=_order)
    return ColumnCode(name=name, kind="labels", labels=keep, missing=any(_isna(v) for v in levels))


def _fit_numbers(
    name: str, x: np.ndarray, is_datetime: bool, max_exact: int, n_bins: int, n_sub: int
) -> tuple[ColumnCode, np.ndarray | None, np.ndarray | None]:
    missing = bool(np.isnan(x).any())
    x = x[~np.isnan(x)]
    rounding: dict[str, Any] = (
        {"unit": _resolution(x)} if is_datetime else {"decimals": _decimals(x)}
    )
    values, counts = np.unique(x, return_counts=True)
    masses = values[counts >= MASS_SHARE * len(x)]
    rest = np.sort(x[~np.isin(x, masses)])
    if len(values) <= max_exact or not len(rest):
        col = ColumnCode(name=name, kind="exact", values=values.tolist(), missing=missing)
        return col.model_copy(update=rounding), None, None
    edges = np.unique(_quantiles(rest, np.linspace(0.0, 1.0, n_bins + 1)))
    if len(edges) < 2:
        edges = np.array([rest[0], rest[0]])
    nb = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, rest, side="right") - 1, 0, nb - 1)
    cells = np.empty((nb, n_sub + 1))
    grid = np.linspace(0.0, 1.0, n_sub + 1)
    starts = np.searchsorted(bins, np.arange(nb + 1))
    for b in range(nb):
        inside = rest[starts[b] : starts[b + 1]]
        cells[b] = _quantiles(inside, grid) if len(inside) else edges[b]
    col = ColumnCode(
        name=name, kind="binned", values=masses.tolist(), n_bins=nb, missing=missing, **rounding
    )
    return col, edges, cells


def _share_inside(lo: np.ndarray, hi: np.ndarray, low: float, high: float) -> np.ndarray:
    """Share of each uniform cell [lo, hi] inside [low, high] (a point cell: 1 or 0)."""
    width = hi - lo
    cut = np.clip(np.minimum(hi, high) - np.maximum(lo, low), 0, None)
    point = ((lo >= low) & (lo <= high)).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(width > 0, cut / np.where(width > 0, width, 1.0), point)


def _quantiles(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile, finite for any finite values (interpolating between -1e308 and 1e308
    overflows: then work in units of the largest magnitude)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.quantile(values, q)
    if len(values) and not np.isfinite(out).all():
        unit = float(np.max(np.abs(values)))
        out = np.quantile(values / unit, q) * unit
    return out


def _decimals(x: np.ndarray) -> int | None:
    """The fewest decimals (0-6) that hold every value (a sample of 5,000); None: more."""
    sample = x[:5000]
    with np.errstate(over="ignore", invalid="ignore"):
        for d in range(7):
            if np.allclose(np.round(sample, d), sample, rtol=0, atol=1e-9):
                return d
    return None


def _resolution(x: np.ndarray) -> int:
    sample = x[:5000]
    for unit in _UNITS:
        if np.allclose(np.round(sample / unit), sample / unit, rtol=0, atol=1e-6):
            return unit
    return 1


def _round(v: np.ndarray, c: ColumnCode) -> np.ndarray:
    if c.unit is not None:
        return np.round(v / c.unit) * c.unit
    if c.decimals is not None and np.isfinite(v).all() and np.abs(v).max(initial=0) < 1e15:
        return np.round(v, c.decimals)
    return v


def _objects(values: Any) -> np.ndarray:
    """An object array of the values (a list of labels becomes one element each)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    return out


def _isna(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _key(v: Any) -> Any:
    """A JSON-friendly, hashable label (numpy scalars become Python ones)."""
    return v.item() if isinstance(v, np.generic) else v


def _order(v: Any) -> tuple[str, str]:
    return (type(v).__name__, str(v))
