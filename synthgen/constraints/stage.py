"""The run's rules, in one object the pipeline calls at its stages: the declared ones
checked against the data, the detected ones kept (unless dropped, or the run is private),
real rows that break a declared rule reported and left out of the fit, the frame the
generator learns, sampling under the rules, and what the report and the gate need."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.constraints.check import LEGACY_NULL, NULL_PART, Checker
from synthgen.constraints.detect import Found, detect_rules
from synthgen.constraints.enforce import Enforcer
from synthgen.constraints.sampling import RuleSampler, label_rules
from synthgen.constraints.spec import ConstraintsSpec, describe
from synthgen.errors import DataError, RecipeError
from synthgen.schema.spec import Schema

EXAMPLES = 3
STATE_FILE = "constraints.json"
STATE_FORMAT = 2  # 2: a key's missing part is check.NULL_PART (1 wrote a NUL)
PRIVATE_NOTE = (
    "constraints: {n} rule(s) the training rows obey were not kept, because finding them "
    "reads the data outside the privacy budget; declare the ones you know under "
    "constraints: to keep them"
)
LOOKUP_NOTE = (
    "declared rule {label} learns its {what} from the training rows without noise (the "
    "privacy budget does not cover it)"
)


def check_declared(
    spec: ConstraintsSpec,
    schema: Schema,
    table: str,
    owned: Sequence[str] = (),
    tables: bool = False,
) -> None:
    """Every column a declared rule names exists and has a kind the rule can use (``tables``:
    one table of several, whose kinds a recipe's ``schema:`` does not set)."""
    names = schema.names
    problems = []
    fix = "use another rule type" if tables else "set schema.{c}.kind or use another rule type"
    for i, r in enumerate(spec.rules):
        if r.table is not None and r.table != table:
            problems.append(
                f"{describe(i, r)}: no table '{r.table}' in this one-table run (its table is "
                f"'{table}'); write table: {table}, or leave table: out"
            )
            continue
        if r.type in ("format", "unique") and set(r.columns()) & set(owned):
            problems.append(
                f"{describe(i, r)}: pii.consistent gives '{r.columns()[0]}' pseudonyms, "
                "which this rule would overwrite; remove the rule or the column from "
                "pii.consistent"
            )
        for c in r.columns():
            if c not in names:
                problems.append(f"{describe(i, r)}: no column '{c}' in {table}")
        for c in r.numeric_columns():
            if c in names and schema[c].kind not in ("numeric", "integer", "datetime"):
                problems.append(
                    f"{describe(i, r)}: column '{c}' is {schema[c].kind}, not a number or "
                    f"date; {fix.format(c=c)}"
                )
        if r.type in ("fixed_combinations", "determined_by"):
            problems += [
                f"{describe(i, r)}: column '{c}' is {schema[c].kind}: its values are "
                "written by fakes or generated, not learnt, so no rule can tie them to other "
                f"columns; {'remove the rule' if tables else fix.format(c=c)}"
                for c in (r.columns() if r.type == "fixed_combinations" else [r.column])
                if c in names and schema[c].kind in ("pii", "id", "text")
            ]
    if problems:
        raise RecipeError("constraints do not fit the data:", problems=problems)


class ConstraintRun:
    def __init__(
        self,
        spec: ConstraintsSpec,
        schema: Schema,
        train: pd.DataFrame,
        *,
        private: bool,
        table: str = "the source",
        warnings: list[str] | None = None,
        owned: list[str] | tuple[str, ...] = (),
        hidden: Sequence[str] = (),
        indices: Sequence[int] | None = None,
        tables: bool = False,
        protect: Sequence[str] = (),
    ) -> None:
        """``protect``: columns no rule reparametrises (see ``Enforcer``). ``owned``:
        columns a later step writes whatever the model samples (pseudonymised
        keys): no detected rule uses them, and a declared format rule on one is refused.
        ``hidden``: the model's own columns in ``train`` (a relational model's counts and
        matches), which no detected rule uses. ``indices``: each declared rule's position in
        the recipe (default: its position in ``spec``), as messages name it. ``tables``: the
        source holds several tables, so detected rules name theirs (``table``)."""
        check_declared(spec, schema, table, owned, tables)
        self.schema, self.private, self.table = schema, private, table
        self.protect = frozenset(protect)
        self.warnings = warnings if warnings is not None else []  # the run's own list
        declared = list(spec.rules)
        found: list[Found] = []
        self.left_out = 0
        if spec.detect:
            found = _detect(train, schema, hidden)
            if tables:
                found = [
                    Found(f.rule.model_copy(update={"table": table}), f.evidence) for f in found
                ]
            seen = {(r.type, r.key()) for r in declared}
            found = [f for f in found if (f.rule.type, f.rule.key()) not in seen]
            found = [f for f in found if not _dropped(f, [*spec.drop, *owned])]
            if private and found:
                self.left_out = len(found)
                self.warnings.append(PRIVATE_NOTE.format(n=len(found)))
                found = []
        self.rules = declared + [f.rule for f in found]
        self.origins = ["declared"] * len(declared) + ["detected"] * len(found)
        self.evidence: list[dict[str, Any]] = [{}] * len(declared) + [f.evidence for f in found]
        self.labels = label_rules(self.rules, self.origins, indices)
        self.real: list[dict[str, Any]] = []
        self.sampler: RuleSampler | None = None
        self.kept_: np.ndarray | None = None  # the training rows the fit kept

    def dp_notes(self) -> list[str]:
        """What the privacy ledger must say: declared rules that read the data."""
        what = {"fixed_combinations": "combinations", "determined_by": "lookup table"}
        return [
            LOOKUP_NOTE.format(label=lab, what=what[r.type])
            for r, lab in zip(self.rules, self.labels, strict=True)
            if r.type in what
        ]

    def fit_frame(self, train: pd.DataFrame) -> tuple[pd.DataFrame, Schema]:
        """The frame and schema the generator learns: real rows breaking a declared rule
        left out (reported), rules reparametrised where they can be."""
        if not self.rules:
            return train, self.schema
        checker = Checker(self.rules, self.schema, train)
        bad = np.zeros(len(train), bool)
        for i, (r, lab) in enumerate(zip(self.rules, self.labels, strict=True)):
            m = checker.mask(i, train)
            if m.any():
                bad |= m
                rows = train[m].head(EXAMPLES)[r.columns()]
                self.real.append(
                    {"rule": lab, "rows": int(m.sum()), "examples": _examples(rows, self.schema)}
                )
                self.warnings.append(
                    f"{lab}: {int(m.sum()):,} real row(s) break it (e.g. "
                    f"{'; '.join(_examples(rows, self.schema))}); the fit leaves them out"
                )
        kept = train[~bad].reset_index(drop=True)
        self.kept_ = ~bad
        if len(kept) < 2:
            raise DataError(
                f"only {len(kept)} training row(s) of {self.table} obey every declared rule",
                hint="check the rules against the data (`synthgen inspect`) or drop them",
            )
        self.enforcer = Enforcer(self.rules, self.schema, self.protect)
        frame, schema = self.enforcer.fit(kept)
        checker = Checker(self.rules, self.schema, kept)
        self.sampler = RuleSampler(self.enforcer, checker, self.labels, set(schema.names))
        self.dropped_rows = int(bad.sum())
        return frame, schema

    def sample(
        self,
        gen: Any,
        n: int,
        *,
        seed: int,
        conditions: dict[str, Any] | None,
        draw: Any = None,
        **kw: Any,
    ) -> pd.DataFrame:
        """``draw``: what draws the model's ``n`` rows in place of ``gen.sample`` (the same
        arguments, the same rows; e.g. on Ray). Resampled rows are drawn here."""
        if self.sampler is None:
            return (draw or gen.sample)(n, seed=seed, conditions=conditions, **kw)
        return self.sampler.sample(gen, n, seed, conditions, draw=draw, **kw)

    def finish(self, syn: pd.DataFrame, seed: int) -> pd.DataFrame:
        """After PII and text: the row-by-row rules once more (a fake may miss a format)."""
        if self.sampler is None:
            return syn
        return self.enforcer.repair(syn, seed, attempt=1)

    def options(self) -> dict[str, dict[str, Any]]:
        """The ``constraints`` metric's settings: the rules it counts violations of."""
        rules = [r.model_dump(mode="json", by_alias=True) for r in self.rules]
        opts: dict[str, Any] = {"rules": rules, "labels": self.labels}
        if self.sampler is not None:  # what the run learnt (from the rows after PII scrubbing)
            opts["learned"] = self.sampler.checker.to_json()
        return {"constraints": opts}

    def summary(self) -> dict[str, Any]:
        enf = getattr(self, "enforcer", None)
        return {
            "rules": [
                {
                    "id": r.key(),
                    "label": lab,
                    "origin": o,
                    "rule": r.model_dump(mode="json", by_alias=True),
                    "evidence": ev,
                    "enforced": enf.how(i) if enf is not None else "none",
                }
                for i, (r, lab, o, ev) in enumerate(
                    zip(self.rules, self.labels, self.origins, self.evidence, strict=True)
                )
            ],
            "real_violations": self.real,
            "real_rows_left_out": getattr(self, "dropped_rows", 0),
            "detected_left_out_for_privacy": self.left_out,
            "resampled_rows": self.sampler.resampled if self.sampler else 0,
        }

    def state(self) -> dict[str, Any] | None:
        """The rules and the enforcer's state as JSON (None: nothing to keep when sampling)."""
        if self.sampler is None:
            return None
        return {
            "format": STATE_FORMAT,
            "rules": [r.model_dump(mode="json", by_alias=True) for r in self.rules],
            "labels": self.labels,
            "schema": self.schema.model_dump(mode="json"),
            "enforcer": self.enforcer.to_json(),
            "checker": self.sampler.checker.to_json(),
        }

    def save(self, folder: Path) -> None:
        """The rules and the enforcer's state, for `synthgen sample` (JSON, no code)."""
        state = self.state()
        if state is None:
            return
        (Path(folder) / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
        from synthgen.io.atomic import write_manifest

        write_manifest(Path(folder))  # the folder's list of files includes it


def _detect(train: pd.DataFrame, schema: Schema, hidden: Sequence[str]) -> list[Found]:
    if not hidden:
        return detect_rules(train, schema)
    cols = [c for c in schema.columns if c.name not in set(hidden)]
    return detect_rules(train[[c.name for c in cols]], Schema(columns=cols))


def _dropped(f: Found, drop: list[str]) -> bool:
    return any(d == f.rule.key() or d in f.rule.columns() for d in drop)


def _examples(rows: pd.DataFrame, schema: Schema) -> list[str]:
    """Example values, never of a PII or id column (those show as ***)."""
    out = []
    for _, row in rows.iterrows():
        parts = []
        for c, v in row.items():
            hidden = c in schema and schema[str(c)].kind in ("pii", "id", "text")
            parts.append(f"{c}={'***' if hidden else v!r}")
        out.append(", ".join(parts))
    return out


def load_rules(model_dir: Path) -> RuleSampler | None:
    """A model folder's rules, for `synthgen sample` (None when it has none). Reads JSON
    only; a damaged file is a UsageError naming it."""
    from pydantic import ValidationError

    from synthgen.generators.folder import damaged
    from synthgen.io.jsonfile import BadJson, MiB, read_json

    p = Path(model_dir) / STATE_FILE
    if not p.exists():
        return None
    try:
        return restore_sampler(read_json(p, max_bytes=1024 * MiB))
    except BadJson as err:
        raise damaged(Path(model_dir), [f"{STATE_FILE}: {err.reason}"]) from None
    except (ValidationError, KeyError, TypeError, ValueError) as err:
        raise damaged(Path(model_dir), [f"{STATE_FILE}: {type(err).__name__}"]) from None


def restore_sampler(state: dict[str, Any]) -> RuleSampler:
    """A sampler from :meth:`ConstraintRun.state` (a KeyError, TypeError, ValueError or
    ValidationError when the state is damaged)."""
    from synthgen.constraints.spec import rule_from_json

    rules = [rule_from_json(r) for r in state["rules"]]
    schema = Schema.model_validate(state["schema"])
    if int(state.get("format", 1)) < 2:
        state = _keys_from_format_1(state)
    enforcer = Enforcer.restore(rules, schema, state["enforcer"])
    checker = Checker.restore(rules, schema, state["checker"])
    labels = [str(x) for x in state["labels"]]
    return RuleSampler(enforcer, checker, labels, set(enforcer.order_))


def _keys_from_format_1(state: dict[str, Any]) -> dict[str, Any]:
    """A format-1 state's keys (the combinations seen, a lookup's keys) with the missing
    part written as format 2 writes it; the rest as it is."""

    def fix(v: Any) -> Any:
        return v.replace(LEGACY_NULL, NULL_PART) if isinstance(v, str) else v

    checker = {
        i: [fix(k) for k in v] if isinstance(v, list) else {fix(k): fix(x) for k, x in v.items()}
        for i, v in state["checker"].items()
    }
    steps = [
        {**s, "keys": [fix(k) for k in s["keys"]]} if s.get("how") == "lookup" else s
        for s in state["enforcer"]["steps"]
    ]
    return {**state, "checker": checker, "enforcer": {**state["enforcer"], "steps": steps}}


def saved_options(model_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``constraints`` metric's settings as the run that saved ``model_dir`` had them
    (for `synthgen validate RUN_FOLDER`); empty when the run had no rules."""
    r = load_rules(model_dir)  # checks the file
    if r is None:
        return {}
    from synthgen.io.jsonfile import MiB, read_json

    state = read_json(Path(model_dir) / STATE_FILE, max_bytes=1024 * MiB)
    return {"constraints": {"rules": state["rules"], "labels": [str(x) for x in state["labels"]]}}


class SampleRules:
    """`synthgen sample` under a model folder's rules (none: rows pass through unchanged):
    the conditions the model takes, and each chunk mapped back, repaired and resampled,
    then post-processed (``post``), then repaired once more as `run` does."""

    def __init__(self, model_dir: Path, where: dict[str, Any] | None) -> None:
        self.rules = load_rules(model_dir)
        self.model_where: dict[str, Any] | None = where
        self.post_where: dict[str, Any] = {}
        if self.rules is not None:
            self.model_where, self.post_where = self.rules.split_conditions(where)

    def finish(
        self,
        gen: Any,
        chunks: Iterator[pd.DataFrame],
        post: Callable[[pd.DataFrame], pd.DataFrame],
        seed: int,
        locale: str,
    ) -> Iterator[pd.DataFrame]:
        r = self.rules
        if r is None:
            yield from (post(df) for df in chunks)
            return
        for df in r.finish_chunks(gen, chunks, seed, self.model_where, self.post_where, locale):
            yield r.enforcer.repair(post(df), seed, 1)
