"""Key detection: Chinook's exact keys, synthetic schemas of every shape, and what must not
become a key."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from synthgen.dataset import Dataset, DatasetSpec, ForeignKey, TableSpec
from synthgen.dataset import names as nm
from synthgen.dataset.keys import detect_keys, key_values
from tests.conftest import SHARED

CHINOOK_FKS = {
    ("Album", "ArtistId", "Artist", "ArtistId"),
    ("Track", "AlbumId", "Album", "AlbumId"),
    ("Track", "MediaTypeId", "MediaType", "MediaTypeId"),
    ("Track", "GenreId", "Genre", "GenreId"),
    ("PlaylistTrack", "PlaylistId", "Playlist", "PlaylistId"),
    ("PlaylistTrack", "TrackId", "Track", "TrackId"),
    ("Customer", "SupportRepId", "Employee", "EmployeeId"),
    ("Employee", "ReportsTo", "Employee", "EmployeeId"),
    ("Invoice", "CustomerId", "Customer", "CustomerId"),
    ("InvoiceLine", "InvoiceId", "Invoice", "InvoiceId"),
    ("InvoiceLine", "TrackId", "Track", "TrackId"),
}


def fks(ds: Dataset) -> set[tuple[str, str, str, str]]:
    return {(t, fk.columns[0], fk.ref_table, fk.ref_columns[0]) for t, fk in ds.spec.edges()}


def fk_of(ds: Dataset, table: str, column: str) -> ForeignKey:
    return next(fk for t, fk in ds.spec.edges() if t == table and fk.columns == [column])


def detect(**frames: pd.DataFrame) -> Dataset:
    return detect_keys(Dataset.of_frames(frames))


@pytest.fixture(scope="module")
def chinook() -> Dataset:
    from synthgen.io.folder import read_folder

    folder = SHARED / "chinook"
    if not folder.exists():
        pytest.skip("public data set chinook not found beside the repository")
    return detect_keys(read_folder(folder))


def test_chinook_keys_exactly(chinook: Dataset):
    assert len(chinook.names) == 11
    pks = {t.name: t.primary_key for t in chinook.spec}
    assert pks.pop("PlaylistTrack") == ["PlaylistId", "TrackId"]
    assert pks == {name: [f"{name}Id"] for name in pks}
    assert fks(chinook) == CHINOOK_FKS  # and so no Quantity, Milliseconds or Total
    assert {(t.name, tuple(u.columns)) for t in chinook.spec for u in t.unique} == {
        ("Customer", ("Email",)),
        ("Employee", ("Email",)),
    }
    every = [fk for _, fk in chinook.spec.edges()] + chinook.spec.tables
    assert all(getattr(k, "origin", "detected") == "detected" for k in every)


def test_chinook_evidence_reads_as_a_reason(chinook: Dataset):
    assert fk_of(chinook, "Invoice", "CustomerId").evidence == (
        "100 % of Invoice.CustomerId values (59 distinct) are in Customer.CustomerId, "
        "which is unique; same name"
    )
    rep = fk_of(chinook, "Customer", "SupportRepId").evidence
    assert "'rep' names a person and Employee holds people" in str(rep)
    boss = str(fk_of(chinook, "Employee", "ReportsTo").evidence)
    assert "'reports to' points to another row of the same table" in boss
    assert "1 of 8 rows empty" in boss and "1.0 = 1" in boss
    link = str(chinook.spec["PlaylistTrack"].primary_key_evidence)
    assert link.startswith("PlaylistId + TrackId: every combination is unique and non-null")
    assert "named after the table" in str(chinook.spec["Album"].primary_key_evidence)


def test_nullable_integers_read_as_floats_match_whole_numbers():
    assert key_values(pd.Series([1.0, None, 3.0]))[1].tolist() == [1, 3]  # type: ignore[index]
    assert key_values(pd.Series([2**60 + 1]))[1].tolist() == [2**60 + 1]  # type: ignore[index]
    assert key_values(pd.Series([1.5, 2.0])) is None
    assert key_values(pd.Series([True, False])) is None
    assert key_values(pd.Series(pd.to_datetime(["2020-01-01"]))) is None
    assert key_values(pd.Series(["a", 1], dtype=object)) is None


def test_names_split_camel_and_snake_case_and_plurals():
    assert nm.words("SupportRepId") == ["support", "rep", "id"]
    assert nm.words("lab_events") == ["lab", "event"] and nm.singular("categories") == "category"
    assert [nm.singular(w) for w in ("statuses", "addresses", "people")] == [
        "status",
        "address",
        "person",
    ]
    assert nm.named_as_key_of("patient_id", "patients") and nm.named_as_key_of("AlbumId", "Album")
    assert not nm.named_as_key_of("AlbumId", "Artist")
    assert nm.hierarchy_word("ReportsTo", "Employee") == "reports to" and nm.role_word("created_by")
    assert nm.hierarchy_word("manager_id", "departments") is None  # a department's is a person
    assert nm.hierarchy_word("parent_id", "departments") == "parent"
    assert not nm.ends_like_key("PostalCode") and nm.unique_key_word("phone_no") is None


def _codes(prefix: str, ids) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in ids]


def test_string_codes_match_without_a_name_and_give_a_unique_key():
    rng = np.random.default_rng(0)
    patients = pd.DataFrame({"code": _codes("PAT", range(1, 41)), "age": rng.integers(1, 90, 40)})
    visits = pd.DataFrame(
        {
            "visit": _codes("VIS", range(1, 121)),
            "subject": _codes("PAT", rng.integers(1, 41, 120)),
            "room": rng.integers(1, 30, 120),  # small integers: in patients' nothing, no key
        }
    )
    ds = detect(patients=patients, visits=visits)
    assert ds.spec["patients"].primary_key == ["code"]
    assert ds.spec["visits"].primary_key == ["visit"]
    assert fks(ds) == {("visits", "subject", "patients", "code")}
    assert "no name evidence, but the values are codes of that key" in str(
        fk_of(ds, "visits", "subject").evidence
    )


def test_uuid_keys_and_a_pattern_unique_key():
    rng = np.random.default_rng(1)
    ids = [str(uuid.UUID(int=int(rng.integers(2**62)) * 7919)) for _ in range(30)]
    accounts = pd.DataFrame({"id": ids, "iban": [f"DE{i:020d}" for i in range(30)]})
    sessions = pd.DataFrame(
        {
            "id": [str(uuid.UUID(int=i + 10**9)) for i in range(90)],
            "account_id": rng.choice(ids, 90),
            "tag": [f"T{i % 9}" for i in range(90)],
        }
    )
    ds = detect(accounts=accounts, sessions=sessions)
    assert ds.spec["accounts"].primary_key == ["id"] == ds.spec["sessions"].primary_key
    assert fks(ds) == {("sessions", "account_id", "accounts", "id")}
    assert "named after accounts" in str(fk_of(ds, "sessions", "account_id").evidence)
    assert [u.columns for u in ds.spec["accounts"].unique] == [["iban"]]


def _clinic(n_pat: int = 200, n_adm: int = 500, seed: int = 2) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    patients = pd.DataFrame(
        {
            "patient_id": np.arange(1, n_pat + 1),
            "email": [f"p{i}@example.org" for i in range(n_pat)],
            "weight": rng.normal(70, 12, n_pat).round(3),  # unique floats: not a key
            "ward": rng.integers(1, 6, n_pat),
        }
    )
    admissions = pd.DataFrame(
        {
            "admission_id": np.arange(1, n_adm + 1),
            "patient_id": rng.integers(1, n_pat + 1, n_adm),
            "length_of_stay": rng.integers(1, 20, n_adm),  # contained in every key: no name
            "flag": np.ones(n_adm, dtype=int),  # constant
        }
    )
    adm = rng.integers(1, n_adm + 1, 3 * n_adm).astype(float)
    adm[rng.random(adm.size) < 0.2] = np.nan  # a nullable foreign key
    lab_events = pd.DataFrame(
        {
            "patient_id": admissions["patient_id"].to_numpy()[
                np.nan_to_num(adm, nan=1).astype(int) - 1
            ],
            "admission_id": adm,
            "test": rng.choice(["hb", "na", "k"], adm.size),
            "value": rng.normal(5, 1, adm.size).round(2),
        }
    )
    return {"patients": patients, "admissions": admissions, "lab_events": lab_events}


def test_snake_case_schema_with_a_nullable_key_and_a_table_without_one():
    ds = detect(**_clinic())
    assert ds.spec["patients"].primary_key == ["patient_id"]
    assert ds.spec["admissions"].primary_key == ["admission_id"]
    assert ds.spec["lab_events"].primary_key == []  # no key at all: allowed
    assert fks(ds) == {
        ("admissions", "patient_id", "patients", "patient_id"),
        ("lab_events", "patient_id", "patients", "patient_id"),
        ("lab_events", "admission_id", "admissions", "admission_id"),
    }
    assert ds.spec["lab_events"].nullable_fk(fk_of(ds, "lab_events", "admission_id"))
    assert [u.columns for u in ds.spec["patients"].unique] == [["email"]]  # not "weight"


def test_most_references_found_with_strong_names_and_orphans_reported():
    frames = _clinic()
    adm = frames["admissions"]
    adm.loc[adm.index[:20], "patient_id"] = [900 + i % 7 for i in range(20)]  # 4 % orphans
    ds = detect(**frames)
    ev = str(fk_of(ds, "admissions", "patient_id").evidence)
    assert ev.startswith("96.0 % of admissions.patient_id values")
    assert "20 orphaned references to 7 values missing from patients (e.g. 900" in ev
    adm.loc[adm.index[:100], "patient_id"] = 5000 + np.arange(100)  # 20 %: no longer a key
    assert ("admissions", "patient_id", "patients", "patient_id") not in fks(detect(**frames))


def test_self_reference_and_link_table():
    categories = pd.DataFrame(
        {
            "id": range(1, 11),
            "name": list("abcdefghij"),
            "parent_id": [None, 1, 1, 2, 2, 3, 3, 3, 4, 4],
        }
    )
    products = pd.DataFrame({"id": range(1, 31), "category_id": [1 + i % 10 for i in range(30)]})
    tags = pd.DataFrame({"tag_id": range(1, 6), "label": list("vwxyz")})
    pairs = [(p, t) for p in range(1, 31) for t in range(1, 6) if (p + t) % 3 == 0]
    product_tags = pd.DataFrame(pairs, columns=["product_id", "tag_id"])
    ds = detect(categories=categories, products=products, tags=tags, product_tags=product_tags)
    assert fks(ds) == {
        ("categories", "parent_id", "categories", "id"),
        ("products", "category_id", "categories", "id"),
        ("product_tags", "product_id", "products", "id"),
        ("product_tags", "tag_id", "tags", "tag_id"),
    }
    assert ds.spec["product_tags"].primary_key == ["product_id", "tag_id"]
    assert "'parent' points to another row" in str(fk_of(ds, "categories", "parent_id").evidence)


def test_role_words_point_to_people_not_to_any_table_that_fits():
    rng = np.random.default_rng(3)
    users = pd.DataFrame({"user_id": range(1, 21), "name": [f"u{i}" for i in range(20)]})
    projects = pd.DataFrame({"project_id": range(1, 21), "budget": rng.integers(1, 9, 20)})
    tickets = pd.DataFrame(
        {
            "ticket_id": range(1, 101),
            "project_id": rng.integers(1, 21, 100),
            "assignee": rng.integers(1, 21, 100),
            "created_by": rng.integers(1, 21, 100),
            "priority": rng.integers(1, 5, 100),
        }
    )
    ds = detect(users=users, projects=projects, tickets=tickets)
    assert fks(ds) == {
        ("tickets", "project_id", "projects", "project_id"),
        ("tickets", "assignee", "users", "user_id"),
        ("tickets", "created_by", "users", "user_id"),
    }


def test_a_manager_is_a_person_not_another_row_of_a_non_person_table():
    rng = np.random.default_rng(5)
    departments = pd.DataFrame(
        {"department_id": range(1, 11), "manager_id": rng.permutation(10) + 1}  # also in 1..10
    )
    employees = pd.DataFrame(
        {
            "employee_id": range(1, 61),
            "department_id": rng.integers(1, 11, 60),
            "manager_id": [None] * 10 + list(rng.integers(1, 11, 50)),
        }
    )
    ds = detect(departments=departments, employees=employees)
    assert fks(ds) == {
        ("departments", "manager_id", "employees", "employee_id"),
        ("employees", "department_id", "departments", "department_id"),
        ("employees", "manager_id", "employees", "employee_id"),
    }


def test_independent_tables_of_small_integers_get_no_keys():
    rng = np.random.default_rng(4)
    a = pd.DataFrame({"score": rng.integers(1, 6, 50), "count": rng.integers(1, 4, 50)})
    b = pd.DataFrame(
        {"level": rng.integers(1, 6, 40), "n": rng.permutation(40) + 1, "w": rng.random(40)}
    )
    c = pd.DataFrame({"grade": rng.integers(1, 3, 30), "one": np.ones(30, dtype=int)})
    ds = detect(a=a, b=b, c=c)
    assert all(not t.primary_key and not t.foreign_keys and not t.unique for t in ds.spec)


def test_short_words_are_not_codes_to_match_without_a_name():
    letters = pd.DataFrame({"letter": list("ABCDF"), "points": [4, 3, 2, 1, 0]})
    d = pd.DataFrame({"section": ["A", "B"] * 15, "room": [f"R{i}" for i in range(30)]})
    ds = detect(letters=letters, d=d)
    assert ds.spec["letters"].primary_key == ["letter"]  # the first column: a key of its own
    assert fks(ds) == set()


def test_declared_keys_are_kept_and_not_detected_again():
    frames = _clinic()
    spec = Dataset.of_frames(frames).spec
    adm = spec["admissions"].model_copy(
        update={
            "primary_key": ["admission_id"],
            "primary_key_origin": "declared",
            "foreign_keys": [
                ForeignKey(columns=["patient_id"], ref_table="patients", ref_columns=["patient_id"])
            ],
        }
    )
    tables = [adm if t.name == "admissions" else t for t in spec]
    ds = detect_keys(Dataset(DatasetSpec(tables=tables), frames))
    assert ds.spec["admissions"].primary_key_origin == "declared"
    assert [fk.origin for fk in ds.spec["admissions"].foreign_keys] == ["declared"]
    assert ds.spec["patients"].primary_key_origin == "detected"
    assert isinstance(ds.spec["lab_events"], TableSpec)
