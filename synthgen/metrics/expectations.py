"""Schema checks with great-expectations (GX 1.x): a suite derived from the real table, run on
the synthetic one. A user's own GX suite (JSON) can be run beside it.

The derived suite holds: the column names in order; per column, its type family; numbers and
dates within the real [min, max]; labels within the real set of values; not-null for columns
that are rarely missing in the real table (``mostly`` = the real non-null share minus a small
tolerance); unique values for id columns. GX is imported only when a suite is built or run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import UsageError
from synthgen.metrics.base import Context, Result, register
from synthgen.schema.spec import Schema

NOT_INSTALLED = "great-expectations is not installed: pip install great-expectations"
NULL_TOLERANCE = 0.02  # `mostly` slack on the real non-null share
MAX_NULL_FRACTION = 0.2  # columns missing more often than this get no not-null expectation
MAX_VALUE_SET = 1000  # larger label sets are not listed in a suite
MAX_ROWS = 50_000  # synthetic rows validated (a seeded sample above this; option max_rows)

_BITS = ("8", "16", "32", "64")
FAMILIES: dict[str, list[str]] = {  # names GX resolves: numpy dtypes, pandas dtypes, builtins
    "number": [
        "int",
        "float",
        *(f"int{b}" for b in _BITS),
        *(f"uint{b}" for b in _BITS),
        *(f"float{b}" for b in _BITS[1:]),
        *(f"Int{b}Dtype" for b in _BITS),
        *(f"UInt{b}Dtype" for b in _BITS),
        "Float32Dtype",
        "Float64Dtype",
    ],
    "datetime": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    "boolean": ["bool", "BooleanDtype"],
    "text": ["str", "StringDtype"],
}


def _gx() -> Any:
    """great_expectations, imported on first use with its usage statistics off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx


def _require_gx() -> Any:
    try:
        return _gx()
    except ImportError:
        raise UsageError(NOT_INSTALLED, hint="pip install great-expectations") from None


def prepare(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The frame GX sees: date columns parsed (with the schema's format, as naive UTC) so
    their ranges compare as dates; pandas categoricals as plain objects."""
    out = frame.copy()
    specs = {c.name: c for c in schema.columns}
    for col in out.columns:
        spec = specs.get(col)
        s = out[col]
        if spec is not None and spec.kind == "datetime":
            if not pd.api.types.is_datetime64_any_dtype(s):
                s = pd.to_datetime(s, format=spec.datetime_format, errors="coerce")
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            out[col] = s
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).where(s.notna(), None)
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def type_family(s: pd.Series) -> list[str]:
    """The GX type names a column of this kind of values may have."""
    if pd.api.types.is_bool_dtype(s):
        return FAMILIES["boolean"]
    if pd.api.types.is_numeric_dtype(s):
        return FAMILIES["number"]
    if pd.api.types.is_datetime64_any_dtype(s):
        return FAMILIES["datetime"]
    found: list[str] = []
    for t in {type(v) for v in s.dropna()}:
        if issubclass(t, bool | np.bool_):
            fam = "boolean"
        elif issubclass(t, int | float | np.number):
            fam = "number"
        else:
            fam = "text"
        found += [n for n in FAMILIES[fam] if n not in found]
    return found or FAMILIES["text"]


def _column_expectations(gxe: Any, name: str, s: pd.Series, kind: str | None) -> list[Any]:
    out = [gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=type_family(s))]
    present = s.dropna()
    null_fraction = 1.0 - len(present) / len(s) if len(s) else 0.0
    if len(present) and null_fraction <= MAX_NULL_FRACTION:
        mostly = max(round(1.0 - null_fraction - NULL_TOLERANCE, 6), 0.0)
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=mostly))
    if not len(present):
        return out
    if kind in ("numeric", "integer"):
        nums = pd.to_numeric(present, errors="coerce").dropna()
        if len(nums):
            lo, hi = _plain(nums.min()), _plain(nums.max())
            out.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=lo, max_value=hi))
    elif kind == "datetime" and pd.api.types.is_datetime64_any_dtype(present):
        lo, hi = present.min().isoformat(), present.max().isoformat()
        out.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=lo, max_value=hi))
    elif kind in ("categorical", "boolean"):
        values = sorted({_plain(v) for v in present.unique()}, key=lambda v: (str(type(v)), v))
        if len(values) <= MAX_VALUE_SET:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=values))
    elif kind == "id" and present.is_unique:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=name))
    return out


def derive_suite(train: pd.DataFrame, schema: Schema, name: str = "synthgen-derived") -> Any:
    """A GX ``ExpectationSuite`` describing the real table (see the module docstring)."""
    gx = _require_gx()
    gxe = gx.expectations
    real = prepare(train, schema)
    columns = [str(c) for c in real.columns]
    expectations = [gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns)]
    kinds = {c.name: c.kind for c in schema.columns}
    for col in real.columns:
        kind = kinds.get(col)
        expectations += _column_expectations(gxe, str(col), real[col], kind)
    # built in one go: adding to a finished suite needs an active GX data context
    return gx.ExpectationSuite(name=name, expectations=expectations)


def save_suite(suite: Any, path: str | Path) -> Path:
    """Write a suite as GX's JSON (what ``load_suite`` and GX itself read back)."""
    path = Path(path)
    path.write_text(json.dumps(suite.to_json_dict(), indent=2, default=str), encoding="utf-8")
    return path


def load_suite(path: str | Path) -> Any:
    """A GX suite from JSON: GX 1.x files (``type``) and 0.x files (``expectation_type``)."""
    gx = _require_gx()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(
            f"cannot read the expectation suite {path}: {err}",
            hint="give options: {expectations_pass_rate: {suite_path: FILE.json}} a GX suite",
        ) from None
    name = data.get("name") or data.get("expectation_suite_name") or path.stem
    expectations = []
    for i, item in enumerate(data.get("expectations", [])):
        kind = item.get("type") or item.get("expectation_type")
        try:
            conf = ExpectationConfiguration(type=kind, kwargs=dict(item.get("kwargs", {})))
            expectations.append(conf.to_domain_obj())
        except Exception as err:  # GX raises many kinds for a bad entry
            raise UsageError(f"{path}: expectations.{i} ({kind}) is not valid: {err}") from None
    return gx.ExpectationSuite(name=str(name), expectations=expectations)


def _observed(result: dict[str, Any]) -> Any:
    if "observed_value" in result:
        obs = result["observed_value"]
        return obs if isinstance(obs, str | int | float | bool) or obs is None else str(obs)
    if "unexpected_percent" in result:
        share = result.get("unexpected_percent") or 0.0
        examples = [str(v) for v in (result.get("partial_unexpected_list") or [])[:3]]
        tail = f" (e.g. {', '.join(examples)})" if examples else ""
        return f"{share:.2f}% unexpected{tail}"
    return None


def _error(info: Any) -> str | None:
    """GX's exception message, from its flat or per-metric ``exception_info``."""
    if not isinstance(info, dict):
        return None
    found = [info, *(v for v in info.values() if isinstance(v, dict))]
    messages = [str(d["exception_message"]) for d in found if d.get("exception_message")]
    return f"error: {messages[0]}" if messages else None


def run_suite(frame: pd.DataFrame, suite: Any, source: str = "derived") -> list[dict[str, Any]]:
    """Validate ``frame`` against ``suite`` in GX's ephemeral context with a pandas data source;
    one plain record per expectation."""
    gx = _require_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas(name="synthgen").add_dataframe_asset(name="table")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    validation = batch.validate(suite, result_format="SUMMARY")
    records = []
    for r in validation.results:
        column = r.expectation_config.kwargs.get("column")
        missing = column is not None and column not in frame.columns
        observed = _observed(dict(r.result or {})) or _error(r.exception_info)
        records.append(
            {
                "expectation": r.expectation_config.type,
                "column": column,
                "success": bool(r.success),
                "observed": "column missing" if missing else observed,
                "source": source,
            }
        )
    return records


@register(
    "expectations_pass_rate",
    "schema",
    "higher",
    (0.0, 1.0),
    "share of great-expectations checks (derived from the real table, plus a user suite) "
    "the synthetic table passes",
)
def expectations_pass_rate(ctx: Context) -> Result:
    """Higher is better, 0-1: 1 means the synthetic table keeps every column, type family,
    real range, real label set, not-null rate and id uniqueness of the real table (and passes
    the user's suite, option ``suite_path``). ``results`` lists each check; at most
    ``max_rows`` (50,000) synthetic rows are validated, a seeded sample above that."""
    try:
        _gx()
    except ImportError:
        return Result(None, skipped=NOT_INSTALLED)
    opts = ctx.options.get("expectations_pass_rate", {})
    max_rows = int(opts.get("max_rows", MAX_ROWS))
    syn = ctx.synthetic
    if len(syn) > max_rows:
        rng = np.random.default_rng([ctx.seed, 9173])
        syn = syn.iloc[np.sort(rng.choice(len(syn), max_rows, replace=False))]
    frame = prepare(syn, ctx.schema)
    records = run_suite(frame, derive_suite(ctx.train, ctx.schema))
    if opts.get("suite_path"):
        records += run_suite(frame, load_suite(opts["suite_path"]), source="user")
    if not records:
        return Result(None, skipped="no expectations to check")
    passed = sum(r["success"] for r in records)
    details: dict[str, Any] = {
        "results": records,
        "evaluated": len(records),
        "failed": len(records) - passed,
        "rows_validated": len(frame),
    }
    user = [r for r in records if r["source"] == "user"]
    if user:
        details["user_pass_rate"] = sum(r["success"] for r in user) / len(user)
    return Result(passed / len(records), details)
