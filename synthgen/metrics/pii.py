"""PII replay: real identifiers given back anywhere in the synthetic table."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthgen.metrics.base import Context, Result, register
from synthgen.metrics.neighbors import canonical_labels

_SEPARATORS = str.maketrans({c: " " for c in ",;:<>()[]{}\"'|\t\n\r"})
_EDGE = ".!?*_-"
_NUMBERISH = re.compile(r"[\d\s.+()-]+")
MAX_TOKENS = 12  # longer real values are only matched as whole cells


def _norm_one(text: str) -> str:
    tokens = (t.strip(_EDGE) for t in text.casefold().translate(_SEPARATORS).split())
    return " ".join(t for t in tokens if t)


def _norm_text(s: pd.Series) -> pd.Series:
    """Case-folded text with separators collapsed and punctuation trimmed from each token,
    so 'Mail A.B@x.com, please' holds 'a.b@x.com'. Computed once per distinct value."""
    text = s.astype(str)
    return text.map({u: _norm_one(u) for u in pd.unique(text)})


def mask_value(value: str) -> str:
    """A replayed value fit to show: 'jane@example.com' -> 'j***@example.com'."""
    if "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return f"{value[:1]}***{value[-1:]}" if len(value) >= 4 else "***"


def _text_hits(norm: pd.Series, real: set[str], sizes: set[int]) -> pd.Series:
    """For each normalised text cell, the real values it contains as whole tokens."""
    tokens = norm.str.split(" ").explode().dropna()
    frame = pd.DataFrame({"row": tokens.index, "tok": tokens.to_numpy()})
    found = []
    for k in sorted(sizes):
        gram, same = frame["tok"], np.ones(len(frame), bool)
        for j in range(1, k):
            gram = gram + " " + frame["tok"].shift(-j).fillna("")
            same &= (frame["row"].shift(-j) == frame["row"]).to_numpy()
        hit = same & gram.isin(real).to_numpy()
        found.append(pd.DataFrame({"row": frame["row"][hit], "value": gram[hit]}))
    hits = pd.concat(found).drop_duplicates() if found else pd.DataFrame(columns=["row", "value"])
    return hits.groupby("row")["value"].apply(list) if len(hits) else pd.Series(dtype=object)


@register(
    "pii_replay",
    "privacy",
    "lower",
    (0.0, float("inf")),
    "synthetic cells that repeat a real PII value (any column, and inside free text)",
)
def pii_replay(ctx: Context) -> Result:
    """Number of real PII values (from the train and holdout PII columns) found again in
    the synthetic table: whole cells of any column (stripped, case-folded), and substrings
    of 6+ characters inside text columns. Values that a label column of the real rows
    (train or holdout) also holds are categories, not identifiers, and do not count. Should be 0; examples
    in the details are masked."""
    pii = [c.name for c in ctx.schema.of_kind("pii") if c.name in ctx.train.columns]
    if not pii:
        return Result(0.0, {"pii_columns": []}, skipped="no PII columns in the schema")
    real_cells = pd.concat([f[c] for f in (ctx.train, ctx.holdout) if len(f) for c in pii])
    real = set(_norm_text(real_cells.dropna())) - {""}
    # a value a label column of the real data holds too ("Dublin" a city and a state) is a
    # category of this data, which a synthetic table is meant to keep, not an identifier
    labels = [c.name for c in ctx.schema.of_kind("categorical", "boolean") if c.name in ctx.train]
    if labels:
        frames = [f for f in (ctx.train, ctx.holdout) if len(f)]
        cells = pd.concat([f[c].dropna() for f in frames for c in labels if c in f])
        real -= set(_norm_text(cells.astype(str).drop_duplicates()))
    numberish = any(_NUMBERISH.fullmatch(v) for v in real)
    long = {v for v in real if len(v) >= 6 and v.count(" ") < MAX_TOKENS}
    sizes = {v.count(" ") + 1 for v in long}
    per: dict[str, int] = {}
    examples: list[str] = []
    for col in ctx.synthetic.columns:
        s = ctx.synthetic[col].dropna()
        if s.dtype.kind in "biufcmM" and not numberish:
            continue
        norm = _norm_text(canonical_labels(s))
        equal = norm.isin(real)
        count, seen = int(equal.sum()), list(norm[equal].unique()[:5])
        kind = ctx.schema[col].kind if col in ctx.schema else "text"
        if kind == "text" and long:
            inside = _text_hits(norm[~equal], long, sizes)
            count += int(inside.map(len).sum()) if len(inside) else 0
            seen += [v for vs in inside for v in vs][:5]
        if count:
            per[col] = count
            examples += [mask_value(v) for v in seen]
    return Result(
        float(sum(per.values())),
        {"pii_columns": pii, "per_column": per, "examples": examples[:5]},
    )
