"""Sequence tables: per-entity event streams (Beijing's hourly readings as daily sequences)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import DataError, UsageError
from synthgen.metrics import sequential as sq
from synthgen.schema.detect import detect
from synthgen.sequences import SequenceModel
from tests.conftest import shared_csv

FAST = {"epochs": 20}  # a short schedule: a test checks behaviour, not quality


def beijing_days(months: tuple[str, ...]) -> pd.DataFrame:
    """Hourly readings with a ``time`` and a ``date`` (the entity) for the given months."""
    df = pd.read_csv(shared_csv("beijing_pm25_hourly.csv"))
    df["time"] = pd.to_datetime(df[["year", "month", "day", "hour"]])
    df["date"] = df["time"].dt.strftime("%Y-%m-%d")
    df = df[df["time"].dt.strftime("%Y-%m").isin(months)]
    return df.drop(columns=["No", "year", "month", "day", "hour"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def days() -> pd.DataFrame:
    return beijing_days(("2010-01", "2010-02", "2010-07", "2010-08"))


@pytest.fixture(scope="module")
def model(days: pd.DataFrame) -> SequenceModel:
    return SequenceModel("date", "time", FAST).fit(days, seed=1)


def test_one_sequence_per_entity_with_the_sources_columns_and_times(days, model):
    syn = model.sample(seed=2)
    assert list(syn.columns) == list(days.columns)
    assert syn.dtypes.to_dict() == days.dtypes.to_dict()
    assert syn["date"].nunique() == days["date"].nunique()
    assert not set(syn["date"]) & set(days["date"])  # fresh entity keys
    per = syn.groupby("date", sort=False)
    assert (per.size() == 24).all()  # every source day has 24 readings
    gaps = per["time"].diff().dropna()
    assert (gaps == pd.Timedelta(hours=1)).all()
    assert (syn["time"].dt.minute == 0).all()  # time of day kept: readings on the hour


def test_values_follow_their_predecessor(days, model):
    """Within-sequence memory: lag-1 autocorrelation as the source's, unlike steps drawn
    independently (the same rows shuffled within each day)."""
    syn = model.sample(seed=3)
    schema = detect(days)
    real, fake = (sq.Events.of(d, "date", "time", schema) for d in (days, syn))
    errors = sq.lag1_errors(real, fake, schema, ["TEMP", "DEWP", "PRES", "pm2.5"])
    assert max(errors.values()) < 0.1, errors
    shuffled = syn.copy()
    cols = ["TEMP", "DEWP", "PRES", "pm2.5"]
    shuffled[cols] = syn.groupby("date")[cols].transform(
        lambda x: x.sample(frac=1, random_state=0).to_numpy()
    )
    bad = sq.lag1_errors(real, sq.Events.of(shuffled, "date", "time", schema), schema, cols)
    assert max(bad.values()) > 0.2, bad


def test_same_seed_same_sequences_whatever_else_is_drawn(model):
    a = model.sample(30, seed=5)
    pd.testing.assert_frame_equal(a, model.sample(30, seed=5))
    first = model.sample(10, seed=5)  # the first 10 entities of 30: the same sequences
    pd.testing.assert_frame_equal(first, a.iloc[: len(first)].reset_index(drop=True))
    assert not model.sample(30, seed=6).equals(a)


def test_saved_model_samples_the_same(tmp_path, model):
    model.save(tmp_path / "m")
    loaded = SequenceModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(20, seed=4), model.sample(20, seed=4))
    state = json.loads((tmp_path / "m" / "sequence.json").read_text())
    state["unit"] = "hourly"
    (tmp_path / "m" / "sequence.json").write_text(json.dumps(state))
    with pytest.raises(UsageError, match="sequence.json.*unit"):
        SequenceModel.load(tmp_path / "m")


def test_variable_lengths_and_gaps_are_learnt():
    """Days with readings missing: lengths vary (5..24) and gaps are irregular."""
    df = beijing_days(("2010-03", "2010-04"))
    rng = np.random.default_rng(0)
    keep = (
        rng.random(len(df))
        < rng.uniform(0.2, 1.0, df["date"].nunique())[pd.factorize(df["date"])[0]]
    )
    df = df[keep].reset_index(drop=True)
    m = SequenceModel("date", "time", FAST).fit(df, seed=0)
    syn = m.sample(seed=1)
    schema = detect(df)
    real, fake = (sq.Events.of(d, "date", "time", schema) for d in (df, syn))
    assert real.lengths().std() > 3
    assert sq.ks_complement(real.lengths(), fake.lengths()) > 0.75
    assert sq.ks_complement(real.gaps(), fake.gaps()) > 0.85


def test_entity_attributes_shape_the_whole_sequence(days):
    """Given each day's season, a synthetic winter day is colder than a summer one."""
    dates = pd.Index(sorted(days["date"].unique()))
    season = pd.DataFrame(
        {"season": np.where(dates.str[5:7].isin(["01", "02"]), "winter", "summer")}, index=dates
    )
    m = SequenceModel("date", "time", FAST).fit(days, entities=season, seed=0)
    asked = pd.DataFrame({"season": ["winter"] * 20 + ["summer"] * 20}, index=range(40))
    syn = m.sample(entities=asked, seed=1)
    assert syn["date"].nunique() == 40
    temp = syn.groupby("date")["TEMP"].mean()
    assert temp.loc[:19].mean() < temp.loc[20:].mean() - 15
    with pytest.raises(UsageError, match="entities=..."):
        m.sample(10)


def test_bad_input_is_named(days):
    with pytest.raises(DataError, match="no column 'when'"):
        SequenceModel("date", "when").fit(days)
    with pytest.raises(DataError, match="'cbwd' is categorical, not a time"):
        SequenceModel("date", "cbwd").fit(days)
    partial = pd.DataFrame({"x": [1]}, index=["2010-01-01"])
    with pytest.raises(DataError, match="no entity's key"):
        SequenceModel("date", "time").fit(days, entities=partial)


@pytest.fixture(scope="module")
def seasons(days: pd.DataFrame) -> tuple[pd.DataFrame, SequenceModel]:
    """Each day carries its season on every reading: a column of the entity, not the step."""
    df = days.assign(season=np.where(days["time"].dt.month <= 2, "winter", "summer"))
    df.loc[df["time"].dt.hour == 0, "season"] = None  # left out at midnight: still the day's
    return df, SequenceModel("date", "time", FAST).fit(df, seed=1)


def test_a_column_constant_within_every_entity_is_the_entitys(seasons):
    df, m = seasons
    assert m.statics_ == ["season"]
    syn = m.sample(40, seed=2)
    assert list(syn.columns) == list(df.columns)
    assert (syn.groupby("date")["season"].nunique() == 1).all()
    assert syn["season"].notna().all()  # the day's one value, on each of its hours
    assert set(syn["season"]) == {"winter", "summer"}


def test_a_condition_on_the_entity_keeps_whole_matching_sequences(seasons):
    _, m = seasons
    winter = m.sample(30, seed=3, conditions={"season": "winter"})
    summer = m.sample(30, seed=3, conditions={"season": "summer"})
    assert winter["date"].nunique() == 30 and (winter["season"] == "winter").all()
    assert (winter.groupby("date").size() == 24).all()  # whole days, every hour
    # the steps follow the entity's condition: a winter day is a cold day
    assert winter["TEMP"].mean() < summer["TEMP"].mean() - 15
    pd.testing.assert_frame_equal(winter, m.sample(30, seed=3, conditions={"season": "winter"}))
    july = m.sample(20, seed=3, conditions={"time": {"min": "2010-07-01", "max": "2010-07-31"}})
    first = july.groupby("date")["time"].min()
    assert first.between(pd.Timestamp("2010-07-01"), pd.Timestamp("2010-07-31")).all()


def test_a_condition_on_a_step_or_unknown_column_is_refused_with_what_may_be_named(seasons):
    _, m = seasons
    with pytest.raises(UsageError, match="'TEMP': it changes within") as err:
        m.sample(5, conditions={"TEMP": 1})
    assert "season, time" in str(err.value.hint)
    with pytest.raises(UsageError, match="'nope': no such column") as err:
        m.sample(5, conditions={"nope": 1})
    assert "season, time" in str(err.value.hint)
    with pytest.raises(UsageError, match="entity key"):
        m.sample(5, conditions={"date": "2010-01-01"})
