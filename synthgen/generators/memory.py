"""How many rows fit in memory: a sampled table is held whole, so a row count (``sample.rows``,
``sample.ratio``, ``synthgen sample -n``) is checked against the memory this machine has
available before any work, instead of swapping for hours or being killed."""

from __future__ import annotations

import math
import os
from typing import Any

from synthgen.errors import UsageError
from synthgen.schema.spec import Schema

WORKING_COPIES = 3  # model frame, decoded frame, output frame (chunks, concat, reorder)
USABLE_SHARE = 0.8  # of the available memory, leaving room for everything else
HARD_CAP = 100_000_000  # rows, when the available memory cannot be read (documented)
_STR = 56  # a short Python str: object header + characters


def bytes_per_row(schema: Schema, side: dict[str, dict[str, Any]] | None = None) -> int:
    """A rough estimate of one sampled row in memory, all working copies included.

    Numbers and labels cost a slot each (labels point at shared objects); ids, PII, text and
    dates written as text are a new string per row (a text column's typical length from its
    saved profile when ``side`` is given)."""
    total = 0
    for c in schema.columns:
        state = (side or {}).get(c.name, {})
        if state.get("how") == "null":
            total += 8
        elif c.kind == "text":
            qs = state.get("length_quantiles") or [200.0]
            total += 8 + _STR + int(sorted(qs)[len(qs) // 2])
        elif c.kind in ("id", "pii"):
            total += 8 + _STR + 32
        elif c.kind == "datetime" and not c.dtype.startswith("datetime64"):
            total += 8 + _STR + 24
        else:
            total += 8
    return max(1, total) * WORKING_COPIES


def available_bytes() -> int | None:
    """Memory available to this process now (psutil when installed, else sysconf)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_rows(
    n: float,
    schema: Schema,
    side: dict[str, dict[str, Any]] | None = None,
    *,
    what: str = "the requested row count",
    setting: str | None = None,
) -> int:
    """``n`` as an int when that many rows fit in memory; else a UsageError naming the
    limit and how to get more (sample in parts)."""
    per_row = bytes_per_row(schema, side)
    avail = available_bytes()
    limit = HARD_CAP if avail is None else max(1, int(avail * USABLE_SHARE // per_row))
    if math.isfinite(n) and n <= limit:
        return int(n)
    count = f"{n:,.0f}" if math.isfinite(n) else "more than 1e308"
    need = "" if not math.isfinite(n) else f" need about {_size(n * per_row)} of memory and"
    where = (
        f"this machine has {_size(avail)} available"
        if avail is not None
        else "the available memory is unknown here"
    )
    raise UsageError(
        f"{what}: {count} rows{need} are more than fit at once: {where}, enough for about "
        f"{limit:,} rows of this table (~{per_row:,} bytes a row while sampling)",
        hint=f"ask for at most {limit:,} rows{f' ({setting})' if setting else ''}, or sample "
        "in parts from the saved model, e.g. "
        f"`synthgen sample MODEL -n {limit} --seed 1 --out part1.csv`, then --seed 2 for "
        "part2.csv, and so on",
    )


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PB"  # pragma: no cover


def check_disk(
    n: int, schema: Schema, folder: str | os.PathLike[str], *, what: str = "rows to sample"
) -> None:
    """A streamed sample holds one chunk in memory but writes every row: refuse a row count
    whose output could not fit on the disk. The estimate is a floor (two bytes a value, a
    separator included), so only a count that surely cannot fit is refused."""
    import shutil

    probe = os.path.abspath(os.fspath(folder))
    while not os.path.isdir(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    floor = 2 * max(1, len(schema.columns))
    if n * floor <= free:
        return
    limit = max(1, free // floor)
    raise UsageError(
        f"{what}: {n:,} rows need at least {_size(n * floor)} on disk, more than the "
        f"{_size(free)} free where the output goes",
        hint=f"ask for fewer rows (at most about {limit:,} fit), write to a bigger disk, or "
        "sample in parts with different seeds",
    )
