"""Whole databases in and out: Chinook through SQLite and PostgreSQL and back, keys and
all; self-references, cycles, enums and identity columns. Bad input is in
test_sql_errors.py."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from synthgen.dataset import ColumnInfo, Dataset, DatasetSpec, ForeignKey, TableSpec
from synthgen.io.sql import read_sql, write_sql
from tests.integration.conftest import CHINOOK_FKS, chinook_pk

pg = pytest.mark.postgres


def assert_same_rows(a: Dataset, b: Dataset) -> None:
    """Every table's rows, sorted by primary key, equal with equal dtypes."""
    assert sorted(a.names) == sorted(b.names)
    for name in a.names:
        pk = a.spec[name].primary_key or list(a[name].columns)
        x = a[name].sort_values(pk).reset_index(drop=True)
        y = b[name][list(x.columns)].sort_values(pk).reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_dtype=True, obj=name)


def fk_set(ds: Dataset) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    return {
        (t, tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns)) for t, fk in ds.spec.edges()
    }


CHINOOK_FK_SET = {(t, tuple(c), p, tuple(pc)) for t, c, p, pc in CHINOOK_FKS}


def test_chinook_sqlite_has_every_key(chinook_sqlite):
    ds = read_sql(chinook_sqlite)
    assert len(ds.names) == 11
    for t in ds.spec:
        assert t.primary_key == chinook_pk(t.name), t.name
        assert t.rows == len(ds[t.name]) > 0
    assert ds.spec["PlaylistTrack"].primary_key == ["PlaylistId", "TrackId"]
    assert fk_set(ds) == CHINOOK_FK_SET
    assert all(fk.origin == "reflected" for _, fk in ds.spec.edges())
    emp = ds.spec["Employee"]
    (self_ref,) = emp.foreign_keys
    assert self_ref.ref_table == "Employee" and emp.column("ReportsTo").nullable
    assert [u.columns for u in ds.spec["Genre"].unique] == [["Name"]]
    assert [c.sql for c in ds.spec["InvoiceLine"].checks] == ['"Quantity" > 0']
    assert ds.warnings == []


def test_chinook_sqlite_types_and_dtypes(chinook_sqlite, chinook_dataset):
    ds = read_sql(chinook_sqlite)
    track = ds.spec["Track"]
    assert track.column("UnitPrice").sql_type == "NUMERIC(10,2)"
    assert (track.column("UnitPrice").precision, track.column("UnitPrice").scale) == (10, 2)
    assert track.column("Composer").sql_type == "VARCHAR(220)"
    assert track.column("Composer").length == 220
    assert ds.spec["Invoice"].column("InvoiceDate").sql_type == "TIMESTAMP"
    emp = ds["Employee"]
    assert str(emp["ReportsTo"].dtype) == "Int64"  # nullable integers stay integers
    assert emp["EmployeeId"].dtype == np.int64
    assert emp["BirthDate"].dtype == "datetime64[ns]"
    assert ds["Track"]["UnitPrice"].dtype == np.float64
    assert emp["ReportsTo"].isna().sum() == 1
    # the values are the CSV's
    src = chinook_dataset["Track"].sort_values("TrackId").reset_index(drop=True)
    pd.testing.assert_series_equal(ds["Track"]["Name"], src["Name"])
    pd.testing.assert_series_equal(ds["Track"]["UnitPrice"], src["UnitPrice"])


def test_read_some_tables_in_chunks(chinook_sqlite):
    ds = read_sql(chinook_sqlite, tables=["Artist", "Album"], chunk_rows=7)
    assert ds.names == ["Artist", "Album"]
    assert len(ds["Album"]) == 347 and ds["Album"]["AlbumId"].is_monotonic_increasing
    assert ds["Album"]["AlbumId"].dtype == np.int64


def pg_constraints(db, schema: str = "public") -> dict[str, list[str]]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT contype, conrelid::regclass::text, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = %s::regnamespace",
            (schema,),
        ).fetchall()
    out: dict[str, list[str]] = {}
    for kind, rel, definition in rows:
        out.setdefault(kind, []).append(f"{rel.split('.')[-1].strip(chr(34))}: {definition}")
    return out


@pg
def test_chinook_sqlite_to_postgres_and_back(chinook_sqlite, pg_db):
    src = read_sql(chinook_sqlite)
    result = write_sql(src, pg_db.url)
    assert result.rows == {t.name: t.rows for t in src.spec}
    assert "${" not in result.url and pg_db.server.password not in result.url
    back = read_sql(pg_db.url)
    assert_same_rows(src, back)
    assert fk_set(back) == CHINOOK_FK_SET
    assert {t.name: t.primary_key for t in back.spec} == {t.name: t.primary_key for t in src.spec}
    assert {t.name: [c.sql_type for c in t.columns] for t in back.spec} == {
        t.name: [c.sql_type for c in t.columns] for t in src.spec
    }
    cons = pg_constraints(pg_db)
    assert len(cons["p"]) == 11 and len(cons["f"]) == 11 and len(cons["u"]) == 2
    assert 'PlaylistTrack: PRIMARY KEY ("PlaylistId", "TrackId")' in cons["p"]
    assert 'Employee: FOREIGN KEY ("ReportsTo") REFERENCES "Employee"("EmployeeId")' in cons["f"]
    assert 'Genre: UNIQUE ("Name")' in cons["u"]
    assert sorted(c.split(": ", 1)[0] for c in cons["c"]) == ["Invoice", "InvoiceLine"]


@pg
def test_chinook_postgres_to_sqlite_and_back(chinook_dataset, pg_db, tmp_path):
    write_sql(chinook_dataset, pg_db.url, schema="music")
    src = read_sql(pg_db.url, schema="music")
    assert fk_set(src) == CHINOOK_FK_SET
    out = tmp_path / "copy.db"
    write_sql(src, f"sqlite:///{out}")
    back = read_sql(f"sqlite:///{out}")
    assert_same_rows(src, back)
    assert fk_set(back) == CHINOOK_FK_SET
    for t in back.spec:
        assert t.primary_key == src.spec[t.name].primary_key
        assert [u.columns for u in t.unique] == [u.columns for u in src.spec[t.name].unique]
        assert len(t.checks) == len(src.spec[t.name].checks)
    with sqlite3.connect(out) as conn:  # the keys are SQLite's own, not only our reading
        fks = conn.execute("PRAGMA foreign_key_list('PlaylistTrack')").fetchall()
        assert {(r[2], r[3]) for r in fks} == {("Playlist", "PlaylistId"), ("Track", "TrackId")}
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _tree() -> Dataset:
    """A self-referencing table listed children first, with a two-row cycle (1 <-> 2 is
    not a tree, but a nullable reference can hold it), and two tables referencing each
    other (team.captain -> person, person.team -> team)."""
    person = pd.DataFrame(
        {
            "id": [7, 6, 5, 4, 3, 2, 1],
            "boss": pd.array([6, 5, 4, 3, None, 1, 2], dtype="Int64"),
            "team": [10, 10, 11, 11, 10, 11, 10],
            "name": list("gfedcba"),
        }
    )
    team = pd.DataFrame({"tid": [10, 11], "captain": pd.array([7, 3], dtype="Int64")})
    spec = DatasetSpec(
        tables=[
            TableSpec(
                name="person",
                columns=[
                    ColumnInfo(name="id", sql_type="INTEGER", nullable=False),
                    ColumnInfo(name="boss", sql_type="INTEGER"),
                    ColumnInfo(name="team", sql_type="INTEGER", nullable=False),
                    ColumnInfo(name="name", sql_type="TEXT"),
                ],
                primary_key=["id"],
                foreign_keys=[
                    ForeignKey(columns=["boss"], ref_table="person", ref_columns=["id"]),
                    ForeignKey(columns=["team"], ref_table="team", ref_columns=["tid"]),
                ],
            ),
            TableSpec(
                name="team",
                columns=[
                    ColumnInfo(name="tid", sql_type="INTEGER", nullable=False),
                    ColumnInfo(name="captain", sql_type="INTEGER"),
                ],
                primary_key=["tid"],
                foreign_keys=[
                    ForeignKey(columns=["captain"], ref_table="person", ref_columns=["id"])
                ],
            ),
        ]
    )
    return Dataset(spec, {"person": person, "team": team})


def _check_tree(back: Dataset) -> None:
    src = _tree()
    person = back["person"].sort_values("id").reset_index(drop=True)
    want = src["person"].sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(person, want[person.columns], check_dtype=False)
    team = back["team"].sort_values("tid").reset_index(drop=True)
    pd.testing.assert_frame_equal(team, src["team"], check_dtype=False)


def test_self_reference_and_cycle_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'tree.db'}"
    write_sql(_tree(), url)
    _check_tree(read_sql(url))


@pg
def test_self_reference_and_cycle_postgres(pg_db):
    write_sql(_tree(), pg_db.url)
    _check_tree(read_sql(pg_db.url))


@pg
def test_enum_identity_and_defaults_postgres(pg_db, tmp_path):
    with pg_db.connect() as conn:
        conn.execute(
            "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
            "CREATE TABLE diary (id serial PRIMARY KEY, m mood NOT NULL, "
            " note varchar(40) DEFAULT 'none', at timestamptz DEFAULT now(), "
            " seen boolean, n bigint GENERATED BY DEFAULT AS IDENTITY);"
            "INSERT INTO diary (id, m, seen, at) VALUES (5, 'ok', true, '2024-01-02 03:04:05+02'),"
            " (9, 'happy', NULL, NULL)"
        )
    src = read_sql(pg_db.url)
    cols = {c.name: c for c in src.spec["diary"].columns}
    assert cols["m"].sql_type == "ENUM" and cols["m"].enum_values == ["sad", "ok", "happy"]
    assert cols["id"].identity and cols["id"].default is None and cols["n"].identity
    assert cols["note"].default == "'none'::character varying"
    assert str(src["diary"]["at"].dtype) == "datetime64[ns, UTC]"
    assert str(src["diary"]["seen"].dtype) == "boolean"
    # to SQLite: the enum becomes VARCHAR + CHECK, read back as the same labels
    lite = f"sqlite:///{tmp_path / 'diary.db'}"
    result = write_sql(src, lite)
    again = read_sql(lite)
    assert again.spec["diary"].column("m").enum_values == ["sad", "ok", "happy"]
    assert again.spec["diary"].column("note").default == "'none'"
    assert any("now()" in w for w in result.warnings) is False  # CURRENT_TIMESTAMP is portable
    # and into PostgreSQL again: a real enum type, sequences past the rows written
    write_sql(again, pg_db.url, schema="copy")
    labels = pg_db.scalar(
        "SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum e "
        "JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace s ON s.oid = t.typnamespace "
        "WHERE s.nspname = 'copy'"
    )
    assert labels == ["sad", "ok", "happy"]
    back = read_sql(pg_db.url, schema="copy")
    assert back["diary"]["m"].tolist() == ["ok", "happy"]
    # SQLite has no time zones: a TIMESTAMPTZ is kept there in UTC, and comes back naive
    assert back["diary"]["at"].iloc[0] == pd.Timestamp("2024-01-02 01:04:05")
    # n lost its identity in SQLite (only an INTEGER PRIMARY KEY has one there); id kept it
    assert pg_db.scalar("INSERT INTO copy.diary (m, n) VALUES ('sad', 0) RETURNING id") == 10


@pg
def test_identity_sequence_moves_past_written_rows(pg_db):
    person = pd.DataFrame({"id": [1, 2, 40], "name": ["a", "b", "c"]})
    spec = DatasetSpec(
        tables=[
            TableSpec(
                name="p",
                columns=[
                    ColumnInfo(name="id", sql_type="BIGINT", nullable=False, identity=True),
                    ColumnInfo(name="name", sql_type="TEXT"),
                ],
                primary_key=["id"],
            )
        ]
    )
    write_sql(Dataset(spec, {"p": person}), pg_db.url)
    assert pg_db.scalar("INSERT INTO p (name) VALUES ('d') RETURNING id") == 41


def test_modes_append_and_replace_sqlite(chinook_dataset, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    write_sql(chinook_dataset, url)
    write_sql(chinook_dataset, url, mode="replace")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute('SELECT count(*) FROM "Track"').fetchone() == (3503,)
    artists = chinook_dataset["Artist"]
    more = artists.assign(ArtistId=artists["ArtistId"] + 1000)
    spec = DatasetSpec(tables=[chinook_dataset.spec["Artist"]])
    result = write_sql(Dataset(spec, {"Artist": more}), url, mode="append")
    assert result.created == [] and result.rows == {"Artist": 275}
    assert len(read_sql(url, tables=["Artist"])["Artist"]) == 550


@pg
def test_modes_append_and_replace_postgres(chinook_dataset, pg_db):
    write_sql(chinook_dataset, pg_db.url)
    write_sql(chinook_dataset, pg_db.url, mode="replace")
    assert pg_db.scalar('SELECT count(*) FROM "PlaylistTrack"') == 8715
    write_sql(_tree(), pg_db.url, mode="append")  # new tables beside the old ones
    write_sql(_tree(), pg_db.url, mode="replace")  # a cycle: emptied, then filled again
    _check_tree(read_sql(pg_db.url, tables=["person", "team"]))


def test_frames_without_sql_types(tmp_path):
    """A dataset from files (no SQL types) gets types from its dtypes."""
    df = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, None, 2.0],
            "s": ["a", None, "c"],
            "b": [True, False, True],
            "d": pd.to_datetime(["2020-01-01 00:00", None, "2021-06-30 12:00"], format="ISO8601"),
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    write_sql(Dataset.of_frames({"t": df}), url)
    back = read_sql(url)
    assert [c.sql_type for c in back.spec["t"].columns] == [
        "BIGINT", "DOUBLE", "TEXT", "BOOLEAN", "TIMESTAMP", "BIGINT",
    ]  # fmt: skip
    assert "t has no primary key" in back.warnings[0]
    pd.testing.assert_frame_equal(back["t"], df, check_dtype=False)
    assert str(back["t"]["n"].dtype) == "Int64"


@pg
def test_csv_copy_writes_exactly_what_row_by_row_copy_writes_postgres(pg_db, monkeypatch):
    """Plain tables go to PostgreSQL as one Arrow-written CSV COPY; every awkward value comes
    back as the row-by-row binary COPY writes it (and as it was)."""
    import synthgen.io.sql.write as sqlwrite

    texts = ["", 'a"b', "l1\nl2", "tab\there", "back\\slash", "\\N", "\\.", ",", "ü €", None]
    n = len(texts)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "t": texts,
            "i": pd.array([0, -1, 2**62, None, 7, 8, 9, 10, 11, 12], dtype="Int64"),
            "f": [0.1, 1 / 3, 1e20, -0.0, None, 2.5e-9, 3.0, 4.0, 5.0, 6.0],
            "d": [0.99, 123.4567, None, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "b": pd.array([True, False, None] + [True] * 7, dtype="boolean"),
            "day": pd.to_datetime(["2024-02-29", None] + ["1900-01-01"] * 8),
            "ts": pd.to_datetime(
                ["2024-01-02 03:04:05.123456", None] + ["2000-01-01 00:00:00.5"] * 8
            ),
            "tz": pd.to_datetime(
                ["2024-01-02 03:04:05+02:00", None] + ["2000-01-01 00:00:00+00:00"] * 8, utc=True
            ),
            "u": ["6f1c0c8e-8f7a-4b5e-9d6a-2b1e3f4a5b6c", None] * 5,
            "j": ['{"a": [1, "x"]}', None] * 5,
            "tm": ["12:34:56", None] * 5,
        }
    )
    types = {"id": "INTEGER", "t": "TEXT", "i": "BIGINT", "f": "DOUBLE", "d": "NUMERIC(12,4)",
             "b": "BOOLEAN", "day": "DATE", "ts": "TIMESTAMP", "tz": "TIMESTAMPTZ", "u": "UUID",
             "j": "JSON", "tm": "TIME"}  # fmt: skip
    spec = DatasetSpec(
        tables=[
            TableSpec(
                name="awkward",
                columns=[ColumnInfo(name=c, sql_type=t) for c, t in types.items()],
                primary_key=["id"],
            )
        ]
    )
    ds = Dataset(spec, {"awkward": frame})
    write_sql(ds, pg_db.url, schema="fast")
    monkeypatch.setattr(sqlwrite, "CSV_KINDS", ())  # every table row by row, in binary
    write_sql(ds, pg_db.url, schema="slow")
    dump = "SELECT json_agg(row_to_json(a) ORDER BY id)::text FROM {}.awkward a"
    fast, slow = pg_db.scalar(dump.format("fast")), pg_db.scalar(dump.format("slow"))
    differ = [
        (a["id"], k, a[k], b[k])
        for a, b in zip(json.loads(fast), json.loads(slow), strict=True)
        for k in a
        if a[k] != b[k]
    ]
    assert differ == []
    back = read_sql(pg_db.url, schema="fast")["awkward"].sort_values("id")
    assert back["t"].tolist() == texts  # an empty string stays one, a NULL stays NULL
    assert back["i"].tolist()[:4] == [0, -1, 2**62, pd.NA]
    assert back["ts"].iloc[0] == pd.Timestamp("2024-01-02 03:04:05.123456")
    assert back["tz"].iloc[0] == pd.Timestamp("2024-01-02 01:04:05.000000", tz="UTC")
