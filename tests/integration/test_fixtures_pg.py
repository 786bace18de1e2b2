"""Fixtures into a real PostgreSQL: a migrated, empty database filled in one transaction with
every key, enum, identity column and check enforced by the server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from tests.integration.fixtures_schemas import PG_SCHEMA, VIOLATIONS

pytestmark = pytest.mark.postgres


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _migrate(pg_db, ddl: str) -> None:
    with pg_db.connect() as conn:
        conn.execute(ddl)


def test_feature_schema_fills_a_migrated_postgres_database(pg_db):
    _migrate(pg_db, PG_SCHEMA)
    res = invoke(
        "fixtures", "--schema", pg_db.url, "--rows", "50", "--to", pg_db.url, "--seed", "7"
    )
    assert res.exit_code == 0, res.output
    assert pg_db.scalar("SELECT count(*) FROM employee") == 150
    assert pg_db.scalar("SELECT count(*) FROM department WHERE manager_id IS NOT NULL") > 25
    for _table, sql in VIOLATIONS:
        assert pg_db.scalar(sql) == 0, sql
    assert pg_db.scalar("SELECT count(*) FROM project WHERE kind NOT IN ('internal','client')") == 0
    assert pg_db.scalar("SELECT count(DISTINCT ref) FROM project") == 50
    # identity / serial sequences moved past the rows: the application can insert next
    with pg_db.connect() as conn:
        conn.execute("INSERT INTO department (name) VALUES ('new one')")
        conn.execute("INSERT INTO tag (label, lang) VALUES ('x-new', 'zz')")
    assert pg_db.scalar("SELECT max(id) FROM department") == 51


def test_rows_present_need_a_mode_and_nothing_changes(pg_db):
    _migrate(pg_db, PG_SCHEMA)
    assert (
        invoke("fixtures", "--schema", pg_db.url, "--rows", "5", "--to", pg_db.url).exit_code == 0
    )
    again = invoke("fixtures", "--schema", pg_db.url, "--rows", "9", "--to", pg_db.url)
    assert again.exit_code == 2 and "already holds rows" in again.output
    assert pg_db.scalar("SELECT count(*) FROM department") == 5
    res = invoke("fixtures", "--schema", pg_db.url, "--rows", "9", "--to", pg_db.url,
                 "--mode", "replace")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pg_db.scalar("SELECT count(*) FROM department") == 9


def test_same_seed_same_rows_in_postgres(pg_server, pg_db, tmp_path):
    _migrate(pg_db, PG_SCHEMA)
    assert invoke("fixtures", "--schema", pg_db.url, "--rows", "20", "--to", pg_db.url,
                  "--seed", "4").exit_code == 0  # fmt: skip
    q = "SELECT string_agg(e::text, '|' ORDER BY id) FROM employee e"
    first = pg_db.scalar(q)
    res = invoke("fixtures", "--schema", pg_db.url, "--rows", "20", "--to", pg_db.url,
                 "--seed", "4", "--mode", "replace")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pg_db.scalar(q) == first


def test_chinook_into_postgres(pg_db, chinook_sqlite):
    res = invoke("fixtures", "--schema", chinook_sqlite, "--rows", "100", "--rows",
                 "InvoiceLine=3000", "--to", pg_db.url, "--seed", "1")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pg_db.scalar('SELECT count(*) FROM "InvoiceLine"') == 3000
    orphans = pg_db.scalar(
        'SELECT count(*) FROM "InvoiceLine" l LEFT JOIN "Track" t ON t."TrackId" = l."TrackId" '
        'WHERE t."TrackId" IS NULL'
    )
    assert orphans == 0
    assert pg_db.scalar('SELECT count(*) FROM "InvoiceLine" WHERE "Quantity" <= 0') == 0
    # the keys were created with the tables: PostgreSQL checked every row against them
    fks = pg_db.scalar(
        "SELECT count(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY'"
    )
    assert fks == 11


def test_unsatisfiable_check_in_postgres_writes_nothing(pg_db):
    _migrate(pg_db, "CREATE TABLE item (id serial PRIMARY KEY, qty integer NOT NULL "
                    "CONSTRAINT impossible_qty CHECK (qty BETWEEN 10 AND 5));")  # fmt: skip
    res = invoke("fixtures", "--schema", pg_db.url, "--to", pg_db.url)
    assert res.exit_code == 2 and "impossible_qty" in res.output
    assert pg_db.scalar("SELECT count(*) FROM item") == 0


def test_unreachable_database(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"
    res = invoke("fixtures", "--schema", url, "--to", tmp_path / "o")
    assert res.exit_code == 2 and "internal error" not in res.output
