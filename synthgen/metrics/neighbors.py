"""Nearest neighbours shared by the privacy metrics.

Rows of the compared columns are encoded into one numeric space for train, holdout and
synthetic frames (Gower-like: a full-scale numeric difference and a category mismatch both
add 1 to the squared distance), then searched exactly, chunk by chunk, with matrix products:
no n x m distance matrix is ever whole in memory. One search per frame pair serves DCR,
NNDR and membership inference; results live in ``ctx.cache``.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from synthgen.metrics.base import NEEDS_HOLDOUT, Context
from synthgen.schema.spec import Schema
from synthgen.transforms.frame import to_model_frame

NUMERIC_KINDS = ("numeric", "integer", "datetime")
MAX_LEVELS = 50  # one-hot width cap per categorical column (+ "other")
MAX_ROWS = 50_000  # train and synthetic rows searched (a seeded subsample beyond this)
_WHOLE_FLOAT = re.compile(r"[+-]?\d+\.0*")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _canon(value: object, kind: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        text = "True" if value else "False"
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
    else:
        text = str(value).strip()
        if _WHOLE_FLOAT.fullmatch(text):
            text = text.split(".")[0]
    if kind == "boolean":
        low = text.lower()
        text = "True" if low in _TRUE else "False" if low in _FALSE else text
    return text


def canonical_labels(s: pd.Series, kind: str = "categorical") -> pd.Series:
    """Labels as comparable strings whatever the dtype ("1" == 1 == 1.0, True == "true");
    missing stays missing."""
    obj = s.astype(object)
    present = obj.notna()
    # not pd.unique: on strings it compares C strings, so "a\x00b" and "a\x00c" were one
    mapping = {v: _canon(v, kind) for v in dict.fromkeys(obj[present].tolist())}
    return obj.map(mapping).astype(object).where(present, None)  # pandas 3 would infer str


@dataclass
class RowEncoder:
    """Column blocks of the shared numeric space, fitted on the real train frame."""

    columns: list[str]
    spans: dict[str, tuple[int, int]]
    numeric: dict[str, tuple[float, float, bool]]  # centre, scale, has a missing dimension
    levels: dict[str, tuple[list[str], bool, bool]]  # top levels, has "other", has missing
    kinds: dict[str, str]
    width: int

    @classmethod
    def fit(
        cls, schema: Schema, cols: list[str], train: pd.DataFrame, others: list[pd.DataFrame]
    ) -> RowEncoder:
        """Scales and levels from ``train``; ``others`` only decide which dimensions exist."""
        frames = [train, *others]
        spans, numeric, levels, at = {}, {}, {}, 0
        kinds: dict[str, str] = {}
        for c in cols:
            kind = kinds[c] = str(schema[c].kind)
            has_na = any(bool(f[c].isna().any()) for f in frames)
            if kind in NUMERIC_KINDS:
                x = to_model_frame(train, schema, [c])[c].to_numpy(float)
                numeric[c] = (*_centre_scale(x), has_na)
                width = 1 + has_na
            else:
                counts = canonical_labels(train[c], kind).value_counts()
                top = [str(v) for v in counts.index[:MAX_LEVELS]]
                seen = set().union(*(set(canonical_labels(f[c], kind).dropna()) for f in frames))
                has_other = bool(seen - set(top))
                levels[c] = (top, has_other, has_na)
                width = len(top) + has_other + has_na
            spans[c] = (at, at + width)
            at += width
        return cls(list(cols), spans, numeric, levels, kinds, at)

    def transform(self, df: pd.DataFrame, schema: Schema) -> np.ndarray:
        """Rows as float32 vectors of ``width`` dimensions (labels one-hot as 0/1)."""
        out = np.zeros((len(df), self.width), dtype=np.float32)
        nums = [c for c in self.columns if c in self.numeric]
        frame = to_model_frame(df, schema, nums) if nums else None
        for c in self.columns:
            a, _ = self.spans[c]
            if c in self.numeric and frame is not None:
                centre, scale, has_na = self.numeric[c]
                x = frame[c].to_numpy(float)
                miss = np.isnan(x)
                out[:, a] = np.where(miss, 0.0, _standardise(x, centre, scale))
                if has_na:
                    out[:, a + 1] = miss
            else:
                top, has_other, has_na = self.levels[c]
                labels = canonical_labels(df[c], self.kinds[c])
                codes = pd.Index(top).get_indexer(labels).astype(np.int64)  # -1: not in top
                miss = labels.isna().to_numpy()
                codes[(codes < 0) & ~miss] = len(top) if has_other else -1
                codes[miss] = len(top) + has_other if has_na else -1
                rows = np.flatnonzero(codes >= 0)
                out[rows, a + codes[rows]] = 1.0
        return out

    @property
    def onehot(self) -> np.ndarray:
        """Which dimensions are one-hot labels (weighed 1/2 each: a mismatch adds 1)."""
        mask = np.zeros(self.width, dtype=bool)
        for c in self.levels:
            mask[slice(*self.spans[c])] = True
        return mask

    def dims(self, cols: list[str]) -> np.ndarray:
        """The dimensions that hold ``cols``."""
        return np.concatenate([np.arange(*self.spans[c]) for c in cols]).astype(np.int64)


def _centre_scale(x: np.ndarray) -> tuple[float, float]:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return 0.0, 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi = np.quantile(x, [0.01, 0.99])
        scale = hi - lo if hi > lo else float(x.max() - x.min())
        centre = float(np.median(x))
    if not np.isfinite([lo, hi, scale, centre]).all():
        # a range too wide for float64 (values near +-1e308): found in units of the largest
        # magnitude; the scale is then capped at the largest float (distances stay relative)
        unit = float(np.max(np.abs(x)))
        c, s = _centre_scale(x / unit)
        return c * unit, min(s * unit, float(np.finfo(np.float64).max))
    return centre, float(scale) if scale > 0 else 1.0


def _standardise(x: np.ndarray, centre: float, scale: float) -> np.ndarray:
    """(x - centre) / scale; where the difference overflows, x / scale - centre / scale."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (x - centre) / scale
    bad = np.isinf(z) | (np.isnan(z) & ~np.isnan(x))
    if bad.any():
        z[bad] = x[bad] / scale - centre / scale
    return z


@dataclass
class Neighbours:
    """``idx``/``dist``: the k nearest references of each query (exact Euclidean distances,
    nearest first); ``pre_*`` the same among the first ``prefix`` references; ``rev_*``: for
    each of those first references, its nearest query."""

    idx: np.ndarray
    dist: np.ndarray
    pre_idx: np.ndarray
    pre_dist: np.ndarray
    rev_idx: np.ndarray
    rev_dist: np.ndarray


def knn(
    queries: np.ndarray,
    refs: np.ndarray,
    k: int = 1,
    prefix: int = 0,
    onehot: np.ndarray | None = None,
    block: tuple[int, int] = (256, 4096),
) -> Neighbours:
    """Exact k-nearest neighbours (k = 1 or 2) by Euclidean distance, ``onehot`` (0/1)
    dimensions weighed 1/2 in the squared distance. Float32 matrix products over blocks of
    ``block`` = (query rows, reference rows) pick the neighbours; identical rows are matched
    by hash (float32 rounding cannot tell a twin from a near-twin), and the distances
    reported are float64. Query rows are split over one thread per core, each with a
    single-threaded BLAS (steadier than BLAS threads on a busy machine)."""
    n = len(queries)
    hot = np.zeros(queries.shape[1], bool) if onehot is None else np.asarray(onehot, bool)
    scale = np.where(hot, np.sqrt(0.5), 1.0)
    q, r = queries.astype(np.float64) * scale, refs.astype(np.float64) * scale
    # |a - b|^2 = [-2a, |a|^2, 1] . [b, 1, |b|^2]: one matrix product, squared distances
    nq, nr = np.einsum("ij,ij->i", q, q)[:, None], np.einsum("ij,ij->i", r, r)[:, None]
    qa = np.hstack([-2.0 * q, nq, np.ones_like(nq)]).astype(np.float32)
    ra = np.hstack([r, np.ones_like(nr), nr]).astype(np.float32)
    workers = max(1, min(os.cpu_count() or 1, n // block[0]))
    cuts = np.linspace(0, n, workers + 1).astype(int)

    def scan(part: int) -> tuple[np.ndarray, ...]:
        return _scan(qa[cuts[part] : cuts[part + 1]], ra, cuts[part], k, prefix, block)

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(scan, range(workers)))
    idx, pre_idx = (np.concatenate([p[j] for p in parts]) for j in (0, 1))
    rev_all = np.stack([p[2] for p in parts]), np.stack([p[3] for p in parts])
    rev_idx = np.take_along_axis(rev_all[1], rev_all[0].argmin(axis=0)[None], 0)[0]
    hq, hr = _row_hashes(q), _row_hashes(r)
    d, i = _exact(q, r, _twins(hq, hr, idx))
    pd_, pi = _exact(q, r, _twins(hq, hr[:prefix], pre_idx)) if prefix else (d[:, :0], pre_idx)
    rev = _twins(hr[:prefix], hq, rev_idx[:, None])
    rd = _exact(r[:prefix], q, rev)[0][:, 0]
    return Neighbours(i, d, pi, pd_, rev[:, 0], rd)


def _scan(
    qa: np.ndarray, ra: np.ndarray, offset: int, k: int, prefix: int, block: tuple[int, int]
) -> tuple[np.ndarray, ...]:
    """One thread's query rows: k best over all references and over the first ``prefix``
    (indices), and each of those first references' nearest query (squared distance, index)."""
    n, m = len(qa), len(ra)
    idx, pre_idx = np.zeros((n, k), np.int64), np.zeros((n, k), np.int64)
    rev_idx, rev_dist = np.zeros(prefix, np.int64), np.full(prefix, np.inf, np.float32)
    head = [(a, min(a + block[1], prefix)) for a in range(0, prefix, block[1])]
    tail = [(a, min(a + block[1], m)) for a in range(prefix, m, block[1])]
    for a in range(0, n, block[0]):
        b = min(a + block[0], n)
        best = (np.full((b - a, k), np.inf, np.float32), np.zeros((b - a, k), np.int64))
        for c0, c1 in head + tail:
            g = qa[a:b] @ ra[c0:c1].T
            if c1 <= prefix:
                _reverse(g, rev_dist[c0:c1], rev_idx[c0:c1], a + offset)
            best = _merge(best, g, c0, k)
            if c1 == prefix:
                pre_idx[a:b] = best[1]
        idx[a:b] = best[1]
    return idx, pre_idx, rev_dist, rev_idx


def _row_hashes(x: np.ndarray) -> np.ndarray:
    if x.shape[1] == 0:
        return np.zeros(len(x), dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy()


def _twins(keys: np.ndarray, ref_keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` (rows x k neighbours) with each row's identical references moved first."""
    if len(ref_keys) == 0 or len(keys) == 0:
        return idx
    order = np.argsort(ref_keys, kind="stable")
    uniq, start, count = np.unique(ref_keys[order], return_index=True, return_counts=True)
    pos = np.minimum(np.searchsorted(uniq, keys), len(uniq) - 1)
    hit = uniq[pos] == keys
    first = order[start[pos]]
    out = idx.copy()
    out[:, 0] = np.where(hit, first, idx[:, 0])
    if idx.shape[1] == 2:
        second = order[np.minimum(start[pos] + 1, len(order) - 1)]
        other = np.where(idx[:, 0] != first, idx[:, 0], idx[:, 1])
        out[:, 1] = np.where(hit, np.where(count[pos] >= 2, second, other), idx[:, 1])
    return out


def _reverse(g: np.ndarray, rev_dist: np.ndarray, rev_idx: np.ndarray, offset: int) -> None:
    """Update each reference's nearest query (in place) from one block."""
    low = g.min(axis=0)
    better = np.flatnonzero(low < rev_dist)
    if len(better):
        rev_dist[better] = low[better]
        rev_idx[better] = g[:, better].argmin(axis=0) + offset


def _merge(
    best: tuple[np.ndarray, np.ndarray], g: np.ndarray, offset: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fold one block of squared distances into the running k best (``g`` may be altered)."""
    rows = np.arange(len(g))
    a1 = g.argmin(axis=1)
    found_d, found_i = [g[rows, a1]], [a1 + offset]
    if k == 2:
        g[rows, a1] = np.inf
        a2 = g.argmin(axis=1)
        found_d.append(g[rows, a2])
        found_i.append(a2 + offset)
    cand_d = np.column_stack([best[0], *found_d])
    cand_i = np.column_stack([best[1], *found_i])
    order = np.argsort(cand_d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cand_d, order, 1), np.take_along_axis(cand_i, order, 1)


def _exact(q: np.ndarray, r: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances to the chosen neighbours from differences (exactly 0 for equal rows),
    re-sorted (near-ties may swap)."""
    if len(r) == 0:
        return np.full(idx.shape, np.inf), idx
    dist = np.empty(idx.shape, dtype=np.float64)
    for j in range(idx.shape[1]):
        diff = q - r[idx[:, j]]
        dist[:, j] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    order = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(dist, order, 1), np.take_along_axis(idx, order, 1)


@dataclass
class Encoded:
    """The three frames in the shared space; ``train_order``/``holdout_order`` are seeded
    permutations whose first ``n_equal`` rows form equal-size samples of train and holdout."""

    encoder: RowEncoder
    train: np.ndarray
    holdout: np.ndarray
    synthetic: np.ndarray
    train_rows: np.ndarray  # positions in ctx.train of the rows kept (all unless > MAX_ROWS)
    synthetic_rows: np.ndarray
    train_order: np.ndarray
    holdout_order: np.ndarray
    n_equal: int


def encoded(ctx: Context) -> Encoded:
    """Encode train, holdout and synthetic once per context (cached)."""
    if "privacy.encoded" in ctx.cache:
        return ctx.cache["privacy.encoded"]  # type: ignore[no-any-return]
    cols = ctx.compared_columns()
    rng = np.random.default_rng(ctx.seed)
    tr_rows, sy_rows = _cap(len(ctx.train), rng), _cap(len(ctx.synthetic), rng)
    train, syn = ctx.train.iloc[tr_rows], ctx.synthetic.iloc[sy_rows]
    enc = RowEncoder.fit(ctx.schema, cols, train, [ctx.holdout, syn])
    out = Encoded(
        enc,
        enc.transform(train, ctx.schema),
        enc.transform(ctx.holdout, ctx.schema),
        enc.transform(syn, ctx.schema),
        tr_rows,
        sy_rows,
        rng.permutation(len(train)),
        rng.permutation(len(ctx.holdout)),
        min(len(train), len(ctx.holdout)),
    )
    ctx.cache["privacy.encoded"] = out
    return out


def _cap(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, MAX_ROWS, replace=False)) if n > MAX_ROWS else np.arange(n)


@dataclass
class Shared:
    """Synthetic rows against (permuted) train and holdout: k=2 over each whole frame, k=2
    over the equal-size samples, and each sampled real row's nearest synthetic row."""

    to_train: Neighbours
    to_holdout: Neighbours
    n_equal: int
    n_train: int
    n_holdout: int


def shared_neighbours(ctx: Context) -> Shared:
    """The one search DCR, NNDR and membership inference share (cached)."""
    if "privacy.shared" in ctx.cache:
        return ctx.cache["privacy.shared"]  # type: ignore[no-any-return]
    e = encoded(ctx)
    hot = e.encoder.onehot
    to_train = knn(e.synthetic, e.train[e.train_order], k=2, prefix=e.n_equal, onehot=hot)
    to_holdout = knn(e.synthetic, e.holdout[e.holdout_order], k=2, prefix=e.n_equal, onehot=hot)
    out = Shared(to_train, to_holdout, e.n_equal, len(e.train), len(e.holdout))
    ctx.cache["privacy.shared"] = out
    return out


def not_applicable(ctx: Context) -> str | None:
    """Why the neighbour-based privacy metrics cannot run here, or None."""
    if not ctx.compared_columns():
        return "no compared columns"
    if len(ctx.holdout) == 0:
        return f"{NEEDS_HOLDOUT} as the baseline"
    if len(ctx.synthetic) == 0 or len(ctx.train) == 0:
        return "empty train or synthetic frame"
    return None


def real_to_synthetic(ctx: Context) -> tuple[Neighbours, Neighbours]:
    """Every train row's and every holdout row's nearest synthetic row (cached): the
    membership attack scores all the real rows it has."""
    if "privacy.real_to_synthetic" in ctx.cache:
        return ctx.cache["privacy.real_to_synthetic"]  # type: ignore[no-any-return]
    e = encoded(ctx)
    hot = e.encoder.onehot
    out = (knn(e.train, e.synthetic, onehot=hot), knn(e.holdout, e.synthetic, onehot=hot))
    ctx.cache["privacy.real_to_synthetic"] = out
    return out
