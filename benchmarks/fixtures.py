"""Fixture speed: values generated per second, rows written per second into SQLite and
PostgreSQL for Chinook's schema scaled to 1M rows, against a plain Faker-per-row INSERT loop.

One run of each (the issue's targets are for one run):
- an Adult-like 15-column table, 1M rows, generated only (values/s; target >= 2M);
- Chinook's 11 tables, 1M rows in all, generated and written with ``write_sql`` into a new
  SQLite file and into an empty PostgreSQL schema (target >= 100k rows/s into PostgreSQL,
  1M rows in under 30 s), timed from generation to commit;
- the baseline: a Faker call per value and one INSERT per row (Chinook's Customer table,
  --baseline-rows rows), in one transaction; rows/s does not depend on the row count.
PostgreSQL is the throwaway test server (fsync off), reached via SYNTHGEN_TEST_PG_URL or
.pgdata/env. Results: benchmarks/results/fixtures.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT  # noqa: E402
from benchmarks.sql_write import pg_url  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "fixtures.json"
# Chinook scaled to 1M rows, in its own proportions (a few genres, many invoice lines)
CHINOOK_ROWS = {
    "Genre": 25, "MediaType": 5, "Artist": 20_000, "Album": 40_000, "Track": 300_000,
    "Playlist": 1_000, "PlaylistTrack": 200_000, "Employee": 100, "Customer": 50_000,
    "Invoice": 130_000, "InvoiceLine": 258_870,
}  # fmt: skip
ADULT_COLUMNS = [
    ("age", "INTEGER", "age BETWEEN 17 AND 90"),
    ("workclass", "ENUM:Private,Self-emp,Federal-gov,Local-gov,State-gov,Without-pay", None),
    ("fnlwgt", "INTEGER", "fnlwgt > 0"),
    ("education", "ENUM:Bachelors,HS-grad,Masters,Doctorate,Some-college,Assoc-voc", None),
    ("education_num", "SMALLINT", "education_num BETWEEN 1 AND 16"),
    ("marital_status", "ENUM:Married,Never-married,Divorced,Separated,Widowed", None),
    ("occupation", "VARCHAR(40)", None),
    ("relationship", "ENUM:Husband,Wife,Own-child,Unmarried,Not-in-family", None),
    ("race", "ENUM:White,Black,Asian-Pac-Islander,Amer-Indian-Eskimo,Other", None),
    ("sex", "ENUM:Male,Female", None),
    ("capital_gain", "INTEGER", "capital_gain >= 0 AND capital_gain <= 99999"),
    ("capital_loss", "INTEGER", "capital_loss >= 0 AND capital_loss <= 4356"),
    ("hours_per_week", "INTEGER", "hours_per_week BETWEEN 1 AND 99"),
    ("native_country", "VARCHAR(40)", None),
    ("income", "ENUM:<=50K,>50K", None),
]


def chinook_spec():
    from synthgen.dataset import (
        CheckConstraint,
        ColumnInfo,
        DatasetSpec,
        ForeignKey,
        TableSpec,
        UniqueKey,
    )  # fmt: skip
    from tests.integration.conftest import (
        CHINOOK_CHECKS,
        CHINOOK_COLUMNS,
        CHINOOK_FKS,
        CHINOOK_UNIQUE,
        chinook_pk,
    )  # fmt: skip

    tables = []
    for name, cols in CHINOOK_COLUMNS.items():
        tables.append(
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
    return DatasetSpec(tables=tables)


def adult_spec():
    from synthgen.dataset import CheckConstraint, ColumnInfo, DatasetSpec, TableSpec

    cols, checks = [], []
    for name, sql_type, check in ADULT_COLUMNS:
        if sql_type.startswith("ENUM:"):
            labels = sql_type[5:].split(",")
            cols.append(ColumnInfo(name=name, sql_type="ENUM", enum_values=labels, nullable=False))
        else:
            cols.append(ColumnInfo(name=name, sql_type=sql_type, nullable=True))
        if check:
            checks.append(CheckConstraint(sql=check))
    return DatasetSpec(tables=[TableSpec(name="adult", columns=cols, checks=checks)])


def adult_run(rows: int) -> dict:
    from synthgen.fixtures import generate

    spec = adult_spec()
    generate(spec, rows=10)  # vocabularies built once per process, outside the timing
    t0 = time.perf_counter()
    data = generate(spec, rows=rows, seed=1)
    s = time.perf_counter() - t0
    values = rows * len(ADULT_COLUMNS)
    assert len(data["adult"]) == rows
    return {"rows": rows, "columns": len(ADULT_COLUMNS), "seconds": round(s, 3),
            "values_per_s": round(values / s)}  # fmt: skip


def chinook_run(url: str | None, schema: str | None, reset, repeats: int = 3) -> dict:
    """The median of ``repeats`` runs (generation, and the write when ``url`` is given)."""
    from synthgen.fixtures import generate
    from synthgen.io.sql import write_sql

    spec = chinook_spec()
    generate(spec, rows=10)
    runs = []
    for _ in range(repeats):
        if reset is not None:
            reset()
        t0 = time.perf_counter()
        data = generate(spec, rows=CHINOOK_ROWS, seed=1)
        t1 = time.perf_counter()
        res = write_sql(data, url, schema=schema) if url else None
        t2 = time.perf_counter()
        rows = sum(len(data[n]) for n in data.names)
        if res is not None:
            assert sum(res.rows.values()) == rows
        runs.append((t1 - t0, t2 - t1, t2 - t0))
        del data
    gen, write, total = (statistics.median(r[i] for r in runs) for i in range(3))
    out = {"rows": rows, "repeats": repeats, "generate_seconds": round(gen, 3),
           "generate_rows_per_s": round(rows / gen)}  # fmt: skip
    if url:
        out.update(write_seconds=round(write, 3), total_seconds=round(total, 3),
                   rows_per_s=round(rows / total),
                   total_seconds_each=[round(r[2], 3) for r in runs])  # fmt: skip
    return out


def faker_loop(url: str, schema: str | None, rows: int, reset) -> dict:
    """The plain way: a Faker call per value, one INSERT per row, one transaction."""
    import sqlalchemy as sa
    from faker import Faker

    from synthgen.io.sql.url import make_engine, parse_url

    f = Faker("en_US")
    f.seed_instance(1)
    reset()
    engine = make_engine(parse_url(url))
    name = f'"{schema}"."Customer"' if schema else '"Customer"'
    ddl = (f'CREATE TABLE {name} ("CustomerId" INTEGER PRIMARY KEY, "FirstName" VARCHAR(40), '
           '"LastName" VARCHAR(20), "Company" VARCHAR(80), "Address" VARCHAR(70), '
           '"City" VARCHAR(70), "State" VARCHAR(70), "Country" VARCHAR(70), '
           '"PostalCode" VARCHAR(10), "Phone" VARCHAR(24), "Email" VARCHAR(60))')  # fmt: skip
    insert = sa.text(f"INSERT INTO {name} VALUES (:i, :a, :b, :c, :d, :e, :f, :g, :h, :p, :m)")
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
        for i in range(rows):
            conn.execute(insert, {
                "i": i + 1, "a": f.first_name()[:40], "b": f.last_name()[:20],
                "c": f.company()[:80], "d": f.street_address()[:70], "e": f.city()[:70],
                "f": f.state()[:70], "g": f.country()[:70], "h": f.postcode()[:10],
                "p": f.phone_number()[:24], "m": f.email()[:60],
            })  # fmt: skip
    s = time.perf_counter() - t0
    engine.dispose()
    return {"rows": rows, "seconds": round(s, 3), "rows_per_s": round(rows / s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adult-rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=5_000)
    args = ap.parse_args()
    import faker
    import sqlalchemy as sa

    results: dict = {"adult_like_generate": adult_run(args.adult_rows)}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "chinook.db"
        results["chinook_sqlite"] = chinook_run(
            f"sqlite:///{db}", None, lambda: db.unlink(missing_ok=True)
        )
        base = Path(tmp) / "faker.db"
        results["faker_loop_sqlite"] = faker_loop(f"sqlite:///{base}", None,
                                                  args.baseline_rows, lambda: None)  # fmt: skip
    url = pg_url()
    if url:
        engine = sa.create_engine(url)

        def reset() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS fxbench CASCADE; CREATE SCHEMA fxbench")

        results["chinook_postgresql"] = chinook_run(url, "fxbench", reset)
        results["faker_loop_postgresql"] = faker_loop(url, "fxbench", args.baseline_rows, reset)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS fxbench CASCADE")
        engine.dispose()
    else:
        print("no PostgreSQL server (start one with `make pg`): PostgreSQL not measured")
    for where in ("sqlite", "postgresql"):
        ours, theirs = results.get(f"chinook_{where}"), results.get(f"faker_loop_{where}")
        if ours and theirs:
            results[f"speedup_vs_faker_loop_{where}"] = round(
                ours["rows_per_s"] / theirs["rows_per_s"], 1
            )
    pg = results.get("chinook_postgresql", {})
    report = {
        "chinook_rows": CHINOOK_ROWS,
        "statistic": "Chinook: median of 3 runs, seconds from the start of generation to the commit; the rest one run",
        "results": results,
        "targets": {"adult_values_per_s": 2_000_000, "pg_rows_per_s": 100_000, "pg_1m_seconds": 30},
        "meets_targets": {
            "adult_values_per_s": results["adult_like_generate"]["values_per_s"] >= 2_000_000,
            "pg_rows_per_s": None if not pg else pg["rows_per_s"] >= 100_000,
            "pg_1m_seconds": None if not pg else pg["total_seconds"] <= 30,
        },
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "sqlalchemy": sa.__version__,
            "faker": faker.VERSION,
            "postgres_server": "throwaway .ci/postgres.sh (fsync=off, synchronous_commit=off)",
        },  # fmt: skip
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report["results"], indent=2))


if __name__ == "__main__":
    main()
