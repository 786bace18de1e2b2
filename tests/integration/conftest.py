"""Fixtures for whole-database tests: the Chinook dataset with its real keys, a SQLite file
of it written by ``write_sql``, and a PostgreSQL server with a fresh database per test.

PostgreSQL comes from ``SYNTHGEN_TEST_PG_URL`` or the env file ``.ci/postgres.sh`` writes
(``.pgdata/env``). Without one, tests marked ``postgres`` are skipped, saying how to start
it; with ``SYNTHGEN_REQUIRE_PG=1`` (set by ``.ci/run``) a missing server fails them instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, SHARED

PG_PASSWORD_VAR = "SYNTHGEN_TEST_PG_PASSWORD"
START_PG = (
    "no PostgreSQL server for the postgres tests: start one with `make pg` "
    "(or `sudo bash .ci/postgres.sh`; PGPORT_TEST=54330 for another port); the tests read "
    ".pgdata/env, or export SYNTHGEN_TEST_PG_URL=postgresql+psycopg://user:pw@host:port/db"
)

# Chinook as its authors declared it: name, type, NOT NULL
_C = tuple[str, str, bool]
CHINOOK_COLUMNS: dict[str, list[_C]] = {
    "Artist": [("ArtistId", "INTEGER", True), ("Name", "VARCHAR(120)", False)],
    "Genre": [("GenreId", "INTEGER", True), ("Name", "VARCHAR(120)", False)],
    "MediaType": [("MediaTypeId", "INTEGER", True), ("Name", "VARCHAR(120)", False)],
    "Playlist": [("PlaylistId", "INTEGER", True), ("Name", "VARCHAR(120)", False)],
    "Album": [
        ("AlbumId", "INTEGER", True),
        ("Title", "VARCHAR(160)", True),
        ("ArtistId", "INTEGER", True),
    ],
    "Track": [
        ("TrackId", "INTEGER", True),
        ("Name", "VARCHAR(200)", True),
        ("AlbumId", "INTEGER", False),
        ("MediaTypeId", "INTEGER", True),
        ("GenreId", "INTEGER", False),
        ("Composer", "VARCHAR(220)", False),
        ("Milliseconds", "INTEGER", True),
        ("Bytes", "INTEGER", False),
        ("UnitPrice", "NUMERIC(10,2)", True),
    ],
    "PlaylistTrack": [("PlaylistId", "INTEGER", True), ("TrackId", "INTEGER", True)],
    "Employee": [
        ("EmployeeId", "INTEGER", True),
        ("LastName", "VARCHAR(20)", True),
        ("FirstName", "VARCHAR(20)", True),
        ("Title", "VARCHAR(30)", False),
        ("ReportsTo", "INTEGER", False),
        ("BirthDate", "TIMESTAMP", False),
        ("HireDate", "TIMESTAMP", False),
        *[(c, "VARCHAR(70)", False) for c in ("Address", "City", "State", "Country")],
        ("PostalCode", "VARCHAR(10)", False),
        ("Phone", "VARCHAR(24)", False),
        ("Fax", "VARCHAR(24)", False),
        ("Email", "VARCHAR(60)", False),
    ],
    "Customer": [
        ("CustomerId", "INTEGER", True),
        ("FirstName", "VARCHAR(40)", True),
        ("LastName", "VARCHAR(20)", True),
        ("Company", "VARCHAR(80)", False),
        *[(c, "VARCHAR(70)", False) for c in ("Address", "City", "State", "Country")],
        ("PostalCode", "VARCHAR(10)", False),
        ("Phone", "VARCHAR(24)", False),
        ("Fax", "VARCHAR(24)", False),
        ("Email", "VARCHAR(60)", True),
        ("SupportRepId", "INTEGER", False),
    ],
    "Invoice": [
        ("InvoiceId", "INTEGER", True),
        ("CustomerId", "INTEGER", True),
        ("InvoiceDate", "TIMESTAMP", True),
        *[
            (c, "VARCHAR(70)", False)
            for c in ("BillingAddress", "BillingCity", "BillingState", "BillingCountry")
        ],
        ("BillingPostalCode", "VARCHAR(10)", False),
        ("Total", "NUMERIC(10,2)", True),
    ],
    "InvoiceLine": [
        ("InvoiceLineId", "INTEGER", True),
        ("InvoiceId", "INTEGER", True),
        ("TrackId", "INTEGER", True),
        ("UnitPrice", "NUMERIC(10,2)", True),
        ("Quantity", "INTEGER", True),
    ],
}
# the 11 foreign keys: (table, columns, parent, parent columns)
CHINOOK_FKS = [
    ("Album", ["ArtistId"], "Artist", ["ArtistId"]),
    ("Track", ["AlbumId"], "Album", ["AlbumId"]),
    ("Track", ["MediaTypeId"], "MediaType", ["MediaTypeId"]),
    ("Track", ["GenreId"], "Genre", ["GenreId"]),
    ("PlaylistTrack", ["PlaylistId"], "Playlist", ["PlaylistId"]),
    ("PlaylistTrack", ["TrackId"], "Track", ["TrackId"]),
    ("Customer", ["SupportRepId"], "Employee", ["EmployeeId"]),
    ("Employee", ["ReportsTo"], "Employee", ["EmployeeId"]),
    ("Invoice", ["CustomerId"], "Customer", ["CustomerId"]),
    ("InvoiceLine", ["InvoiceId"], "Invoice", ["InvoiceId"]),
    ("InvoiceLine", ["TrackId"], "Track", ["TrackId"]),
]
CHINOOK_UNIQUE = {"Genre": ["Name"], "MediaType": ["Name"]}
CHINOOK_CHECKS = {"InvoiceLine": "Quantity > 0", "Invoice": "Total >= 0"}


def chinook_pk(table: str) -> list[str]:
    return ["PlaylistId", "TrackId"] if table == "PlaylistTrack" else [f"{table}Id"]


@pytest.fixture(scope="session")
def chinook_dataset():
    """Chinook from its CSV files, with the real keys declared (11 foreign keys, one
    composite primary key, one nullable self-reference), two unique keys and two checks."""
    from synthgen.dataset import (
        CheckConstraint,
        ColumnInfo,
        Dataset,
        DatasetSpec,
        ForeignKey,
        TableSpec,
        UniqueKey,
    )

    folder = SHARED / "chinook"
    if not folder.is_dir():
        pytest.skip(f"public data set chinook not found at {folder}")
    frames, specs = {}, []
    for name, cols in CHINOOK_COLUMNS.items():
        text = {c: str for c, t, _ in cols if t.startswith("VARCHAR")}
        frames[name] = pd.read_csv(folder / f"{name}.csv", dtype=text)
        specs.append(
            TableSpec(
                name=name,
                columns=[ColumnInfo(name=c, sql_type=t, nullable=not nn) for c, t, nn in cols],
                primary_key=chinook_pk(name),
                foreign_keys=[
                    ForeignKey(columns=c, ref_table=p, ref_columns=pc)
                    for t, c, p, pc in CHINOOK_FKS
                    if t == name
                ],
                unique=[UniqueKey(columns=CHINOOK_UNIQUE[name])] if name in CHINOOK_UNIQUE else [],
                checks=[CheckConstraint(sql=CHINOOK_CHECKS[name])]
                if name in CHINOOK_CHECKS
                else [],
            )
        )
    return Dataset(DatasetSpec(tables=specs), frames)


@pytest.fixture(scope="session")
def chinook_sqlite(chinook_dataset, tmp_path_factory) -> str:
    """A SQLite file of Chinook written by write_sql (read-only for the tests: copy it to
    change it)."""
    from synthgen.io.sql import write_sql

    path = tmp_path_factory.mktemp("chinook") / "chinook.db"
    write_sql(chinook_dataset, f"sqlite:///{path}")
    return f"sqlite:///{path}"


# ---- PostgreSQL ---------------------------------------------------------------------------
def _env_file_url() -> str | None:
    f = Path(os.environ.get("PGENV_FILE") or ROOT / ".pgdata" / "env")
    if not f.is_file():
        return None
    for line in f.read_text(encoding="utf-8").splitlines():
        if line.startswith("SYNTHGEN_TEST_PG_URL="):
            return line.split("=", 1)[1].strip()
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("SYNTHGEN_REQUIRE_PG") == "1":
        pytest.fail(f"{reason} (SYNTHGEN_REQUIRE_PG=1)")
    pytest.skip(reason)


@dataclass(frozen=True)
class PgServer:
    url: object  # sqlalchemy URL with the password: never print it

    def conninfo(self, database: str | None = None) -> str:
        u = self.url.set(drivername="postgresql", database=database or self.url.database)  # type: ignore[attr-defined]
        return u.render_as_string(hide_password=False)

    @property
    def password(self) -> str:
        return str(self.url.password)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    try:
        import psycopg
        from sqlalchemy.engine import make_url
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'synthgen[postgres]'; " + START_PG)
        raise
    text = os.environ.get("SYNTHGEN_TEST_PG_URL") or _env_file_url()
    if not text:
        _unavailable(START_PG)
    server = PgServer(make_url(str(text)))
    try:
        with psycopg.connect(server.conninfo(), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as err:
        from synthgen.io.sql import mask_url

        first = str(err).strip().splitlines()[0].replace(server.password, "***")
        _unavailable(f"PostgreSQL at {mask_url(str(text))} does not answer ({first}); {START_PG}")
    return server


@dataclass(frozen=True)
class PgDb:
    server: PgServer
    name: str
    url: str  # with ${SYNTHGEN_TEST_PG_PASSWORD} in place of the password

    def connect(self):
        import psycopg

        return psycopg.connect(self.server.conninfo(self.name), autocommit=True)

    def scalar(self, sql: str, *params: object) -> object:
        with self.connect() as conn:
            row = conn.execute(sql, params or None).fetchone()
            return row[0] if row else None


@pytest.fixture
def pg_db(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PgDb]:
    """A fresh database on the test server, dropped afterwards. Its URL names the password
    as ${SYNTHGEN_TEST_PG_PASSWORD}, filled from the environment as a user would."""
    import psycopg

    name = f"synthgen_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv(PG_PASSWORD_VAR, pg_server.password)
    u = pg_server.url
    url = (
        f"postgresql+psycopg://{u.username}:${{{PG_PASSWORD_VAR}}}@{u.host}:{u.port or 5432}/{name}"  # type: ignore[attr-defined]
    )
    try:
        yield PgDb(pg_server, name, url)
    finally:
        with psycopg.connect(pg_server.conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
