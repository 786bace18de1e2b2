"""Structure: does the synthetic table have the real one's columns, in order, with its types?"""

from __future__ import annotations

import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.schema.spec import dtype_kind


def _family(s: pd.Series) -> str:
    return {"numeric": "float", "categorical": "text"}.get(dtype_kind(s), dtype_kind(s))


@register(
    "schema_match",
    "schema",
    "higher",
    (0.0, 1.0),
    "share of real columns present in the synthetic table with the same type family",
)
def schema_match(ctx: Context) -> Result:
    """1.0 = same columns, same order, same type families (integer stays integer...).
    Details list what is missing, extra or of another type."""
    real, syn = ctx.train, ctx.synthetic
    missing = [c for c in real.columns if c not in syn.columns]
    extra = [c for c in syn.columns if c not in real.columns]
    retyped = {
        c: f"{_family(real[c])} -> {_family(syn[c])}"
        for c in real.columns
        if c in syn.columns
        and _family(real[c]) != _family(syn[c])
        and not (_family(real[c]) == "float" and _family(syn[c]) == "integer")
    }
    ok = len(real.columns) - len(missing) - len(retyped)
    value = ok / max(len(real.columns), 1)
    same_order = [c for c in syn.columns if c in real.columns] == [
        c for c in real.columns if c in syn.columns
    ]
    if extra or not same_order:
        value = min(value, 0.999)  # a perfect score means nothing to fix
    return Result(
        value, {"missing": missing, "extra": extra, "retyped": retyped, "same_order": same_order}
    )
