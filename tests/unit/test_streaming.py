"""Sampling in chunks: the same rows as one go, unique ids and fakes across chunks, and a
streaming writer whose file appears whole or not at all. (Memory is measured, not tested:
see the README.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.generators import create
from synthgen.io import read_table, write_table, write_table_chunks
from synthgen.pii import fake


@pytest.fixture(scope="module")
def gen():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "ref": [f"R{i:05d}" for i in range(n)],
            "age": rng.integers(18, 90, n),
            "city": pd.Categorical(rng.choice(["Lyon", "Paris", "Nice", "Metz"], n)),
            "email": [f"user{i}.{rng.integers(1e6)}@example.org" for i in range(n)],
        }
    )
    return create("copula").fit(df, seed=1)


def test_iter_sample_gives_bounded_chunks_that_make_up_sample(gen):
    chunks = list(gen.iter_sample(1000, seed=3, chunk_size=128))
    assert [len(c) for c in chunks] == [128] * 7 + [104]
    assert [c.index[0] for c in chunks] == list(range(0, 1000, 128))  # row numbers
    whole = gen.sample(1000, seed=3, chunk_size=128)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole, check_dtype=False)
    assert isinstance(whole["city"].dtype, pd.CategoricalDtype)  # the source's dtype
    assert whole["id"].is_unique and whole["ref"].is_unique and whole["email"].is_unique
    assert whole["id"].tolist() == list(range(1, 1001))
    # a one-chunk sample is the first chunk's rows (a unique fake's owning shard depends on
    # how many shards there are, so only that column may differ)
    pd.testing.assert_frame_equal(
        gen.sample(128, seed=3, chunk_size=128).drop(columns="email"),
        whole.iloc[:128].drop(columns="email"),
        check_categorical=False,
    )


def test_iter_sample_checks_its_arguments_before_any_row(gen):
    from synthgen.errors import UsageError

    with pytest.raises(UsageError, match="chunk_size"):
        gen.iter_sample(10, chunk_size=0)
    with pytest.raises(UsageError, match="not a modelled column"):
        gen.iter_sample(10, conditions={"email": "a@b.c"})
    (empty,) = gen.iter_sample(0)
    assert list(empty.columns) == ["id", "ref", "age", "city", "email"] and len(empty) == 0


def _shard_column(state: dict, total: int, size: int, k: int, exclude: set[str]) -> pd.Series:
    n = min(size, total - size * k)
    return fake.side_column(
        state,
        n,
        np.random.default_rng([4, k]),
        locale="en_US",
        dtype="object",
        exclude=exclude,
        start=size * k,
        unique=(total, size),
        key=[4, 7927, 1],
    )


@pytest.mark.parametrize("pii_type", ["first_name", "email"])
def test_unique_fakes_stay_unique_across_shards_made_in_any_order(pii_type):
    state = {"how": "pii", "pii_type": pii_type, "unique": True, "null_fraction": 0.0}
    real = {"Mary", "James"} if pii_type == "first_name" else set()
    order = [3, 0, 2, 1]  # shards made apart, in any order, with no shared state
    parts = {k: _shard_column(state, 1000, 250, k, real) for k in order}
    values = pd.concat([parts[k] for k in range(4)], ignore_index=True)
    assert values.is_unique and not set(values) & real
    mark = values.str.contains("~", regex=False)
    if pii_type == "email":  # made unique by plus addressing: still an e-mail
        mark = values.str.contains("+", regex=False)
        assert values.str.fullmatch(r"[^@~]+@[^@~]+").all()
    assert (~mark).sum() > 100  # most rows keep a plain fake; the rest carry their row number
    rows = values[mark].str.extract(r"[~+](\d+)(?:@[^@]*)?$")[0].astype(int)
    assert (rows == rows.index).all()
    again = _shard_column(state, 1000, 250, 2, real)  # a shard is the same when redone
    assert again.tolist() == parts[2].tolist()


def test_number_shaped_fakes_are_unique_by_their_row_number():
    from synthgen.pii import unique

    state = {"how": "pii", "pii_type": "ssn", "unique": True, "null_fraction": 0.0}
    values = pd.concat(
        [_shard_column(state, 3000, 1000, k, set()) for k in (2, 1, 0)], ignore_index=True
    )
    assert values.is_unique and values.str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()  # no suffix
    xs = [unique.permute_below(r, 1000, [1, 2]) for r in range(1000)]
    assert sorted(xs) == list(range(1000)) and xs[:5] != [0, 1, 2, 3, 4]  # keyed bijection


def test_hex_ids_are_unique_from_the_row_number_even_past_their_width():
    state = {"how": "id_hex", "length": 4, "null_fraction": 0.0}
    key = [5, 1]
    parts = [
        fake.side_column(
            state,
            20_000,
            np.random.default_rng(k),
            locale="en_US",
            dtype="object",
            exclude=set(),
            start=20_000 * k,
            key=key,
        )
        for k in range(4)
    ]
    ids = pd.concat(parts, ignore_index=True)
    assert ids.is_unique and ids.str.len().min() == 4  # 80,000 ids in a 65,536 space
    long = fake.side_column(
        {"how": "id_hex", "length": 32},
        1000,
        np.random.default_rng(0),
        locale="en_US",
        dtype="object",
        exclude=set(),
        key=key,
    )
    assert long.is_unique and (long.str.len() == 32).all()


def test_ids_keep_the_source_format_and_stay_unique_across_chunks():
    from synthgen.transforms.side import _fit_id

    real = pd.Series([f"{p}-{i:05d}" for i, p in enumerate(["BK", "CR", "ZX"] * 400)])
    state = _fit_id(real) | {"null_fraction": 0.0}
    assert state["how"] == "id_shape" and state["shape"][2] == "=-"

    def chunk(k: int, n: int) -> pd.Series:
        return fake.side_column(
            state,
            n,
            np.random.default_rng(k),
            locale="en_US",
            dtype="object",
            exclude=set(),
            start=n * k,
            key=[9, 2],
        )

    ids = pd.concat([chunk(k, 30_000) for k in range(3)], ignore_index=True)
    assert ids.is_unique and ids.str.fullmatch(r"[A-Z]{2}-\d{5}").all()
    assert not set(ids) & set(real) or len(set(ids) & set(real)) < 5  # not the source's ids
    assert list(ids.iloc[:3]) != sorted(ids.iloc[:3])  # they do not visibly count up
    small = _fit_id(pd.Series(["a1", "b2", "c3"])) | {"null_fraction": 0.0}
    many = fake.side_column(
        small,
        500,
        np.random.default_rng(0),
        locale="en_US",
        dtype="object",
        exclude=set(),
        key=[1],
    )  # 260 shapes for 500 rows: the rest carry their row number
    assert many.is_unique and many.iloc[:260].str.fullmatch(r"[a-z]\d").all()
    assert _fit_id(pd.Series(["ab-1", "abc-2"]))["how"] == "id_hex"  # lengths differ


def test_streamed_files_equal_the_one_shot_write(gen, tmp_path: Path):
    whole = gen.sample(700, seed=2, chunk_size=100)
    write_table(whole, tmp_path / "whole.csv")
    rows = write_table_chunks(gen.iter_sample(700, seed=2, chunk_size=100), tmp_path / "s.csv")
    assert rows == 700
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    write_table_chunks(gen.iter_sample(700, seed=2, chunk_size=100), tmp_path / "s.parquet")
    back = read_table(tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(back, whole, check_categorical=False)


def test_parquet_chunks_with_a_column_empty_at_first(tmp_path: Path):
    chunks = [pd.DataFrame({"a": [1, 2], "t": [None, None]}), pd.DataFrame({"a": [3], "t": ["x"]})]
    write_table_chunks(iter(chunks), tmp_path / "o.parquet")
    back = pd.read_parquet(tmp_path / "o.parquet")["t"]  # pandas 3 reads a str column: NaN
    assert back.isna().tolist() == [True, True, False] and back[2] == "x"


def test_a_failed_stream_leaves_no_file(tmp_path: Path):
    def chunks():
        yield pd.DataFrame({"a": [1]})
        raise RuntimeError("interrupted")

    for name in ("o.csv", "o.parquet"):
        with pytest.raises(RuntimeError):
            write_table_chunks(chunks(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []
