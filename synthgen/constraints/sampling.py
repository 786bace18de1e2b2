"""Sampling under rules: draw, map back, repair, and resample the rows that still break a
rule (or a condition on a column the model no longer holds), with a cap and a clear error.

Every extra draw has its own seed, a function of (seed, round), so the same recipe and seed
give the same rows."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthgen.constraints.check import Checker, as_number, key_of
from synthgen.constraints.enforce import Enforcer
from synthgen.constraints.spec import describe, title
from synthgen.errors import DataError

MAX_ROUNDS = 12
MIN_PROBE = 2000  # rows drawn before an acceptance rate of 0 is called hopeless
MIN_BATCH = 256
MAX_GIVEN_DRAWS = 200_000  # rows drawn in one round when each is drawn given its context
CHUNK = 50_000  # rows finished at a time: post.SAMPLE_CHUNK_ROWS, as `synthgen sample`


def round_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, 31337, k]).generate_state(1)[0])


class RuleSampler:
    def __init__(
        self,
        enforcer: Enforcer,
        checker: Checker,
        labels: list[str],
        modelled: set[str],
    ) -> None:
        self.enforcer, self.checker, self.labels = enforcer, checker, labels
        self.modelled = modelled
        self.resampled = 0
        self.rounds = 0

    def split_conditions(
        self, conditions: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(conditions the model takes, conditions checked on the finished rows)."""
        if not conditions:
            return None, {}
        gone = self.enforcer.consumed() | {c for c in conditions if c not in self.modelled}
        model = {k: v for k, v in conditions.items() if k not in gone}
        # a column blanked after sampling (a null rule's) may lose the value asked for
        blanked = self.enforcer.blanked() | gone
        return (model or None), {k: v for k, v in conditions.items() if k in blanked}

    def draw(
        self, gen: Any, n: int, seed: int, model_cond: Any, **kw: Any
    ) -> tuple[pd.DataFrame, np.ndarray]:
        body = gen.sample(n, seed=seed, conditions=model_cond, **kw)
        out, stray = self.enforcer.inverse(body)
        return self.enforcer.repair(out, seed), stray

    def across_rows(self) -> set[int]:
        """Rules whose verdict on a row depends on the other rows (duplicates; a key the
        training rows never had, whose rows must agree among themselves)."""
        return {
            i for i, r in enumerate(self.checker.rules) if r.type in ("unique", "determined_by")
        } - self.enforcer.exact()

    def bad(
        self,
        df: pd.DataFrame,
        post: dict[str, Any],
        stray: np.ndarray | None = None,
        only: set[int] | None = None,
    ) -> np.ndarray:
        """Rows breaking a rule (``only``: just those rules) or a condition checked here."""
        skip = set(self.enforcer.exact())
        if only is not None:
            skip |= set(range(len(self.checker.rules))) - only
        bad = self.checker.any_bad(df, skip)
        if only is not None:
            return bad
        if stray is not None:
            bad |= stray
        for col, want in post.items():
            bad |= ~_meets(df, col, want)
        return bad

    def sample(
        self,
        gen: Any,
        n: int,
        seed: int,
        conditions: dict[str, Any] | None,
        draw: Any = None,
        **kw: Any,
    ) -> pd.DataFrame:
        """``n`` rows obeying every rule: the generator's rows (``draw``: what draws them in
        place of ``gen.sample``), then each block of ``CHUNK`` rows finished as `synthgen
        sample` finishes its chunks (same rows). ``context`` (in ``kw``): one parent row per
        row, for a model fitted with one; a row drawn again is drawn given its own."""
        model_cond, post = self.split_conditions(conditions)
        ctx = kw.pop("context", None)
        given = {} if ctx is None else {"context": ctx}
        body = (draw or gen.sample)(n, seed=seed, conditions=model_cond, **given, **kw)
        kw = {k: v for k, v in kw.items() if k != "progress"}
        parts = [
            self.finish_chunk(
                gen,
                body.iloc[i : i + CHUNK],
                seed,
                model_cond,
                post,
                context=None if ctx is None else ctx.iloc[i : i + CHUNK],
                **kw,
            )
            for i in range(0, max(n, 1), CHUNK)
        ]
        return parts[0] if len(parts) == 1 else pd.concat(parts)

    def finish_chunks(
        self,
        gen: Any,
        chunks: Iterator[pd.DataFrame],
        seed: int,
        model_cond: dict[str, Any] | None,
        post: dict[str, Any],
        locale: str,
    ) -> Iterator[pd.DataFrame]:
        """`synthgen sample`'s chunks, each finished as :meth:`sample` finishes them."""
        for body in chunks:
            yield self.finish_chunk(gen, body, seed, model_cond, post, locale=locale)

    def finish_chunk(
        self,
        gen: Any,
        body: pd.DataFrame,
        seed: int,
        model_cond: dict[str, Any] | None,
        post: dict[str, Any],
        context: pd.DataFrame | None = None,
        **kw: Any,
    ) -> pd.DataFrame:
        """A chunk of the generator's rows (indexed by row number) mapped back, repaired,
        and its rows that still break a rule replaced by rows drawn with seeds of (seed,
        the chunk's first row, round); ``context``: the chunk's context rows (in order),
        each replacement drawn given the context of the row it replaces."""
        out, stray = self.enforcer.inverse(body)
        out = self.enforcer.repair(out, seed)
        if not len(out):
            return out
        first, base = out.dtypes, round_seed(seed, int(out.index[0]))
        bad = self.bad(out, post, stray)
        drawn, kept = len(out), len(out) - int(bad.sum())
        k = 0
        while bad.any():
            k += 1
            if k > MAX_ROUNDS or (kept == 0 and drawn >= MIN_PROBE):
                raise self._hopeless(out, bad, kept, drawn, post)
            need = int(bad.sum())
            rate = max(kept / drawn, 0.01)
            if context is None:
                m = max(MIN_BATCH, math.ceil(1.25 * need / rate))
                extra, extra_stray = self.draw(gen, m, round_seed(base, k), model_cond, **kw)
                ok = ~self.bad(extra, post, extra_stray)
                slots = np.flatnonzero(bad)[: int(ok.sum())]
                pick = np.flatnonzero(ok)[: len(slots)]
            else:
                slots, pick, extra, ok = self._redraw_given(
                    gen, np.flatnonzero(bad), context, rate, round_seed(base, k), post, **kw
                )
                m = len(extra)
            drawn, kept = drawn + m, kept + int(ok.sum())
            if len(slots):
                fill = extra.iloc[pick].set_axis(out.index[slots])
                keep = np.ones(len(out), bool)
                keep[slots] = False
                out = _dtypes_like(pd.concat([out[keep], fill]).sort_index(), first)
                self.resampled += len(slots)
                bad[slots] = False  # the new rows pass every rule on their own
            across = self.across_rows()
            if across:
                bad |= self.bad(out, post, only=across)
        self.rounds = max(self.rounds, k)
        return out

    def _redraw_given(
        self,
        gen: Any,
        rows: np.ndarray,
        context: pd.DataFrame,
        rate: float,
        seed: int,
        post: dict[str, Any],
        **kw: Any,
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
        """Each of ``rows`` (positions in the chunk) drawn again ``reps`` times given its own
        context row; the first draw obeying every rule replaces it. Returns (the rows
        replaced, the draws replacing them, every draw, which draws obey)."""
        need = len(rows)
        reps = max(math.ceil(1.25 / rate), math.ceil(MIN_BATCH / need))
        reps = max(1, min(reps, MAX_GIVEN_DRAWS // need))
        take = np.tile(rows, reps)
        given = context.iloc[take].reset_index(drop=True)
        extra, stray = self.draw(gen, len(take), seed, None, context=given, **kw)
        ok = ~self.bad(extra, post, stray)
        hits = ok.reshape(reps, need)
        found = hits.any(axis=0)
        pick = hits.argmax(axis=0)[found] * need + np.flatnonzero(found)
        return rows[found], pick, extra, ok

    def _hopeless(
        self, out: pd.DataFrame, bad: np.ndarray, kept: int, drawn: int, post: dict[str, Any]
    ) -> DataError:
        counts = self.checker.counts(out)
        worst = int(np.argmax(counts)) if counts and max(counts) > 0 else None
        if worst is not None:
            name = self.labels[worst]
            what = f"{name} is broken by {counts[worst]:,} of {len(out):,} sampled rows"
        else:
            what = f"the conditions on {', '.join(post)} are met too rarely"
        return DataError(
            f"cannot sample rows that obey every rule: {what}; {kept:,} of {drawn:,} drawn "
            f"rows were usable, {int(bad.sum()):,} rows still missing after resampling",
            hint="check that the rule holds on the real data (`synthgen inspect` lists what "
            "it always obeys), relax it, or drop it from constraints:",
        )


def _dtypes_like(out: pd.DataFrame, ref: pd.Series) -> pd.DataFrame:
    """Concatenated chunks with other label sets come back as object: categories again."""
    for c in out.columns:
        if isinstance(ref[c], pd.CategoricalDtype) and out[c].dtype != ref[c]:
            out[c] = out[c].astype("category")
    return out


def _meets(df: pd.DataFrame, col: str, want: Any) -> np.ndarray:
    """A recipe condition (value, list of values, {min, max}) on finished rows."""
    if isinstance(want, dict):
        v = as_number(df, col)
        ok = ~np.isnan(v)
        with np.errstate(invalid="ignore"):
            if want.get("min") is not None:
                ok &= v >= _num(want["min"])
            if want.get("max") is not None:
                ok &= v <= _num(want["max"])
        return ok
    values = want if isinstance(want, list) else [want]
    keys = set(key_of(pd.DataFrame({col: pd.Series(values, dtype=object)}), [col]))
    keys |= {str(v) for v in values}
    return key_of(df, [col]).isin(keys).to_numpy()


def _num(v: Any) -> float:
    if isinstance(v, str):
        return float(pd.Timestamp(v).value / 1e9)
    return float(v)


def label_rules(
    rules: list[Any], origins: list[str], indices: Sequence[int] | None = None
) -> list[str]:
    """How reports and messages name each rule; ``indices``: the declared rules' positions
    in the recipe (default: their positions in ``rules``)."""
    at = list(indices) if indices is not None else list(range(len(rules)))
    return [
        describe(at[i], r) if o == "declared" else f"detected rule ({title(r)})"
        for i, (r, o) in enumerate(zip(rules, origins, strict=True))
    ]
