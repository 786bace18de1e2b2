"""text_conditioning: texts that fit their row score near 1, texts shuffled across rows near 0."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

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
