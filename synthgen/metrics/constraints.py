"""Rules the synthetic rows must obey: the run's declared and kept rules, counted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synthgen.metrics.base import Context, Result, register

if TYPE_CHECKING:
    import pandas as pd

    from synthgen.schema.spec import Schema

MAX_EXAMPLES = 3


@register(
    "constraint_violations",
    "schema",
    "lower",
    (0.0, float("inf")),
    "synthetic rows breaking a declared or kept rule (constraints:), summed over rules",
)
def constraint_violations(ctx: Context) -> Result:
    """Rows of the synthetic table that break each rule the run declared or kept (combinations
    and lookups the run learnt, else learnt from the training rows); the value is the sum over
    rules and must be 0.
    Skipped when the run has no rules (``synthgen validate`` alone has none)."""
    opts = ctx.options.get("constraints", {})
    tables = opts.get("tables")
    if tables and ctx.cache.get("datasets") is not None:  # a multi-table run: every table's
        from synthgen.schema.spec import Schema

        train, syn = ctx.cache["datasets"][0], ctx.cache["datasets"][2]
        per: dict[str, int] = {}
        unchecked: list[str] = []
        n = 0
        for t, o in tables.items():
            schema = Schema.model_validate(o["schema"])
            got = _count(o, syn[t], train[t], schema)
            if got is not None:
                per.update(got[0])
                unchecked += got[1]
                n += len(o.get("rules") or [])
        details = {"rules": n, "per_rule": per, "not_checked": unchecked}
        return Result(float(sum(per.values())), details)
    got = _count(opts, ctx.synthetic, ctx.train, ctx.schema)
    if got is None:
        return Result(0.0, {"rules": 0}, skipped="no constraints declared or kept for this run")
    details = {"rules": len(opts["rules"]), "per_rule": got[0], "not_checked": got[1]}
    return Result(float(sum(got[0].values())), details)


def _count(
    opts: dict[str, Any], synthetic: pd.DataFrame, train: pd.DataFrame, schema: Schema
) -> tuple[dict[str, int], list[str]] | None:
    """Rows of ``synthetic`` breaking each rule (by label) and the rules not checked (a
    column the run did not write); None without rules."""
    from synthgen.constraints.check import Checker
    from synthgen.constraints.spec import rule_from_json

    raw = opts.get("rules") or []
    if not raw:
        return None
    rules = [rule_from_json(r) for r in raw]
    labels = opts.get("labels") or [f"{r.type} {r.key()}" for r in rules]
    usable = [i for i, r in enumerate(rules) if all(c in synthetic.columns for c in r.columns())]
    learned = opts.get("learned")
    if learned is not None:  # the combinations and lookups the run itself kept
        kept = {str(j): learned.get(str(i)) for j, i in enumerate(usable) if str(i) in learned}
        checker = Checker.restore([rules[i] for i in usable], schema, kept)
    else:
        checker = Checker([rules[i] for i in usable], schema, train)
    per = {labels[i]: int(checker.mask(j, synthetic).sum()) for j, i in enumerate(usable)}
    return per, [labels[i] for i in range(len(rules)) if i not in usable]
