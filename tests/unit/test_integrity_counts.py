"""Key hashing and counting for datasets larger than memory (scale.integrity): a key value
is the same value however a file stored it, ids past 2**53 stay exact, and the counts are
the same whatever the number of hash ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.scale.integrity import KeyPlan, key_hashes, ks_from_counts, reduce_keys
from synthgen.stats import ks_complement


def test_a_key_is_one_value_however_it_was_stored() -> None:
    ints = pd.DataFrame({"k": pd.Series([2**60 + 1, 2**60 + 2, 7], dtype="int64")})
    text = pd.DataFrame({"k": ["1152921504606846977", "7.0", None]})  # a CSV read as text
    nullable = pd.DataFrame({"k": pd.Series([7, None, 2**60 + 2], dtype="Int64")})
    assert len(np.intersect1d(key_hashes(ints, ("k",)), key_hashes(text, ("k",)))) == 2
    assert len(np.intersect1d(key_hashes(ints, ("k",)), key_hashes(nullable, ("k",)))) == 2
    assert len(key_hashes(text, ("k",))) == 2  # an empty key part is no reference
    pair = pd.DataFrame({"a": [1, 1], "b": ["x", None]})
    assert len(key_hashes(pair, ("a", "b"))) == 1


def test_counts_do_not_depend_on_the_hash_ranges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    parent = pd.DataFrame({"id": [1, 2, 3, 4, 4]})  # 4 twice
    child = pd.DataFrame({"pid": [1, 1, 2, 9, None, 3, 3, 3]})  # 9 dangles, None is none
    files = {}
    for name, df, cols in (("p", parent, ("id",)), ("c", child, ("pid",))):
        np.save(tmp_path / f"{name}.npy", key_hashes(df, cols))
        files[(name, cols)] = [str(tmp_path / f"{name}.npy")]
    plan = KeyPlan({"p": [("id",)], "c": [("pid",)]}, [("p", ("id",))],
                   [("c.pid", ("c", ("pid",)), ("p", ("id",)))])  # fmt: skip
    for ranges in (1, 3, 16):
        total = None
        for k in range(ranges):
            part = reduce_keys(plan, files, k, ranges)
            if total is None:
                total = part
            else:
                total.add(part)
        assert total is not None
        assert total.references == {"c.pid": 7} and total.dangling == {"c.pid": 1}
        assert total.repeated == {"p(id)": 1} and total.values == {"p(id)": 5}
        assert total.per_parent["c.pid"] == {2: 1, 1: 1, 3: 1, 0: 1}  # parents 1, 2, 3, 4


def test_ks_from_counts_is_the_ks_of_the_values() -> None:
    a, b = {0: 3, 1: 5, 4: 2}, {1: 7, 2: 1, 4: 4}
    expand = lambda h: np.repeat(list(h), list(h.values())).astype(float)  # noqa: E731
    assert ks_from_counts(a, b) == ks_complement(expand(a), expand(b))
