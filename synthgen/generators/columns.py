"""Moving columns between the source's dtypes and a model's frame, and the side columns
(ids, PII, text, all-missing) that no model learns: their JSON state never holds a real value."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from synthgen.schema.spec import ColumnSpec, Schema

_EPOCH = np.datetime64("1970-01-01T00:00:00")
# side-column states are bounded (a saved model is checked against these on load): the
# width of a patterned id and the length of a hex id, an id's prefix, placeholder text length
MAX_ID_WIDTH = 1000
MAX_PREFIX = 1000
MAX_TEXT_CHARS = 1_000_000


def _to_datetime(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        out = pd.to_datetime(s, format=spec.datetime_format, errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def to_model_frame(data: pd.DataFrame, schema: Schema, modelled: list[str]) -> pd.DataFrame:
    """Numbers as float64 (datetimes as seconds since 1970), labels as Python objects (a
    generator may hand ``from_model_frame`` a ``pd.Categorical`` instead: NA = missing)."""
    cols: dict[str, pd.Series] = {}
    for name in modelled:
        spec, s = schema[name], data[name]
        if spec.kind in ("numeric", "integer"):
            cols[name] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif spec.kind == "datetime":
            dt = _to_datetime(s, spec)
            secs = (dt.to_numpy(dtype="datetime64[ns]") - _EPOCH) / np.timedelta64(1, "s")
            cols[name] = pd.Series(np.where(dt.isna(), np.nan, secs), index=s.index)
        else:
            obj = s.astype(object)
            cols[name] = obj.where(s.notna(), None)
    return pd.DataFrame(cols, index=data.index)


def from_model_frame(body: pd.DataFrame, schema: Schema, modelled: list[str]) -> pd.DataFrame:
    """Decode a model frame back to the source's dtypes (integers stay integers, ...)."""
    out = {}
    for name in modelled:
        spec, s = schema[name], body[name]
        if spec.kind == "integer":
            out[name] = _restore_int(np.round(s.astype("float64")), spec.dtype)
        elif spec.kind == "numeric":
            dtype = spec.dtype if spec.dtype.startswith("float") else "float64"
            out[name] = s.astype(dtype)
        elif spec.kind == "datetime":
            out[name] = _restore_datetime(s.astype("float64"), spec)
        else:
            out[name] = _restore_labels(s, spec)
    return pd.DataFrame(out, index=body.index)


def _restore_int(s: pd.Series, dtype: str) -> pd.Series:
    has_na = bool(s.isna().any())
    if dtype.lower().startswith(("int", "uint")):
        if has_na or dtype[0] == "I" or dtype[0] == "U":
            return s.astype(dtype if dtype[0] in "IU" else "Int64")
        return s.astype(dtype)
    return s.astype("float64")  # the source held whole numbers as floats (NaN present)


def _restore_datetime(secs: pd.Series, spec: ColumnSpec) -> pd.Series:
    whole = np.round(secs.to_numpy())
    dt = pd.Series(pd.to_datetime(whole, unit="s", errors="coerce"), index=secs.index)
    if spec.dtype.startswith("datetime64"):
        return dt
    fmt = spec.datetime_format or "%Y-%m-%d %H:%M:%S"
    text = dt.dt.strftime(fmt)
    return text.where(dt.notna(), None).astype(object)


def _restore_labels(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):  # a generator's fast path: NA = missing
        if spec.dtype == "category":
            return s.astype(object).astype("category")  # categories as the source's would be
        cats = s.cat.categories.to_numpy(dtype=object)
        codes = s.cat.codes.to_numpy()
        if (codes < 0).any():
            cats = np.append(cats, np.array([np.nan], dtype=object))
        s = pd.Series(cats[codes], index=s.index, copy=False)  # code -1 takes the NaN
        if spec.dtype in ("bool", "category") or spec.dtype.startswith(("int", "Int")):
            return _restore_labels(s, spec)
        return s
    if spec.dtype == "bool" and not s.isna().any():
        return s.astype(bool)
    if spec.dtype == "bool":
        return s.astype("boolean")
    if spec.dtype == "category":
        return s.astype("category")
    if spec.dtype.startswith(("int", "Int")) and not s.isna().any():
        return s.astype(spec.dtype if spec.dtype[0] == "i" else "Int64")
    return s.astype(object).where(s.notna(), np.nan)


def condition_values(conditions: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Conditions as the model frame holds them: numbers as floats, labels as given."""
    out: dict[str, Any] = {}
    for col, val in conditions.items():
        spec = schema[col]
        if spec.kind in ("numeric", "integer"):
            try:
                out[col] = float(val)
            except (TypeError, ValueError):
                from synthgen.errors import UsageError

                raise UsageError(f"condition {col}={val!r}: {col} holds numbers") from None
        elif spec.dtype == "bool" and isinstance(val, str):
            out[col] = val.strip().lower() in ("true", "1", "yes", "y", "t")
        elif (
            spec.dtype.startswith(("int", "Int"))
            and isinstance(val, str)
            and val.strip().lstrip("-").isdigit()
        ):
            out[col] = int(val)
        else:
            out[col] = val
    return out


# ---- side columns ---------------------------------------------------------------------------
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
    length = int(text.str.len().median()) if len(text) else 12
    return {"how": "id_hex", "length": min(length, MAX_ID_WIDTH)}


class SideColumns:
    """Adds ids, fake PII, placeholder text and all-missing columns to sampled chunks.

    A chunk's values depend on (seed, column, its first row number); ids come from the row
    number and unique fakes are checked against a bounded filter (``fake.SeenFilter``), so
    memory does not grow with ``n``. Chunks must be added in row order, each once."""

    def __init__(
        self,
        schema: Schema,
        side: dict[str, dict[str, Any]],
        n: int,
        seed: int,
        locale: str,
        exclude: dict[str, set[str]],
    ) -> None:
        from synthgen import fake

        self.columns = [(i, c) for i, c in enumerate(schema.columns) if c.name in side]
        self.side, self.seed, self.locale, self.exclude = side, seed, locale, exclude
        self.seen = {
            c.name: fake.SeenFilter(n)
            for _, c in self.columns
            if side[c.name]["how"] == "pii" and side[c.name].get("unique", False)
        }

    def add(self, out: pd.DataFrame, start: int) -> pd.DataFrame:
        """``out`` (the rows from number ``start`` on) with the side columns added."""
        from synthgen import fake

        out = out.copy()
        for i, spec in self.columns:
            # the first chunk keeps the seeding a one-shot sample always had
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
                seen=self.seen.get(spec.name),
                key=[self.seed, 7927, i],  # hex ids' permutation: one key for all chunks
            )
            col.index = out.index
            out[spec.name] = col
        return out
