"""A generator's context: the parent attributes a child table is learnt and sampled given.

A context is a frame with one row per row of the table (at fit time: each row's parent's
attributes; at sampling time: the synthetic parent of each row to draw). Its modelled
columns go through the same model frame as the table's; id, PII and text columns of the
context are ignored (a model learns from attributes, not from keys). What is saved is the
context's schema and the columns used, never a context value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthgen.errors import DataError, PrivacyBudgetError, UsageError
from synthgen.schema.spec import Schema
from synthgen.transforms import frame as framemod

if TYPE_CHECKING:
    from synthgen.generators.base import Generator
    from synthgen.privacy.plan import DPPlan

MODELLED_KINDS = ("numeric", "integer", "categorical", "boolean", "datetime")


@dataclass
class ContextSpec:
    schema: Schema
    columns: list[str]  # the context columns the model reads, in order

    def to_json(self) -> dict[str, Any]:
        import json

        return {"schema": json.loads(self.schema.to_json()), "columns": list(self.columns)}

    def frame(self, context: pd.DataFrame) -> pd.DataFrame:
        """The context as a model frame (its modelled columns only)."""
        missing = [c for c in self.columns if c not in context.columns]
        if missing:
            raise UsageError(
                f"the context lacks column(s) the model learnt from: {', '.join(missing)}"
            )
        return framemod.to_model_frame(context, self.schema, self.columns).reset_index(drop=True)


def prepare_fit(
    gen: Generator,
    data: pd.DataFrame,
    context: pd.DataFrame,
    schema: Schema | None,
    privacy: DPPlan | None,
) -> tuple[ContextSpec, pd.DataFrame]:
    """Check a context given to ``fit`` and return its spec and model frame."""
    if not gen.supports_context:
        raise UsageError(
            f"generator '{gen.name}' cannot model a child table: it learns no context "
            "(parent attributes)",
            hint="use generator 'autoreg' for tables learnt given their parents",
        )
    if privacy is not None:
        raise PrivacyBudgetError(
            "a context (parent attributes) cannot be learnt under a privacy budget yet",
            hint="fit without privacy, or without a context",
        )
    if len(context) != len(data):
        raise DataError(
            f"the context has {len(context):,} rows for {len(data):,} rows of data",
            hint="give one context row (the row's parent attributes) per row",
        )
    if schema is None:
        from synthgen.schema.detect import detect

        schema = detect(context)
    absent = [c for c in schema.names if c not in context.columns]
    if absent:
        raise DataError(f"the context schema names columns the context lacks: {absent}")
    columns = [c.name for c in schema.columns if c.kind in MODELLED_KINDS and c.null_fraction < 1]
    spec = ContextSpec(schema, columns)
    return spec, spec.frame(context)


def prepare_sample(spec: ContextSpec | None, context: pd.DataFrame | None, n: int) -> Any:
    """The context model frame for ``n`` rows to sample (None for a model without one)."""
    if spec is None:
        if context is not None:
            raise UsageError(
                "this model was fitted without a context; sample it without one",
                hint="fit with context=... to learn a table given its parents",
            )
        return None
    if context is None:
        raise UsageError(
            "this model learnt its table given a context: give one context row per row "
            "to sample (context=...)"
        )
    if len(context) != n:
        raise UsageError(f"{n:,} rows asked for with {len(context):,} context rows")
    return spec.frame(context)


def parse(data: Any) -> tuple[ContextSpec | None, list[str]]:
    """A saved context (encoder.json's ``context``), checked: the spec, or the problems."""
    from synthgen.schema.spec import parse_schema

    where = "encoder.json: context"
    if not isinstance(data, dict) or set(data) != {"schema", "columns"}:
        return None, [f"{where}: must hold 'schema' and 'columns'"]
    schema, problems = parse_schema(data["schema"], complete=True)
    if schema is None or problems:
        return None, [f"{where}.schema: {p}" for p in problems]
    columns = data["columns"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        return None, [f"{where}.columns: must be a list of column names"]
    bad = [c for c in columns if c not in schema.names or schema[c].kind not in MODELLED_KINDS]
    if bad or len(set(columns)) != len(columns):
        return None, [f"{where}.columns: not distinct modelled columns of its schema"]
    return ContextSpec(schema, columns), []
