"""Metrics of a sequence table (per-entity event streams): lengths, gaps, within-sequence
memory (lag-1 autocorrelation, label transitions) and whether whole sequences can be told
from real ones. The table's entity and order columns come from ``ctx.cache["sequence"]``
(``{"entity": ..., "order": ...}``, set by a run of a sequence table), from the options'
``sequence`` entry, or from the metric's own options; without them the metrics are skipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.schema.spec import Schema
from synthgen.stats import ks_complement, tv_complement
from synthgen.transforms.frame import to_model_frame

_NOT_A_SEQUENCE = "needs a sequence table (sequence: {entity: ..., order: ...})"
NUMBERS, LABELS = ("numeric", "integer", "datetime"), ("categorical", "boolean")


@dataclass
class Events:
    """A sequence table sorted by entity then order: entity codes, times, first-step mask."""

    frame: pd.DataFrame
    entity: np.ndarray
    time: np.ndarray
    first: np.ndarray

    @classmethod
    def of(cls, df: pd.DataFrame, entity: str, order: str, schema: Schema) -> Events:
        t = to_model_frame(df, schema, [order])[order].to_numpy(float)
        ent = pd.factorize(df[entity].astype(str))[0]
        idx = np.lexsort((t, ent))
        ent, t = ent[idx], t[idx]
        first = np.ones(len(ent), dtype=bool)
        first[1:] = ent[1:] != ent[:-1]
        return cls(df.iloc[idx].reset_index(drop=True), ent, t, first)

    def lengths(self) -> np.ndarray:
        return np.bincount(self.entity).astype(float) if len(self.entity) else np.zeros(0)

    def gaps(self) -> np.ndarray:
        return np.diff(self.time)[~self.first[1:]] if len(self.time) else np.zeros(0)

    def pairs(self, col: str, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
        """(previous, next) values of consecutive events of one entity."""
        v = to_model_frame(self.frame, schema, [col])[col].to_numpy(dtype=object)
        keep = ~self.first[1:]
        return v[:-1][keep], v[1:][keep]


def lag1(ev: Events, col: str, schema: Schema) -> float:
    """Lag-1 autocorrelation within sequences: the correlation of consecutive values'
    deviations from their own sequence's mean (so differences between entities, a winter
    day against a summer one, do not count as memory). NaN if undefined."""
    v = pd.Series(to_model_frame(ev.frame, schema, [col])[col].to_numpy(float))
    dev = (v - v.groupby(ev.entity).transform("mean")).to_numpy()
    keep = ~ev.first[1:]
    a, b = dev[:-1][keep], dev[1:][keep]
    ok = ~(np.isnan(a) | np.isnan(b))
    tiny = 1e-9 * (1.0 + float(np.nanstd(v.to_numpy())))  # rounding noise of a mean
    if ok.sum() < 3 or np.std(a[ok]) <= tiny or np.std(b[ok]) <= tiny:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def columns(schema: Schema, entity: str, order: str, kinds: tuple[str, ...]) -> list[str]:
    return [c.name for c in schema.columns if c.kind in kinds and c.name not in (entity, order)]


MIN_VARYING = 10  # sequences in which a column must change for its lag-1 to be judged


def varying(ev: Events, col: str, schema: Schema) -> int:
    """How many sequences the column takes more than one value in."""
    v = pd.Series(to_model_frame(ev.frame, schema, [col])[col].to_numpy(float))
    return int((v.groupby(ev.entity).nunique() > 1).sum())


def lag1_errors(real: Events, syn: Events, schema: Schema, cols: list[str]) -> dict[str, float]:
    """|real - synthetic| lag-1 autocorrelation per column; a column that changes within
    fewer than MIN_VARYING real sequences (rain hours in a dry winter) is not judged: its
    autocorrelation is a handful of events' noise."""
    out = {}
    for c in cols:
        if varying(real, c, schema) < MIN_VARYING:
            continue
        r, s = lag1(real, c, schema), lag1(syn, c, schema)
        if not np.isnan(r):
            out[c] = abs(r - (0.0 if np.isnan(s) else s))
    return out


def transition_similarity(real: Events, syn: Events, schema: Schema, c: str) -> float:
    """1 - TV distance between the real and synthetic next-label distributions given the
    previous label, averaged over previous labels by their real frequency (a synthetic
    label that never follows a previous one counts as a wholly different distribution)."""
    sides = [pd.DataFrame(dict(zip(("prev", "next"), e.pairs(c, schema), strict=True))).astype(str)
             for e in (real, syn)]  # fmt: skip
    if len(sides[0]) == 0:
        return 1.0 if len(sides[1]) == 0 else 0.0
    weights = sides[0]["prev"].value_counts(normalize=True)
    total = 0.0
    for level, w in weights.items():
        nxt = [s.loc[s["prev"] == level, "next"] for s in sides]
        total += w * (tv_complement(nxt[0], nxt[1]) if len(nxt[1]) else 0.0)
    return float(total)


def table_figures(
    real: pd.DataFrame, syn: pd.DataFrame, entity: str, order: str, keys: list[str]
) -> dict[str, Any]:
    """A dataset's sequence table in figures (for its report): length and gap similarity
    (1 - KS) and lag-1 autocorrelation error per number column (``keys`` aside)."""
    from synthgen.schema.detect import detect

    schema = detect(real)
    r, s = (Events.of(d, entity, order, schema) for d in (real, syn))
    numbers = [c for c in columns(schema, entity, order, NUMBERS) if c not in keys]
    lag = lag1_errors(r, s, schema, numbers)
    return {
        "entity": entity,
        "order": order,
        "length_similarity": round(ks_complement(r.lengths(), s.lengths()), 4),
        "gap_similarity": round(ks_complement(r.gaps(), s.gaps()), 4),
        "lag1_error": {c: round(v, 4) for c, v in lag.items()},
    }


def summaries(
    ev: Events,
    schema: Schema,
    numbers: list[str],
    labels: list[str],
    levels: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """One row per sequence: length, mean gap, and per number its mean, spread, first, last
    and mean step change; per label the share of its most common levels (five of this
    side's own, or ``levels`` per label: another side's, so both sides have one set of
    columns)."""
    g = pd.Series(ev.entity)
    out: dict[str, Any] = {"length": ev.lengths()}
    gap = np.where(ev.first, np.nan, np.diff(ev.time, prepend=ev.time[:1]))
    out["gap_mean"] = pd.Series(gap).groupby(g).mean().to_numpy()
    mf = to_model_frame(ev.frame, schema, numbers + labels)
    for c in numbers:
        by = mf[c].astype(float).groupby(g)
        step = mf[c].astype(float).diff().where(~ev.first).abs()
        out |= {f"{c}.mean": by.mean(), f"{c}.std": by.std(), f"{c}.first": by.first()}
        out |= {f"{c}.last": by.last(), f"{c}.step": step.groupby(g).mean()}
    for c in labels:
        own = mf[c].astype(str).value_counts().index[:5]
        for level in levels[c] if levels is not None else own:
            out[f"{c}={level}"] = (mf[c].astype(str) == level).groupby(g).mean()
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in out.items()})


def detection_auc(real: pd.DataFrame, syn: pd.DataFrame, seed: int) -> float:
    """3-fold cross-validated ROC AUC of a classifier telling real from synthetic sequences
    by their summaries (equal numbers of each, at most 5,000 a side)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng([seed, 7919])
    n = min(len(real), len(syn), 5000)
    cols = sorted(set(real.columns) & set(syn.columns))
    sides = [d.iloc[np.sort(rng.choice(len(d), n, replace=False))][cols] for d in (real, syn)]
    X, y = np.vstack([s.to_numpy(float) for s in sides]), np.repeat([0, 1], n)
    aucs = []
    for fit, test in StratifiedKFold(3, shuffle=True, random_state=seed).split(X, y):
        model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        model.fit(X[fit], y[fit])
        aucs.append(roc_auc_score(y[test], model.predict_proba(X[test])[:, 1]))
    return float(np.mean(aucs))


# ---- registered metrics -----------------------------------------------------------------------
def _events(ctx: Context, name: str) -> tuple[Events, Events, str, str] | None:
    spec = ctx.cache.get("sequence") or ctx.options.get("sequence") or ctx.options.get(name, {})
    entity, order = spec.get("entity"), spec.get("order")
    if not entity or not order:
        return None
    for df in (ctx.train, ctx.synthetic):
        if entity not in df.columns or order not in df.columns:
            return None
    cached = ctx.cache.get("sequence.events")
    if cached is None:
        cached = tuple(Events.of(d, entity, order, ctx.schema) for d in (ctx.train, ctx.synthetic))
        ctx.cache["sequence.events"] = cached
    return cached[0], cached[1], entity, order


@register(
    "sequence_length_similarity", "fidelity", "higher", (0.0, 1.0),
    "1 - KS statistic between the real and synthetic sequence lengths (events per entity)",
)  # fmt: skip
def sequence_length_similarity(ctx: Context) -> Result:
    """Higher is better (1: the same distribution of events per entity)."""
    return _ks(ctx, "sequence_length_similarity", "lengths")


@register(
    "sequence_gap_similarity", "fidelity", "higher", (0.0, 1.0),
    "1 - KS statistic between the real and synthetic gaps between consecutive events",
)  # fmt: skip
def sequence_gap_similarity(ctx: Context) -> Result:
    """Higher is better (1: the same distribution of time between consecutive events of
    an entity, in the order column's units: seconds for a time)."""
    return _ks(ctx, "sequence_gap_similarity", "gaps")


def _ks(ctx: Context, metric: str, what: str) -> Result:
    """1 - KS between the real and synthetic values of the events' ``what`` (a method)."""
    got = _events(ctx, metric)
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    real, syn, _, _ = got
    return Result(ks_complement(getattr(real, what)(), getattr(syn, what)()))


@register(
    "lag1_autocorrelation_error", "fidelity", "lower", (0.0, 2.0),
    "largest |real - synthetic| lag-1 autocorrelation (within sequences) over numeric columns",
)  # fmt: skip
def lag1_autocorrelation_error(ctx: Context) -> Result:
    """Lower is better (0: each numeric column follows its predecessor as in the source).
    The worst column's error; ``baseline``: what real held-out sequences score."""
    got = _events(ctx, "lag1_autocorrelation_error")
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    real, syn, entity, order = got
    errors = lag1_errors(real, syn, ctx.schema, columns(ctx.schema, entity, order, NUMBERS))
    if not errors:
        return Result(None, skipped="needs a numeric column that varies within sequences")
    worst = max(errors, key=errors.__getitem__)
    baseline = None
    if len(ctx.holdout) and entity in ctx.holdout and order in ctx.holdout:
        held = Events.of(ctx.holdout, entity, order, ctx.schema)
        real_gap = lag1_errors(real, held, ctx.schema, list(errors))
        baseline = max(real_gap.values()) if real_gap else None
    return Result(errors[worst], {"worst_column": worst, "per_column": errors}, baseline=baseline)


@register(
    "label_transition_similarity", "fidelity", "higher", (0.0, 1.0),
    "mean over label columns of 1 - TV distance of the next label given the previous one",
)  # fmt: skip
def label_transition_similarity(ctx: Context) -> Result:
    """Higher is better (1: each label follows the previous one as in the source)."""
    got = _events(ctx, "label_transition_similarity")
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    real, syn, entity, order = got
    cols = columns(ctx.schema, entity, order, LABELS)
    if not cols:
        return Result(None, skipped="needs a label column")
    per = {c: transition_similarity(real, syn, ctx.schema, c) for c in cols}
    return Result(float(np.mean(list(per.values()))), {"per_column": per})


@register(
    "sequence_detection_auc", "fidelity", "lower", (0.0, 1.0),
    "ROC AUC of a classifier telling real from synthetic sequences by their summaries (0.5 best)",
)  # fmt: skip
def sequence_detection_auc(ctx: Context) -> Result:
    """Lower is better down to 0.5 (whole synthetic sequences indistinguishable from real
    ones by their length, gaps, levels, spread, first and last values and step changes)."""
    got = _events(ctx, "sequence_detection_auc")
    if got is None:
        return Result(None, skipped=_NOT_A_SEQUENCE)
    real, syn, entity, order = got
    if real.lengths().size < 20 or syn.lengths().size < 20:
        return Result(None, skipped="needs at least 20 sequences on each side")
    nums = columns(ctx.schema, entity, order, ("numeric", "integer"))
    labels = columns(ctx.schema, entity, order, LABELS)
    sides = [summaries(e, ctx.schema, nums, labels) for e in (real, syn)]
    auc = detection_auc(sides[0], sides[1], ctx.seed)
    return Result(auc, {"sequences_per_side": int(min(len(s) for s in sides))})
