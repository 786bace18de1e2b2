"""Reading a JSON file we did not necessarily write: size-capped, depth-safe, never a pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MiB = 1 << 20


class BadJson(Exception):
    """A JSON file that cannot be read; ``reason`` says why, in words for a message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_json(path: Path, *, max_bytes: int) -> Any:
    """The parsed content of ``path``; BadJson when it is too big, not UTF-8 JSON (a pickle,
    say: never unpickled), truncated, or nested too deeply for the parser."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadJson(f"{size:,} bytes, more than the {max_bytes:,} a synthgen file can be")
        raw = path.read_bytes()
    except IsADirectoryError:
        raise BadJson("a folder, not a file") from None
    except OSError as err:
        raise BadJson(f"cannot be read ({err.strerror or err})") from None
    if raw[:1] == b"\x80":
        raise BadJson("a Python pickle, not JSON (synthgen never loads pickles: they run code)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadJson(f"not UTF-8 JSON text (byte 0x{raw[err.start]:02x} at {err.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise BadJson("nested too deeply to be read") from None
    except json.JSONDecodeError as err:
        raise BadJson(
            f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from None
