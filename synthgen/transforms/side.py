"""The side columns no model learns (ids, PII, free text, all-missing columns): their JSON
state holds only shapes and rates, never a real value; sampling them is seeded per column and
counted by row number, so chunks and workers give the same values."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from synthgen.schema.spec import Schema

# side-column states are bounded (a saved model is checked against these on load): the
# width of a patterned id and the length of a hex id, an id's prefix, placeholder text length
MAX_ID_WIDTH = 1000
MAX_PREFIX = 1000
MAX_TEXT_CHARS = 1_000_000

_PATTERN_ID = re.compile(r"^(\D*?)(\d+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def fit_side_columns(data: pd.DataFrame, schema: Schema) -> dict[str, dict[str, Any]]:
    """JSON state for columns no model learns. Only shapes and rates, never a value."""
    side: dict[str, dict[str, Any]] = {}
    for spec in schema.columns:
        s = data[spec.name]
        null_fraction = float(s.isna().mean())
        if null_fraction >= 1.0:
            side[spec.name] = {"how": "null"}
        elif spec.kind == "id":
            side[spec.name] = {**_fit_id(s.dropna()), "null_fraction": null_fraction}
        elif spec.kind == "pii":
            nn = s.dropna()
            side[spec.name] = {
                "how": "pii",
                "pii_type": spec.pii_type or "other",
                "null_fraction": null_fraction,
                "unique": bool(nn.nunique() == len(nn)) and len(nn) > 1,
                "format": spec.datetime_format,
            }
        elif spec.kind == "text":
            lengths = s.dropna().astype(str).str.len().to_numpy()
            qs = np.quantile(lengths, np.linspace(0, 1, 21)) if len(lengths) else np.zeros(21)
            side[spec.name] = {
                "how": "text",
                "null_fraction": null_fraction,
                "length_quantiles": [float(min(q, MAX_TEXT_CHARS)) for q in qs],
            }
    return side


def privatise_side_columns(side: dict[str, dict[str, Any]], missing: dict[str, float]) -> None:
    """Under DP: missing rates from the DP release, ids from 1, PII always unique, and no
    text length profile (text is refused under DP). Formats (an id's prefix) stay: metadata."""
    for name, state in side.items():
        if state["how"] == "null":
            continue
        state["null_fraction"] = float(missing.get(name, 0.0))
        if state["how"] == "id_int":
            state["start"] = 1
        elif state["how"] == "pii":
            state["unique"] = True
        elif state["how"] == "text":  # the run's DP text model writes these; no raw lengths
            state["length_quantiles"] = [float(q) for q in np.linspace(20, 200, 21)]


def _fit_id(s: pd.Series) -> dict[str, Any]:
    if pd.api.types.is_integer_dtype(s) or (
        pd.api.types.is_float_dtype(s) and bool((s == np.round(s)).all())
    ):
        return {"how": "id_int", "start": int(s.min()) if len(s) else 1}
    text = s.astype(str)
    if len(text) and text.str.match(_UUID).all():
        return {"how": "id_uuid"}
    parts = text.str.extract(_PATTERN_ID)
    if len(text) and parts[0].notna().all() and parts[0].nunique() == 1:
        widths = parts[1].str.len()
        prefix = str(parts[0].iloc[0])
        if len(prefix) <= MAX_PREFIX:
            return {
                "how": "id_pattern",
                "prefix": prefix,
                "width": min(int(widths.min()), MAX_ID_WIDTH) if widths.nunique() == 1 else 0,
            }
    shape = id_shape(text)
    if shape is not None:
        return {"how": "id_shape", "shape": shape}
    length = int(text.str.len().median()) if len(text) else 12
    return {"how": "id_hex", "length": min(length, MAX_ID_WIDTH)}


SHAPE_SLOTS = {
    "9": "0123456789",
    "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "a": "abcdefghijklmnopqrstuvwxyz",
}
MAX_SHAPE = 64


def id_shape(text: pd.Series) -> list[str] | None:
    """The shape every id shares, one token per character: a slot ("9" a digit, "A" an
    upper-case letter, "a" a lower-case one) or a literal ("=-": the character "-"), e.g.
    ``["A", "A", "=-", "9", "9", "9"]`` for ``BK-016`` and ``CR-002``. None when the ids
    differ in length or a position mixes kinds; no value is kept, only the format."""
    if not len(text):
        return None
    lengths = text.str.len()
    width = int(lengths.iloc[0])
    if not 1 <= width <= MAX_SHAPE or (lengths != width).any():
        return None
    chars = text.str.split("", expand=True).iloc[:, 1 : width + 1]
    shape = []
    for j in range(width):
        col = chars.iloc[:, j]
        if col.str.fullmatch("[0-9]").all():
            shape.append("9")
        elif col.str.fullmatch("[A-Z]").all():
            shape.append("A")
        elif col.str.fullmatch("[a-z]").all():
            shape.append("a")
        elif col.nunique() == 1:
            shape.append("=" + str(col.iloc[0]))
        else:
            return None
    return shape if any(t in SHAPE_SLOTS for t in shape) else None


class SideColumns:
    """Adds ids, fake PII, placeholder text and all-missing columns to sampled shards.

    A shard's values depend on (seed, column, its first row number) only, and ids and unique
    fakes come from the row number (see ``pii.unique``): no state is kept between shards, so
    they may be added in any order, by any worker, and memory does not grow with ``n``.
    ``shard_rows``: the fixed shard size (every shard starts at a multiple of it)."""

    def __init__(
        self,
        schema: Schema,
        side: dict[str, dict[str, Any]],
        n: int,
        seed: int,
        locale: str,
        exclude: dict[str, set[str]],
        shard_rows: int,
    ) -> None:
        self.columns = [(i, c) for i, c in enumerate(schema.columns) if c.name in side]
        self.side, self.seed, self.locale, self.exclude = side, seed, locale, exclude
        self.n, self.shard_rows = n, shard_rows

    def add(self, out: pd.DataFrame, start: int) -> pd.DataFrame:
        """``out`` (the rows from number ``start`` on) with the side columns added."""
        from synthgen.pii import fake

        out = out.copy()
        for i, spec in self.columns:
            # the first shard keeps the seeding a one-shot sample always had
            rng = np.random.default_rng(
                [self.seed, 7919, i, start] if start else [self.seed, 7919, i]
            )
            col = fake.side_column(
                self.side[spec.name],
                len(out),
                rng,
                locale=self.locale,
                dtype=spec.dtype,
                exclude=self.exclude.get(spec.name, set()),
                start=start,
                unique=(self.n, self.shard_rows),
                key=[self.seed, 7927, i],  # ids' and unique fakes' permutation: one key
            )
            col.index = out.index
            out[spec.name] = col
        return out
