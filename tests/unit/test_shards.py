"""Sharded sampling: shard k depends on (seed, k) alone, and the local chunks are the shards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import UsageError
from synthgen.generators import create
from synthgen.generators.shards import sample_shard, shard_bounds, shard_count
from tests.scale_model import small_frame


@pytest.fixture(scope="module")
def gen():
    return create("copula").fit(small_frame(("email", "phone")), seed=1)


def test_shards_drawn_apart_in_any_order_equal_the_local_chunks(gen):
    n, size = 1050, 200
    chunks = list(gen.iter_sample(n, seed=7, chunk_size=size))
    assert shard_count(n, size) == len(chunks) == 6
    for k in [5, 2, 0, 4, 1, 3]:  # no state between shards: any order, any process
        shard = sample_shard(gen, n, k, seed=7, shard_rows=size)
        pd.testing.assert_frame_equal(shard, chunks[k])
        assert shard.index[0] == shard_bounds(n, k, size)[0]
    whole = pd.concat(chunks)
    assert whole["id"].is_unique and whole["email"].is_unique and whole["phone"].is_unique
    other = sample_shard(gen, n, 2, seed=8, shard_rows=size)  # another seed, other rows
    assert not other["age"].reset_index(drop=True).equals(chunks[2]["age"].reset_index(drop=True))


def test_a_shard_that_does_not_exist_is_a_clear_error(gen):
    with pytest.raises(UsageError, match="no shard 3 in 500 rows"):
        sample_shard(gen, 500, 3, shard_rows=200)
    assert shard_count(0) == 1 and len(sample_shard(gen, 0, 0)) == 0


@pytest.mark.parametrize("pii_type", ["first_name", "phone", "email"])
def test_unique_fakes_from_a_tiny_vocabulary_stay_unique_across_shards(pii_type):
    """20 possible fakes for 3,000 rows in 6 shards, each made alone: every repeat across
    shards is prevented by ownership or renumbering, never by a shared set."""
    from synthgen.pii import unique

    vocab = {
        "first_name": [f"Name{chr(65 + i)}" for i in range(20)],
        "phone": [f"+1 ({i:03d}) 555-01{i:02d}" for i in range(20)],
        "email": [f"user{chr(97 + i)}@example.org" for i in range(20)],
    }[pii_type]
    real = {vocab[0]}

    def shard(k: int) -> list:
        rng = np.random.default_rng([9, k])
        return unique.unique_fakes(
            pii_type,
            lambda: vocab[int(rng.integers(len(vocab)))],
            500,
            start=500 * k,
            total=3000,
            shard_rows=500,
            exclude=real,
            key=[1, 2],
        )

    values = pd.Series([v for k in [4, 1, 5, 0, 3, 2] for v in shard(k)])
    assert values.is_unique and not set(values) & real
    if pii_type == "phone":  # enough digits for every row number: renumbered, no suffix
        assert values.str.fullmatch(r"\+1 \(\d{3}\) \d{3}-\d{4}").all()
    assert shard(3) == shard(3)  # a shard redone is the same


def test_unique_emails_across_shards_stay_plain_emails():
    """An e-mail not owned by its shard is varied (digits in its local part) before it is
    drawn again or numbered: still unique across separately made shards, still an address
    without plus-addressing, never a source value."""
    import itertools

    from synthgen.pii.unique import unique_fakes

    names = itertools.cycle(["ann", "bob", "cyd", "dee"])
    make = lambda: f"{next(names)}@example.com"  # noqa: E731 - four fakes for 4,000 rows
    exclude = {"ann@example.com"}
    parts = [
        unique_fakes(
            "email", make, 1000, start=s, total=4000, shard_rows=1000, exclude=exclude, key=[1]
        )  # fmt: skip
        for s in (3000, 0, 2000, 1000)  # any order, any worker
    ]
    values = [v for p in parts for v in p]
    assert len(set(values)) == 4000 and not set(values) & exclude
    plain = [v for v in values if "+" not in v and "~" not in v]
    assert len(plain) > 3900 and all(v.count("@") == 1 for v in values)
