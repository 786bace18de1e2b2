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


def _emit(items: list[Any], rng: np.random.Generator, out: list[str]) -> None:
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append(next(c for c in _PRINTABLE if c != chr(av)))
        elif name == "ANY":
            out.append(_PRINTABLE[int(rng.integers(len(_PRINTABLE)))])
        elif name == "IN":
            chars = _class_chars(list(av))
            out.append(chars[int(rng.integers(len(chars)))])
        elif name == "CATEGORY":
            chars = _CATEGORIES.get(str(av), _PRINTABLE)
            out.append(chars[int(rng.integers(len(chars)))])
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            if hi == sre_c.MAXREPEAT:
                hi = lo + UNBOUNDED_EXTRA
            for _ in range(int(rng.integers(lo, hi + 1))):
                _emit(list(sub), rng, out)
        elif name == "SUBPATTERN":
            _emit(list(av[3]), rng, out)
        elif name == "BRANCH":
            options = av[1]
            _emit(list(options[int(rng.integers(len(options)))]), rng, out)
        # AT (anchors) write nothing


def generate(pattern: str, seed: int, rows: np.ndarray, attempt: int = 0) -> list[str]:
    """One string per row number in ``rows``, each a function of (seed, row, attempt) only."""
    tree = list(sre_p.parse(pattern))
    compiled = re.compile(pattern)
    out = []
    for row in rows:
        rng = np.random.default_rng([seed, 7919, int(row), attempt])
        for _ in range(20):  # classes with NOT_LITERAL/negation may need another draw
            chars: list[str] = []
            _emit(tree, rng, chars)
            text = "".join(chars)
            if compiled.fullmatch(text):
                break
        out.append(text)
    return out
