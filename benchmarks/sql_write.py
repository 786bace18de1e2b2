"""Write speed into SQLite and PostgreSQL: our write_sql against pandas' to_sql, same run.

One table of 1M rows x 10 columns (3 integers, 2 floats, 2 texts, a date, a timestamp, a
boolean; the first integer is the primary key). Each writer starts from an empty target
(a new SQLite file, an empty PostgreSQL schema) and is timed from the call to the commit,
table creation included; rows/s is the median of 3. pandas: ``to_sql`` with method=None
(executemany) and method="multi" (multi-row INSERTs, 1000 rows each: SQLite's variable
limit). method="multi" runs at ~2k rows/s whatever the batch size (SQLAlchemy compiles
each 10,000-parameter statement), so it is timed on the table's first 100k rows (--multi-rows):
its rows/s does not depend on the row count, and 1M rows would take ~8 min per run.
PostgreSQL is the throwaway test server (.ci/postgres.sh: fsync off), reached via
SYNTHGEN_TEST_PG_URL or .pgdata/env. Results: benchmarks/results/sql_write.json.
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "sql_write.json"
TARGET_PG_ROWS_PER_S = 100_000
TYPES = {
    "id": "BIGINT",
    "qty": "INTEGER",
    "code": "BIGINT",
    "price": "DOUBLE",
    "score": "DOUBLE",
    "city": "VARCHAR(20)",
    "note": "TEXT",
    "day": "DATE",
    "seen_at": "TIMESTAMP",
    "member": "BOOLEAN",
}


def make_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    cities = np.array(["Lyon", "Paris", "Nice", "Lille", "Nantes", "Toulouse"])
    score = rng.normal(size=n)
    score[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype="int64"),
            "qty": rng.integers(0, 1000, n),
            "code": rng.integers(0, 10**12, n),
            "price": np.round(rng.gamma(2.0, 30.0, n), 2),
            "score": score,
            "city": cities[rng.integers(0, len(cities), n)],
            "note": np.char.add("item-", rng.integers(0, 50_000, n).astype(str)).astype(object),
            "day": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), "D"),
            "seen_at": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), "s"),
            "member": rng.random(n) < 0.3,
        }
    )


def dataset(df: pd.DataFrame):
    from synthgen.dataset import ColumnInfo, Dataset, DatasetSpec, TableSpec

    cols = [ColumnInfo(name=c, sql_type=t, nullable=c == "score") for c, t in TYPES.items()]
    spec = DatasetSpec(tables=[TableSpec(name="bench", columns=cols, primary_key=["id"])])
    return Dataset(spec, {"bench": df})


def pg_url() -> str | None:
    url = os.environ.get("SYNTHGEN_TEST_PG_URL")
    env = ROOT / ".pgdata" / "env"
    if not url and env.is_file():
        for line in env.read_text().splitlines():
            if line.startswith("SYNTHGEN_TEST_PG_URL="):
                url = line.split("=", 1)[1].strip()
    return url


def timed(repeats: int, reset: Callable[[], None], write: Callable[[], None], rows: int) -> dict:
    seconds = []
    for _ in range(repeats):
        reset()
        t0 = time.perf_counter()
        write()
        seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds)
    return {
        "rows": rows,
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(median, 3),
        "rows_per_s": round(rows / median),
    }


def sqlite_runs(df: pd.DataFrame, repeats: int, multi_rows: int) -> dict:
    import sqlalchemy as sa

    from synthgen.io.sql import write_sql

    folder = Path(tempfile.mkdtemp(prefix="sqlbench-"))
    path = folder / "bench.db"

    def reset() -> None:
        for p in folder.iterdir():
            p.unlink()

    ds = dataset(df)
    out = {
        "synthgen write_sql": timed(
            repeats, reset, lambda: write_sql(ds, f"sqlite:///{path}"), len(df)
        )
    }
    for label, kw in _pandas_methods():
        part = df.iloc[:multi_rows] if kw["method"] == "multi" else df

        def write(kw: dict = kw, part: pd.DataFrame = part) -> None:
            engine = sa.create_engine(f"sqlite:///{path}")
            with engine.begin() as conn:
                part.to_sql("bench", conn, index=False, **kw)
            engine.dispose()

        out[label] = timed(repeats, reset, write, len(part))
    reset()
    folder.rmdir()
    return out


def _pandas_methods() -> list[tuple[str, dict]]:
    return [
        ("pandas to_sql (method=None)", {"method": None}),
        ("pandas to_sql (method='multi', chunksize=1000)", {"method": "multi", "chunksize": 1000}),
    ]


def pg_runs(df: pd.DataFrame, repeats: int, url: str, multi_rows: int) -> dict:
    import sqlalchemy as sa

    from synthgen.io.sql import write_sql

    engine = sa.create_engine(url)

    def reset() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS sqlbench CASCADE; CREATE SCHEMA sqlbench")

    ds = dataset(df)
    out = {
        "synthgen write_sql": timed(
            repeats, reset, lambda: write_sql(ds, url, schema="sqlbench"), len(df)
        )
    }
    for label, kw in _pandas_methods():
        part = df.iloc[:multi_rows] if kw["method"] == "multi" else df

        def write(kw: dict = kw, part: pd.DataFrame = part) -> None:
            with engine.begin() as conn:
                part.to_sql("bench", conn, schema="sqlbench", index=False, **kw)

        out[label] = timed(repeats, reset, write, len(part))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS sqlbench CASCADE")
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--multi-rows", type=int, default=100_000, help="rows for method='multi'")
    args = ap.parse_args()
    import psycopg
    import sqlalchemy

    df = make_table(args.rows)
    multi = min(args.multi_rows, args.rows)
    results: dict = {"sqlite": sqlite_runs(df, args.repeats, multi)}
    url = pg_url()
    if url:
        results["postgresql"] = pg_runs(df, args.repeats, url, multi)
    else:
        print("no PostgreSQL server (start one with `make pg`): PostgreSQL not measured")
    ours_pg = results.get("postgresql", {}).get("synthgen write_sql", {}).get("rows_per_s")
    report = {
        "table": {"rows": args.rows, "columns": len(TYPES), "types": TYPES, "primary_key": "id"},
        "repeats": args.repeats,
        "statistic": "median seconds of the repeats (table creation to commit); "
        "rows_per_s = rows / median; method='multi' on the first --multi-rows rows",
        "results": results,
        "target_pg_rows_per_s": TARGET_PG_ROWS_PER_S,
        "meets_target": None if ours_pg is None else ours_pg >= TARGET_PG_ROWS_PER_S,
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "pandas": pd.__version__,
            "sqlalchemy": sqlalchemy.__version__,
            "psycopg": psycopg.__version__,
            "postgres_server": "throwaway .ci/postgres.sh (fsync=off, synchronous_commit=off)",
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for where, runs in results.items():
        for label, r in runs.items():
            print(f"{where:10s} {label:50s} {r['rows_per_s']:>9,d} rows/s  {r['seconds']}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
