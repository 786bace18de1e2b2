"""Sources and sinks: CSV and Parquet, atomic writes."""

from synthgen.io.atomic import atomic_dir, atomic_path, write_text
from synthgen.io.sinks import write_table, write_table_chunks
from synthgen.io.sources import read_table

__all__ = [
    "atomic_dir",
    "atomic_path",
    "read_table",
    "write_table",
    "write_table_chunks",
    "write_text",
]
