"""Rules in a multi-table run: each declared rule names its table (``{type: range, table:
Invoice, column: Total, min: 0}``), detected rules are found per table, and every table is
kept to its rules exactly as a one-table run is (``synthgen.constraints.stage``): real rows
breaking a declared rule left out of that table's fit, rules kept by construction, and a
violating row of a child table drawn again given its own parent's context (its parent key
and context do not change). Keys are generated, not learnt: no rule may name one."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthgen.constraints.spec import ConstraintsSpec, describe
from synthgen.constraints.stage import ConstraintRun
from synthgen.dataset.data import Dataset
from synthgen.errors import RecipeError
from synthgen.schema.spec import Schema

INTERNAL = "__"  # the relational model's own columns (counts, matches) start with it


@dataclass
class TableRules:
    """One table's part of the recipe's ``constraints:``: its declared rules (with their
    positions in the recipe, as messages name them) and its ``drop`` entries."""

    spec: ConstraintsSpec
    indices: list[int] = field(default_factory=list)


def split_rules(spec: ConstraintsSpec, ds: Dataset) -> dict[str, TableRules]:
    """The recipe's rules per table; every rule names a table of ``ds`` and only columns of
    it that are not keys. Every problem at once (RecipeError, exit 2)."""
    names = ds.names
    problems: list[str] = []
    rules: dict[str, list[Any]] = {t: [] for t in names}
    at: dict[str, list[int]] = {t: [] for t in names}
    for i, r in enumerate(spec.rules):
        where = describe(i, r)
        if r.table is None:
            problems.append(f"{where}: name its table (table: TABLE); {_who_has(ds, r)}")
            continue
        if r.table not in names:
            problems.append(f"{where}: no table '{r.table}' in the source{_close(r.table, names)}")
            continue
        bad = _column_problems(ds, r.table, r.columns())
        problems += [f"{where}: {p}" for p in bad]
        if not bad:
            rules[r.table].append(r)
            at[r.table].append(i)
    if problems:
        raise RecipeError(
            f"constraints do not fit the source's {len(names)} tables:", problems=problems
        )
    drops = _drops(spec.drop, names)
    return {
        t: TableRules(ConstraintsSpec(detect=spec.detect, drop=drops[t], rules=rules[t]), at[t])
        for t in names
    }


def _close(name: str, names: list[str]) -> str:
    near = difflib.get_close_matches(name, names, n=1)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f" (its tables: {shown}){hint}"


def _who_has(ds: Dataset, r: Any) -> str:
    cols = set(r.columns())
    fits = [t for t in ds.names if cols <= {str(c) for c in ds[t].columns}]
    if fits:
        return f"the tables with {', '.join(sorted(cols))}: {', '.join(fits)}"
    return f"the source's tables: {', '.join(ds.names)}"


def key_columns(ds: Dataset, t: str) -> set[str]:
    spec = ds.spec[t]
    keys = set(spec.primary_key) | {c for fk in spec.foreign_keys for c in fk.columns}
    return keys | {c for u in spec.unique if len(u.columns) > 1 for c in u.columns}


def _column_problems(ds: Dataset, t: str, columns: list[str]) -> list[str]:
    have = [str(c) for c in ds[t].columns]
    keys = key_columns(ds, t)
    out = []
    for c in columns:
        if c not in have:
            near = difflib.get_close_matches(c, have, n=1)
            out.append(
                f"no column '{c}' in table {t}"
                + (f"; did you mean '{near[0]}'?" if near else f" (its columns: {', '.join(have)})")
            )
        elif c in keys:
            out.append(
                f"'{c}' is a key of table {t}: keys are made fresh and resolve by construction, "
                "they are not learnt, so a rule cannot name them; remove the rule"
            )
    return out


def _drops(entries: list[str], names: list[str]) -> dict[str, list[str]]:
    """``"Invoice: Total"`` for one table; an entry without a table for every table."""
    out: dict[str, list[str]] = {t: [] for t in names}
    for e in entries:
        head, sep, rest = e.partition(":")
        if sep and head.strip() in out:
            out[head.strip()].append(rest.strip())
        else:
            for t in names:
                out[t].append(e)
    return out


def table_run(
    split: dict[str, TableRules] | None,
    t: str,
    features: pd.DataFrame,
    schema: Schema,
    *,
    private: bool,
    modelled: bool,
    warnings: list[str],
    protect: tuple[str, ...] = (),
) -> ConstraintRun | None:
    """Table ``t``'s rules on its training frame (None: it has none). Rules are detected
    on tables a model learns only (a reference table is copied as it is); ``protect``: the
    columns no rule reparametrises (a sequence table's order)."""
    if split is None or t not in split:
        return None
    part = split[t]
    spec = part.spec if modelled else part.spec.model_copy(update={"detect": False})
    if not spec.rules and not spec.detect:
        return None
    hidden = [c for c in features.columns if str(c).startswith(INTERNAL)]
    run = ConstraintRun(
        spec,
        schema,
        features,
        private=private,
        table=t,
        warnings=warnings,
        hidden=hidden,
        indices=part.indices,
        tables=True,
        protect=protect,
    )
    if not run.rules:
        return None
    if not modelled and part.spec.rules:
        warnings.append(
            f"{t}: its rows are copied from the source as they are (a reference table); "
            "its rules are checked, not enforced"
        )
    return run


def fit_frames(
    run: ConstraintRun | None, f: pd.DataFrame, ctx: pd.DataFrame | None
) -> tuple[pd.DataFrame, Schema | None, pd.DataFrame | None]:
    """The frame, schema and context a table's generator learns: real rows breaking a
    declared rule left out of both frames (the schema None: the table's own)."""
    if run is None:
        return f, None, ctx
    frame, schema = run.fit_frame(f)
    if ctx is not None and run.kept_ is not None:
        ctx = ctx[run.kept_].reset_index(drop=True)
    return frame, schema, ctx


def summary(runs: dict[str, ConstraintRun]) -> dict[str, Any]:
    """Every table's rules in one report entry, shaped as a one-table run's (ids name their
    table: ``Invoice: Total >= 0``), with each table's own entry under ``tables``."""
    parts = {t: r.summary() for t, r in runs.items()}
    rules = [
        {**x, "id": f"{t}: {x['id']}", "table": t} for t, p in parts.items() for x in p["rules"]
    ]
    return {
        "rules": rules,
        "real_violations": [
            {**v, "table": t} for t, p in parts.items() for v in p["real_violations"]
        ],
        "real_rows_left_out": sum(p["real_rows_left_out"] for p in parts.values()),
        "detected_left_out_for_privacy": sum(
            p["detected_left_out_for_privacy"] for p in parts.values()
        ),
        "resampled_rows": sum(p["resampled_rows"] for p in parts.values()),
        "tables": parts,
    }


def options(runs: dict[str, ConstraintRun]) -> dict[str, dict[str, Any]]:
    """The ``constraint_violations`` metric's settings: each table's rules, what the run
    learnt, and the schema to read them with."""
    if not runs:
        return {}
    tables = {}
    for t, r in runs.items():
        opts = r.options()["constraints"]
        tables[t] = {**opts, "schema": r.schema.model_dump(mode="json")}
    return {"constraints": {"tables": tables}}


def finish(runs: dict[str, ConstraintRun], syn: Dataset, seed: int) -> Dataset:
    """After the PII step: each table's row-by-row rules once more (a fake may miss a
    format), keys untouched."""
    if not any(r.sampler is not None for r in runs.values()):
        return syn
    tables = {t: runs[t].finish(syn[t], seed) if t in runs else syn[t] for t in syn.names}
    return Dataset(syn.spec, tables, syn.warnings)
