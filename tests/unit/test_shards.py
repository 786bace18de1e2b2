"""Sharded sampling: shard k depends on (seed, k) alone, and the local chunks are the shards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import UsageError
from synthgen.generators import create
from synthgen.generators.shards import sample_shard, shard_bounds, shard_count


@pytest.fixture(scope="module")
def gen():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": rng.integers(18, 90, n),
            "city": pd.Categorical(rng.choice(["Lyon", "Paris", "Nice", "Metz"], n)),
            "email": [f"user{i}.{rng.integers(1e6)}@example.org" for i in range(n)],
            "phone": [f"+33 6{rng.integers(10**7, 10**8)}" for i in range(n)],
        }
    )
    return create("copula").fit(df, seed=1)


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
