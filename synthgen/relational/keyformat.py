"""Fresh key values in each key's own format, none of them a source value.

A key column is read once: whole numbers (``417``), codes with a fixed prefix and digits
(``PAT-00017``), UUIDs, or anything else (text). Fresh values continue past the source's
largest number (so no source key reappears), keep the prefix and the zero padding, and
UUIDs are drawn from counted randomness (``synthgen.fixtures``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.fixtures import rng
from synthgen.fixtures.providers import base36, uuids

_CODE = re.compile(r"^(\D*?)(\d+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class KeyFormat:
    kind: str  # int | code | uuid | text
    start: int = 1  # the first fresh number (past the source's largest)
    prefix: str = ""
    width: int = 0  # zero padding of a code's digits
    nullable_int: bool = False  # an int key read as floats (it has empty values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyFormat:
        return cls(**data)

    def make(self, n: int, seed: int, table: str, column: str) -> pd.Series:
        """``n`` distinct fresh values."""
        return self.render(np.arange(n, dtype=np.int64), seed, table, column)

    def render(self, rows: np.ndarray, seed: int, table: str, column: str) -> pd.Series:
        """The fresh values of row numbers ``rows`` (distinct rows, distinct values): a row's
        value depends on its number only, so shards numbered apart never share one."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.kind == "int":
            return pd.Series(self.start + rows, dtype="int64")
        if self.kind == "code":
            nums = (self.start + rows).tolist()
            return pd.Series([f"{self.prefix}{v:0{self.width}d}" for v in nums], dtype=object)
        k = rng.key(seed, table, column, "fresh-key")
        if self.kind == "uuid":
            return pd.Series(uuids(k, rows), dtype=object)
        return pd.Series([f"K{base36(self.start + int(r))}" for r in rows], dtype=object)

    def cast(self, values: pd.Series) -> pd.Series:
        """Key values (possibly with empties) in the column's dtype."""
        if self.kind == "int":
            has_null = bool(values.isna().any())
            return values.astype("Int64" if has_null or self.nullable_int else "int64")
        return values.astype(object)


def learn(s: pd.Series) -> KeyFormat:
    """The format of a source key column."""
    v = s.dropna()
    if pd.api.types.is_bool_dtype(v):
        return KeyFormat("text", start=len(v) + 1)
    if pd.api.types.is_numeric_dtype(v):
        whole = v.empty or bool((v == np.floor(v)).all())
        if whole:
            top = int(v.max()) if len(v) else 0
            return KeyFormat("int", start=max(top + 1, 1), nullable_int=bool(s.isna().any()))
        return KeyFormat("text", start=len(v) + 1)
    text = v.astype(str)
    if len(text) and text.str.match(_UUID).all():
        return KeyFormat("uuid")
    parts = text.str.extract(_CODE)
    if len(text) and parts[1].notna().all() and parts[0].nunique() == 1:
        digits = parts[1].astype(str)
        width = int(digits.str.len().min()) if digits.str.startswith("0").any() else 0
        return KeyFormat(
            "code",
            start=int(digits.astype(int).max()) + 1,
            prefix=str(parts[0].iloc[0]),
            width=width,
        )
    # anything else: base-36 codes past every source value's length, so none can repeat
    return KeyFormat("text", start=36 ** max(1, int(text.str.len().max() or 1)))
