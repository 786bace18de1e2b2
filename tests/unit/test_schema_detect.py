"""Column-kind detection on real public data and on small synthetic frames."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import SchemaError
from synthgen.schema import KINDS, Schema, apply_overrides, detect

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _read(name: str, **kw: object) -> pd.DataFrame:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real data set {name} not found next to the repo (../shared/data)")
    return pd.read_csv(path, **kw)


@pytest.fixture(scope="module")
def adult_df() -> pd.DataFrame:
    return _read("adult.csv", skipinitialspace=True, na_values="?")


def _kinds(schema: Schema) -> dict[str, str]:
    return {c.name: c.kind for c in schema.columns}


# ---------------------------------------------------------------- real data


def test_adult_kinds(adult_df: pd.DataFrame) -> None:
    schema = detect(adult_df)
    cat, intg = "categorical", "integer"
    assert _kinds(schema) == {
        "age": intg, "workclass": cat, "fnlwgt": intg, "education": cat, "education-num": intg,
        "marital-status": cat, "occupation": cat, "relationship": cat, "race": cat, "sex": cat,
        "capital-gain": intg, "capital-loss": intg, "hours-per-week": intg,
        "native-country": cat, "income": cat,
    }  # fmt: skip
    assert schema.names == list(adult_df.columns)
    assert all(c.pii_type is None for c in schema.columns)
    occ = schema["occupation"]
    assert occ.cardinality == 14 and occ.null_fraction == pytest.approx(1843 / 32561)
    assert schema["age"].dtype == "int64" and schema["age"].reason == "integer values, 73 distinct"


def test_adult_raw_missing_marker_stays_categorical() -> None:
    raw = _read("adult.csv", skipinitialspace=True)  # " ?" kept as the string "?"
    kinds = _kinds(detect(raw))
    assert kinds["workclass"] == kinds["native-country"] == "categorical"


def test_heart_kinds() -> None:
    df = _read("heart_disease_uci.csv")
    schema = detect(df)
    cat, intg = "categorical", "integer"
    assert _kinds(schema) == {
        "id": "id", "age": intg, "sex": cat, "dataset": cat, "cp": cat, "trestbps": intg,
        "chol": intg, "fbs": "boolean", "restecg": cat, "thalch": intg, "exang": "boolean",
        "oldpeak": "numeric", "slope": cat, "ca": intg, "thal": cat, "num": intg,
    }  # fmt: skip
    assert "every value unique" in schema["id"].reason
    assert schema["ca"].dtype == "float64" and schema["ca"].null_fraction > 0.5
    assert schema["fbs"].pii_type is None


def test_insurance_kinds() -> None:
    df = _read("insurance.csv")
    schema = detect(df)
    assert _kinds(schema) == {
        "age": "integer", "sex": "categorical", "bmi": "numeric", "children": "integer",
        "smoker": "boolean", "region": "categorical", "charges": "numeric",
    }  # fmt: skip
    assert "yes/no" in schema["smoker"].reason


def test_detect_is_fast_and_deterministic_on_many_rows(adult_df: pd.DataFrame) -> None:
    big = pd.concat([adult_df] * 2, ignore_index=True)
    first, second = detect(big, seed=3), detect(big, seed=3)
    assert first == second
    assert _kinds(first) == _kinds(detect(adult_df))


# ---------------------------------------------------------------- synthetic frames


def test_whole_floats_with_missing_are_integer_and_decimals_numeric() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [1.5, 2.0, 3.0, np.nan]})
    schema = detect(df)
    assert schema["a"].kind == "integer" and "float64" in schema["a"].reason
    assert schema["b"].kind == "numeric"
    assert schema["a"].null_fraction == 0.25 and schema["a"].cardinality == 3


def test_integers_stay_integer_even_with_few_levels() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"year": rng.integers(2005, 2015, 500), "grade": rng.integers(1, 4, 500)})
    assert _kinds(detect(df)) == {"year": "integer", "grade": "integer"}


@pytest.mark.parametrize(
    "values",
    [
        [0, 1, 1, 0],
        [True, False, True, True],
        ["yes", "no", "no", None],
        ["Y", "N", "N", "Y"],
        ["TRUE", "false", "false", "TRUE"],
        ["t", "f", "t", "t"],
        [1.0, 0.0, np.nan, 1.0],
    ],
)
def test_boolean_pairs(values: list) -> None:
    assert detect(pd.DataFrame({"flag": values}))["flag"].kind == "boolean"


def test_two_level_strings_that_are_not_yes_no_stay_categorical() -> None:
    df = pd.DataFrame({"sex": ["Male", "Female"] * 50, "ab": [0, 2] * 50})
    assert _kinds(detect(df)) == {"sex": "categorical", "ab": "integer"}


@pytest.mark.parametrize(
    ("fmt", "dayfirst"),
    [("%Y-%m-%d", False), ("%Y-%m-%d %H:%M:%S", False), ("%Y-%m-%dT%H:%M:%S", False),
     ("%d/%m/%Y", True), ("%m/%d/%Y", False), ("%d.%m.%Y", True), ("%Y/%m/%d", False)],
)  # fmt: skip
def test_string_dates_get_their_format(fmt: str, dayfirst: bool) -> None:
    stamps = pd.date_range("2020-01-01", periods=300, freq="37h")
    df = pd.DataFrame({"when": stamps.strftime(fmt)})
    col = detect(df)["when"]
    assert col.kind == "datetime" and col.datetime_format == fmt
    assert pd.to_datetime(df["when"], format=col.datetime_format).equals(
        pd.Series(pd.to_datetime(stamps.strftime(fmt), format=fmt), name="when")
    )


def test_dates_tolerate_a_few_bad_values_but_not_many() -> None:
    good = pd.date_range("2021-01-01", periods=200).strftime("%Y-%m-%d").tolist()
    few_bad = detect(pd.DataFrame({"d": good[:196] + ["n/a"] * 4}))["d"]
    many_bad = detect(pd.DataFrame({"d": good[:180] + [f"x{i}" for i in range(20)]}))["d"]
    assert few_bad.kind == "datetime" and many_bad.kind != "datetime"


def test_datetime_dtype_and_years_as_ints() -> None:
    df = pd.DataFrame(
        {"ts": pd.date_range("2020-01-01", periods=50, freq="D"), "year": np.arange(1980, 2030)}
    )
    schema = detect(df)
    assert schema["ts"].kind == "datetime" and schema["ts"].datetime_format is None
    assert schema["year"].kind == "integer"


def test_ids_by_name_and_by_pattern() -> None:
    n = 200
    df = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "OrderNo": [f"A{i:05d}" for i in range(n)],
        "ref": [f"ABC-{i:06d}" for i in range(n)],
        "token": [str(uuid.UUID(int=i * 7919 + 1)) for i in range(n)],
        "store_id": np.arange(n) % 7,  # repeats: a foreign key, kept integer
    })  # fmt: skip
    schema = detect(df)
    assert _kinds(schema) == {
        "customer_id": "id",
        "OrderNo": "id",
        "ref": "id",
        "token": "id",
        "store_id": "integer",
    }
    assert "sequential" in schema["customer_id"].reason
    assert "'AAA-999999'" in schema["ref"].reason and "UUID" in schema["token"].reason


def test_free_text_and_short_labels() -> None:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(1)
    df = pd.DataFrame(
        {
            "review": [fake.paragraph(nb_sentences=4) for _ in range(150)],
            "title": [fake.catch_phrase() for _ in range(150)],
        }
    )
    schema = detect(df)
    assert schema["review"].kind == "text" and schema["review"].reason.startswith("text: mean")
    assert schema["title"].kind == "categorical"


def test_all_missing_constant_and_mixed_columns() -> None:
    df = pd.DataFrame({
        "empty_obj": pd.Series([None] * 40, dtype=object),
        "empty_num": [np.nan] * 40,
        "const": ["x"] * 40,
        "mixed": [str(i) for i in range(38)] + ["abc", "n.a."],
    })  # fmt: skip
    schema = detect(df)
    assert (schema["empty_obj"].kind, schema["empty_num"].kind) == ("categorical", "numeric")
    assert schema["empty_obj"].reason == "all values missing"
    assert schema["empty_obj"].null_fraction == 1.0 and schema["empty_obj"].cardinality == 0
    assert schema["const"].kind == "categorical" and "constant" in schema["const"].reason
    mixed = schema["mixed"]
    assert mixed.kind == "categorical"
    assert mixed.reason.startswith("mixed: 95% numeric, 5% text (e.g. 'abc')")
    assert "set kind: numeric" in mixed.reason


def test_every_column_has_a_reason_and_a_valid_kind(adult_df: pd.DataFrame) -> None:
    for col in detect(adult_df.head(500)).columns:
        assert col.kind in KINDS and col.reason and "\n" not in col.reason


def test_empty_frame_and_bad_input() -> None:
    assert detect(pd.DataFrame()).columns == []
    with pytest.raises(SchemaError, match="DataFrame"):
        detect([1, 2, 3])  # type: ignore[arg-type]
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(SchemaError, match="duplicate column names"):
        detect(dup)


# ---------------------------------------------------------------- overrides


@pytest.fixture()
def small() -> tuple[Schema, pd.DataFrame]:
    df = pd.DataFrame(
        {
            "age": [30, 41, 52, 63] * 5,
            "email": [f"u{i}@x.org" for i in range(20)],
            "when": [f"2020-01-0{i % 9 + 1}" for i in range(20)],
        }
    )
    return detect(df), df


def test_apply_overrides_sets_fields(small: tuple[Schema, pd.DataFrame]) -> None:
    schema, df = small
    assert schema["email"].kind == "pii" and schema["when"].kind == "datetime"
    out = apply_overrides(
        schema,
        {
            "age": {"kind": "pii"},
            "email": {"kind": "categorical"},
            "when": {"kind": "datetime", "datetime_format": "%Y-%d-%m"},
        },
        df,
    )
    assert (out["age"].kind, out["age"].pii_type) == ("pii", "other")
    assert (out["email"].kind, out["email"].pii_type) == ("categorical", None)
    assert out["when"].datetime_format == "%Y-%d-%m"
    assert {out[c].reason for c in ("age", "email", "when")} == {"set by recipe"}
    assert schema["email"].kind == "pii"  # the input schema is untouched
    assert apply_overrides(schema, {}, df) == schema


def test_apply_overrides_pii_type_implies_pii(small: tuple[Schema, pd.DataFrame]) -> None:
    schema, df = small
    out = apply_overrides(schema, {"age": {"pii_type": "ssn"}}, df)
    assert (out["age"].kind, out["age"].pii_type) == ("pii", "ssn")


def test_apply_overrides_collects_every_problem(small: tuple[Schema, pd.DataFrame]) -> None:
    schema, df = small
    bad = {"agee": {"kind": "numeric"}, "age": {"kind": "numbr"}}
    with pytest.raises(SchemaError) as info:
        apply_overrides(schema, bad, df)
    msg = str(info.value)
    assert "schema.agee: no such column; did you mean 'age'?" in msg
    assert "schema.age.kind: 'numbr' is not one of numeric, integer" in msg
    assert "did you mean 'numeric'?" in msg
    assert len(info.value.problems) == 2  # type: ignore[attr-defined]


def test_apply_overrides_rejects_bad_fields_and_formats(small: tuple[Schema, pd.DataFrame]) -> None:
    schema, df = small
    bad = {
        "when": {"datetime_format": "%d/%m/%Y", "knd": "datetime"},
        "email": {"kind": "numeric", "pii_type": "email"},
        "age": {"pii_type": "passport"},
    }
    with pytest.raises(SchemaError) as info:
        apply_overrides(schema, bad, df)
    msg = str(info.value)
    for path in (
        "schema.when.datetime_format",
        "schema.when.knd",
        "schema.email.pii_type",
        "schema.age.pii_type",
    ):
        assert path in msg
    assert "did you mean 'kind'?" in msg and "parses none of the values" in msg
