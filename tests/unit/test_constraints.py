"""Constraints: each kind holds on sampled rows, the expression evaluator is closed, the
recipe names a bad rule, detection finds what a table always obeys and only that."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.constraints import expr
from synthgen.constraints.check import Checker
from synthgen.constraints.detect import detect_rules
from synthgen.constraints.spec import ConstraintsSpec
from synthgen.constraints.stage import ConstraintRun
from synthgen.errors import DataError, RecipeError
from synthgen.generators import create
from synthgen.recipe import parse_recipe
from synthgen.schema import detect

EVERY_KIND = [
    {"type": "positive", "column": "fare"},
    {"type": "negative", "column": "discount", "strict": False},
    {"type": "range", "column": "passengers", "min": 1, "max": 6},
    {"type": "range", "column": "tip", "min": 0, "max": "fare"},
    {"type": "inequality", "low": "admit", "high": "discharge"},
    {"type": "fixed_combinations", "columns": ["city", "state"]},
    {"type": "determined_by", "column": "level_num", "by": ["level"]},
    {"type": "unique", "columns": ["ref"]},
    {"type": "format", "column": "ref", "regex": r"^[A-Z]{2}-\d{5}$"},
    {"type": "sum", "columns": ["fare", "tip"], "equals": "total", "tolerance": 0.01},
    {"type": "null_if_null", "column": "followup", "if_null": "admit_note"},
    {"type": "expression", "expr": "total >= fare + tip - 0.01 and `tip` <= 100"},
]


def constraint_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A table that obeys every rule of EVERY_KIND."""
    rng = np.random.default_rng(seed)
    places = [("Lyon", "ARA"), ("Grenoble", "ARA"), ("Paris", "IDF"), ("Nice", "PACA")]
    pick = rng.integers(0, len(places), n)
    levels = ["low", "mid", "high", "top"]
    lev = rng.integers(0, 4, n)
    fare = np.round(rng.gamma(3, 10, n) + 1, 2)
    tip = np.round(fare * rng.uniform(0, 0.3, n), 2)
    admit = rng.integers(0, 300, n).astype(float)
    note = np.where(rng.random(n) < 0.2, None, "seen")
    followup = np.where(note == None, np.nan, rng.integers(1, 30, n))  # noqa: E711
    return pd.DataFrame(
        {
            "ref": [
                f"{a}{b}-{k:05d}"
                for a, b, k in zip(
                    rng.choice(list("ABCDEFGH"), n),
                    rng.choice(list("XYZ"), n),
                    rng.permutation(n) + 100,
                    strict=True,
                )
            ],
            "city": [places[i][0] for i in pick],
            "state": [places[i][1] for i in pick],
            "level": [levels[i] for i in lev],
            "level_num": lev + 1,
            "fare": fare,
            "tip": tip,
            "total": np.round(fare + tip, 2),
            "discount": -np.round(rng.exponential(2, n), 1),
            "passengers": rng.integers(1, 7, n),
            "admit": admit,
            "discharge": admit + rng.integers(0, 20, n),
            "admit_note": note,
            "followup": followup,
        }
    )


def _run(df: pd.DataFrame, rules: list[dict], gen: str = "copula", n: int = 800, **kw):
    schema = detect(df)
    run = ConstraintRun(ConstraintsSpec.model_validate(rules), schema, df, private=False)
    frame, fit_schema = run.fit_frame(df)
    g = create(gen, **kw).fit(frame, fit_schema, seed=0)
    syn = run.sample(g, n, seed=3, conditions=None)
    return run, schema, syn


def test_every_kind_holds_on_every_sampled_row():
    df = constraint_table()
    run, schema, syn = _run(df, EVERY_KIND)
    assert list(syn.columns) == list(df.columns) and len(syn) == 800
    counts = Checker(run.rules, schema, df).counts(syn)
    assert counts == [0] * len(run.rules), dict(zip(run.labels, counts, strict=True))
    hows = [run.enforcer.how(i) for i in range(len(EVERY_KIND))]
    assert hows[4].startswith("by construction") and hows[5].startswith("by construction")
    assert hows[6].startswith("by construction") and hows[9].startswith("by construction")
    # a derived column keeps its type; the joint label is split back
    assert syn["level_num"].dtype.kind == "i" and set(syn["state"]) <= {"ARA", "IDF", "PACA"}


@pytest.mark.parametrize("gen", ["autoreg", "ctgan", "tvae"])
def test_every_kind_holds_with_every_generator(gen):
    df = constraint_table(300)
    params = {"epochs": 2} if gen != "autoreg" else {"epochs": 1}
    run, schema, syn = _run(df, EVERY_KIND, gen=gen, n=300, **params)
    assert Checker(run.rules, schema, df).counts(syn) == [0] * len(run.rules)


def test_same_seed_same_rows():
    df = constraint_table(300)
    a = _run(df, EVERY_KIND, n=300)[2]
    b = _run(df, EVERY_KIND, n=300)[2]
    pd.testing.assert_frame_equal(a, b)


def test_real_rows_breaking_a_rule_are_reported_and_left_out():
    df = constraint_table(300)
    df.loc[[3, 7], "discharge"] = df.loc[[3, 7], "admit"] - 5
    rules = [{"type": "inequality", "low": "admit", "high": "discharge"}]
    run, schema, syn = _run(df, rules, n=300)
    assert run.real[0]["rows"] == 2 and len(run.real[0]["examples"]) == 2
    assert "2 real row(s) break it" in " ".join(run.warnings)
    assert "leaves them out" in " ".join(run.warnings)
    assert Checker(run.rules, schema, df).counts(syn) == [0] * len(run.rules)


def test_an_unsatisfiable_rule_is_a_clear_error():
    df = constraint_table(300)
    schema = detect(df)
    spec = ConstraintsSpec.model_validate([{"type": "range", "column": "passengers", "min": 50}])
    run = ConstraintRun(spec, schema, df, private=False)
    with pytest.raises(DataError, match="obey every declared rule"):  # no real row does
        run.fit_frame(df)
    # four cities, 200 rows, all different: capped resampling, then an error naming the rule
    spec = ConstraintsSpec.model_validate(
        {"detect": False, "rules": [{"type": "unique", "columns": ["city"]}]}
    )
    run = ConstraintRun(spec, schema, df, private=False)
    frame, fit_schema = run.fit_frame(df)
    g = create("copula").fit(frame, fit_schema, seed=0)
    with pytest.raises(DataError, match=r"constraints\[0\] \(unique city\) is broken"):
        run.sample(g, 200, seed=0, conditions=None)


def test_conditions_on_a_derived_column_are_met():
    df = constraint_table(400)
    rules = [{"type": "determined_by", "column": "level_num", "by": ["level"]}]
    schema = detect(df)
    run = ConstraintRun(ConstraintsSpec.model_validate(rules), schema, df, private=False)
    frame, fs = run.fit_frame(df)
    g = create("copula").fit(frame, fs, seed=0)
    syn = run.sample(g, 200, seed=0, conditions={"level_num": 3, "city": "Paris"})
    assert set(syn["level_num"]) == {3} and set(syn["level"]) == {"high"}
    assert set(syn["city"]) == {"Paris"}


def test_expression_evaluator_refuses_code():
    for bad in ["__import__('os').system('x') > 0", "a.b > 1", "[a][0] > 1", "(lambda: 1)() > 0"]:
        with pytest.raises(ValueError, match="not allowed"):
            expr.parse(bad)
    with pytest.raises(ValueError, match="comparison"):
        expr.parse("a + b")
    got = expr.evaluate("`a-b` ** 2 >= 4 or not c < 0", {"a-b": [1, 3], "c": [1, -1]})
    assert got.tolist() == [True, True]
    assert not expr.evaluate("10 ** 10 ** 10 < 0", {}).any()  # floats: inf, not a hang


def test_recipe_errors_name_the_rule_and_index():
    base = {"name": "x", "source": {"path": "a.csv"}}
    cases = {
        "constraints[1] (inequality).high": [
            {"type": "positive", "column": "a"},
            {"type": "inequality", "low": "a"},
        ],
        "constraints[0] (expression).expr": [{"type": "expression", "expr": "open('f') > 1"}],
        "constraints[0] (format).regex": [{"type": "format", "column": "a", "regex": "(?<=x)y"}],
    }
    for where, rules in cases.items():
        with pytest.raises(RecipeError) as err:
            parse_recipe({**base, "constraints": rules})
        assert any(p.startswith(where) for p in err.value.problems), err.value.problems


def test_declared_rules_must_fit_the_data():
    df = constraint_table(100)
    spec = ConstraintsSpec.model_validate(
        [
            {"type": "inequality", "low": "admit", "high": "dischrge"},
            {"type": "positive", "column": "city"},
        ]
    )
    with pytest.raises(RecipeError) as err:
        ConstraintRun(spec, detect(df), df, private=False)
    text = " ".join(err.value.problems)
    assert "constraints[0] (inequality admit <= dischrge): no column 'dischrge'" in text
    assert "constraints[1] (positive city > 0): column 'city' is categorical" in text


def test_a_one_table_run_takes_its_own_table_name_and_refuses_another():
    df = constraint_table(100)
    mine = {"type": "positive", "table": "visits", "column": "fare"}
    run = ConstraintRun(
        ConstraintsSpec.model_validate([mine]), detect(df), df, private=False, table="visits"
    )
    assert run.labels[0] == "constraints[0] (visits: positive fare > 0)"
    other = ConstraintsSpec.model_validate([{**mine, "table": "trips"}])
    with pytest.raises(RecipeError, match="no table 'trips' in this one-table run"):
        ConstraintRun(other, detect(df), df, private=False, table="visits")


def test_detection_proposes_what_always_holds_and_nothing_else():
    df = constraint_table(800)
    found = {f.rule.key(): f for f in detect_rules(df, detect(df))}
    assert "level -> level_num" in found and found["level -> level_num"].evidence["exceptions"] == 0
    assert "admit <= discharge" in found
    assert "fare + tip = total" in found and "city -> state" in found
    assert "followup null if admit_note null" in found
    assert "ref ~ ^[A-Z]{2}-\\d{5}$" in found
    # one exception and the rule is gone
    df.loc[5, "discharge"] = df.loc[5, "admit"] - 1
    assert "admit <= discharge" not in {f.rule.key() for f in detect_rules(df, detect(df))}


def test_detected_rules_kept_dropped_and_left_out_under_privacy():
    df = constraint_table(400)
    schema = detect(df)
    kept = ConstraintRun(ConstraintsSpec(), schema, df, private=False)
    assert "level -> level_num" in [r.key() for r in kept.rules]
    spec = ConstraintsSpec.model_validate({"drop": ["level -> level_num", "followup"]})
    dropped = ConstraintRun(spec, schema, df, private=False)
    keys = [r.key() for r in dropped.rules]
    assert "level -> level_num" not in keys and not any("followup" in k for k in keys)
    off = ConstraintRun(
        ConstraintsSpec.model_validate({"detect": False}), schema, df, private=False
    )
    assert off.rules == []
    private = ConstraintRun(ConstraintsSpec(), schema, df, private=True)
    assert private.rules == [] and "outside the privacy budget" in private.warnings[0]


def test_adult_education_pair_is_detected_and_kept(adult):
    found = detect_rules(adult, detect(adult))
    assert [f.rule.key() for f in found if f.rule.type == "determined_by"] == [
        "education -> education-num"
    ]


def test_pseudonymised_columns_take_no_format_rule():
    df = constraint_table(300)
    schema = detect(df)
    kept = ConstraintRun(ConstraintsSpec(), schema, df, private=False, owned=["ref"])
    assert not any("ref" in r.columns() for r in kept.rules)
    spec = ConstraintsSpec.model_validate(
        [{"type": "format", "column": "ref", "regex": r"^[A-Z]{2}-\d{5}$"}]
    )
    with pytest.raises(RecipeError) as err:
        ConstraintRun(spec, schema, df, private=False, owned=["ref"])
    assert "pii.consistent gives 'ref' pseudonyms" in err.value.problems[0]


def test_a_repair_that_breaks_a_combination_is_resampled():
    """Norway's invoices have no state and no postcode; a state is nulled when its postcode
    is (null_if_null, repaired row by row), which can leave (no state, USA), a combination
    no real row has: such rows are drawn again, not written."""
    r = np.random.default_rng(0)
    n = 600
    place = r.choice(3, n)
    df = pd.DataFrame(
        {
            "state": np.array(["CA", "ON", None], dtype=object)[place],
            "country": np.array(["USA", "Canada", "Norway"])[place],
            "postcode": np.where(place == 2, np.nan, r.integers(1000, 9999, n).astype(float)),
            "total": np.round(r.gamma(2, 3, n), 2),
        }
    )
    rules = [
        {"type": "fixed_combinations", "columns": ["state", "country"]},
        {"type": "null_if_null", "column": "state", "if_null": "postcode"},
    ]
    run, schema, syn = _run(df, {"detect": False, "rules": rules}, n=600)
    assert Checker(run.rules, schema, df).counts(syn) == [0, 0]
    assert run.sampler is not None and run.sampler.resampled > 0


def test_a_combination_with_a_faked_column_is_refused():
    df = constraint_table(100)
    df["email"] = [f"user{i}@example.com" for i in range(len(df))]
    spec = ConstraintsSpec.model_validate(
        [{"type": "fixed_combinations", "columns": ["email", "state"]}]
    )
    with pytest.raises(RecipeError, match="column 'email' is pii.*set schema.email.kind"):
        ConstraintRun(spec, detect(df), df, private=False)


def test_a_protected_column_is_never_reparametrised_its_rules_left_to_resampling():
    """A sequence's order column is learnt as gaps: an inequality or a combination that
    would take it keeps it as it is (checked and resampled instead); the others still take
    theirs."""
    r = np.random.default_rng(0)
    df = pd.DataFrame({"start": r.integers(0, 100, 200).astype(float)})
    df["t"] = df["start"] + r.integers(0, 10, 200)
    df["end"] = df["t"] + r.integers(0, 10, 200)
    df["kind"] = r.choice(["a", "b"], 200)
    rules = ConstraintsSpec.model_validate(
        {"detect": False, "rules": [
            {"type": "inequality", "low": "start", "high": "t"},
            {"type": "inequality", "low": "t", "high": "end"},
            {"type": "fixed_combinations", "columns": ["kind", "t"]},
        ]}
    )  # fmt: skip
    run = ConstraintRun(rules, detect(df), df, private=False, protect=["t"])
    frame, _ = run.fit_frame(df)
    assert frame["t"].equals(df["t"])  # learnt as it is
    assert (frame["end"] == df["end"] - df["t"]).all()  # end still learnt as its gap to t
    how = [r["enforced"] for r in run.summary()["rules"]]
    assert how[0] == "violating rows resampled" and how[2] == "violating rows resampled"
    assert how[1].startswith("by construction")
