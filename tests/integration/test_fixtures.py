"""Fixtures from a schema alone, into real SQLite databases: every key and check accepted by
the database, the same seed the same rows, bad input refused before anything is written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.dataset import ColumnInfo, DatasetSpec, TableSpec
from synthgen.errors import SchemaError, UsageError
from synthgen.fixtures import generate, load_schema
from synthgen.io.sql import write_sql
from tests.integration.fixtures_schemas import SQLITE_SCHEMA, VIOLATIONS


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def schema_sql(tmp_path: Path) -> Path:
    p = tmp_path / "schema.sql"
    p.write_text(SQLITE_SCHEMA, encoding="utf-8")
    return p


def _empty_db(path: Path, ddl: str = SQLITE_SCHEMA) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl)
    return f"sqlite:///{path}"


def _query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _assert_sound(path: Path) -> None:
    """Every foreign key resolves, and the keys and checks hold, as SQLite sees them."""
    assert _query(path, "PRAGMA foreign_key_check") == []
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]


def test_feature_schema_fills_an_empty_sqlite_database(tmp_path, schema_sql):
    db = tmp_path / "app.db"
    url = _empty_db(db)
    res = invoke("fixtures", "--schema", url, "--rows", "40", "--rows", "assignment=200",
                 "--to", url, "--seed", "7")  # fmt: skip
    assert res.exit_code == 0, res.output
    _assert_sound(db)
    counts = dict(_query(db, "SELECT 'employee', count(*) FROM employee UNION ALL "
                              "SELECT 'assignment', count(*) FROM assignment UNION ALL "
                              "SELECT 'department', count(*) FROM department"))  # fmt: skip
    assert counts == {"employee": 120, "assignment": 200, "department": 40}
    for _table, sql in VIOLATIONS:
        assert _query(db, sql) == [(0,)], sql
    # the cycle was filled in after: some departments have a manager, all of them real
    managed = _query(db, "SELECT count(*) FROM department d JOIN employee e ON e.id = d.manager_id")
    assert managed[0][0] > 20
    # a self-reference: a forest with roots, every manager an earlier employee
    roots = _query(db, "SELECT count(*) FROM employee WHERE manager_id IS NULL")[0][0]
    assert 1 <= roots < 120
    # several children per parent, not one each
    per = _query(db, "SELECT max(c) FROM (SELECT count(*) c FROM employee GROUP BY department_id)")
    assert per[0][0] >= 3


def test_values_follow_column_meaning(schema_sql):
    data = generate(load_schema(str(schema_sql)), rows=50, seed=1)
    emp = data["employee"]
    assert emp["email"].str.fullmatch(r"[a-z'.-]+\d+@[a-z.]+").all()
    assert emp["email"].is_unique
    assert emp["first_name"].str.fullmatch(r"[A-Z][A-Za-z'-]+").all()
    assert emp["phone"].dropna().str.contains(r"\d{3}").all()
    assert emp["salary"].between(1000, 9000).all()
    assert (emp["salary"].round(2) == emp["salary"]).all()
    code = data["project"]["code"]
    assert code.str.len().le(8).all() and code.is_unique
    tag = data["tag"]
    assert not tag.duplicated(["label", "lang"]).any()
    assert tag["lang"].str.len().le(2).all()


def test_same_seed_same_rows_whatever_the_chunks(schema_sql):
    spec = load_schema(str(schema_sql))
    a = generate(spec, rows=300, seed=11, chunk_rows=50_000)
    b = generate(spec, rows=300, seed=11, chunk_rows=7)
    c = generate(spec, rows=300, seed=12)
    for name in spec.names:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["employee"]["email"].equals(c["employee"]["email"])


def test_another_table_changes_no_values(schema_sql):
    spec = load_schema(str(schema_sql))
    extra = TableSpec(name="audit", columns=[ColumnInfo(name="note", sql_type="TEXT")])
    wider = DatasetSpec(tables=[extra, *spec.tables])
    a = generate(spec, rows=30, seed=5)
    b = generate(wider, rows=30, seed=5)
    for name in spec.names:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_same_seed_twice_gives_identical_dumps(tmp_path, schema_sql):
    dumps = []
    for i in range(2):
        out = tmp_path / f"db{i}.db"
        res = invoke("fixtures", "--schema", schema_sql, "--rows", "25", "--to",
                     f"sqlite:///{out}", "--seed", "3")  # fmt: skip
        assert res.exit_code == 0, res.output
        _assert_sound(out)
        with sqlite3.connect(out) as conn:
            dumps.append("\n".join(conn.iterdump()))
    assert dumps[0] == dumps[1]


def test_chinook_into_sqlite(tmp_path, chinook_dataset):
    data = generate(chinook_dataset.spec, rows=200, seed=2)
    out = tmp_path / "chinook.db"
    write_sql(data, f"sqlite:///{out}")
    _assert_sound(out)
    assert _query(out, "SELECT count(*) FROM InvoiceLine WHERE Quantity <= 0") == [(0,)]
    assert _query(out, "SELECT count(*) FROM Invoice WHERE Total < 0") == [(0,)]
    assert _query(out, "SELECT count(*) FROM Genre") == [(200,)]
    pairs = _query(
        out, "SELECT count(*), count(DISTINCT PlaylistId || '-' || TrackId) FROM PlaylistTrack"
    )
    assert pairs[0][0] == pairs[0][1] == 600


def test_chinook_via_the_cli_from_a_database_schema(tmp_path, chinook_sqlite):
    out = tmp_path / "copy.db"
    res = invoke("fixtures", "--schema", chinook_sqlite, "--rows", "30", "--rows",
                 "InvoiceLine=500", "--to", f"sqlite:///{out}", "--seed", "9")  # fmt: skip
    assert res.exit_code == 0, res.output
    _assert_sound(out)
    assert _query(out, "SELECT count(*) FROM InvoiceLine") == [(500,)]
    assert _query(out, "SELECT count(*) FROM Artist") == [(30,)]


def test_to_a_folder_of_csv_files(tmp_path, schema_sql):
    out = tmp_path / "csv"
    res = invoke("fixtures", "--schema", schema_sql, "--rows", "10", "--to", out)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".csv") == [
        "assignment.csv", "department.csv", "employee.csv", "project.csv", "tag.csv",
    ]  # fmt: skip
    assert len(pd.read_csv(out / "employee.csv")) == 30


def test_yaml_schema(tmp_path):
    p = tmp_path / "schema.yaml"
    p.write_text(
        "tables:\n"
        "  - name: customer\n"
        "    primary_key: [id]\n"
        "    columns:\n"
        "      - {name: id, sql_type: INTEGER, nullable: false}\n"
        "      - {name: email, sql_type: VARCHAR(60), nullable: false}\n"
        "      - {name: age, sql_type: INTEGER}\n"
        "    checks: [{sql: 'age >= 18 AND age < 65'}]\n"
        "  - name: orders\n"
        "    primary_key: [id]\n"
        "    columns:\n"
        "      - {name: id, sql_type: INTEGER, nullable: false}\n"
        "      - {name: customer_id, sql_type: INTEGER, nullable: false}\n"
        "      - {name: total, sql_type: 'NUMERIC(8,2)', nullable: false}\n"
        "    foreign_keys: [{columns: [customer_id], ref_table: customer, ref_columns: [id]}]\n",
        encoding="utf-8",
    )
    data = generate(load_schema(str(p)), rows={"orders": 500}, seed=4, default_rows=20)
    assert len(data["customer"]) == 20 and len(data["orders"]) == 500
    assert data["customer"]["age"].dropna().between(18, 64).all()
    assert data["orders"]["customer_id"].isin(data["customer"]["id"]).all()
    assert data["orders"]["customer_id"].nunique() > 10


# ---- what cannot be done is refused, by name, before anything is written ---------------------
def test_unsatisfiable_check_names_the_constraint_and_writes_nothing(tmp_path):
    ddl = ("CREATE TABLE item (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, "
           "CONSTRAINT impossible_qty CHECK (qty > 10 AND qty < 5));")  # fmt: skip
    db = tmp_path / "app.db"
    url = _empty_db(db, ddl)
    res = invoke("fixtures", "--schema", url, "--to", url)
    assert res.exit_code == 2
    assert "impossible_qty" in res.output and "no value can satisfy" in res.output
    assert _query(db, "SELECT count(*) FROM item") == [(0,)]


def test_check_in_an_unread_form_is_refused(tmp_path):
    ddl = "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT CHECK (email LIKE '%@%'));"
    out = tmp_path / "new.db"
    with pytest.raises(SchemaError, match="LIKE"):
        generate(load_schema(_empty_db(tmp_path / "s.db", ddl)), rows=5)
    res = invoke(
        "fixtures", "--schema", _empty_db(tmp_path / "s2.db", ddl), "--to", f"sqlite:///{out}"
    )
    assert res.exit_code == 2 and not out.exists()


def test_unique_column_with_too_few_values(tmp_path):
    ddl = "CREATE TABLE t (id INTEGER PRIMARY KEY, c VARCHAR(1) NOT NULL UNIQUE);"
    with pytest.raises(SchemaError, match=r"t\.c is unique but can hold only 36"):
        generate(load_schema(_empty_db(tmp_path / "s.db", ddl)), rows=50)


def test_link_table_capped_and_refused_beyond_its_pairs(schema_sql):
    spec = load_schema(str(schema_sql))
    data = generate(spec, rows={"employee": 4, "project": 3}, default_rows=5, seed=1)
    assert len(data["assignment"]) == 12  # every (employee, project) pair once
    assert any("assignment: 12 rows" in w for w in data.warnings)
    with pytest.raises(UsageError, match="assignment can hold at most 12 rows"):
        generate(spec, rows={"employee": 4, "project": 3, "assignment": 13}, seed=1)


def test_rows_already_present_need_a_mode(tmp_path, schema_sql):
    db = tmp_path / "app.db"
    url = _empty_db(db)
    assert invoke("fixtures", "--schema", url, "--rows", "5", "--to", url).exit_code == 0
    again = invoke("fixtures", "--schema", url, "--rows", "5", "--to", url)
    assert again.exit_code == 2 and "already holds rows" in again.output
    res = invoke("fixtures", "--schema", url, "--rows", "8", "--to", url, "--mode", "replace")
    assert res.exit_code == 0, res.output
    assert _query(db, "SELECT count(*) FROM department") == [(8,)]
    _assert_sound(db)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "nosuch=5"], "names no table of the schema: nosuch"),
        (["--rows", "employe=5"], "did you mean employee?"),
        (["--rows", "x=-1"], "--rows takes N or TABLE=N"),
    ],
)
def test_bad_rows(tmp_path, schema_sql, args, message):
    res = invoke("fixtures", "--schema", schema_sql, *args, "--to", tmp_path / "out")
    assert res.exit_code == 2 and message in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("tables:\n  - name: t\n    colums: []\n", ".yaml", "unknown key"),
        ("tables: [\n", ".yaml", "not valid YAML"),
        ("CREATE TABLE (oops;", ".sql", "SQLite cannot run it"),
        ("whatever", ".txt", "not a database URL nor a schema file"),
    ],
)
def test_bad_schema_file(tmp_path, content, suffix, message):
    p = tmp_path / f"schema{suffix}"
    p.write_text(content, encoding="utf-8")
    res = invoke("fixtures", "--schema", p, "--to", tmp_path / "out")
    assert res.exit_code == 2 and message in res.output, res.output


def test_bad_urls(tmp_path):
    missing = invoke(
        "fixtures", "--schema", f"sqlite:///{tmp_path}/nope.db", "--to", tmp_path / "o"
    )
    assert missing.exit_code == 2 and "no SQLite database file" in missing.output
    res = invoke("fixtures", "--schema", "nosuchdb://host/x", "--to", tmp_path / "o")
    assert res.exit_code == 2 and "internal error" not in res.output
    res = invoke("fixtures", "--schema", tmp_path / "absent.yaml", "--to", tmp_path / "o")
    assert res.exit_code == 2 and "no schema file" in res.output


# ---- per-column overrides ---------------------------------------------------------------------
def test_overrides_narrow_values(tmp_path, schema_sql):
    p = tmp_path / "overrides.yaml"
    p.write_text(
        "employee:\n"
        "  status: {values: [active, leave], weights: [9, 1]}\n"
        "  salary: {min: 2000, max: 2500}\n"
        "  phone: {null_share: 0.5}\n"
        "project:\n"
        "  code: {provider: city}\n",
        encoding="utf-8",
    )
    data = generate(load_schema(str(schema_sql)), rows=400, seed=2, overrides=str(p))
    emp = data["employee"]
    share = (emp["status"] == "active").mean()
    assert set(emp["status"]) == {"active", "leave"} and 0.85 < share < 0.95
    assert emp["salary"].between(2000, 2500).all()
    assert 0.4 < emp["phone"].isna().mean() < 0.6
    assert data["project"]["code"].is_unique  # still unique: the key wins over the provider
    db = tmp_path / "o.db"
    res = invoke("fixtures", "--schema", schema_sql, "--rows", "50", "--overrides", p,
                 "--to", f"sqlite:///{db}")  # fmt: skip
    assert res.exit_code == 0, res.output
    _assert_sound(db)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("employee:\n  salary: {min: 10, max: 20}\n", "salary"),  # outside the check's range
        ("employee:\n  status: {values: [retired]}\n", "no allowed value"),
        ("employe:\n  status: {values: [active]}\n", "employe: no such table"),
        ("employee:\n  nope: {min: 1}\n", "employee.nope: no such column"),
        ("employee:\n  phone: {provider: telepathy}\n", "unknown provider"),
        ("employee:\n  status: {values: [active], weights: [1, 2]}\n", "one weight per value"),
    ],
)
def test_bad_overrides_exit_2(tmp_path, schema_sql, text, message):
    p = tmp_path / "overrides.yaml"
    p.write_text(text, encoding="utf-8")
    res = invoke("fixtures", "--schema", schema_sql, "--overrides", p, "--to", tmp_path / "out")
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "out").exists()


def test_date_bounds_in_checks(tmp_path):
    ddl = (
        "CREATE TABLE visit (id INTEGER PRIMARY KEY,"
        " day DATE NOT NULL CHECK (day >= '2000-01-01' AND day < '2000-02-01'),"
        " birth_date DATE CHECK (birth_date > '1999-12-31'),"
        " seen_at TIMESTAMP NOT NULL CHECK (seen_at BETWEEN '2024-01-01 00:00:00' AND '2024-01-02 00:00:00'));"
    )
    out = tmp_path / "v.db"
    res = invoke("fixtures", "--schema", _empty_db(tmp_path / "s.db", ddl), "--rows", "300",
                 "--to", f"sqlite:///{out}")  # fmt: skip
    assert res.exit_code == 0, res.output  # SQLite itself checked every row
    days = _query(out, "SELECT min(day), max(day), count(DISTINCT day) FROM visit")[0]
    assert days[0] >= "2000-01-01" and days[1] < "2000-02-01" and days[2] > 20
    assert _query(out, "SELECT min(birth_date) FROM visit")[0][0] >= "2000-01-01"
    bad = "CREATE TABLE v (id INTEGER PRIMARY KEY, d DATE CHECK (d > '2001-01-01' AND d < '2000-01-01'));"
    res = invoke("fixtures", "--schema", _empty_db(tmp_path / "b.db", bad), "--to", tmp_path / "o")
    assert res.exit_code == 2 and "no value can satisfy" in res.output


def test_the_shop_example_in_recipes(tmp_path):
    from tests.conftest import ROOT

    folder = ROOT / "recipes" / "fixtures-shop"
    out = tmp_path / "shop.db"
    res = invoke("fixtures", "--schema", folder / "schema.sql", "--rows", "200", "--rows",
                 "order_item=3000", "--overrides", folder / "overrides.yaml",
                 "--to", f"sqlite:///{out}", "--seed", "7")  # fmt: skip
    assert res.exit_code == 0, res.output
    _assert_sound(out)
    assert _query(out, "SELECT count(*) FROM order_item") == [(3000,)]
    status = dict(_query(out, 'SELECT status, count(*) FROM "order" GROUP BY status'))
    assert status["shipped"] > status["paid"] > status["new"] > status["cancelled"]
    assert _query(out, "SELECT count(*) FROM customer WHERE updated_at < created_at") == [(0,)]


TICKETS = """
CREATE TABLE ticket (id INTEGER PRIMARY KEY, ref VARCHAR(8) NOT NULL,
    price NUMERIC(8,2) CHECK (price BETWEEN 1 AND 500), visits INTEGER,
    status TEXT NOT NULL DEFAULT 'open', created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    code VARCHAR(4));
"""
TICKET_RULES = {
    "ticket": {
        "ref": {"regex": r"^[A-Z]{2}-\d{5}$"},
        "price": {"distribution": "lognormal", "mean": 60, "sd": 40},
        "visits": {"distribution": "poisson", "mean": 3, "null_share": 0},
        "status": {"default": True},
        "created_at": {"default": True},
    }
}


def test_regex_distribution_and_database_defaults(tmp_path):
    import re

    url = _empty_db(tmp_path / "t.db", TICKETS)
    rules = tmp_path / "rules.yaml"
    import yaml

    rules.write_text(yaml.safe_dump(TICKET_RULES))
    res = invoke("fixtures", "--schema", url, "--rows", "4000", "--overrides", rules, "--to", url)
    assert res.exit_code == 0, res.output
    df = pd.read_sql_query("SELECT * FROM ticket", sqlite3.connect(tmp_path / "t.db"))
    assert df.ref.map(lambda v: re.fullmatch(r"[A-Z]{2}-\d{5}", v) is not None).all()
    assert df.ref.nunique() > 3900  # drawn, not one string repeated
    assert df.price.dropna().between(1, 500).all() and 52 < df.price.mean() < 68
    assert 0.2 < df.price.median() / df.price.mean() < 0.95  # skewed like a lognormal
    assert abs(df.visits.mean() - 3) < 0.2 and abs(df.visits.var() - 3) < 0.4
    assert (df.status == "open").all()  # the database's DEFAULT, not a fixture value
    assert df.created_at.notna().all()
    spec = load_schema(url)
    small = generate(spec, 300, seed=3, overrides=TICKET_RULES, chunk_rows=7)
    whole = generate(spec, 300, seed=3, overrides=TICKET_RULES)
    pd.testing.assert_frame_equal(small["ticket"], whole["ticket"])


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"code": {"regex": r"^[A-Z]{6}$"}}, "longer than the column's 4 characters"),
        ({"ref": {"default": True}}, "no DEFAULT and is NOT NULL"),
        ({"id": {"default": True}}, "key column"),
        ({"price": {"distribution": "normal", "mean": 5}}, "needs sd"),
        ({"ref": {"regex": "^a$", "values": ["a"]}}, "give one of"),
        ({"ref": {"distribution": "poisson", "mean": 2}}, "numeric columns"),
        ({"ref": {"regex": "(?<=a)b"}}, "regex"),
    ],
)
def test_bad_override_rules_are_named(tmp_path, rule, message):
    url = _empty_db(tmp_path / "t.db", TICKETS)
    with pytest.raises((SchemaError, UsageError)) as err:
        generate(load_schema(url), 10, overrides={"ticket": rule})
    assert message in str(err.value) + str(getattr(err.value, "hint", ""))
