"""Fidelity metrics: hand-computed references, SDMetrics agreement and real-data behaviour."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen import stats as S
from synthgen.generators import create
from synthgen.io import read_table
from synthgen.metrics import fidelity as F
from synthgen.metrics.base import REGISTRY, Context
from synthgen.metrics.pairs import MAX_PAIRS_SHOWN
from synthgen.schema import detect
from synthgen.schema.spec import ColumnSpec, Schema

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
NUMERIC = ("numeric", "integer")


def data_file(name: str) -> Path:
    """A public data set: the bundled copy, else the one beside the repository."""
    for p in (Path(__file__).resolve().parents[2] / "data" / name, SHARED / name):
        if p.exists():
            return p
    pytest.skip(f"public data set {name} not found")


def schema_of(**kinds: str) -> Schema:
    return Schema(columns=[ColumnSpec(name=n, kind=k) for n, k in kinds.items()])  # type: ignore[arg-type]


def ctx_of(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema | None = None, **kw) -> Context:
    return Context(real, real.iloc[:0], synth, schema or detect(real), **kw)


def compute(name: str, ctx: Context):
    return REGISTRY[name].compute(ctx)


def noise_like(real: pd.DataFrame, schema: Schema, n: int, seed: int = 0) -> pd.DataFrame:
    """Right schema, no structure: uniform numbers in the real range, uniform categories."""
    rng = np.random.default_rng(seed)
    out = {}
    for spec in schema.columns:
        s = real[spec.name].dropna()
        if spec.kind in NUMERIC:
            vals = rng.uniform(s.min(), s.max(), n)
            out[spec.name] = np.round(vals).astype(int) if spec.kind == "integer" else vals
        else:
            out[spec.name] = rng.choice(s.unique(), n)
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return read_table(data_file("adult.csv"), na_values=["?"], strip_whitespace=True)


@pytest.fixture(scope="module")
def adult_halves(adult: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    idx = np.random.default_rng(0).permutation(len(adult))
    return adult.iloc[idx[:8000]].reset_index(drop=True), adult.iloc[idx[8000:16000]].reset_index(
        drop=True
    )


# ---- hand-computed references ---------------------------------------------------------------
def test_tv_complement_reference():
    half = pd.Series(["a", "b"])
    assert S.tv_complement(half, pd.Series(["a", "a"])) == pytest.approx(0.5)
    assert S.tv_complement(half, half) == 1.0
    assert S.tv_complement(half, pd.Series(["c", "d"])) == 0.0
    assert S.tv_complement(pd.Series(["a", None]), pd.Series(["a"])) == 1.0  # missing dropped


def test_ks_complement_reference():
    a = np.array([1.0, 2, 3, 4])
    assert S.ks_complement(a, np.array([3.0, 4, 5, 6])) == pytest.approx(0.5)
    assert S.ks_complement(a, a) == 1.0
    assert S.ks_complement(a, a + 10) == 0.0
    assert S.ks_complement(np.array([1.0, 2, np.nan]), np.array([1.0, 2])) == 1.0


def test_column_pair_trends_reference():
    schema = schema_of(a="categorical", b="categorical", u="numeric", v="numeric")
    real = pd.DataFrame(
        {"a": list("xxyy"), "b": list("pqpq"), "u": [1.0, 2, 3, 4], "v": [1.0, 2, 3, 4]}
    )
    synth = pd.DataFrame(
        {"a": list("xxyy"), "b": list("ppqq"), "u": [1.0, 2, 3, 4], "v": [4.0, 3, 2, 1]}
    )
    res = compute("column_pair_trends", ctx_of(real, synth, schema))
    per = res.details["per_pair"]
    # a and b are independent in the real table (Cramér's V 0): that pair does not count
    assert "a|b" not in per and res.details["pairs_total"] == 6
    assert per["u|v"] == pytest.approx(0.0)  # r = 1 vs r = -1
    assert per["a|u"] == pytest.approx(1.0)  # same rows: the same joint table
    assert res.details["pairs"] == 5 == len(per)
    assert res.value == pytest.approx(np.mean(list(per.values())))
    # every pair: a|b adds 1 - TVD({xp,xq,yp,yq}/4, {xp,yq}/2) = 0.5
    assert res.details["all_pairs"] == pytest.approx((sum(per.values()) + 0.5) / 6)
    corr = res.details["correlation"]
    assert corr["columns"] == ["u", "v"]
    assert corr["real"][0][1] == pytest.approx(1.0) and corr["synthetic"][0][1] == pytest.approx(-1)
    assert corr["difference"][0][1] == pytest.approx(2.0)
    best = compute("column_pair_trends", ctx_of(real, real, schema))
    assert best.value == pytest.approx(1.0)


def test_cramers_v_matches_scipy():
    from scipy.stats.contingency import association

    from synthgen.metrics.pairs import cramers_v

    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 500)
    b = (a + rng.integers(0, 3, 500)) % 5
    table = pd.crosstab(a, b).to_numpy()
    assert cramers_v(a, b) == pytest.approx(association(table, method="cramer"), abs=1e-12)
    assert np.isnan(cramers_v(a, np.zeros(500, int)))


def test_independent_columns_count_no_pair_but_keep_the_all_pairs_mean():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({f"c{i}": rng.choice(list("abc"), 2000) for i in range(12)})
    synth = pd.DataFrame({f"c{i}": rng.choice(list("abc"), 2000) for i in range(12)})
    ctx = ctx_of(real, synth)
    res = compute("column_pair_trends", ctx)
    assert res.value is None and res.skipped and res.details["pairs"] == 0
    assert res.details["pairs_total"] == 66 and len(res.details["per_pair"]) == MAX_PAIRS_SHOWN
    shown = list(res.details["per_pair"].values())
    assert shown == sorted(shown) and res.details["all_pairs"] >= np.mean(shown)
    q = compute("quality", ctx)  # as SDMetrics: the shapes alone
    assert q.value == pytest.approx(compute("column_shapes", ctx).value)
    assert q.details["all_pairs"] > 0.9


def test_missing_and_coverage_references():
    schema = schema_of(x="numeric", c="categorical")
    real = pd.DataFrame({"x": [0.0, 10, np.nan, np.nan], "c": list("abcd")})
    synth = pd.DataFrame({"x": [5.0, 20, 7, 8], "c": list("abab")})
    ctx = ctx_of(real, synth, schema)
    assert compute("missing_similarity", ctx).value == pytest.approx(0.75)  # 1 - mean(.5, 0)
    assert compute("range_coverage", ctx).value == pytest.approx(0.5)  # [5, 20] covers half
    assert compute("category_coverage", ctx).value == pytest.approx(0.5)  # a, b of a-d
    same = ctx_of(real, real, schema)
    for name in ("missing_similarity", "range_coverage", "category_coverage"):
        assert compute(name, same).value == 1.0
    far = pd.DataFrame({"x": [50.0, 60, 70, 80], "c": list("wxyz")})
    assert compute("range_coverage", ctx_of(real, far, schema)).value == 0.0
    assert compute("category_coverage", ctx_of(real, far, schema)).value == 0.0


def test_disjoint_support_gives_worst_values():
    schema = schema_of(x="numeric", c="categorical")
    real = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    synth = pd.DataFrame({"x": np.arange(100.0) + 1000, "c": ["y", "z"] * 50})
    ctx = ctx_of(real, synth, schema)
    assert compute("column_shapes", ctx).value == 0.0
    assert compute("column_pair_trends", ctx).details["all_pairs"] == 0.0
    assert compute("quality", ctx).value == 0.0
    assert compute("detection_auc", ctx).value > 0.99


def test_quality_reuses_the_cached_parts(monkeypatch: pytest.MonkeyPatch, adult_halves):
    calls = {"shapes": 0, "pairs": 0}
    shapes, pairs = F._column_shapes, F._column_pair_trends

    def count(key, fn):
        def wrapped(ctx):
            calls[key] += 1
            return fn(ctx)

        return wrapped

    monkeypatch.setattr(F, "_column_shapes", count("shapes", shapes))
    monkeypatch.setattr(F, "_column_pair_trends", count("pairs", pairs))
    real, other = adult_halves
    ctx = ctx_of(real, other)
    values = [compute(n, ctx).value for n in ("column_shapes", "column_pair_trends", "quality")]
    assert calls == {"shapes": 1, "pairs": 1}
    assert values[2] == pytest.approx((values[0] + values[1]) / 2)


# ---- agreement with SDMetrics ---------------------------------------------------------------
def _sdmetrics_metadata(schema: Schema) -> dict:
    kinds = {"numeric": "numerical", "integer": "numerical", "datetime": "datetime"}
    return {
        "columns": {c.name: {"sdtype": kinds.get(c.kind, "categorical")} for c in schema.columns}
    }


SHARED_TABLES = [
    "adult.csv",
    "insurance.csv",
    "heart_disease_uci.csv",
    "pima_indians_diabetes.csv",
    "beijing_pm25_hourly.csv",
    "druglib_reviews.csv",
    "chinook/Track.csv",
    "chinook/Invoice.csv",
    "chinook/Customer.csv",
]


@pytest.mark.parametrize("name", SHARED_TABLES)
def test_quality_agrees_with_sdmetrics_quality_report(name: str):
    """The figure users compare: SDMetrics' QualityReport (its default thresholds) on the
    same frames, within 0.005 (dates handed to it parsed: it cannot read them as text)."""
    pytest.importorskip("sdmetrics")
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{name} not found beside the repository")
    real = read_table(path)
    real = real.sample(min(len(real), 4000), random_state=0).reset_index(drop=True)
    schema = detect(real)
    # the metric is under test, not PII handling: learn labels as they are (Chinook's states)
    gen = create("copula").fit(real, schema, seed=0, embedded_pii="keep")
    synth = gen.sample(len(real), seed=1)
    ctx = ctx_of(real, synth, schema)
    ours = compute("quality", ctx)
    cols = ctx.compared_columns()
    r, s = real[cols].copy(), synth[cols].copy()
    for c in cols:
        if schema[c].kind == "datetime":
            r[c], s[c] = pd.to_datetime(r[c]), pd.to_datetime(s[c])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single-table report is deprecated, not gone
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        meta = _sdmetrics_metadata(schema)
        meta["columns"] = {c: meta["columns"][c] for c in cols}
        report.generate(r, s, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    assert ours.value == pytest.approx(report.get_score(), abs=0.005)
    assert ours.details["column_shapes"] == pytest.approx(props["Column Shapes"], abs=0.005)
    if not np.isnan(props["Column Pair Trends"]):
        pairs = ours.details["column_pair_trends"]
        assert pairs == pytest.approx(props["Column Pair Trends"], abs=0.005)


def test_all_pairs_mean_matches_the_pair_metrics(adult: pd.DataFrame):
    """Pair by pair, the all-pairs figure is SDMetrics' stand-alone pair metrics (numbers
    binned on the real range)."""
    pytest.importorskip("sdmetrics")
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity

    from synthgen.metrics.pairs import pair_trends

    real = adult.sample(3000, random_state=0).reset_index(drop=True)
    schema = detect(real)
    synth = create("copula").fit(real, seed=0).sample(3000, seed=0)
    ctx = ctx_of(real, synth, schema)
    r, s = F.model_frames(ctx)
    nums = [c for c in r.columns if schema[c].kind in NUMERIC]
    res = pair_trends(r, s, nums)
    F_pairs = {}
    for a, b in [("age", "hours-per-week"), ("age", "workclass"), ("sex", "race")]:
        both = [c for c in (a, b) if c in nums]
        if len(both) == 2:
            F_pairs[(a, b)] = CorrelationSimilarity.compute(real[[a, b]], synth[[a, b]])
        else:
            F_pairs[(a, b)] = ContingencySimilarity.compute(
                real[[a, b]], synth[[a, b]], continuous_column_names=both or None
            )
    one = {k: pair_trends(r[list(k)], s[list(k)], [c for c in k if c in nums]) for k in F_pairs}
    for k, ref in F_pairs.items():
        assert one[k].details["all_pairs"] == pytest.approx(ref, abs=1e-9), k
    assert 0 < res.details["all_pairs"] <= 1


def test_missing_values_are_left_out_like_sdmetrics():
    pytest.importorskip("sdmetrics")
    from sdmetrics.single_column import KSComplement, TVComplement

    path = SHARED / "heart_disease_uci.csv"
    if not path.exists():
        pytest.skip("heart_disease_uci.csv not found beside the repository")
    heart = read_table(path)
    real, other = heart.iloc[::2].reset_index(drop=True), heart.iloc[1::2].reset_index(drop=True)
    schema = detect(real)
    ctx = ctx_of(real, other, schema)
    assert real.isna().any().sum() >= 3  # the point of this data set
    for col, score in F.per_column_shapes(ctx).items():
        metric = KSComplement if schema[col].kind in NUMERIC else TVComplement
        assert score == pytest.approx(metric.compute(real[col], other[col]), abs=1e-9), col
    assert compute("missing_similarity", ctx).value > 0.95


# ---- behaviour on real data -----------------------------------------------------------------
def test_noise_scores_low_and_is_detected(adult_halves):
    real, _ = adult_halves
    schema = detect(real)
    ctx = ctx_of(real, noise_like(real, schema, len(real)), schema, options={})
    assert compute("quality", ctx).value < 0.75
    det = compute("detection_auc", ctx)
    assert det.value > 0.95
    assert det.details["detection_score"] == pytest.approx(1 - 2 * (det.value - 0.5))


def test_real_split_scores_high_and_is_not_detected(adult_halves):
    real, other = adult_halves
    ctx = ctx_of(real, other)
    assert compute("quality", ctx).value > 0.9
    assert compute("missing_similarity", ctx).value > 0.98
    det = compute("detection_auc", ctx)
    assert det.value < 0.6 and det.details["detection_score"] > 0.8
    assert det.details["rows_per_side"] == len(real)


def test_detection_is_seeded_and_capped(adult_halves):
    real, other = adult_halves
    opts = {"detection_auc": {"max_rows": 1000}}
    a = compute("detection_auc", ctx_of(real, other, options=opts, seed=3))
    b = compute("detection_auc", ctx_of(real, other, options=opts, seed=3))
    assert a.value == b.value and a.details["rows_per_side"] == 1000


def test_metrics_declare_group_direction_range():
    for name in (
        "column_shapes",
        "column_pair_trends",
        "missing_similarity",
        "range_coverage",
        "category_coverage",
        "quality",
        "detection_auc",
    ):
        m = REGISTRY[name]
        assert m.group == "fidelity" and m.range == (0.0, 1.0) and m.summary
        assert m.direction == ("lower" if name == "detection_auc" else "higher")
        assert m.compute.__doc__


def test_a_column_missing_everywhere_in_the_synthetic_rows():
    schema = schema_of(x="numeric", z="numeric", c="categorical")
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300), "c": ["a"] * 300})
    synth = real.assign(x=np.nan)
    ctx = ctx_of(real, synth, schema)
    assert compute("column_shapes", ctx).details["per_column"]["x"] == 0.0
    assert compute("missing_similarity", ctx).value == pytest.approx(2 / 3)
    assert compute("range_coverage", ctx).details["per_column"] == {"x": 0.0, "z": 1.0}
    assert compute("detection_auc", ctx).value > 0.99  # x is never missing in the real rows
