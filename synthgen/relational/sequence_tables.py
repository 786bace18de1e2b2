"""Sequence tables inside a dataset: a child table whose rows are its parent's events in
order (a customer's invoices by date, an admission's lab events by charttime), declared in a
recipe as ``tables: {Invoice: {sequence: {order: InvoiceDate}}}``.

The entity is the table's context parent (the foreign key its rows are drawn per). Such a
table is learnt by a :class:`~synthgen.sequences.SequenceModel` given each parent's context
(its attributes and child counts, as any child table is given them) instead of row by row:
per synthetic parent, as many events as the dataset's child-count model gives, their gaps
and values each following the one before."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen.relational.learn import context_frame

if TYPE_CHECKING:
    from synthgen.constraints.sampling import RuleSampler
    from synthgen.constraints.stage import ConstraintRun
    from synthgen.relational.learn import Learnt
    from synthgen.relational.plan import Plan
    from synthgen.sequences.model import SequenceModel

ENTITY = "__parent"  # the sequence model's entity: the parent row's position


def problems(
    plan: Plan,
    columns: dict[str, list[str]],
    sequences: dict[str, str],
    generator: str,
    entities: dict[str, str | None] | None = None,
) -> list[str]:
    """What keeps a declared sequence table from being one, every problem at once
    (``entities``: the entity column a recipe names, if it names one)."""
    out = []
    for t, order in sequences.items():
        where = f"tables.{t}.sequence"
        entity = (entities or {}).get(t)
        ctx = plan.tables[t].context if t in plan.tables else None
        if t not in plan.tables:
            out.append(f"{where}: no table {t!r} in the source")
        elif ctx is not None and entity is not None and [entity] != ctx.columns:
            out.append(
                f"{where}.entity: {t}'s events belong to {ctx.ref_table} through "
                f"{', '.join(ctx.columns)}, not {entity!r}; name that column or leave entity out"
            )
        elif ctx is None:
            out.append(
                f"{where}: {t} has no parent its rows belong to (a foreign key every row "
                "fills), so it has no entity to order events by; declare the key under "
                f"tables.{t}.foreign_keys, or run {t} alone with a one-table sequence: recipe"
            )
        elif order not in columns[t] or order in plan.tables[t].key_columns:
            own = [c for c in columns[t] if c not in plan.tables[t].key_columns]
            out.append(f"{where}.order: no column {order!r} in {t} (its columns: {', '.join(own)})")
    if sequences and generator != "autoreg":
        out.append("generator.name: sequence tables are learnt by autoreg only")
    return out


def fit(
    lt: Learnt,
    plan: Plan,
    t: str,
    order: str,
    params: dict[str, Any],
    seed: int,
    run: ConstraintRun | None = None,
) -> SequenceModel:
    """The sequence model of table ``t``: its events per parent row, given the parent's
    context columns (one row per parent, parents without events included). ``run``: the
    table's rules (real events breaking a declared one left out, the rest kept as the
    events are drawn: synthgen.sequences.rules)."""
    tp = plan.tables[t]
    assert tp.context is not None
    from synthgen.relational import frames as rf
    from synthgen.sequences.model import SequenceModel
    from synthgen.sequences.rules import StepRules

    p = tp.context.ref_table
    idx = rf.parent_index(lt.frames[t], tp.context, lt.frames[p])
    data, schema = lt.features[t].reset_index(drop=True), lt.schemas[t]
    ents = parents(lt.features[p], lt.contexts.get(p), lt.context_columns[p])
    model = SequenceModel(ENTITY, order, params, anchor=_anchor(lt, t, p, order, idx, ents))
    if run is not None:
        data, schema = run.fit_frame(data)
        idx = idx if run.kept_ is None else idx[run.kept_]
    data = data.copy()
    data[ENTITY] = idx.astype(str)
    model.fit(  # as every table of a relational model: a run scrubs labels first
        data, entities=ents, schema=schema, seed=seed, table=t, embedded_pii="keep"
    )
    if run is not None and run.sampler is not None:
        model.rules_ = StepRules(run.sampler, model, t)
    return model


def keep_rules(models: dict[str, SequenceModel], samplers: dict[str, RuleSampler]) -> None:
    """A loaded model's sequence tables keep their rules as they draw (as after the fit)."""
    from synthgen.sequences.rules import StepRules

    for t, model in models.items():
        if t in samplers:
            model.rules_ = StepRules(samplers[t], model, t)


def parents(feats: pd.DataFrame, ctx: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """One row per parent row (indexed by its position as text): what its children see."""
    cf = context_frame(feats, ctx, columns).reset_index(drop=True)
    cf.index = pd.Index([str(i) for i in range(len(cf))])
    return cf


def sample(
    model: SequenceModel,
    feats: pd.DataFrame,
    ctx: pd.DataFrame | None,
    columns: list[str],
    n_per: np.ndarray,
    seed: int,
    exclude: dict[str, set[str]] | None = None,
) -> pd.DataFrame:
    """The events of every synthetic parent (``n_per[i]`` for parent ``i``), parent by
    parent in order, each parent's in time order: the rows ``np.repeat`` of the parents
    gives. The entity column is left out (the caller fills the foreign key)."""
    ents = parents(feats, ctx, columns)
    body = model.sample(entities=ents, lengths=n_per, seed=seed, exclude=exclude)
    got = pd.to_numeric(body[ENTITY]).to_numpy(np.int64)
    assert np.array_equal(got, np.repeat(np.arange(len(n_per)), n_per.astype(np.int64)))
    return body.drop(columns=[ENTITY])


def _anchor(
    lt: Learnt, t: str, p: str, order: str, idx: np.ndarray, ents: pd.DataFrame
) -> str | None:
    """The parent's own time column the events start after (an admission's admit time for
    its lab events), if one lies near the first events (see synthgen.sequences.anchor)."""
    from synthgen.sequences import anchor

    if lt.schemas[t][order].kind != "datetime":
        return None
    times = anchor.seconds(lt.frames[t][order], True)
    first = np.full(len(ents), np.nan)
    ok = (idx >= 0) & ~np.isnan(times)
    np.fmin.at(first, idx[ok], times[ok])
    cands = [c for c in ents.columns if c in lt.schemas[p] and lt.schemas[p][c].kind == "datetime"]
    return anchor.choose(ents, cands, first, True)
