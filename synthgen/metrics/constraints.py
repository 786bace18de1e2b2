"""Rules the synthetic rows must obey: the run's declared and kept rules, counted."""

from __future__ import annotations

from synthgen.metrics.base import Context, Result, register

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
    from synthgen.constraints.check import Checker
    from synthgen.constraints.spec import rule_from_json

    opts = ctx.options.get("constraints", {})
    raw = opts.get("rules") or []
    if not raw:
        return Result(0.0, {"rules": 0}, skipped="no constraints declared or kept for this run")
    rules = [rule_from_json(r) for r in raw]
    labels = opts.get("labels") or [f"{r.type} {r.key()}" for r in rules]
    usable = [
        i for i, r in enumerate(rules) if all(c in ctx.synthetic.columns for c in r.columns())
    ]
    learned = opts.get("learned")
    if learned is not None:  # the combinations and lookups the run itself kept
        kept = {str(j): learned.get(str(i)) for j, i in enumerate(usable) if str(i) in learned}
        checker = Checker.restore([rules[i] for i in usable], ctx.schema, kept)
    else:
        checker = Checker([rules[i] for i in usable], ctx.schema, ctx.train)
    per: dict[str, int] = {}
    for j, i in enumerate(usable):
        per[labels[i]] = int(checker.mask(j, ctx.synthetic).sum())
    details = {
        "rules": len(rules),
        "per_rule": per,
        "not_checked": [labels[i] for i in range(len(rules)) if i not in usable],
    }
    return Result(float(sum(per.values())), details)
