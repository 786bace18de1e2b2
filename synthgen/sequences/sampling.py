"""Drawing sequences step by step: step 0 of every entity comes with its length and start
from the entity model; step ``t`` of every entity still running is drawn at once by the step
model given the step before (one network call per step, vectorised across entities). Step
``t`` of entity ``i`` is row ``i`` of the stream (seed, t): counted, so an entity's sequence
does not depend on which other entities are drawn with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthgen.fixtures import rng as crng
from synthgen.generators.autoreg.generator import AutoregGenerator
from synthgen.progress import Progress
from synthgen.sequences import frames as fr

if TYPE_CHECKING:
    from synthgen.sequences.model import SequenceModel


def sub_seed(seed: int, *parts: str) -> int:
    return crng.key(seed, "sequence", *parts) % (2**31)


def _empty(gen: AutoregGenerator, n: int, labels: set[str]) -> dict[str, np.ndarray]:
    return {
        c: np.full(n, None, dtype=object) if c in labels else np.full(n, np.nan)
        for c in gen.modelled_
    }


def draw_steps(
    m: SequenceModel,
    attrs: pd.DataFrame,
    drawn: pd.DataFrame,
    length: np.ndarray,
    start: np.ndarray,
    seed: int,
    progress: bool,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(the step model's frame of every step, each step's entity, each step's time), sorted
    by entity then step. ``drawn``: the entity model's draws (first-step values)."""
    from synthgen.sequences.rules import later_steps

    gen = m.step_model_
    assert isinstance(gen, AutoregGenerator) and gen.context_ is not None
    static = drawn[m.statics_].reset_index(drop=True)
    labels = {c for c in gen.modelled_ if gen.schema_[c].kind not in fr.NUMBER_KINDS}
    last = _empty(gen, len(length), labels)
    for c in m.firsts_:  # step 0: the entity model's first-step values
        col = drawn[fr.FIRST + c]
        last[c] = col.astype(object).where(col.notna(), None).to_numpy(dtype=object, copy=True)
        if c not in labels:
            last[c] = last[c].astype(float)
    last[fr.GAP] = np.zeros(len(length))
    act = np.flatnonzero(length > 0)
    parts = [pd.DataFrame({c: v[act] for c, v in last.items()})]
    ents, steps, times = [act], [np.zeros(len(act), np.int64)], [start[act]]
    prev_time = start.copy()
    unit = m.order_.unit or 1.0
    cols = list(m.firsts_) + [fr.GAP]
    top = int(length.max()) if len(length) else 0
    with Progress("sampling steps", top, enabled=progress and top > 1) as bar:
        for t in range(1, top):
            act = np.flatnonzero(length > t)
            prev = pd.DataFrame({c: last[c][act] for c in [fr.GAP, *m.firsts_]})
            ctx = fr.step_context(
                attrs.iloc[act].reset_index(drop=True), length[act], start[act],
                np.full(len(act), t), prev, prev_time[act], m.order_,
            )  # fmt: skip
            rows, cf = act.astype(np.int64), gen.context_.frame(ctx)
            body = gen.draw_rows(rows, sub_seed(seed, "step", str(t)), None, cf)
            body[fr.GAP] = np.clip(body[fr.GAP].to_numpy(float), 0, None)
            before = {c: last[c][act] for c in m.deltas_}
            body = fr.undelta(body, before, m.deltas_, m.bounds_, m.complete_, m.logged_)
            own = static.iloc[act].reset_index(drop=True)  # events breaking a rule: again
            body = later_steps(m, body, rows, cf, before, prev_time[act], own, seed, t)
            now = prev_time[act] + body[fr.GAP].to_numpy(float) * unit
            for c in cols:
                last[c][act] = body[c].to_numpy()
            prev_time[act] = now
            parts.append(body)
            ents.append(act)
            steps.append(np.full(len(act), t))
            times.append(now)
            bar.update(t + 1)
    ent, stp = np.concatenate(ents), np.concatenate(steps)
    idx = np.lexsort((stp, ent))
    body = pd.concat(parts, ignore_index=True).iloc[idx].reset_index(drop=True)
    return body, ent[idx], np.concatenate(times)[idx]
