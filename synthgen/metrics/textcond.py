"""Does each synthetic text fit its own row? A classifier learns, from the REAL training
texts, to predict a label column of the same row (rating, section header, ...); it is then
asked to predict each synthetic row's label from that row's synthetic text. Accuracy above
the majority-class rate means the text carries its row's conditioning; the same classifier
on the real holdout texts gives the ceiling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.text import NO_TEXT, text_columns

MAX_LABELS = 30  # label columns with 2..30 values are candidates
MAX_FIELDS = 3  # per text column, the candidates with the most even label spread
ROWS = 5000
MIN_ROOM = 0.05  # real texts must beat the majority rate by this much for a field to count


def _fields(ctx: Context, text_col: str) -> list[str]:
    """Label columns worth predicting from the text: few values, present on all sides."""
    out = []
    for c in ctx.schema.columns:
        if c.name == text_col or c.kind in ("text", "pii", "id"):
            continue
        if c.name not in ctx.synthetic.columns:
            continue
        s = ctx.train[c.name].dropna()
        k = s.nunique()
        if 2 <= k <= MAX_LABELS:
            p = s.value_counts(normalize=True).to_numpy()
            out.append((float(-(p * np.log(p)).sum() / np.log(k)), c.name))
    return [name for _, name in sorted(out, reverse=True)[:MAX_FIELDS]]


def _pairs(df: pd.DataFrame, text: str, label: str, rows: int, seed: int) -> tuple[list, list]:
    d = df[[text, label]].dropna()
    d = d[d[text].astype(str).str.strip() != ""]
    if len(d) > rows:
        d = d.sample(rows, random_state=seed)
    return d[text].astype(str).tolist(), d[label].astype(str).tolist()


def conditioning_scores(ctx: Context, text_col: str, field: str) -> dict[str, Any] | None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x_tr, y_tr = _pairs(ctx.train, text_col, field, ROWS, ctx.seed)
    x_sy, y_sy = _pairs(ctx.synthetic, text_col, field, ROWS, ctx.seed)
    if len(set(y_tr)) < 2 or len(x_sy) < 10:
        return None
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20_000, sublinear_tf=True),
        LogisticRegression(max_iter=300, C=2.0),
    ).fit(x_tr, y_tr)
    acc = float(np.mean(model.predict(x_sy) == np.asarray(y_sy)))
    majority = float(pd.Series(y_sy).value_counts(normalize=True).iloc[0])
    out: dict[str, Any] = {"accuracy": acc, "majority": majority, "rows": len(x_sy)}
    x_ho, y_ho = _pairs(ctx.holdout, text_col, field, ROWS, ctx.seed)
    if len(x_ho) >= 10:
        out["real_holdout_accuracy"] = float(np.mean(model.predict(x_ho) == np.asarray(y_ho)))
    return out


@register(
    "text_conditioning",
    "fidelity",
    "higher",
    (-1.0, 1.0),
    "how far synthetic texts predict their own row's labels above chance (0 = not at all)",
)
def text_conditioning(ctx: Context) -> Result:
    """Per text column and label field: a classifier trained on real texts predicts each
    synthetic row's label from its text. Lift = (accuracy - majority rate) / (real holdout
    accuracy - majority rate): 1 = as telling as real text, 0 = no better than guessing the
    commonest label. The value is, per text column, its best field's lift (the field the
    text was conditioned on), averaged over text columns."""
    cols = text_columns(ctx)
    if not cols:
        return Result(None, skipped=NO_TEXT)
    details: dict[str, Any] = {}
    lifts = []
    for col in cols:
        best = None
        for field in _fields(ctx, col):
            s = conditioning_scores(ctx, col, field)
            if s is None:
                continue
            details[f"{col}|{field}"] = s
            room = s.get("real_holdout_accuracy", 1.0) - s["majority"]
            if room < MIN_ROOM:  # real texts do not tell this field either: nothing to match
                s["skipped"] = "real holdout texts do not predict it"
                continue
            s["lift"] = float(np.clip((s["accuracy"] - s["majority"]) / room, -1.0, 1.0))
            best = s["lift"] if best is None else max(best, s["lift"])
        if best is not None:
            lifts.append(best)
    if not lifts:
        return Result(None, details, skipped="no label column with 2-30 values to predict")
    return Result(float(np.mean(lifts)), details)
