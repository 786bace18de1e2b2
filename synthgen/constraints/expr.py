"""A restricted evaluator for ``{type: expression}`` rules: never Python's ``eval``.

The text is parsed with :mod:`ast` and only numbers, column names (a name that is not a
Python identifier is written in backticks: ```education-num` >= 1``), arithmetic
(``+ - * / // % **``), comparisons (chains too), ``and`` / ``or`` / ``not`` and parentheses
are allowed; anything else (calls, attributes, subscripts, lambdas...) is refused at recipe
load. Evaluation works on whole columns with numpy, on floats (so ``10**10**10`` is inf, not
a hang).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

_BACKTICK = re.compile(r"`([^`]+)`")
_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _rewrite(text: str) -> tuple[str, dict[str, str]]:
    """Backticked names -> placeholder identifiers, and the map back."""
    found: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        key = f"__col{len(found)}__"
        found[key] = m.group(1)
        return key

    return _BACKTICK.sub(sub, text), found


def parse(text: str) -> tuple[ast.Expression, dict[str, str]]:
    """The checked tree and the placeholder map; a ValueError says what is not allowed."""
    code, names_map = _rewrite(text)
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"not a valid expression: {err.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            what = type(node).__name__
            raise ValueError(
                f"'{what}' is not allowed in an expression: only numbers, column names, "
                "+ - * / // % **, comparisons, and / or / not and parentheses are"
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"only numbers may appear as constants, not {node.value!r}")
    if not isinstance(tree.body, ast.Compare | ast.BoolOp) and not (
        isinstance(tree.body, ast.UnaryOp) and isinstance(tree.body.op, ast.Not)
    ):
        raise ValueError("an expression rule must be a comparison, e.g. 'total >= fare + tip'")
    return tree, names_map


_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.Compare,
    ast.Name,
    ast.Load,
    ast.Constant,
    *_BIN,
    *_CMP,
)


def names(text: str) -> list[str]:
    """The columns an expression reads, in order of first use."""
    tree, mapping = parse(text)
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            name = mapping.get(node.id, node.id)
            if name not in out:
                out.append(name)
    return out


def evaluate(text: str, columns: dict[str, pd.Series]) -> np.ndarray:
    """The expression's truth per row (columns as float arrays; missing values give False)."""
    tree, mapping = parse(text)
    values = {k: np.asarray(v, dtype="float64") for k, v in columns.items()}

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return np.float64(node.value)  # type: ignore[arg-type]  # numbers only (parse)
        if isinstance(node, ast.Name):
            return values[mapping.get(node.id, node.id)]
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            inner = ev(node.operand)
            if isinstance(node.op, ast.Not):
                return ~np.asarray(inner, dtype=bool)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BoolOp):
            parts = [np.asarray(ev(v), dtype=bool) for v in node.values]
            fold = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return fold.reduce(parts)
        if isinstance(node, ast.Compare):
            left, out = ev(node.left), None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = ev(right_node)
                part = _CMP[type(op)](left, right)
                out = part if out is None else out & part
                left = right
            return out
        raise ValueError(f"'{type(node).__name__}' is not allowed")  # parse refused it already

    with np.errstate(all="ignore"):
        result = np.asarray(ev(tree), dtype=bool)
    n = len(next(iter(values.values()))) if values else 1
    return np.broadcast_to(result, (n,)).copy()
