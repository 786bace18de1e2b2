"""Rules on a sequence table's events (``constraints:`` of a sequence recipe, or of a
dataset's sequence table), kept while the events are drawn.

What a rule allows by construction is learnt so: the sequence model learns the reparametrised
frame of :mod:`synthgen.constraints.enforce` (a joint label, a gap to a bound, a lookup, a
total), the order column excepted (it is learnt as gaps, so no rule may take it). Every other
rule is met as the events are drawn: the first events that break one are drawn again from the
entity model (that entity drawn anew), and step ``t`` of an entity whose event breaks one is
drawn again given the same step before it (a new gap and new values), up to ``MAX_ROUNDS``
times, then a clear error. Each redraw has its own counted seed (seed, step, round) and each
row its entity's number, so the same seed gives the same sequences; a gap is never negative,
so times keep increasing within every entity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError
from synthgen.sequences import anchor as anchormod
from synthgen.sequences import frames as fr
from synthgen.sequences.sampling import sub_seed
from synthgen.transforms import frame as framemod

if TYPE_CHECKING:
    from synthgen.constraints.sampling import RuleSampler
    from synthgen.sequences.model import SequenceModel

MAX_ROUNDS = 25


class StepRules:
    """The rules a sequence model's draws are checked against, event by event: those not met
    by construction whose columns the draws hold (a PII or text column is written later;
    its format rules are repaired row by row, as in any run)."""

    def __init__(self, sampler: RuleSampler, m: SequenceModel, table: str = "the table") -> None:
        self.sampler, self.table = sampler, table
        later = set(m.columns_) - {*m.firsts_, *m.statics_, m.order}
        exact = sampler.enforcer.exact()
        self.checked = [
            i
            for i, r in enumerate(sampler.checker.rules)
            if i not in exact and not set(r.columns()) & later
        ]
        self.redrawn = 0

    def events(
        self, m: SequenceModel, mf: pd.DataFrame, static: pd.DataFrame, times: np.ndarray
    ) -> pd.DataFrame:
        """Drawn events in the model's columns: values from their model frame ``mf``, the
        entity's own columns ``static`` (one row per event), the order from ``times``; the
        columns written later are empty."""
        n = len(mf)
        own = framemod.from_model_frame(
            mf[m.firsts_].reset_index(drop=True), m.value_schema_, m.firsts_
        )
        cols: dict[str, Any] = {}
        for c in m.columns_:
            if c in own.columns:
                cols[c] = own[c].to_numpy()
            elif c in static.columns:
                cols[c] = static[c].to_numpy()
            elif c == m.order:
                cols[c] = m.order_.restore(times).to_numpy()
            else:
                cols[c] = np.full(n, None, dtype=object)
        return pd.DataFrame(cols)

    def bad(self, events: pd.DataFrame) -> np.ndarray:
        """Events breaking a checked rule, or with a label no inverse can place."""
        out, stray = self.sampler.enforcer.inverse(events)
        bad = stray.copy()
        for i in self.checked:
            bad |= self.sampler.checker.mask(i, out)
        return bad

    def finish(self, values: pd.DataFrame, seed: int) -> pd.DataFrame:
        """Sampled events back in the source's columns, the row-by-row rules repaired."""
        values = values.reset_index(drop=True)
        out, _ = self.sampler.enforcer.inverse(values)
        out = self.sampler.enforcer.repair(out, seed)
        learnt = set(self.sampler.enforcer.order_)
        for c in values.columns:  # the model's own entity column (a dataset's parent)
            if c not in out.columns and c not in learnt:
                out[c] = values[c].to_numpy()
        return out

    def hopeless(self, events: pd.DataFrame, where: str) -> DataError:
        out, _ = self.sampler.enforcer.inverse(events)
        counts = {i: int(self.sampler.checker.mask(i, out).sum()) for i in self.checked}
        worst = max(counts, key=lambda i: counts[i]) if counts else None
        what = (
            f"{self.sampler.labels[worst]} is broken by {counts[worst]:,} of {len(events):,}"
            if worst is not None and counts[worst]
            else f"{len(events):,} draw(s) hold a combination never seen, in"
        )
        return DataError(
            f"{self.table}: cannot draw events that obey every rule: {what} {where} after "
            f"{MAX_ROUNDS} redraws",
            hint="check that the rule holds on the real events (`synthgen inspect` lists what "
            "they always obey), relax it, or drop it from constraints:",
        )


def _replace(frame: pd.DataFrame, other: pd.DataFrame, sel: np.ndarray) -> pd.DataFrame:
    """``frame`` with the rows at positions ``sel`` replaced by ``other``'s (in order)."""
    out = frame.copy()
    for c in frame.columns:
        num = all(pd.api.types.is_numeric_dtype(f[c]) for f in (frame, other))
        kw: dict[str, Any] = {"dtype": float, "na_value": np.nan} if num else {"dtype": object}
        col = frame[c].to_numpy(copy=True, **kw)
        col[sel] = other[c].to_numpy(**kw)
        out[c] = col
    return out


def entity_draws(
    m: SequenceModel,
    n: int,
    seed: int,
    context: pd.DataFrame | None,
    conditions: dict[str, Any] | None,
    entities: pd.DataFrame | None,
    lengths: np.ndarray | None,
) -> pd.DataFrame:
    """The entity model's ``n`` draws (length, start, the entity's own columns and first
    values), each entity whose first event breaks a rule drawn again: round ``k`` draws all
    ``n`` with its own seed (row ``i`` is entity ``i``'s) and takes the breaking ones' rows."""

    def redraw(*k: str) -> pd.DataFrame:
        return m.entity_model_.sample(
            n, seed=sub_seed(seed, "entities", *k), context=context, conditions=conditions
        )

    drawn = redraw()
    rules: StepRules | None = getattr(m, "rules_", None)
    if rules is None or not rules.checked or not len(drawn):
        return drawn

    def bad_of(d: pd.DataFrame) -> np.ndarray:
        mf = pd.DataFrame({c: d[fr.FIRST + c].to_numpy() for c in m.firsts_})
        start = anchormod.sample_starts(m, d, entities)
        count = lengths if lengths is not None else np.rint(d[fr.LEN].to_numpy(float))
        bad = rules.bad(rules.events(m, mf, d[m.statics_].reset_index(drop=True), start))
        return bad & (np.nan_to_num(np.asarray(count, float)) >= 1)

    bad = bad_of(drawn)
    k = 0
    while bad.any():
        k += 1
        sel = np.flatnonzero(bad)
        if k > MAX_ROUNDS:
            mf = pd.DataFrame({c: drawn[fr.FIRST + c].to_numpy()[sel] for c in m.firsts_})
            start = anchormod.sample_starts(m, drawn, entities)[sel]
            ev = rules.events(m, mf, drawn[m.statics_].iloc[sel].reset_index(drop=True), start)
            raise rules.hopeless(ev, "first events")
        drawn = _replace(drawn, redraw("rule", str(k)).iloc[sel], sel)
        rules.redrawn += len(sel)
        bad = bad_of(drawn)
    return drawn


def later_steps(
    m: SequenceModel,
    body: pd.DataFrame,
    rows: np.ndarray,
    ctx: pd.DataFrame,
    before: dict[str, np.ndarray],
    prev_time: np.ndarray,
    static: pd.DataFrame,
    seed: int,
    t: int,
) -> pd.DataFrame:
    """Step ``t`` of the entities ``rows`` (``body``: its model frame, changes already
    added to ``before``), each event breaking a rule drawn again given its own context
    ``ctx`` (a model frame, one row per entity) until none does."""
    rules: StepRules | None = getattr(m, "rules_", None)
    if rules is None or not rules.checked or not len(body):
        return body
    unit = m.order_.unit or 1.0
    gen: Any = m.step_model_

    def bad_of(b: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        times = prev_time[pos] + b[fr.GAP].to_numpy(float) * unit
        return rules.bad(rules.events(m, b, static.iloc[pos].reset_index(drop=True), times))

    bad = bad_of(body, np.arange(len(body)))
    k = 0
    while bad.any():
        k += 1
        sel = np.flatnonzero(bad)
        if k > MAX_ROUNDS:
            times = prev_time[sel] + body[fr.GAP].to_numpy(float)[sel] * unit
            part = body.iloc[sel].reset_index(drop=True)
            ev = rules.events(m, part, static.iloc[sel].reset_index(drop=True), times)
            raise rules.hopeless(ev, f"events at step {t + 1}")
        extra = gen.draw_rows(
            rows[sel], sub_seed(seed, "step", str(t), "rule", str(k)), None,
            ctx.iloc[sel].reset_index(drop=True),
        )  # fmt: skip
        extra[fr.GAP] = np.clip(extra[fr.GAP].to_numpy(float), 0, None)
        was = {c: before[c][sel] for c in m.deltas_}
        extra = fr.undelta(extra, was, m.deltas_, m.bounds_, m.complete_, m.logged_)
        body = _replace(body, extra[body.columns], sel)
        rules.redrawn += len(sel)
        bad[sel] = bad_of(extra[body.columns], sel)
    return body
