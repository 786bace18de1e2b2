"""Privacy metrics flag a leak and pass a clean case, on real Adult data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.metrics import REGISTRY, Context
from synthgen.metrics.neighbors import RowEncoder, canonical_labels, knn
from synthgen.metrics.pii import mask_value
from synthgen.schema import ColumnSpec, Schema, detect


@pytest.fixture(scope="module")
def adult_parts(adult: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]:
    """6k real rows split 80/20 (train, holdout) and 4.8k other real rows (disjoint)."""
    df = adult
    order = np.random.default_rng(7).permutation(len(df))
    train, holdout = df.iloc[order[:4800]], df.iloc[order[4800:6000]]
    other = df.iloc[order[6000:10800]]
    return train, holdout, other, detect(df)


def _ctx(parts: tuple, synthetic: pd.DataFrame, **kw: object) -> Context:
    train, holdout, _, schema = parts
    return Context(train, holdout, synthetic, schema, seed=0, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def copy_ctx(adult_parts: tuple) -> Context:
    return _ctx(adult_parts, adult_parts[0].copy(), sensitive=["income", "age"])


@pytest.fixture(scope="module")
def clean_ctx(adult_parts: tuple) -> Context:
    return _ctx(adult_parts, adult_parts[2].copy(), sensitive=["income", "age"])


def run(name: str, ctx: Context):  # type: ignore[no-untyped-def]
    return REGISTRY[name].compute(ctx)


def test_copy_of_train_is_flagged(copy_ctx: Context):
    assert run("exact_copy_rate", copy_ctx).value == 1.0
    assert run("dcr_share", copy_ctx).value > 0.95
    assert run("membership_auc", copy_ctx).value > 0.9
    assert run("nndr", copy_ctx).value < 0.05
    leak = run("attribute_inference", copy_ctx)
    assert leak.value > 0.2
    assert leak.details["per_column"]["income"]["train_accuracy"] > 0.95


def test_disjoint_real_split_passes(clean_ctx: Context):
    copies = run("exact_copy_rate", clean_ctx)
    assert copies.value <= copies.details["holdout_copy_rate"] + 0.003
    dcr = run("dcr_share", clean_ctx)
    assert 0.45 <= dcr.value <= 0.55
    assert dcr.details["ci_low"] <= dcr.value <= dcr.details["ci_high"]
    assert dcr.details["ci_low"] < 0.51
    assert 0.44 <= dcr.details["equal_size_share"] <= 0.56
    mia = run("membership_auc", clean_ctx)
    assert 0.45 <= mia.value <= 0.56
    assert mia.details["ci_low"] < 0.51 < mia.details["ci_high"]
    nndr = run("nndr", clean_ctx)
    assert abs(nndr.value - nndr.details["holdout_median"]) < 0.1
    assert run("attribute_inference", clean_ctx).value < 0.06


def test_dcr_details_are_report_ready(copy_ctx: Context):
    d = run("dcr_share", copy_ctx).details
    assert len(d["hist_edges"]) == 31 and len(d["hist_train"]) == len(d["hist_holdout"]) == 30
    assert sum(d["hist_train"]) == len(copy_ctx.synthetic)
    assert d["dcr_train"]["p50"] == 0.0 < d["dcr_holdout"]["p50"]
    # the equal-size subsample only holds a copied row's twin 1200/4800 of the time
    assert 0.55 < d["equal_size_share"] < 0.7


def test_exact_copies_found_across_dtypes(adult_parts: tuple):
    train = adult_parts[0]
    syn = train.astype({"age": float, "education-num": str, "sex": "category"})
    ctx = _ctx(adult_parts, syn)
    assert run("exact_copy_rate", ctx).value == 1.0
    assert list(canonical_labels(pd.Series(["1", 1, 1.0, " 1 ", None]))) == ["1"] * 4 + [None]
    flags = canonical_labels(pd.Series([True, "true", 1, "no"]), "boolean")
    assert list(flags) == ["True", "True", "True", "False"]
    # labels that differ only after a NUL stay apart (pandas' string hashing stops at NUL)
    assert list(canonical_labels(pd.Series(["a\x00b", "a\x00c", "a\x00b"]))) == [
        "a\x00b", "a\x00c", "a\x00b",
    ]  # fmt: skip


def test_skipped_semantics(adult_parts: tuple):
    ctx = _ctx(adult_parts, adult_parts[2].head(50))
    result = run("attribute_inference", ctx)
    assert result.value is None and result.skipped == "no sensitive columns declared"
    no_holdout = Context(adult_parts[0], adult_parts[0].head(0), adult_parts[2], adult_parts[3])
    for name in ("dcr_share", "nndr", "membership_auc"):
        assert "holdout" in (run(name, no_holdout).skipped or "")


# ---- PII replay ---------------------------------------------------------------------------
@pytest.fixture
def pii_case(small_frame: pd.DataFrame) -> tuple[pd.DataFrame, Schema]:
    schema = detect(small_frame)
    assert schema["email"].kind == "pii"
    notes = ColumnSpec(name="notes", kind="text")
    return small_frame, Schema(columns=[*schema.columns, notes])


def _fake(frame: pd.DataFrame) -> pd.DataFrame:
    syn = frame.copy()
    syn["email"] = [f"someone{i}@fake.test" for i in range(len(syn))]
    syn["notes"] = "nothing to see here"
    return syn


def test_pii_replay_counts_cells_and_text(pii_case: tuple):
    real, schema = pii_case
    syn = _fake(real)
    leaked = str(real["email"].iloc[3])
    syn.loc[syn.index[10], "email"] = f"  {leaked.upper()} "
    other = str(real["email"].iloc[5])
    syn.loc[syn.index[11], "notes"] = f"Write to <{other}>, or call."
    train, holdout = real.assign(notes="x").iloc[:300], real.assign(notes="x").iloc[300:]
    result = REGISTRY["pii_replay"].compute(Context(train, holdout, syn, schema))
    assert result.value >= 2
    assert result.details["per_column"] == {"email": 1, "notes": 1}
    shown = " ".join(result.details["examples"])
    assert "***@" in shown and leaked.lower() not in shown and other.lower() not in shown


def test_pii_replay_is_zero_for_faked_columns(pii_case: tuple):
    real, schema = pii_case
    ctx = Context(real.assign(notes="x"), real.head(0).assign(notes="x"), _fake(real), schema)
    result = REGISTRY["pii_replay"].compute(ctx)
    assert result.value == 0 and result.details["examples"] == []


def test_mask_value_hides_the_value():
    assert mask_value("jane.doe@example.com") == "j***@example.com"
    assert mask_value("+44 20 7946 0958") == "+***8"
    assert mask_value("abc") == "***"


# ---- neighbours -----------------------------------------------------------------------------
def test_chunked_knn_equals_brute_force():
    rng = np.random.default_rng(3)
    q, r = rng.normal(size=(203, 7)), rng.normal(size=(151, 7))
    r[17] = q[5]
    nb = knn(q, r, k=2, prefix=40, block=(32, 16))
    full = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    assert np.array_equal(nb.idx, np.argsort(full, axis=1)[:, :2])
    assert np.allclose(nb.dist, np.sort(full, axis=1)[:, :2], atol=1e-5)
    assert nb.dist[5, 0] == 0.0
    head = full[:, :40]
    assert np.array_equal(nb.pre_idx, np.argsort(head, axis=1)[:, :2])
    assert np.array_equal(nb.rev_idx, head.argmin(axis=0))
    assert np.allclose(nb.rev_dist, head.min(axis=0), atol=1e-5)


ROWS = st.lists(
    st.tuples(
        st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan"))),
        st.sampled_from(["a", "b", "c", None]),
        st.booleans(),
    ),
    min_size=2,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(ROWS)
def test_distance_symmetric_and_zero_on_identical_rows(rows: list):
    frame = pd.DataFrame(rows, columns=["x", "label", "flag"])
    schema = Schema(
        columns=[
            ColumnSpec(name="x", kind="numeric", dtype="float64"),
            ColumnSpec(name="label", kind="categorical"),
            ColumnSpec(name="flag", kind="boolean", dtype="bool"),
        ]
    )
    enc = RowEncoder.fit(schema, ["x", "label", "flag"], frame, [])
    x, hot = enc.transform(frame, schema), enc.onehot
    a, b = x[:1], x[1:2]
    ab, ba = knn(a, b, onehot=hot).dist[0, 0], knn(b, a, onehot=hot).dist[0, 0]
    assert ab == pytest.approx(ba, rel=1e-9, abs=1e-12)
    assert np.all(knn(x, x, onehot=hot).dist[:, 0] == 0.0)
    # a category mismatch weighs like a full-scale numeric difference: squared distance 1
    same_x = frame.assign(x=0.0, flag=True)
    y = enc.transform(same_x, schema)
    d = knn(y[:1], y[1:2], onehot=hot).dist[0, 0]
    first, second = same_x["label"].iloc[0], same_x["label"].iloc[1]
    alike = first == second or (pd.isna(first) and pd.isna(second))  # pandas 3: NaN, not None
    assert d == pytest.approx(0.0 if alike else 1.0)


def test_a_missing_label_is_not_an_empty_one_when_rows_are_compared():
    """Missing and empty labels are different values: a synthetic row with a missing label
    is not a copy of a training row whose label is an empty string."""
    train = pd.DataFrame({"a": ["", "x", "y"] * 20, "n": np.arange(60) % 7})
    syn = train.copy()
    syn["a"] = syn["a"].replace("", None)
    schema = detect(train, seed=0)
    ctx = Context(train, train.head(0), syn, schema, seed=0)
    copied = REGISTRY["exact_copy_rate"].compute(ctx).value
    assert copied == pytest.approx(2 / 3)  # the rows whose label was "" are not copies
