"""autoreg's codec: every kind of column to codes and back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgen.generators.autoreg.codec import TableCodec
from synthgen.generators.seeding import counted_uniforms

ARGS = {"max_exact": 128, "n_bins": 64, "n_sub": 16, "rare_min": 1}


def _codec(frame: pd.DataFrame, kinds: dict[str, str], **kw: int) -> TableCodec:
    return TableCodec.fit(frame, kinds, **{**ARGS, **kw})


def _round_trip(codec: TableCodec, frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    codes = codec.encode(frame)
    u = counted_uniforms(seed, np.arange(len(frame)), 3, 2 * len(codec.columns))
    return codec.decode(codes, u.reshape(len(frame), -1, 2))


def test_a_point_mass_is_a_code_of_its_own_and_the_tail_keeps_its_shape():
    rng = np.random.default_rng(0)
    n = 20_000
    x = np.where(rng.random(n) < 0.9, 0.0, np.round(rng.lognormal(8, 1.5, n)))  # capital-gain
    frame = pd.DataFrame({"gain": x})
    codec = _codec(frame, {"gain": "integer"})
    col = codec["gain"]
    assert col.kind == "binned" and 0.0 in col.values
    back = _round_trip(codec, frame)["gain"].to_numpy()
    assert (back == 0).mean() == pytest.approx((x == 0).mean(), abs=1e-9)
    for q in (0.95, 0.99, 0.999):  # the long tail, quantile by quantile
        assert np.quantile(back, q) == pytest.approx(np.quantile(x, q), rel=0.05)
    assert back.min() >= x.min() and back.max() <= x.max()
    assert np.array_equal(back, np.round(back))  # whole numbers stay whole


def test_continuous_training_values_are_never_given_back():
    """Only quantile edges are kept: decoding draws inside cells, so a float column with
    many decimals never returns a training value (the codec stores no row)."""
    rng = np.random.default_rng(1)
    x = rng.normal(50, 10, 5000)
    frame = pd.DataFrame({"v": x})
    codec = _codec(frame, {"v": "numeric"})
    assert codec["v"].kind == "binned" and codec["v"].decimals is None
    back = _round_trip(codec, frame, seed=3)["v"].to_numpy()
    assert not np.isin(back, x).any()
    saved = json.dumps(codec.to_json())
    assert not any(repr(float(v)) in saved for v in x[:200])
    assert back.std() == pytest.approx(x.std(), rel=0.05)


def test_numbers_with_few_values_are_exact_and_decimals_are_kept():
    frame = pd.DataFrame({"score": np.tile([1.5, 2.25, 3.0, np.nan], 50)})
    codec = _codec(frame, {"score": "numeric"})
    col = codec["score"]
    assert col.kind == "exact" and col.missing and col.n_codes == 4
    back = _round_trip(codec, frame)["score"]
    pd.testing.assert_series_equal(back, frame["score"], check_names=False)


def test_datetimes_round_to_their_resolution():
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(0, 3000, 3), unit="D")
    secs = (days - pd.Timestamp("1970-01-01")).total_seconds().to_numpy(float)
    frame = pd.DataFrame({"when": secs})
    codec = _codec(frame, {"when": "datetime"})
    col = codec["when"]
    assert col.kind == "binned" and col.unit == 86400
    back = _round_trip(codec, frame)["when"].to_numpy()
    assert np.all(back % 86400 == 0)
    assert back.min() >= secs.min() and back.max() <= secs.max()


def test_missing_is_a_code_in_every_kind():
    rng = np.random.default_rng(2)
    n = 1000
    frame = pd.DataFrame(
        {
            "num": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "lab": np.where(rng.random(n) < 0.3, None, rng.choice(["a", "b"], n)),
        }
    )
    codec = _codec(frame, {"num": "numeric", "lab": "categorical"})
    codes = codec.encode(frame)
    for j, name in enumerate(["num", "lab"]):
        c = codec[name]
        assert c.missing
        assert np.array_equal(codes[:, j] == c.missing_code, frame[name].isna().to_numpy())
    back = _round_trip(codec, frame)
    assert back["num"].isna().equals(frame["num"].isna())
    assert back["lab"].isna().equals(frame["lab"].isna())


def test_thousands_of_levels_with_a_rare_code():
    rng = np.random.default_rng(3)
    icd = np.array([f"C{int(v):04d}" for v in rng.zipf(1.3, 30_000) % 5000], dtype=object)
    frame = pd.DataFrame({"icd": icd})
    codec = _codec(frame, {"icd": "categorical"}, rare_min=3)
    col = codec["icd"]
    counts = pd.Series(icd).value_counts()
    assert len(col.labels) == (counts >= 3).sum() and len(col.rare) == (counts < 3).sum()
    assert len(counts) > 1000 and col.n_codes == len(col.labels) + 1
    back = _round_trip(codec, frame)["icd"]
    kept = frame["icd"].isin(col.labels)
    assert back[kept].equals(frame["icd"][kept])  # common levels come back as themselves
    assert back[~kept].isin(col.rare).all()  # rare ones as some rare level, by frequency


def test_unknown_labels_take_the_rare_code_and_state_round_trips_as_json():
    frame = pd.DataFrame({"lab": ["a"] * 5 + ["b"] * 5 + ["c"], "flag": [True, False] * 5 + [True]})
    codec = _codec(frame, {"lab": "categorical", "flag": "boolean"}, rare_min=2)
    again = TableCodec.from_json(json.loads(json.dumps(codec.to_json())), codec.arrays)
    new = pd.DataFrame({"lab": ["a", "zzz", None], "flag": [False, True, True]})
    assert again.encode(new)[:, 0].tolist() == [0, 2, 0]  # a, the rare code, no missing code
    assert again["flag"].labels == [False, True]


def test_range_share_and_drawing_within_a_range():
    x = np.random.default_rng(4).uniform(0, 100, 10_000)
    frame = pd.DataFrame({"v": x})
    codec = _codec(frame, {"v": "numeric"})
    share = codec.range_share(0, 20.0, 30.0)
    assert 0.6 < share.sum() / codec["v"].n_bins * 10 < 1.4  # about a tenth of the mass
    codes = np.flatnonzero(share > 0)
    k = np.resize(codes, 2000)
    u = counted_uniforms(0, np.arange(2000), 3, 2)
    v = codec.decode_column(0, k, u, within=(20.0, 30.0))
    assert v.min() >= 20.0 and v.max() <= 30.0


def test_max_labels_keeps_the_most_frequent_levels():
    rng = np.random.default_rng(5)
    icd = np.array([f"C{int(v):04d}" for v in rng.zipf(1.3, 20_000) % 3000], dtype=object)
    codec = _codec(pd.DataFrame({"icd": icd}), {"icd": "categorical"}, max_labels=100)
    col = codec["icd"]
    top = pd.Series(icd).value_counts()
    assert len(col.labels) == 100 and col.n_codes == 101
    assert set(col.labels) == set(top.index[:100]) or top.iloc[99] == top.iloc[100]
    assert sorted(col.rare) == sorted(set(icd) - set(col.labels))
