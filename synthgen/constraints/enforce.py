"""Rules kept by construction: the frame a generator learns is reparametrised so that what it
samples can only obey them, and sampled rows are mapped back.

* ``inequality`` between two number columns: the model learns ``high - low`` (the gap) in
  place of ``high``; ``high = low + gap`` after sampling.
* ``fixed_combinations``: the columns are learnt as one joint label, split after sampling.
* ``determined_by``: the column is not learnt; it is looked up from its key after sampling
  (the table learnt from the training rows).
* ``sum``: the total is not learnt; it is the sum of its parts after sampling.
* ``null_if_null``: the column is learnt given its condition and blanked after sampling
  (:mod:`synthgen.constraints.nulls`).
* ``format``: repaired row by row after sampling (values that miss the format are generated
  from the regex, each from (seed, row number)).

Equalities are reparametrised first (lookups, then sums, then combinations), then
inequalities; a rule is reparametrised only when no earlier reparametrisation took one of its
columns; every other rule, and any sampled row the reparametrised model still gets wrong (a
negative gap), is left to resampling (:mod:`synthgen.constraints.sampling`). A combination
whose columns are all looked up from one key (or are that key) holds by those lookups.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.constraints import nulls, regexgen
from synthgen.constraints.check import NULL_PART, PART_SEP, key_of
from synthgen.generators.context import MODELLED_KINDS
from synthgen.schema.spec import ColumnSpec, Schema
from synthgen.transforms import frame as framemod

NUMBER_KINDS = ("numeric", "integer")
STATE_FORMAT = 1
HOW = {  # what the report says of each step
    "gap": "by construction: the gap to the bound is learnt, the column derived",
    "share": "by construction: the share of the way between the bounds is learnt",
    "joint": "by construction: one joint label",
    "lookup": "by construction: derived from a lookup learnt from the data",
    "total": "by construction: the total is derived from its parts",
    "given": "by construction: learnt where its condition's column has a "
    "value, blanked where it is missing",
}


class Enforcer:
    """``fit(train) -> (frame, schema)`` for the generator; ``inverse(sampled)`` back to the
    source's columns; ``repair(frame, seed)`` for the row-by-row rules. State is JSON."""

    def __init__(self, rules: list[Any], schema: Schema, protect: Any = frozenset()) -> None:
        """``protect``: columns no step may take (a sequence's order): left to resampling."""
        self.rules, self.schema, self.protect = rules, schema, frozenset(protect)

    # ---- fitting --------------------------------------------------------------------------
    def fit(self, train: pd.DataFrame) -> tuple[pd.DataFrame, Schema]:
        self.steps_: list[dict[str, Any]] = []
        taken: set[str] = set()
        frame = train.copy()
        specs = {c.name: c for c in self.schema.columns}
        order = list(train.columns)
        # equalities first: resampling cannot meet them, an inequality it can. Lookups
        # before joint labels: a joint label taking a determined column would leave its
        # rule to resampling, which keeps the draws whose modelled key happens to match
        # the sampled value, favouring the commonest values (on Chinook's invoices,
        # CustomerId -> BillingCountry resampled 371 of 412 rows: Canada 150 for 56 real)
        rank = {"determined_by": 0, "sum": 1, "fixed_combinations": 2}
        ranked = sorted(enumerate(self.rules), key=lambda p: (rank.get(p[1].type, 3), p[0]))
        for i, r in ranked:
            cols = set(r.columns())
            if cols & taken or not self._can_build(r) or _takes(r) & self.protect:
                continue
            step = self._build(i, r, frame, specs, order)
            if step is not None:
                self.steps_.append(step)
                taken |= set(step["takes"])
        other = {c for r in self.rules if r.type != "null_if_null" for c in r.columns()}
        for i, r in enumerate(self.rules):  # a column no other rule reads or rewrites
            if r.type == "null_if_null" and r.column not in taken | other | self.protect:
                step = nulls.fill_given(self.rules, i, frame, train, self.steps_)
                if step is not None:
                    self.steps_.append(step)
        self.order_ = [c for c in order if c in frame.columns]
        schema = Schema(columns=[specs[c] for c in self.order_])
        return frame[self.order_], schema

    def _can_build(self, r: Any) -> bool:
        kinds = {c: self.schema[c].kind for c in r.columns() if c in self.schema}
        if len(kinds) < len(r.columns()):
            return False
        if r.type == "inequality":
            return all(k in NUMBER_KINDS for k in kinds.values())
        if r.type == "range":  # a bound a column: a gap from it, or the share of the way
            return bool(r.bound_columns()) and all(k in NUMBER_KINDS for k in kinds.values())
        if r.type == "sum":
            return all(k in NUMBER_KINDS for k in kinds.values())
        if r.type in ("fixed_combinations", "determined_by"):
            return all(k in MODELLED_KINDS for k in kinds.values())
        return False

    def _build(
        self, i: int, r: Any, frame: pd.DataFrame, specs: dict[str, ColumnSpec], order: list[str]
    ) -> dict[str, Any] | None:
        if r.type == "inequality":
            return self._gap(i, r, frame, specs, target=r.high, base=r.low, sign=1)
        if r.type == "range":
            if r.min is not None and r.max is not None:
                return self._fraction(i, r, frame, specs)
            if isinstance(r.min, str):  # column >= min column: the gap above it
                return self._gap(i, r, frame, specs, target=r.column, base=r.min, sign=1)
            return self._gap(i, r, frame, specs, target=r.column, base=str(r.max), sign=-1)
        if r.type == "fixed_combinations":
            return self._joint(i, r, frame, specs, order)
        if r.type == "determined_by":
            model = framemod.to_model_frame(frame, self.schema, [r.column, *r.by])
            keys = key_of(frame, r.by)
            vals = model[r.column].reset_index(drop=True)
            table = pd.DataFrame({"k": keys, "v": vals})
            table = table[frame[r.by].notna().all(axis=1).to_numpy()]
            first = table.groupby("k", sort=True)["v"].agg(_mode)
            del frame[r.column]  # in place (pandas 3 deprecates drop(inplace=True))
            return {
                "how": "lookup",
                "rule": i,
                "column": r.column,
                "by": list(r.by),
                "keys": [str(k) for k in first.index],
                "values": [_plain(v) for v in first.to_numpy()],
                "takes": [r.column],
            }
        if r.type == "sum":
            del frame[r.equals]
            return {
                "how": "total",
                "rule": i,
                "parts": list(r.columns_),
                "equals": r.equals,
                "takes": [r.equals],
            }
        return None

    def _gap(
        self,
        i: int,
        r: Any,
        frame: pd.DataFrame,
        specs: dict[str, ColumnSpec],
        *,
        target: str,
        base: str,
        sign: int,
    ) -> dict[str, Any] | None:
        """``target`` learnt as ``sign * (target - base)`` (>= 0 when the rule holds)."""
        b, t = frame[base], frame[target]
        if (b.isna() & t.notna()).any():
            return None  # a gap cannot carry a value without its base
        gap = sign * (pd.to_numeric(t, errors="coerce") - pd.to_numeric(b, errors="coerce"))
        both_int = specs[base].kind == specs[target].kind == "integer"
        frame[target] = gap
        what = f"{target} - {base}" if sign > 0 else f"{base} - {target}"
        specs[target] = specs[target].model_copy(
            update={
                "kind": "integer" if both_int else "numeric",
                "dtype": "float64",
                "reason": f"learnt as {what} (constraint {r.key()})",
            }
        )
        return {
            "how": "gap",
            "rule": i,
            "target": target,
            "base": base,
            "sign": sign,
            "takes": [target],
        }

    def _fraction(
        self, i: int, r: Any, frame: pd.DataFrame, specs: dict[str, ColumnSpec]
    ) -> dict[str, Any] | None:
        """``column`` between two bounds (one a column at least) learnt as the share of the
        way from min to max (in [0, 1] when the rule holds)."""
        lo, hi = _bound(frame, r.min), _bound(frame, r.max)
        t = pd.to_numeric(frame[r.column], errors="coerce").to_numpy(dtype="float64")
        if t[~np.isnan(t)].size and (np.isnan(lo) | np.isnan(hi))[~np.isnan(t)].any():
            return None  # a share cannot carry a value without both bounds
        width = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(width > 0, (t - lo) / np.where(width > 0, width, 1.0), 0.0)
        frame[r.column] = np.where(np.isnan(t), np.nan, share)
        specs[r.column] = specs[r.column].model_copy(
            update={
                "kind": "numeric",
                "dtype": "float64",
                "reason": f"learnt as the share of the way from min to max ({r.key()})",
            }
        )
        return {
            "how": "share",
            "rule": i,
            "column": r.column,
            "min": r.min,
            "max": r.max,
            "takes": [r.column],
        }

    def _joint(
        self, i: int, r: Any, frame: pd.DataFrame, specs: dict[str, ColumnSpec], order: list[str]
    ) -> dict[str, Any]:
        cols = r.columns()
        name = "+".join(cols)
        while name in frame.columns:
            name += "_"
        keys = key_of(frame, cols)
        labels = keys.str.replace(PART_SEP, " | ", regex=False).str.replace(NULL_PART, "<NA>")
        if labels.nunique() != keys.nunique():  # a value held ' | ': numbered labels
            codes = pd.factorize(keys, sort=True)[0]
            labels = pd.Series([f"combination {c}" for c in codes])
        model = framemod.to_model_frame(frame, self.schema, cols).reset_index(drop=True)
        table = pd.concat([labels.rename("__label"), model], axis=1).drop_duplicates("__label")
        frame.insert(frame.columns.get_loc(cols[0]), name, labels.to_numpy())
        for c in cols:
            del frame[c]
        order.insert(order.index(cols[0]), name)
        specs[name] = ColumnSpec(
            name=name,
            kind="categorical",
            dtype="object",
            null_fraction=0.0,
            cardinality=len(table),
            reason=f"joint label of {', '.join(cols)} (constraint fixed_combinations)",
        )
        return {
            "how": "joint",
            "rule": i,
            "name": name,
            "columns": cols,
            "labels": table["__label"].astype(str).tolist(),
            "values": {c: [_plain(v) for v in table[c]] for c in cols},
            "takes": cols,
        }

    # ---- after sampling -------------------------------------------------------------------
    def inverse(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """The sampled frame in the source's columns, and the rows no inverse could place (a
        key the lookup never saw); those must be resampled."""
        out = frame.copy()
        stray = np.zeros(len(out), bool)
        for step in reversed(self.steps_):
            how = step["how"]
            if how == "gap":
                t, b = step["target"], step["base"]
                base = framemod.to_model_frame(out, self.schema, [b])[b]
                gap = pd.to_numeric(out[t], errors="coerce")
                out[t] = self._restore(t, base + step["sign"] * gap, out.index)
            elif how == "share":
                lo, hi = (
                    _bound(out, step["min"], self.schema),
                    _bound(out, step["max"], self.schema),
                )
                share = pd.to_numeric(out[step["column"]], errors="coerce").to_numpy(float)
                value = lo + np.clip(share, 0.0, 1.0) * (hi - lo)
                out[step["column"]] = self._restore(step["column"], pd.Series(value), out.index)
            elif how == "total":
                parts = framemod.to_model_frame(out, self.schema, step["parts"])
                total = parts.sum(axis=1, min_count=len(step["parts"]))
                total[parts.isna().any(axis=1)] = np.nan
                out[step["equals"]] = self._restore(step["equals"], total, out.index)
            elif how == "lookup":
                table = dict(zip(step["keys"], step["values"], strict=True))
                keys = key_of(out, step["by"])
                vals = keys.map(table)
                known = keys.isin(table).to_numpy()
                stray |= ~known & out[step["by"]].notna().all(axis=1).to_numpy()
                out[step["column"]] = self._restore(step["column"], vals, out.index)
            elif how == "joint":
                pos = {lab: k for k, lab in enumerate(step["labels"])}
                idx = out[step["name"]].astype(object).map(pos)
                stray |= idx.isna().to_numpy()
                take = idx.fillna(0).astype(int).to_numpy()
                for c in step["columns"]:
                    vals = pd.Series(np.asarray(step["values"][c], dtype=object)[take])
                    out[c] = self._restore(c, vals.where(~stray, None), out.index)
                out = out.drop(columns=[step["name"]])
        return out[self.schema.names], stray

    def _restore(self, col: str, values: pd.Series, index: pd.Index) -> pd.Series:
        body = pd.DataFrame({col: pd.Series(np.asarray(values, dtype=object), index=index)})
        spec = self.schema[col]
        if spec.kind in ("numeric", "integer", "datetime"):
            body[col] = pd.to_numeric(body[col], errors="coerce").astype("float64")
        return framemod.from_model_frame(body, self.schema, [col])[col]

    def repair(self, frame: pd.DataFrame, seed: int, attempt: int = 0) -> pd.DataFrame:
        """``null_if_null`` and ``format`` rules fixed in place, row by row (a rule on a
        column the PII step dropped does not apply)."""
        out = nulls.blank(self.rules, frame)
        for r in self.rules:
            if not set(r.columns()) <= set(out.columns):
                continue
            if r.type == "format":
                s = out[r.column]
                miss = s.notna() & ~s.astype(str).str.fullmatch(r.regex).fillna(False)
                if miss.any():
                    out = out.copy() if out is frame else out
                    rows = np.asarray(out.index[miss.to_numpy()])
                    new = regexgen.generate(r.regex, seed, rows, attempt)
                    col = out[r.column].astype(object)
                    col[miss.to_numpy()] = new
                    out[r.column] = col
        return out

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "steps": self.steps_, "order": self.order_}

    @classmethod
    def restore(cls, rules: list[Any], schema: Schema, state: dict[str, Any]) -> Enforcer:
        out = cls(rules, schema)
        out.steps_, out.order_ = list(state["steps"]), list(state["order"])
        return out

    def exact(self) -> set[int]:
        """Rules every mapped-back, repaired row meets (a row a lookup or a joint label cannot
        place is 'stray'): the exact steps, the repaired rules, and a dependency among the
        columns of one joint label (the training rows' combinations obey it). Not exact: a
        rule on a column a row-by-row repair writes (a null_if_null rule nulling a state
        can make a combination the training rows never had), left to resampling."""
        out = {s["rule"] for s in self.steps_ if s["how"] in ("joint", "lookup", "total")}
        fixed = {i for i, r in enumerate(self.rules) if r.type in ("format", "null_if_null")}
        joints = [set(s["columns"]) for s in self.steps_ if s["how"] == "joint"]
        out |= {
            i
            for i, r in enumerate(self.rules)
            if r.type == "determined_by" and any(set(r.columns()) <= j for j in joints)
        }
        written = {self.rules[i].column for i in fixed}
        return {i for i in out if not set(self.rules[i].columns()) & written} | fixed

    def blanked(self) -> set[str]:
        """Columns the model learns with values a null rule blanks after sampling."""
        return {s["column"] for s in self.steps_ if s["how"] == "given"}

    def consumed(self) -> set[str]:
        return {c for s in self.steps_ for c in s["takes"]}

    def how(self, index: int) -> str:
        for s in self.steps_:
            if s["rule"] == index:
                return HOW[s["how"]]

        t = self.rules[index].type
        if t == "fixed_combinations" and self._looked_up(self.rules[index].columns()):
            return "by construction: its columns derived from one key by lookups"
        if t == "null_if_null":  # one fill serves every null rule on its column
            col = self.rules[index].column
            if any(s["how"] == "given" and s["column"] == col for s in self.steps_):
                return HOW["given"]
        if t in ("null_if_null", "format"):
            return "repaired row by row after sampling"
        return "violating rows resampled"

    def _looked_up(self, cols: list[str]) -> bool:
        """Every column of ``cols`` either looked up from one same key or part of it."""
        by = {tuple(s["by"]) for s in self.steps_ if s["how"] == "lookup" and s["column"] in cols}
        if len(by) != 1:
            return False
        key = set(next(iter(by)))
        derived = {s["column"] for s in self.steps_ if s["how"] == "lookup" and s["column"] in cols}
        return set(cols) <= key | derived


def _takes(r: Any) -> set[str]:
    """The columns a reparametrisation of ``r`` would stop the model learning as they are."""
    one = {"inequality": "high", "range": "column", "determined_by": "column", "sum": "equals"}
    return {getattr(r, one[r.type])} if r.type in one else set(r.columns())


def _bound(frame: pd.DataFrame, bound: Any, schema: Schema | None = None) -> np.ndarray:
    if isinstance(bound, str):
        if schema is not None:
            return framemod.to_model_frame(frame, schema, [bound])[bound].to_numpy(float)
        return pd.to_numeric(frame[bound], errors="coerce").to_numpy(dtype="float64")
    return np.full(len(frame), float(bound))


def _mode(s: pd.Series) -> Any:
    counts = s.value_counts(dropna=False)
    return counts.index[0] if len(counts) else None


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v
