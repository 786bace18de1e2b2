"""Whole databases in and out: SQLite (built in) and PostgreSQL (``synthgen[postgres]``).

``read_sql(url)`` gives a Dataset with every table's columns, keys, checks and rows;
``write_sql(dataset, url)`` creates and fills the tables in one transaction. URLs may hold
``${VAR}`` references filled from the environment; messages show them masked (``mask_url``).
"""

from synthgen.io.sql.read import read_sql
from synthgen.io.sql.url import mask_url, parse_url
from synthgen.io.sql.write import SqlWriteResult, write_sql

__all__ = ["SqlWriteResult", "mask_url", "parse_url", "read_sql", "write_sql"]
