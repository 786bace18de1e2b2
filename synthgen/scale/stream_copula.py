"""The copula's statistics by map-reduce over batches: the same model ``CopulaGenerator.fit``
learns in memory, from two passes that never hold more than one batch of rows.

Pass 1 (``Summary``, merged by addition): the row count, missing counts, each label's count
(exact) and each number's ``sketch.ValueCounts`` (exact up to 262,144 distinct values, else
within a relative 1e-4). From it, ``marginals`` gives the copula's variables and arrays:
knots at the same quantiles, labels in the same order (most frequent first, ties by text).

Pass 2 (``Moments``, one per unit, added up in unit order): each row's normal scores through
those marginals (an exact empirical CDF, ties spread by a uniform draw as in memory; the
draws of a batch come from (seed, file, row group, batch)), summed with their cross-products;
the correlation follows from the sums. Given the marginals it is the in-memory correlation up
to the tie-breaking draws, and it does not depend on which process read which unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthgen.generators.copula import valid_correlation
from synthgen.generators.copula_context import plain
from synthgen.generators.guards import refuse_infinity
from synthgen.privacy.marginals import log_bins
from synthgen.scale.sketch import ValueCounts
from synthgen.schema.spec import Schema
from synthgen.transforms import frame as framemod

NUMERIC = ("numeric", "integer", "datetime")
_EPS = 1e-9
_NA = "\x00NA"  # the key of missing among a column's labels


@dataclass
class Plan:
    """What the passes read: the schema, the modelled columns in order, integer id columns
    (their smallest value is counted exactly)."""

    schema: Schema
    modelled: list[str]
    id_ints: list[str] = field(default_factory=list)

    def numeric(self, name: str) -> bool:
        return self.schema[name].kind in NUMERIC

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """The batch's model frame; a label column read as categories stays categorical
        (its labels are the categories, missing is NA), the rest as in ``to_model_frame``."""
        cats = [c for c in self.modelled if isinstance(df[c].dtype, pd.CategoricalDtype)]
        rest = [c for c in self.modelled if c not in cats or self.numeric(c)]
        frame = framemod.to_model_frame(df, self.schema, rest)
        refuse_infinity(frame)
        for c in cats:
            if not self.numeric(c):
                frame[c] = df[c]
        return frame[self.modelled]


@dataclass
class Summary:
    """Pass 1 over any number of batches; ``merge`` adds another's counts. With ``dp`` a
    number's values are not kept, only its log-scale bin counts (what a DP release's bounds
    read, ``privacy.marginals.log_bins``)."""

    plan: Plan
    dp: bool = False
    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)  # numbers unreadable or missing
    id_min: dict[str, float] = field(default_factory=dict)
    values: dict[str, ValueCounts] = field(default_factory=dict)
    labels: dict[str, dict[Any, list[Any]]] = field(default_factory=dict)  # key: [count, text]
    bins: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, df: pd.DataFrame) -> None:
        self.rows += len(df)
        for c in df.columns:
            self.nulls[c] = self.nulls.get(c, 0) + int(df[c].isna().sum())
        for c in [] if self.dp else self.plan.id_ints:  # under DP an id starts at 1
            x = pd.to_numeric(df[c], errors="coerce").dropna()
            if len(x):
                self.id_min[c] = min(self.id_min.get(c, np.inf), float(x.min()))
        frame = self.plan.frame(df)
        for name in self.plan.modelled:
            if self.plan.numeric(name):
                x = frame[name].to_numpy(np.float64)
                ok = ~np.isnan(x)
                self.missing[name] = self.missing.get(name, 0) + int((~ok).sum())
                if self.dp:
                    self.bins[name] = self.bins.get(name, 0) + log_bins(x[ok])
                else:
                    self.values.setdefault(name, ValueCounts()).add(x[ok])
            else:
                table = self.labels.setdefault(name, {})
                for k, n in frame[name].value_counts(dropna=False, sort=False).items():
                    if not n:  # a category this batch does not hold
                        continue
                    key = _NA if _isna(k) else plain(k)
                    entry = table.setdefault(key, [0, str(None if _isna(k) else k)])
                    entry[0] += int(n)

    def merge(self, other: Summary) -> None:
        self.rows += other.rows
        for c, n in other.nulls.items():
            self.nulls[c] = self.nulls.get(c, 0) + n
        for c, n in other.missing.items():
            self.missing[c] = self.missing.get(c, 0) + n
        for c, v in other.id_min.items():
            self.id_min[c] = min(self.id_min.get(c, np.inf), v)
        for c, b in other.bins.items():
            self.bins[c] = self.bins.get(c, 0) + b
        for c, vc in other.values.items():
            self.values.setdefault(c, ValueCounts()).merge(vc)
        for c, table in other.labels.items():
            mine = self.labels.setdefault(c, {})
            for key, (n, text) in table.items():
                mine.setdefault(key, [0, text])[0] += n

    def compact(self) -> Summary:
        for vc in self.values.values():
            vc.compact()
        return self


@dataclass
class Marginals:
    """The copula's variables and arrays (as ``CopulaGenerator`` saves them) and what the
    second pass needs to score rows: each number's counts, each column's label index."""

    variables: list[dict[str, Any]]
    arrays: dict[str, np.ndarray]
    values: dict[str, ValueCounts]
    index: dict[str, pd.Index]


def marginals(summary: Summary, max_knots: int) -> Marginals:
    summary.compact()
    variables: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    index: dict[str, pd.Index] = {}
    for i, name in enumerate(summary.plan.modelled):
        if summary.plan.numeric(name):
            vc = summary.values.get(name, ValueCounts())
            k = int(min(max_knots, vc.n))
            arrays[f"knots.{i}"] = vc.quantiles(np.linspace(0.0, 1.0, k))
            p = summary.missing.get(name, 0) / max(summary.rows, 1)
            variables.append({"name": name, "type": "numeric", "index": i, "missing_rate": p})
            if p > 0:
                variables.append({"name": name, "type": "missing", "index": i, "missing_rate": p})
        else:
            table = summary.labels.get(name, {})
            keys = sorted(table, key=lambda key: (-table[key][0], table[key][1]))
            counts = np.array([table[key][0] for key in keys], dtype=np.float64)
            arrays[f"probs.{i}"] = counts / counts.sum()
            labels = [None if key == _NA else key for key in keys]
            variables.append({"name": name, "type": "labels", "index": i, "labels": labels})
            index[name] = pd.Index(keys, dtype=object)
    return Marginals(variables, arrays, summary.values, index)


@dataclass
class Moments:
    """Pass 2 over the batches of one unit: the scores' count, sums and cross-products."""

    rows: int = 0
    sums: np.ndarray | None = None
    cross: np.ndarray | None = None

    def add(self, z: np.ndarray) -> None:
        self.rows += len(z)
        s, c = z.sum(axis=0), z.T @ z
        self.sums = s if self.sums is None else self.sums + s
        self.cross = c if self.cross is None else self.cross + c


def scores(plan: Plan, m: Marginals, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The batch's normal scores, one column per variable (``CopulaGenerator._scores``'s
    draws in its order: a number's normal, its tie-breaking uniforms, its missing indicator)."""
    frame = plan.frame(df)
    n = len(frame)
    out = []
    for var in m.variables:
        name = var["name"]
        if var["type"] == "numeric":
            x = frame[name].to_numpy(np.float64)
            missing = np.isnan(x)
            z = rng.standard_normal(n)
            vc = m.values[name]
            lo, step = vc.steps(x[~missing])
            u = (lo + rng.random(len(lo)) * step) / max(vc.n, 1)
            z[~missing] = ndtri(np.clip(u, _EPS, 1 - _EPS))
            out.append(z)
            missing_now = missing
        elif var["type"] == "missing":
            p = var["missing_rate"]
            u = np.where(missing_now, (1 - p) + rng.random(n) * p, rng.random(n) * (1 - p))
            out.append(ndtri(np.clip(u, _EPS, 1 - _EPS)))
        else:
            probs = m.arrays[f"probs.{var['index']}"]
            cum = np.concatenate([[0.0], np.cumsum(probs)])
            codes = _codes(m.index[name], frame[name])
            u = cum[codes] + rng.random(n) * probs[codes]
            out.append(ndtri(np.clip(u, _EPS, 1 - _EPS)))
    return np.column_stack(out) if out else np.zeros((n, 0))


def correlation(parts: list[Moments], d: int, shrinkage: float) -> np.ndarray:
    """The correlation of the scores from the units' sums (added in the order given), made
    valid as ``CopulaGenerator`` makes it."""
    if d == 0:
        return np.zeros((0, 0))
    n = sum(p.rows for p in parts)
    if d == 1 or n < 3:
        return np.eye(d)
    sums, cross = np.zeros(d), np.zeros((d, d))
    for p in parts:
        if p.rows:
            assert p.sums is not None and p.cross is not None
            sums, cross = sums + p.sums, cross + p.cross
    mean = sums / n
    cov = cross / n - np.outer(mean, mean)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    corr = np.eye(d)
    ok = sd > 1e-12
    if ok.sum() > 1:
        corr[np.ix_(ok, ok)] = np.clip(cov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok]), -1, 1)
        np.fill_diagonal(corr, 1.0)
    return valid_correlation(corr, shrinkage)


def _codes(index: pd.Index, s: pd.Series) -> np.ndarray:
    """Each value's position among a column's labels (missing: the NA label's)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories.to_numpy(dtype=object)
        at = index.get_indexer(pd.Index([plain(v) for v in cats] + [_NA], dtype=object))
        codes = s.cat.codes.to_numpy()
        return np.asarray(at[np.where(codes < 0, len(cats), codes)])
    keys = s.to_numpy(dtype=object).copy()
    keys[pd.isna(s).to_numpy()] = _NA
    return np.asarray(index.get_indexer(pd.Index(keys, dtype=object)))


def _isna(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))
