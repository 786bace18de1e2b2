"""Does each synthetic text fit its own row? Two tests, each scored against real holdout texts:

* label columns with few values (rating, section header, ...): a classifier learns, from the
  REAL training texts, to predict the label from the text; it is then asked to predict each
  synthetic row's label from that row's synthetic text. Accuracy above the majority-class rate
  means the text carries its row's conditioning.
* label columns with many worded values (condition "acne", "high blood pressure", ...): how
  often a text names a word of its OWN row's label, against how often it names a word of a
  shuffled row's label. A text that ignores its row names both equally often.
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
MIN_WORD = 4  # label words shorter than this ("of", "add", "uti") are not looked for
STOP = frozenset({"with", "from", "that", "this", "other", "type", "management", "disorder"})


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


def _worded_fields(ctx: Context, text_col: str) -> list[str]:
    """Categorical columns with too many values for a classifier, whose values are words."""
    out = []
    for c in ctx.schema.columns:
        if c.name == text_col or c.kind != "categorical" or c.name not in ctx.synthetic.columns:
            continue
        s = ctx.train[c.name].dropna().astype(str)
        if s.nunique() > MAX_LABELS and s.str.contains(f"[A-Za-z]{{{MIN_WORD}}}").mean() > 0.5:
            out.append((s.nunique(), c.name))
    return [name for _, name in sorted(out, reverse=True)[:MAX_FIELDS]]


def _label_words(label: str) -> list[str]:
    words = "".join(ch if ch.isalnum() else " " for ch in label.lower()).split()
    return [w for w in words if len(w) >= MIN_WORD and w not in STOP]


def _mention_rates(texts: list[str], labels: list[str], seed: int) -> tuple[float, float]:
    """Share of texts naming a word of their own label, and of a shuffled row's label."""
    lowered = [t.lower() for t in texts]
    words = [_label_words(x) for x in labels]
    shuffled = np.random.default_rng(seed).permutation(len(labels))

    def rate(order: Any) -> float:
        return float(
            np.mean([any(w in t for w in words[j]) for t, j in zip(lowered, order, strict=True)])
        )

    return rate(range(len(labels))), rate(shuffled)


def mention_scores(ctx: Context, text_col: str, field: str) -> dict[str, Any] | None:
    x_sy, y_sy = _pairs(ctx.synthetic, text_col, field, ROWS, ctx.seed)
    x_ho, y_ho = _pairs(ctx.holdout, text_col, field, ROWS, ctx.seed)
    if len(x_sy) < 10 or len(x_ho) < 10:
        return None
    own, shuffled = _mention_rates(x_sy, y_sy, ctx.seed)
    real_own, real_shuffled = _mention_rates(x_ho, y_ho, ctx.seed)
    return {
        "test": "names a word of its own label vs a shuffled row's",
        "own_rate": own,
        "shuffled_rate": shuffled,
        "real_holdout_own_rate": real_own,
        "real_holdout_shuffled_rate": real_shuffled,
        "rows": len(x_sy),
        # standard errors between the two rates (both measured on the same texts)
        "z": _z(own - shuffled, own * (1 - own) + shuffled * (1 - shuffled), len(x_sy)),
    }


def _lift(scores: dict[str, Any], gain: float, room: float, why_not: str) -> float | None:
    """The synthetic texts' gain over chance as a share of the real holdout texts' (clipped
    to [-1, 1]), recorded in ``scores``; None (and the reason) when real texts do not beat
    chance by MIN_ROOM either, so there is nothing to match."""
    if room < MIN_ROOM:
        scores["skipped"] = why_not
        return None
    scores["lift"] = float(np.clip(gain / room, -1.0, 1.0))
    return scores["lift"]


def _z(diff: float, variance: float, n: int) -> float:
    return float(diff / np.sqrt(variance / n)) if variance > 0 and n else 0.0


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
    out: dict[str, Any] = {
        "accuracy": acc,
        "majority": majority,
        "rows": len(x_sy),
        # how many standard errors above guessing the commonest label (binomial)
        "z": _z(acc - majority, majority * (1 - majority), len(x_sy)),
    }
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
    commonest label. For label columns with many worded values the lift is (own-label mention
    rate - shuffled-label rate) over the same difference in real holdout texts. The value is,
    per text column, its best field's lift (the field the text was conditioned on), averaged
    over text columns."""
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
            lift = _lift(
                s,
                s["accuracy"] - s["majority"],
                s.get("real_holdout_accuracy", 1.0) - s["majority"],
                "real holdout texts do not predict it",
            )
            if lift is not None:
                best = lift if best is None else max(best, lift)
        for field in _worded_fields(ctx, col):
            m = mention_scores(ctx, col, field)
            if m is None:
                continue
            details[f"{col}|{field}"] = m
            lift = _lift(
                m,
                m["own_rate"] - m["shuffled_rate"],
                m["real_holdout_own_rate"] - m["real_holdout_shuffled_rate"],
                "real holdout texts do not name their label more than another's",
            )
            if lift is not None:
                best = lift if best is None else max(best, lift)
        if best is not None:
            lifts.append(best)
    if not lifts:
        return Result(
            None, details, skipped="no label column the real texts reflect (2-30 values or named)"
        )
    return Result(float(np.mean(lifts)), details)
