"""The self-contained HTML report: structure, escaping, gates, metrics and plots."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from synthgen.report import plots, render_html
from synthgen.report.html import fmt_value

WEIRD = "odd <b>&col"
PLOTTED = ["age", "visits", "colour", "active", "joined", "income", WEIRD]


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "visits": rng.integers(0, 10, n),
            "colour": rng.choice(["red", "<b>&", "blue", "$5 - $10"], n),
            "active": rng.random(n) < 0.3,
            "joined": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "email": [f"user{i}@mail.test" for i in range(n)],
            "notes": ["free text here"] * n,
            "income": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(10, 1, n)),
            WEIRD: rng.choice([f"c{i}" for i in range(20)], n),
        }
    )


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    real = _frame(rng, 400)
    real["legacy_code"] = "x"
    return real, _frame(rng, 300)


def _schema_dicts() -> list[dict]:
    kinds = {
        "age": "numeric",
        "visits": "integer",
        "colour": "categorical",
        "active": "boolean",
        "joined": "datetime",
        "email": "pii",
        "notes": "text",
        "income": "numeric",
        WEIRD: "categorical",
        "legacy_code": "categorical",
    }
    return [
        {
            "name": n,
            "kind": k,
            "pii_type": "email" if k == "pii" else None,
            "dtype": "object",
            "null_fraction": 0.2 if n == "income" else 0.0,
            "cardinality": 3,
            "reason": f"looks {k}",
        }
        for n, k in kinds.items()
    ]


def _report() -> dict:
    return {
        "recipe": "customers",
        "passed": False,
        "gates": [
            {
                "name": "shapes_ok",
                "metric": "fidelity.column_shapes",
                "value": 0.9312345,
                "op": ">=",
                "threshold": 0.8,
                "passed": True,
                "meaning": "marginals match",
            },
            {
                "name": "no_copies",
                "metric": "privacy.exact_copy_rate",
                "value": 0.05,
                "op": "<=",
                "threshold": 0.0,
                "passed": False,
                "meaning": "no real row copied",
            },
            {
                "name": "ml_utility",
                "metric": "utility.tstr",
                "value": None,
                "op": ">",
                "threshold": 0.5,
                "passed": False,
                "meaning": "useful",
                "error": "no target column",
            },
        ],
        "rows": {"source": 400, "train": 320, "holdout": 80, "synthetic": 300},
        "seed": 7,
        "generator": {"name": "gaussian_copula", "params": {"epochs": 10}},
        "timings": {"load": 0.12, "fit": 3.4, "sample": 0.8},
        "warnings": ["column <b>weird</b> had mixed types"],
        "outputs": [{"path": "out/synthetic.parquet", "format": "parquet", "written": True}],
        "synthgen_version": "0.1.0",
        "created": "2024-01-01T00:00:00Z",
        "metrics": {
            "fidelity": {
                "column_shapes": 0.93,
                "column_shapes_per_column": {"age": 0.95, "visits": 0.71, "colour": 0.88},
            },
            "privacy": {"exact_copy_rate": 0.05},
            "brand_new_group": {
                "mystery_metric": 1.5,
                "deeper": {"nested_thing": 2, "l": [1, 2]},
                "per_column_detail": {"age": {"ks": 0.1, "tv": 0.2}, "visits": {"ks": 0.3}},
            },
            "top_level_scalar": 7,
        },
        "schema": _schema_dicts(),
    }


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _frames()


@pytest.fixture
def report() -> dict:
    return _report()


@pytest.fixture(scope="module")
def full_doc() -> str:
    """One full render (report + frames), shared by the read-only tests."""
    real, synthetic = _frames()
    return render_html(_report(), real=real, synthetic=synthetic)


def _section(doc: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', doc, re.S)
    assert match, f"no section {anchor}"
    return match.group(1)


def test_document_is_self_contained(full_doc: str) -> None:
    doc = full_doc
    assert doc.startswith("<!DOCTYPE html>")
    assert doc.rstrip().endswith("</html>")
    for bad in ("http://", "https://", "<script", "<link"):
        assert bad not in doc
    order = [
        doc.index(f'id="{a}"')
        for a in ("header", "gates", "run", "metrics", "schema", "distributions")
    ]
    assert order == sorted(order)


def test_gates_and_badge(report: dict) -> None:
    doc = render_html(report)
    assert "synthgen report — customers" in doc
    assert 'class="badge fail">FAIL<' in doc and 'class="badge pass"' not in doc
    gates = _section(doc, "gates")
    rows = re.findall(r'<tr class="(pass|fail)">(.*?)</tr>', gates, re.S)
    assert [cls for cls, _ in rows] == ["pass", "fail", "fail"]
    assert "shapes_ok" in rows[0][1] and "0.9312" in rows[0][1] and "PASS" in rows[0][1]
    assert "no_copies" in rows[1][1] and "FAIL" in rows[1][1] and "≤" in rows[1][1]
    assert "n/a" in rows[2][1] and "no target column" in rows[2][1]
    assert "1 of 3 gates passed" in doc

    report["passed"] = True
    report["gates"] = report["gates"][:1]
    doc = render_html(report)
    assert 'class="badge pass">PASS<' in doc and 'class="badge fail"' not in doc


def test_data_is_escaped(full_doc: str) -> None:
    doc = full_doc
    assert "odd &lt;b&gt;&amp;col" in doc
    assert "column &lt;b&gt;weird&lt;/b&gt;" in doc
    assert "<b>" not in doc


def test_one_plot_per_plottable_column(full_doc: str) -> None:
    doc = full_doc
    dist = _section(doc, "distributions")
    assert dist.count("data:image/png;base64,") == len(PLOTTED)
    assert "email: pii (email): replaced with fake values; not compared" in dist
    assert "notes: text" in dist
    assert "legacy_code: only in the real data" in dist
    # plus the timings chart and one chart for the per-column metric dict
    assert doc.count("data:image/png;base64,") == len(PLOTTED) + 2


def test_max_plots_caps_and_says_so(report: dict, frames: tuple) -> None:
    dist = _section(
        render_html(report, real=frames[0], synthetic=frames[1], max_plots=2), "distributions"
    )
    assert dist.count("data:image/png;base64,") == 2
    assert f"{len(PLOTTED) - 2} more column(s) not plotted (max_plots=2)" in dist


def test_metrics_tolerate_unknown_keys_and_nesting(report: dict) -> None:
    metrics = _section(render_html(report), "metrics")
    for key in ("brand_new_group", "mystery_metric", "deeper", "nested_thing", "top_level_scalar"):
        assert key in metrics
    detail = metrics[metrics.index("per_column_detail") :]
    assert "<th>tv</th>" in detail and re.search(r">visits<.*?0\.3<.*?n/a<", detail, re.S)
    table = metrics[metrics.index("column_shapes_per_column") :]
    assert table.index(">visits<") < table.index(">colour<") < table.index(">age<")


def test_without_frames_has_no_distributions(report: dict) -> None:
    doc = render_html(report, real=None, synthetic=None)
    assert 'id="distributions"' not in doc
    assert doc.count("data:image/png;base64,") == 2
    assert 'id="schema"' in doc and "looks datetime" in doc


def test_empty_report_renders() -> None:
    doc = render_html({})
    assert doc.startswith("<!DOCTYPE html>") and "No gates configured." in doc


def test_sampling_caps_rows(report: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    big = pd.DataFrame({"x": np.arange(200_000, dtype=float)})
    small = plots.sample_frame(big, seed=3)
    assert len(small) == plots.MAX_PLOT_ROWS
    assert small.index.equals(plots.sample_frame(big, seed=3).index)

    seen: list[int] = []

    def fake_plot(real: pd.Series, synthetic: pd.Series, kind: str) -> str:
        seen.extend([len(real), len(synthetic)])
        return "data:image/png;base64,AAAA"

    monkeypatch.setattr(plots, "distribution_plot", fake_plot)
    report["schema"] = []
    doc = render_html(report, real=big, synthetic=big.iloc[:60_000])
    assert seen == [plots.MAX_PLOT_ROWS, plots.MAX_PLOT_ROWS]
    assert "seeded sample of 50,000 of 200,000 real" in doc


def test_category_shares_top_other_missing() -> None:
    real = pd.Series([f"c{i}" for i in range(20)] * 5 + [None] * 10, dtype=object)
    synth = pd.Series(["c0"] * 50 + ["new"] * 50)
    names, r_sh, s_sh = plots.category_shares(real, synth)
    assert len(names) == plots.TOP_CATEGORIES + 2 and names[-2:] == ["(other)", "(missing)"]
    assert sum(r_sh) == pytest.approx(1.0) and sum(s_sh) == pytest.approx(1.0)
    assert r_sh[-1] == pytest.approx(10 / 110) and s_sh[-2] == pytest.approx(0.5)


def test_awkward_columns_still_plot() -> None:
    n = 200
    rng = np.random.default_rng(1)
    stamps = pd.date_range("2021-01-01", periods=n, freq="h", tz="Europe/Paris")
    real = pd.DataFrame(
        {
            "all_nan": np.full(n, np.nan),
            "nullable": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.integers(0, 5, n)), dtype="Int64"
            ),
            "cat": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "unused"]),
            "tz": stamps,
            "as_text": stamps.astype(str),
            "constant": np.ones(n),
        }
    )
    synth = real.copy()
    synth["all_nan"] = "oops"
    doc = render_html({}, real=real, synthetic=synth)
    dist = _section(doc, "distributions")
    assert "could not plot" not in dist
    assert dist.count("data:image/png;base64,") == real.shape[1]


def test_fmt_value() -> None:
    assert fmt_value(0.123456) == "0.1235"
    assert fmt_value(None) == "n/a" and fmt_value(float("nan")) == "n/a"
    assert fmt_value(12345) == "12,345" and fmt_value(True) == "true"


def test_schema_object_is_used(report: dict, frames: tuple) -> None:
    spec = pytest.importorskip("synthgen.schema.spec")
    schema = spec.Schema(columns=[spec.ColumnSpec(**c) for c in _schema_dicts()])
    report["schema"] = []
    doc = render_html(report, real=frames[0], synthetic=frames[1], schema=schema)
    assert "looks numeric" in _section(doc, "schema")
    assert _section(doc, "distributions").count("data:image/png;base64,") == len(PLOTTED)
