"""Free-text columns: does the synthetic text read like the real text, and does it give any
back?

Every metric runs on each column of kind ``text`` that both tables hold, and is skipped when
there is none. Privacy metrics report the worst column and, as their baseline, the same
measure for the HOLDOUT's real texts (what unseen real text shares with training text by
chance: stock phrases, "none", drug names). Texts are compared after lower-casing and
collapsing whitespace. Details never hold a real text, only counts and lengths.

Overlap uses :mod:`synthgen.metrics.textindex` (rolling hashes indexed once per corpus):
about 1-3 s per column of 4k texts of 200-300 characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.textindex import (
    Windows,
    normalise,
    word_ids,
)
from synthgen.stats import ks_complement

MIN_CHARS = 20  # shorter texts ("none", "n/a") are too common to count as copies
NEAR_CHARS = 50  # a shared substring this long makes a near-duplicate
NEAR_JACCARD = 0.5  # ... and so does this word 8-gram Jaccard with one training text
NGRAM_WORDS = 8
TOP_NGRAMS = 500
ROWS = 1000  # texts per side for the costlier metrics
NO_TEXT = "the table has no text column"


@dataclass
class Corpus:
    """One column's non-empty texts, raw and normalised, with indexes built on demand."""

    raw: dict[str, list[str]]
    norm: dict[str, list[str]]
    _chars: dict[str, Windows] = field(default_factory=dict)
    _words: dict[str, Windows] = field(default_factory=dict)
    _vocab: dict[str, int] = field(default_factory=dict)

    def chars(self, part: str) -> Windows:
        if part not in self._chars:
            self._chars[part] = Windows.of_chars(self.norm[part])
        return self._chars[part]

    def words(self, part: str) -> Windows:
        if part not in self._words:
            self._words[part] = Windows(word_ids(self.norm[part], self._vocab))
        return self._words[part]


def text_columns(ctx: Context) -> list[str]:
    return [
        c.name
        for c in ctx.schema.columns
        if c.kind == "text" and c.name in ctx.synthetic.columns and c.name in ctx.train.columns
    ]


def corpus(ctx: Context, col: str) -> Corpus:
    key = f"text:{col}"
    if key not in ctx.cache:
        frames = {"train": ctx.train, "holdout": ctx.holdout, "synthetic": ctx.synthetic}
        raw = {
            part: [t for t in (str(v).strip() for v in df[col].dropna()) if t]
            if col in df.columns
            else []
            for part, df in frames.items()
        }
        ctx.cache[key] = Corpus(raw, {p: [normalise(t) for t in ts] for p, ts in raw.items()})
    return ctx.cache[key]  # type: ignore[no-any-return]


def _option(ctx: Context, metric: str, key: str, default: Any) -> Any:
    return ctx.options.get(metric, {}).get(key, default)


def _per_column(
    ctx: Context, fn: Callable[[Corpus], dict[str, Any]], combine: Callable[[list[float]], float]
) -> Result:
    """``fn`` per text column (its dict's "value" is the column's score), combined."""
    cols = text_columns(ctx)
    if not cols:
        return Result(None, skipped=NO_TEXT)
    details = {c: fn(corpus(ctx, c)) for c in cols}
    values = [d["value"] for d in details.values() if d.get("value") is not None]
    if not values:
        return Result(None, {"columns": details}, skipped="no column has texts on both sides")
    return Result(float(combine(values)), {"columns": details})


# ---- fidelity -----------------------------------------------------------------------------
@register(
    "text_length_similarity",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "1 - Kolmogorov-Smirnov statistic on text lengths in characters (mean over columns)",
)
def text_length_similarity(ctx: Context) -> Result:
    def one(c: Corpus) -> dict[str, Any]:
        real = np.array([len(t) for t in c.raw["train"]], dtype=float)
        syn = np.array([len(t) for t in c.raw["synthetic"]], dtype=float)
        if not len(real) or not len(syn):
            return {"value": None}
        return {
            "value": ks_complement(real, syn),
            "real_median": float(np.median(real)),
            "synthetic_median": float(np.median(syn)),
        }

    return _per_column(ctx, one, lambda v: float(np.mean(v)))


def _ngrams(texts: list[str], n: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for t in texts:
        words = t.split()
        counts.update(words if n == 1 else (" ".join(p) for p in pairwise(words)))
    return counts


def js_similarity(real: Counter[str], syn: Counter[str], top: int) -> float:
    """1 - Jensen-Shannon distance (base 2) between the two frequency distributions over the
    union of each side's ``top`` most frequent n-grams. The rest is left out rather than
    pooled: a pooled tail would make any two long-tailed texts (even noise) look alike."""
    from scipy.spatial.distance import jensenshannon

    keys = sorted({k for k, _ in real.most_common(top)} | {k for k, _ in syn.most_common(top)})
    if not keys:
        return 0.0
    p, q = (np.array([c[k] for k in keys], dtype=float) for c in (real, syn))
    if not p.sum() or not q.sum():
        return 0.0
    return float(1.0 - jensenshannon(p / p.sum(), q / q.sum(), base=2))


@register(
    "text_ngram_similarity",
    "fidelity",
    "higher",
    (0.0, 1.0),
    "1 - Jensen-Shannon distance of word and word-pair frequencies (mean over columns)",
)
def text_ngram_similarity(ctx: Context) -> Result:
    """Mean of the unigram and bigram similarities (:func:`js_similarity` over the top
    ``top`` (500) n-grams). ``vocabulary_coverage``: share of the real top words that the
    synthetic text uses at all."""
    top = int(_option(ctx, "text_ngram_similarity", "top", TOP_NGRAMS))

    def one(c: Corpus) -> dict[str, Any]:
        if not c.norm["train"] or not c.norm["synthetic"]:
            return {"value": None}
        sims = {}
        for n, name in ((1, "unigram"), (2, "bigram")):
            real, syn = _ngrams(c.norm["train"], n), _ngrams(c.norm["synthetic"], n)
            sims[name] = js_similarity(real, syn, top)
            if n == 1:
                top_real = [k for k, _ in real.most_common(top)]
                coverage = float(np.mean([k in syn for k in top_real])) if top_real else 0.0
        return {
            "value": float(np.mean(list(sims.values()))),
            **sims,
            "vocabulary_coverage": coverage,
        }

    return _per_column(ctx, one, lambda v: float(np.mean(v)))


def detection_auc(real: list[str], syn: list[str], seed: int, rows: int) -> float:
    """Cross-validated ROC AUC of TF-IDF character n-grams + logistic regression telling
    real from synthetic texts (0.5 = indistinguishable)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    real = [real[i] for i in rng.permutation(len(real))[:rows]]
    syn = [syn[i] for i in rng.permutation(len(syn))[:rows]]
    labels = np.r_[np.ones(len(real)), np.zeros(len(syn))]
    # the features are fitted once on both sides (unsupervised, so no label leaks into
    # them); only the classifier is cross-validated: 3x faster than refitting per fold
    features = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 3),
        min_df=2,
        max_features=5000,
        sublinear_tf=True,
        dtype=np.float32,
    ).fit_transform(real + syn)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    model = LogisticRegression(C=1.0, solver="liblinear")
    score = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, score))


@register(
    "text_detection_auc",
    "fidelity",
    "lower",
    (0.0, 1.0),
    "ROC AUC of a character n-gram classifier telling real from synthetic text; 0.5 is best",
)
def text_detection_auc(ctx: Context) -> Result:
    """:func:`detection_auc` per column (3-fold CV, at most ``rows`` (1000) texts a side);
    the worst column's. A verbatim copy of the training text also scores 0.5: read it with
    the privacy metrics."""
    rows = int(_option(ctx, "text_detection_auc", "rows", ROWS))

    def one(c: Corpus) -> dict[str, Any]:
        real, syn = c.raw["train"], c.raw["synthetic"]
        if len(real) < 10 or len(syn) < 10:
            return {"value": None, "reason": "fewer than 10 texts on a side"}
        return {"value": detection_auc(real, syn, ctx.seed, rows)}

    return _per_column(ctx, one, max)


@register(
    "text_embedding_similarity",
    "fidelity",
    "higher",
    (-1.0, 1.0),
    "cosine similarity of the mean sentence embeddings of real and synthetic text (MiniLM)",
)
def text_embedding_similarity(ctx: Context) -> Result:
    """Mean over columns of the cosine between the centroids of all-MiniLM-L6-v2 embeddings
    of real and synthetic texts (at most ``rows`` (200) a side, first 64 tokens); ``holdout`` is the same
    between train and holdout (the real-vs-real level). Needs ``synthgen[text-embed]``."""
    from synthgen.metrics.textembed import embedder_or_reason

    if not text_columns(ctx):
        return Result(None, skipped=NO_TEXT)
    embed, reason = embedder_or_reason()
    if embed is None:
        return Result(None, skipped=reason)
    rows = int(_option(ctx, "text_embedding_similarity", "rows", 200))
    rng = np.random.default_rng(ctx.seed)

    def centroid(texts: list[str]) -> np.ndarray | None:
        if not texts:
            return None
        picked = [texts[i] for i in rng.permutation(len(texts))[:rows]]
        v = embed(picked).mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def one(c: Corpus) -> dict[str, Any]:
        real, syn, ho = (centroid(c.raw[p]) for p in ("train", "synthetic", "holdout"))
        if real is None or syn is None:
            return {"value": None}
        return {
            "value": float(real @ syn),
            "holdout": None if ho is None else float(real @ ho),
        }

    return _per_column(ctx, one, lambda v: float(np.mean(v)))
