"""Strings that match a regular expression, for ``{type: format}`` values the model did not
write in the declared format. Walks Python's own parse of the pattern; supports literals,
classes (ranges, \\d \\w \\s, negated), ``.``, groups, alternation and repeats (an unbounded
repeat stops at its minimum + 8). Look-arounds and back-references cannot be generated and
are refused when the recipe is read."""

from __future__ import annotations

import re
import string
from typing import Any

import numpy as np

try:  # Python 3.11+
    import re._constants as sre_c  # type: ignore[import-not-found]
    import re._parser as sre_p  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse as sre_p  # type: ignore[no-redef]

UNBOUNDED_EXTRA = 8
_PRINTABLE = [c for c in string.ascii_letters + string.digits + " -_.,:;/"]
_CATEGORIES = {
    "CATEGORY_DIGIT": list(string.digits),
    "CATEGORY_WORD": list(string.ascii_letters + string.digits + "_"),
    "CATEGORY_SPACE": [" "],
    "CATEGORY_NOT_DIGIT": list(string.ascii_letters + "_-"),
    "CATEGORY_NOT_WORD": list(" -.,:;/"),
    "CATEGORY_NOT_SPACE": list(string.ascii_letters + string.digits),
}
_UNSUPPORTED = {"ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS", "ATOMIC_GROUP"}


def check_pattern(pattern: str) -> str | None:
    """Why values cannot be generated from ``pattern`` (None when they can)."""
    try:
        tree = sre_p.parse(pattern)
    except re.error as err:
        return f"not a regular expression: {err}"
    bad = _unsupported(list(tree))
    if bad:
        return (
            f"the regex uses {bad}, which synthgen cannot generate values from; write it "
            "without look-arounds or back-references"
        )
    return None


def _unsupported(items: list[Any]) -> str | None:
    for op, av in items:
        if str(op) in _UNSUPPORTED:
            return str(op).lower().replace("_", " ")
        for sub in _children(op, av):
            bad = _unsupported(list(sub))
            if bad:
                return bad
    return None


def _children(op: Any, av: Any) -> list[Any]:
    name = str(op)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return [av[2]]
    if name == "SUBPATTERN":
        return [av[3]]
    if name == "BRANCH":
        return list(av[1])
    return []


def _class_chars(items: list[Any]) -> list[str]:
    chars: list[str] = []
    negate = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE":
            chars.extend(chr(c) for c in range(av[0], min(av[1], av[0] + 2000) + 1))
        elif name == "CATEGORY":
            chars.extend(_CATEGORIES.get(str(av), _PRINTABLE))
    if negate:
        banned = set(chars)
        return [c for c in _PRINTABLE if c not in banned] or ["~"]
    return chars or ["~"]


def _vec(items: list[Any], rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` strings for a parsed pattern at once (an object array), column by column."""
    out = np.full(n, "", dtype=object)
    for op, av in items:
        out = out + _node(str(op), av, rng, n)
    return out


def _pick(chars: list[str], rng: np.random.Generator, n: int) -> np.ndarray:
    return np.asarray(chars, dtype=object)[rng.integers(0, len(chars), n)]


def _node(name: str, av: Any, rng: np.random.Generator, n: int) -> np.ndarray:
    if name == "LITERAL":
        return np.full(n, chr(av), dtype=object)
    if name == "NOT_LITERAL":
        return _pick([c for c in _PRINTABLE if c != chr(av)], rng, n)
    if name == "ANY":
        return _pick(_PRINTABLE, rng, n)
    if name == "IN":
        return _pick(_class_chars(list(av)), rng, n)
    if name == "CATEGORY":
        return _pick(_CATEGORIES.get(str(av), _PRINTABLE), rng, n)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        lo, hi, sub = av
        if hi == sre_c.MAXREPEAT:
            hi = lo + UNBOUNDED_EXTRA
        counts = rng.integers(lo, hi + 1, n)
        out = np.full(n, "", dtype=object)
        for k in range(hi):
            part = _vec(list(sub), rng, n)
            out = np.where(k < counts, out + part, out)
        return out
    if name == "SUBPATTERN":
        return _vec(list(av[3]), rng, n)
    if name == "BRANCH":
        options = av[1]
        which = rng.integers(0, len(options), n)
        out = np.full(n, "", dtype=object)
        for k, opt in enumerate(options):
            out = np.where(which == k, _vec(list(opt), rng, n), out)
        return out
    return np.full(n, "", dtype=object)  # AT (anchors) write nothing


def generate(pattern: str, seed: int, rows: np.ndarray, attempt: int = 0) -> list[str]:
    """One string per row in ``rows``, all drawn at once; a function of (seed, the rows,
    attempt) only, so the same rows get the same strings."""
    tree = list(sre_p.parse(pattern))
    compiled = re.compile(pattern)
    rows = np.asarray(rows)
    first = int(rows[0]) if len(rows) else 0
    rng = np.random.default_rng([seed, 7919, first, len(rows), attempt])
    out = _vec(tree, rng, len(rows))
    for _ in range(20):  # negated classes may miss: draw those again
        miss = np.array([compiled.fullmatch(t) is None for t in out], dtype=bool)
        if not miss.any():
            break
        out[miss] = _vec(tree, rng, int(miss.sum()))
    return [str(t) for t in out]
