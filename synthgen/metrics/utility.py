"""Utility: is a model trained on the synthetic table as good as one trained on the real one?

Train on synthetic, test on real (TSTR): a fixed, seeded gradient-boosting model is fitted on
the synthetic rows and scored on the real HOLDOUT (rows no generator saw). The same model fitted
on the real train rows (TRTR) gives the ceiling; both use one feature encoding. ``value`` is the
TSTR score, details hold ``trtr``, ``gap`` (trtr - tstr: 0 = no loss) and ``ratio`` (tstr/trtr).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import NEEDS_HOLDOUT, Context, Result, register
from synthgen.schema.spec import Schema
from synthgen.transforms.frame import to_model_frame

NUMERIC_KINDS = ("numeric", "integer", "datetime")
MAX_CATEGORIES = 250  # HistGradientBoosting takes at most 255 bins per categorical feature
MAX_CLASS_LEVELS = 10  # an integer target with at most this many levels is a class label
HGB_PARAMS: dict[str, Any] = {
    "max_iter": 100,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "early_stopping": False,
}
# One OpenMP thread: the same numbers, and on a shared or busy machine many times faster than
# threads that spin waiting for cores (measured 40 s -> 1.6 s on a loaded 2-core box).
MODEL_THREADS = 1


@dataclass
class FeatureEncoder:
    """Columns of a model frame as one float matrix: numbers as they are (NaN kept: the
    gradient-boosting models learn a branch for missing values), labels as integer codes of
    their ``MAX_CATEGORIES`` most frequent values (rarer ones share an "other" code, values
    never seen are missing), declared categorical to the model."""

    columns: list[str]
    vocab: dict[str, dict[str, int]] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        frames: list[pd.DataFrame],
        schema: Schema,
        columns: list[str],
        max_categories: int = MAX_CATEGORIES,
    ) -> FeatureEncoder:
        enc = cls(list(columns))
        for c in columns:
            if schema[c].kind in NUMERIC_KINDS:
                continue
            counts = pd.concat([f[c].dropna().astype(str) for f in frames]).value_counts()
            enc.vocab[c] = {v: i for i, v in enumerate(counts.index[:max_categories])}
            if len(counts) > max_categories:
                enc.other[c] = max_categories
        return enc

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([c in self.vocab for c in self.columns], dtype=bool)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.full((len(frame), len(self.columns)), np.nan)
        for j, c in enumerate(self.columns):
            s = frame[c]
            if c not in self.vocab:
                out[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(float)
                continue
            present = s.notna().to_numpy()
            codes = s[present].astype(str).map(self.vocab[c])
            if c in self.other:
                codes = codes.fillna(self.other[c])
            out[present, j] = codes.to_numpy(float)
        return out


def model_threads() -> Any:
    """A context in which the models below run with ``MODEL_THREADS`` OpenMP threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=MODEL_THREADS, user_api="openmp")


def hgb_model(task: str, seed: int, categorical: np.ndarray) -> Any:
    """The fixed, seeded gradient-boosting model every utility and detection metric uses."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (
        HistGradientBoostingClassifier
        if task == "classification"
        else HistGradientBoostingRegressor
    )
    cats = categorical if categorical.any() else None
    return cls(**HGB_PARAMS, categorical_features=cats, random_state=seed)


@dataclass
class Fitted:
    """A fitted model and the feature columns it uses (those with a value in its training
    rows); with nothing to learn from (one class, no usable column) it predicts the prior."""

    model: Any
    usable: np.ndarray

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_  # type: ignore[no-any-return]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X[:, self.usable])  # type: ignore[no-any-return]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X[:, self.usable])  # type: ignore[no-any-return]


def fit_model(
    task: str, X: np.ndarray, y: np.ndarray, seed: int, categorical: np.ndarray
) -> Fitted:
    """``hgb_model`` fitted on ``X``, ``y``; columns without any value are left out (the
    histogram binning cannot take them)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    usable = ~np.isnan(X).all(axis=0)
    if not usable.any() or (task == "classification" and len(np.unique(y)) < 2):
        dummy = DummyClassifier() if task == "classification" else DummyRegressor()
        return Fitted(dummy.fit(np.zeros((len(y), 1)), y), np.zeros(X.shape[1], dtype=bool))
    model = hgb_model(task, seed, categorical[usable]).fit(X[:, usable], y)
    return Fitted(model, usable)


# ---- TSTR / TRTR ------------------------------------------------------------------------------
@dataclass
class _Fits:
    task: str
    y_true: np.ndarray
    classes: list[str]
    positive: str | None
    preds: dict[str, tuple[np.ndarray, np.ndarray | None]]  # tstr|trtr -> labels, probabilities
    rows: dict[str, int]


def target_task(ctx: Context) -> str:
    """Classification for labels (and integers with few levels), regression otherwise."""
    assert ctx.target is not None
    spec = ctx.schema[ctx.target]
    if spec.kind in ("categorical", "boolean"):
        return "classification"
    if spec.kind == "integer":
        levels = pd.to_numeric(ctx.train[ctx.target], errors="coerce").nunique()
        return "classification" if levels <= MAX_CLASS_LEVELS else "regression"
    return "regression"


def _skip_reason(ctx: Context) -> str | None:
    if ctx.target is None:
        return "no target column given"
    if ctx.target not in ctx.compared_columns():
        return f"target '{ctx.target}' is not a modelled column of both tables"
    if len(ctx.holdout) == 0:
        return f"{NEEDS_HOLDOUT} to test on"
    if ctx.target not in ctx.holdout.columns:
        return f"target '{ctx.target}' is not a column of the holdout"
    return None


def _xy(frame: pd.DataFrame, target: str, enc: FeatureEncoder, task: str) -> tuple[Any, Any]:
    frame = frame[frame[target].notna()]
    y = frame[target]
    y_arr = y.astype(str).to_numpy() if task == "classification" else y.to_numpy(float)
    return enc.transform(frame), y_arr


def _fit_predict(
    fits: _Fits, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, cat: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted labels (or values) and class probabilities aligned with ``fits.classes``."""
    model = fit_model(fits.task, X, y, seed, cat)
    if fits.task == "regression":
        return model.predict(X_test), None
    raw = model.predict_proba(X_test)
    proba = np.zeros((len(X_test), len(fits.classes)))
    for j, label in enumerate(model.classes_):
        if label in fits.classes:
            proba[:, fits.classes.index(label)] = raw[:, j]
    return model.classes_[np.argmax(raw, axis=1)], proba


def _fits(ctx: Context) -> _Fits | str:
    """Both models fitted once per context (cached): every tstr_* metric reads the same fits."""
    key = "utility:fits"
    if key not in ctx.cache:
        with model_threads():
            ctx.cache[key] = _compute_fits(ctx)
    return ctx.cache[key]  # type: ignore[no-any-return]


def _compute_fits(ctx: Context) -> _Fits | str:
    target = ctx.target
    assert target is not None
    task = target_task(ctx)
    features = [c for c in ctx.compared_columns() if c != target]
    max_rows = int(ctx.options.get("utility", {}).get("max_rows", 50_000))
    rng = np.random.default_rng([ctx.seed, 17])
    frames = [
        to_model_frame(
            df if len(df) <= max_rows else df.iloc[np.sort(rng.choice(len(df), max_rows, False))],
            ctx.schema,
            [*features, target],
        )
        for df in (ctx.train, ctx.synthetic, ctx.holdout)
    ]
    enc = FeatureEncoder.fit(frames[:2], ctx.schema, features)
    (X_tr, y_tr), (X_syn, y_syn), (X_te, y_te) = (_xy(f, target, enc, task) for f in frames)
    if min(len(y_tr), len(y_syn), len(y_te)) == 0:
        return "no rows with a target value in the train, synthetic or holdout table"
    fits = _Fits(task, y_te, [], None, {}, {})
    if task == "classification":
        counts = pd.Series(y_tr).value_counts()
        fits.classes = sorted(counts.index)
        if len(fits.classes) == 2:
            fits.positive = str(min(fits.classes, key=lambda c: (counts[c], c)))
    cat = enc.categorical_mask
    fits.preds["tstr"] = _fit_predict(fits, X_syn, y_syn, X_te, ctx.seed, cat)
    fits.preds["trtr"] = _fit_predict(fits, X_tr, y_tr, X_te, ctx.seed, cat)
    fits.rows = {"train": len(y_tr), "synthetic": len(y_syn), "holdout": len(y_te)}
    return fits


def _f1(fits: _Fits, labels: np.ndarray, proba: np.ndarray | None) -> float | None:
    from sklearn.metrics import f1_score

    if fits.positive is not None:
        truth, pred = fits.y_true == fits.positive, labels == fits.positive
        return float(f1_score(truth, pred, zero_division=0.0))
    present = sorted(set(fits.y_true))
    return float(
        f1_score(
            fits.y_true, labels.astype(str), labels=present, average="macro", zero_division=0.0
        )
    )


def _auc(fits: _Fits, labels: np.ndarray, proba: np.ndarray | None) -> float | None:
    from sklearn.metrics import roc_auc_score

    assert proba is not None
    wanted = [fits.positive] if fits.positive is not None else fits.classes
    scores = []
    for c in wanted:
        truth = fits.y_true == c
        if 0 < truth.sum() < len(truth):
            scores.append(roc_auc_score(truth, proba[:, fits.classes.index(c)]))
    return float(np.mean(scores)) if scores else None


def _r2(fits: _Fits, values: np.ndarray, _: np.ndarray | None) -> float | None:
    from sklearn.metrics import r2_score

    if len(fits.y_true) < 2 or np.isnan(values).any():
        return None
    return float(r2_score(fits.y_true, values))


_SCORERS = {"tstr_f1": _f1, "tstr_auc": _auc, "tstr_r2": _r2}


def _tstr(ctx: Context, name: str, task: str) -> Result:
    reason = _skip_reason(ctx)
    if reason is not None:
        return Result(None, skipped=reason)
    actual = target_task(ctx)
    if actual != task:  # decided before any model is fitted
        other = "tstr_r2" if actual == "regression" else "tstr_f1 and tstr_auc"
        kind = "numeric" if actual == "regression" else "a class label"
        return Result(None, skipped=f"target is {kind}: see {other}")
    fits = _fits(ctx)
    if isinstance(fits, str):
        return Result(None, skipped=fits)
    score = _SCORERS[name]
    tstr, trtr = score(fits, *fits.preds["tstr"]), score(fits, *fits.preds["trtr"])
    details: dict[str, Any] = {"trtr": trtr, "task": fits.task, "rows": fits.rows}
    details["gap"] = None if tstr is None or trtr is None else trtr - tstr
    details["ratio"] = tstr / trtr if tstr is not None and trtr else None
    if fits.positive is not None and name == "tstr_f1":
        details["positive_class"] = fits.positive
    return Result(tstr, details)


@register(
    "tstr_f1",
    "utility",
    "higher",
    (0.0, 1.0),
    "F1 on the real holdout of a model trained on synthetic rows (binary: the minority class; "
    "else macro); compare with trtr, the real-trained ceiling",
)
def tstr_f1(ctx: Context) -> Result:
    """Higher is better, 0-1. Read it against ``trtr``: a small ``gap`` means the synthetic
    rows teach the target as well as the real ones do."""
    return _tstr(ctx, "tstr_f1", "classification")


@register(
    "tstr_auc",
    "utility",
    "higher",
    (0.0, 1.0),
    "ROC AUC on the real holdout of a model trained on synthetic rows (one-vs-rest macro for "
    "several classes); 0.5 = no better than chance",
)
def tstr_auc(ctx: Context) -> Result:
    """Higher is better; 0.5 is a model that learned nothing. Compare with ``trtr``."""
    return _tstr(ctx, "tstr_auc", "classification")


@register(
    "tstr_r2",
    "utility",
    "higher",
    (float("-inf"), 1.0),
    "R^2 on the real holdout of a regressor trained on synthetic rows; 1 = perfect, "
    "0 = no better than the mean, negative = worse",
)
def tstr_r2(ctx: Context) -> Result:
    """Higher is better, at most 1 (0: no better than predicting the mean). Compare with
    ``trtr``."""
    return _tstr(ctx, "tstr_r2", "regression")
