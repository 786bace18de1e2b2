"""text_conditioning: texts that fit their row score near 1, texts shuffled across rows near 0."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from synthgen.metrics import REGISTRY, Context
from synthgen.schema.spec import ColumnSpec, Schema

WORDS = {
    "good": ["great", "helped", "relief", "better"],
    "bad": ["awful", "worse", "nausea", "pain"],
    "meh": ["unsure", "mixed", "some", "average"],
}
FILLER = [
    "the",
    "pill",
    "was",
    "taken",
    "every",
    "day",
    "with",
    "water",
    "after",
    "breakfast",
    "and",
    "then",
]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rating = [rng.choice(sorted(WORDS)) for _ in range(n)]
    notes = [
        " ".join(rng.sample(FILLER, 6) + [rng.choice(WORDS[r]), rng.choice(WORDS[r])])
        for r in rating
    ]
    return pd.DataFrame({"rating": rating, "dose": np.arange(n) % 7, "note": notes})


SCHEMA = Schema(
    columns=[
        ColumnSpec(name="rating", kind="categorical"),
        ColumnSpec(name="dose", kind="integer"),
        ColumnSpec(name="note", kind="text"),
    ]
)


def _score(syn: pd.DataFrame) -> tuple[float, dict]:
    ctx = Context(_frame(600, 0), _frame(200, 1), syn, SCHEMA, seed=0)
    r = REGISTRY["text_conditioning"].compute(ctx)
    return r.value, r.details


def test_texts_that_fit_their_rows_score_high_and_shuffled_texts_near_zero() -> None:
    fitting, details = _score(_frame(400, 2))
    assert fitting > 0.8
    d = details["note|rating"]
    assert d["accuracy"] > 0.9 and d["majority"] < 0.45
    shuffled = _frame(400, 3)
    shuffled["note"] = shuffled["note"].sample(frac=1, random_state=0).to_numpy()
    value, _ = _score(shuffled)
    assert abs(value) < 0.2


def test_skipped_without_text_columns() -> None:
    schema = Schema(columns=[ColumnSpec(name="rating", kind="categorical")])
    df = _frame(50, 0)[["rating"]]
    r = REGISTRY["text_conditioning"].compute(Context(df, df, df, schema))
    assert r.value is None and r.skipped


CONDITIONS = [
    f"{a} {b}"
    for a in ("chronic", "acute", "seasonal", "severe")
    for b in (
        "migraine",
        "eczema",
        "asthma",
        "insomnia",
        "arthritis",
        "bronchitis",
        "gastritis",
        "sinusitis",
        "tendinitis",
        "dermatitis",
    )
]  # 40 worded labels: too many for a classifier


def _conditions_frame(n: int, seed: int, mention: float) -> pd.DataFrame:
    """Reviews naming their own condition's disease with probability ``mention``."""
    rng = random.Random(seed)
    cond = [rng.choice(CONDITIONS) for _ in range(n)]
    notes = [
        " ".join(rng.sample(FILLER, 6) + ([c.split()[1]] if rng.random() < mention else []))
        for c in cond
    ]
    return pd.DataFrame({"condition": cond, "note": notes})


def test_many_worded_labels_are_scored_by_naming_the_own_label() -> None:
    schema = Schema(
        columns=[
            ColumnSpec(name="condition", kind="categorical"),
            ColumnSpec(name="note", kind="text"),
        ]
    )
    train, holdout = _conditions_frame(600, 0, 0.5), _conditions_frame(300, 1, 0.5)

    def score(syn: pd.DataFrame) -> tuple[float, dict]:
        r = REGISTRY["text_conditioning"].compute(Context(train, holdout, syn, schema, seed=0))
        return r.value, r.details["note|condition"]

    value, d = score(_conditions_frame(400, 2, 0.5))
    assert d["own_rate"] == pytest.approx(0.5, abs=0.1) and d["shuffled_rate"] < 0.1
    assert value > 0.7
    shuffled = _conditions_frame(400, 3, 0.5)
    shuffled["note"] = shuffled["note"].sample(frac=1, random_state=0).to_numpy()
    value, _ = score(shuffled)
    assert abs(value) < 0.25
