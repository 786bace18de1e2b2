"""`--where` on the command line: conditions as a recipe's `sample.conditions` holds them."""

from __future__ import annotations

from typing import Any

from synthgen.errors import UsageError


def parse_where(items: tuple[str, ...]) -> dict[str, Any]:
    """``COL=VALUE``, ``COL=A|B|C`` (one of them) or ``COL=LOW..HIGH`` (a range; either end
    may be left out: ``age=..30``)."""
    out: dict[str, Any] = {}
    for item in items:
        col, sep, val = item.partition("=")
        if not sep or not col:
            raise UsageError(f"--where takes COL=VALUE, got '{item}'")
        if "|" in val:
            out[col.strip()] = val.split("|")
        elif ".." in val:
            low, _, high = val.partition("..")
            bounds = {"min": low.strip() or None, "max": high.strip() or None}
            out[col.strip()] = {k: v for k, v in bounds.items() if v is not None}
        else:
            out[col.strip()] = val
    return out
