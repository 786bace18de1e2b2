"""A Parquet dataset folder: part files that sort in row order and a manifest.

::

    big/
      part-00000.parquet   rows 0 .. 49,999
      part-00001.parquet   rows 50,000 .. 99,999
      ...
      _manifest.json       {"rows", "seed", "shard_rows", "columns", "parts": [{file, first_row, rows}]}

The folder is written under a temp name beside ``big/`` and renamed when every part is in,
so it appears whole or not at all (``io.atomic``). The bytes depend on the model, ``n``,
the seed and the conditions only: not on the engine, nor on how many workers made the parts
or in which order they finished.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from synthgen.errors import DataError, UsageError
from synthgen.generators.shards import SHARD_ROWS, shard_bounds, shard_count

MANIFEST_FILE = "_manifest.json"  # "_": pyarrow and pandas skip it reading the folder
DATASET_FORMAT = "synthgen-parquet-dataset"


def part_name(k: int, count: int) -> str:
    """``part-00007.parquet``: zero-padded to the widest number, so names sort in row order."""
    return f"part-{k:0{max(5, len(str(count - 1)))}d}.parquet"


def is_dataset_target(out: Path) -> bool:
    """Does ``--out`` name a dataset folder (a trailing slash, a folder, or no suffix)?"""
    text = str(out)
    return text.endswith(("/", "\\")) or out.is_dir() or (out.suffix == "" and text != "-")


def write_dataset(
    out: Path,
    n: int,
    parts: Iterable[tuple[int, int, bytes]],
    *,
    seed: int,
    shard_rows: int = SHARD_ROWS,
    progress: Callable[[int], None] = lambda _rows: None,
) -> dict[str, Any]:
    """Write ``parts`` ((shard, rows, Parquet bytes), in any order, each shard once) as the
    dataset folder ``out``; return its manifest. A shard missing, repeated or of the wrong
    size fails before the folder appears."""
    from synthgen.io.atomic import atomic_dir

    count = shard_count(n, shard_rows)
    got: dict[int, int] = {}
    columns: list[str] | None = None
    with atomic_dir(out, "dataset folder") as tmp:
        for k, rows, data in parts:
            want = shard_bounds(n, k, shard_rows)[1]
            if k in got or not 0 <= k < count or rows != want:
                raise DataError(f"shard {k} came back wrong ({rows} rows, {want} expected)")
            names = _columns(data)
            if columns is not None and names != columns:
                raise DataError(f"shard {k} has columns {names}, not {columns}")
            columns = names
            (tmp / part_name(k, count)).write_bytes(data)
            got[k] = rows
            progress(rows)
        missing = sorted(set(range(count)) - set(got))
        if missing:
            raise DataError(f"shards {missing[:5]} never came back; nothing was written")
        manifest = {
            "format": DATASET_FORMAT,
            "version": 1,
            "rows": int(n),
            "seed": int(seed),
            "shard_rows": shard_rows,
            "columns": columns,
            "parts": [
                {"file": part_name(k, count), "first_row": k * shard_rows, "rows": got[k]}
                for k in range(count)
            ],
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """A dataset folder's manifest, checked against the part files it lists."""
    p = Path(folder) / MANIFEST_FILE
    try:
        body = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(
            f"{folder} is not a synthgen dataset folder: cannot read {MANIFEST_FILE} ({err})"
        ) from None
    if not isinstance(body, dict) or body.get("format") != DATASET_FORMAT:
        raise UsageError(f"{p}: not a synthgen dataset manifest")
    absent = [x["file"] for x in body["parts"] if not (Path(folder) / x["file"]).is_file()]
    if absent:
        raise UsageError(f"{folder}: parts listed in {MANIFEST_FILE} are missing: {absent[:5]}")
    return body


def _columns(data: bytes) -> list[str]:
    import io

    import pyarrow.parquet as pq

    return list(pq.read_schema(io.BytesIO(data)).names)
