"""Unique values of a table drawn in root shards (relational.shard_unique, pii.unique's
Interleaved rows): unique over every shard together, whatever each shard's row count, even
when the fakes' vocabulary is tiny and the rows outnumber the digits a fake can renumber."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.pii.unique import Interleaved, owner
from synthgen.relational.shard_unique import owned_labels


@pytest.mark.parametrize("shards", [3, 40])  # 40: more shards than are routed by owner
@pytest.mark.parametrize(
    ("pii_type", "vocab"),
    [("email", ["ann@mail.org", "bob@mail.org"]), ("phone", ["202-555-0101", "202-555-0199"])],
)
def test_interleaved_fakes_never_repeat_across_shards(shards, pii_type, vocab) -> None:  # type: ignore[no-untyped-def]
    r = np.random.default_rng(0)
    counts = r.integers(0, 60, shards)  # shards draw different row counts
    out: list[str] = []
    for k, n in enumerate(counts):
        layout = Interleaved(k, shards, expected=10)  # far fewer rows expected than drawn
        out += layout.fakes(pii_type, lambda: vocab[r.integers(2)], int(n), {vocab[0]}, [5])
    assert len(out) == counts.sum() and len(set(out)) == len(out)
    assert vocab[0] not in out  # a source value is never given
    if pii_type == "email":
        assert all(v.count("@") == 1 for v in out)


def test_a_shard_keeps_only_the_labels_it_owns_and_every_label_once() -> None:
    labels = [f"plan {c}" for c in "ABCDEFGHIJ"]
    r = np.random.default_rng(1)
    shards, out = 4, []
    for k in range(shards):
        s = pd.Series(r.choice(labels, 6), dtype=object)
        got = owned_labels(s, labels, np.random.default_rng([1, k]), shard=k, shards=shards)
        out += got.tolist()
    assert len(set(out)) == len(out) == 24  # 10 labels for 24 rows: the rest numbered
    owned = [sum(owner(v, shards) == k for v in labels) for k in range(shards)]
    assert sum(v in labels for v in out) == sum(min(o, 6) for o in owned)  # spares used first
