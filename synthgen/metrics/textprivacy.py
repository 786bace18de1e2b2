"""Privacy of free-text columns: copies, near-duplicates and the longest passage shared with
a training text, each against real unseen texts (the holdout) as the chance level."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.evidence import Evidence, copy_excess, difference_se
from synthgen.metrics.text import (
    MIN_CHARS,
    NEAR_CHARS,
    NEAR_JACCARD,
    NGRAM_WORDS,
    NO_TEXT,
    ROWS,
    Corpus,
    _option,
    _per_column,
    corpus,
    text_columns,
)
from synthgen.metrics.textindex import Windows, best_jaccard, longest_shared


def _copies(c: Corpus, part: str, min_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Which texts of ``part`` are long enough to count, and which of those equal a train text."""
    seen = set(c.norm["train"])
    long = np.array([len(t) >= min_chars for t in c.norm[part]], dtype=bool)
    equal = np.array([t in seen for t in c.norm[part]], dtype=bool)
    return long, equal & long


def _share(flags: np.ndarray, among: np.ndarray) -> float | None:
    return float(flags[among].mean()) if among.any() else None


def _worst(per: dict[str, dict[str, Any]], evidence: dict[str, Evidence]) -> Result:
    """The worst column's excess is the value (per column details beside it)."""
    if not evidence:
        return Result(None, {"columns": per}, skipped="no column has texts on both sides")
    for col, ev in evidence.items():
        per[col]["excess"] = ev.estimate
    worst = max(evidence, key=lambda c: evidence[c].estimate)
    lo, hi = evidence[worst].interval()
    details = {"columns": per, "worst_column": worst, "ci_low": lo, "ci_high": hi}
    return Result(evidence[worst].estimate, details, evidence=evidence[worst])


@register(
    "text_exact_copy_rate",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "share of synthetic texts copying a training text no other real text equals, beyond "
    "chance (worst column)",
)
def text_exact_copy_rate(ctx: Context) -> Result:
    """Synthetic texts of at least ``min_chars`` (20) characters that equal a training text
    once lower-cased with spacing collapsed (shorter texts are left out: stock answers),
    corrected for chance as ``exact_copy_excess`` is: real texts repeat (a review posted
    twice), so only a copy of a text no other real text equals counts, against the chance
    that it is a training one. 0 copies is 0 whatever the sample; without a holdout every
    copy counts. Per column: the plain ``rate`` and the holdout's (``holdout_rate``)."""
    min_chars = int(_option(ctx, "text_exact_copy_rate", "min_chars", MIN_CHARS))
    cols = text_columns(ctx)
    if not cols:
        return Result(None, skipped=NO_TEXT)
    per: dict[str, dict[str, Any]] = {}
    evidence: dict[str, Evidence] = {}
    for col in cols:
        c = corpus(ctx, col)
        long, copy = _copies(c, "synthetic", min_chars)
        h_long, h_copy = _copies(c, "holdout", min_chars)
        per[col] = {
            "rate": _share(copy, long),
            "holdout_rate": _share(h_copy, h_long),
            "copies": int(copy.sum()),
            "texts": int(long.sum()),
            "short_texts_ignored": int((~long).sum()),
        }
        if long.any():
            syn = np.array([t for t, ok in zip(c.norm["synthetic"], long, strict=True) if ok])
            ev = copy_excess(syn, np.array(c.norm["train"]), np.array(c.norm["holdout"]))
            evidence[col] = replace(ev, unit="texts")
    return _worst(per, evidence)


def _near(c: Corpus, part: str, min_chars: int, chars: int, jaccard: float) -> tuple[int, int]:
    long, copy = _copies(c, part, min_chars)
    if not long.any():
        return 0, 0
    shared = c.chars(part).shares(c.chars("train"), chars)
    similar = best_jaccard(c.words(part), c.words("train"), NGRAM_WORDS) >= jaccard
    near = copy | shared | similar
    return int(near[long].sum()), int(long.sum())


@register(
    "text_near_duplicate_rate",
    "privacy",
    "lower",
    (-1.0, 1.0),
    "share of synthetic texts sharing a long passage with a training text, beyond the "
    "holdout's share (worst column)",
)
def text_near_duplicate_rate(ctx: Context) -> Result:
    """Share of synthetic texts (of at least 20 characters) that are exact copies, share a
    substring of ``min_shared_chars`` (50) characters with some training text, or whose
    word 8-gram set has Jaccard similarity >= ``jaccard`` (0.5) with one training text's,
    minus the same share for real unseen texts (the chance level). None at all is 0 minus
    the holdout's share whatever the sample; without a holdout it is the plain share."""
    opts = ctx.options.get("text_near_duplicate_rate", {})
    args = (
        int(opts.get("min_chars", MIN_CHARS)),
        int(opts.get("min_shared_chars", NEAR_CHARS)),
        float(opts.get("jaccard", NEAR_JACCARD)),
    )
    cols = text_columns(ctx)
    if not cols:
        return Result(None, skipped=NO_TEXT)
    per: dict[str, dict[str, Any]] = {}
    evidence: dict[str, Evidence] = {}
    for col in cols:
        c = corpus(ctx, col)
        (k, n), (kh, nh) = _near(c, "synthetic", *args), _near(c, "holdout", *args)
        per[col] = {"rate": k / n if n else None, "holdout_rate": kh / nh if nh else None}
        per[col].update(near=k, texts=n, holdout_near=kh, holdout_texts=nh)
        if not n:
            continue
        if k == 0 or nh == 0:  # none at all (no leak, whatever the sample), or no baseline
            evidence[col] = Evidence(k / n - (kh / nh if nh and not k else 0.0), _exact, n)
        else:
            evidence[col] = difference_se(k, n, kh, nh)
        evidence[col] = replace(evidence[col], unit="texts", lo=-1.0)
    return _worst(per, evidence)


def _exact(_theta: float) -> float:
    """The error of a figure read off the whole output, not estimated from a sample."""
    return 0.0


def _longest(c: Corpus, part: str, limit: int, seed: int) -> dict[str, float] | None:
    texts = c.norm[part]
    if not texts or not c.norm["train"]:
        return None
    pick = np.arange(len(texts))
    if len(pick) > limit:
        pick = np.sort(np.random.default_rng(seed).choice(len(texts), limit, replace=False))
    chosen = [texts[i] for i in pick]
    seen = set(c.norm["train"])
    known = np.array([len(t) if t in seen else -1 for t in chosen])
    lcs = longest_shared(Windows.of_chars(chosen), c.chars("train"), known)
    q = np.quantile(lcs, [0.5, 0.95])
    return {"median": float(q[0]), "p95": float(q[1]), "max": float(lcs.max())}


@register(
    "text_longest_shared",
    "privacy",
    "lower",
    (0.0, float("inf")),
    "95th percentile of the longest substring a synthetic text shares with training text",
)
def text_longest_shared(ctx: Context) -> Result:
    """Per synthetic text, the longest substring (characters) it shares with any training
    text; the value is the worst column's 95th percentile. ``holdout`` gives the same
    distribution for real unseen texts: synthetic text at or below it gives back no more
    than real text does by chance. Exact below 32 characters, within 1/8 above. At most
    ``rows`` (1000) texts per side are measured, sampled with the context's seed."""
    limit = int(_option(ctx, "text_longest_shared", "rows", ROWS))

    def one(c: Corpus) -> dict[str, Any]:
        syn = _longest(c, "synthetic", limit, ctx.seed)
        return {
            "value": None if syn is None else syn["p95"],
            "synthetic": syn,
            "holdout": _longest(c, "holdout", limit, ctx.seed),
        }

    return _per_column(ctx, one, max)
