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


def test_counts_are_not_sorted_as_scores_and_violations_are_lower_better(report: dict) -> None:
    report["metrics"]["utility"] = {
        "tstr_f1_rows": {"train": 800, "holdout": 200},
        "constraint_violations_per_rule": {"rule a": 0, "rule b": 3},
    }
    metrics = _section(render_html(report), "metrics")
    rows = metrics[metrics.index("tstr_f1_rows") : metrics.index("constraint_violations")]
    assert "worst" not in rows and ">800<" in rows
    rules = metrics[metrics.index("constraint_violations_per_rule") :]
    assert "assuming lower is better" in rules
    assert rules.index(">rule b<") < rules.index(">rule a<")


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


# ---------------------------------------------------------------- topic sections

NASTY = "<i>x</i>|y"  # a column name with markup and the pair separator in it


def _rich_report() -> dict:
    """The report plus the details the fidelity/privacy/utility/expectations sections draw."""
    report = _report()
    cols = ["age", "visits", NASTY]
    real = [[1.0, 0.5, None], [0.5, 1.0, -0.2], [None, -0.2, 1.0]]
    synth = [[1.0, 0.1, None], [0.1, 1.0, -0.25], [None, -0.25, 1.0]]
    diff = [[0.0, 0.4, None], [0.4, 0.0, 0.05], [None, 0.05, 0.0]]
    report["gates"].append(
        {"name": "pii_gate", "metric": "pii_replay", "value": 0.0, "op": "<=", "threshold": 0,
         "passed": True, "status": "skipped", "error": "skipped: no <PII> columns"}
    )  # fmt: skip
    report["metrics"]["fidelity"].update(
        column_pair_trends=0.9,
        column_pair_trends_pairs=3,
        column_pair_trends_per_pair={"age|visits": 0.8, f"visits|{NASTY}": 0.97, "colour|age": 0.6},
        column_pair_trends_correlation={"columns": cols, "real": real, "synthetic": synth,
                                        "difference": diff},
    )  # fmt: skip
    edges = np.linspace(0, 3, 31).tolist()
    report["metrics"]["privacy"].update(
        dcr_share=0.51, dcr_share_raw_share=0.8, dcr_share_chance_raw_share=0.8,
        dcr_share_n_train=320, dcr_share_n_holdout=80, dcr_share_hist_edges=edges,
        dcr_share_hist_train=list(range(30)), dcr_share_hist_holdout=list(range(30, 0, -1)),
        dcr_share_dcr_train={"p5": 0.1, "p50": 1.0}, dcr_share_dcr_holdout={"p5": 0.2, "p50": 1.1},
        singling_out_risk=0.09, singling_out_risk_ci_low=0.04, singling_out_risk_ci_high=0.14,
        singling_out_risk_main_rate=0.18, singling_out_risk_control_rate=0.1,
        singling_out_risk_baseline_rate=0.02, singling_out_risk_worst="multivariate",
        attribute_inference=None, attribute_inference_skipped="no sensitive columns declared",
        pii_replay=2.0, pii_replay_pii_columns=["email"], pii_replay_per_column={"notes": 2},
        pii_replay_examples=["j***@<evil>.com", "5***9"],
    )  # fmt: skip
    report["metrics"]["utility"] = {
        "tstr_f1": 0.61, "tstr_f1_trtr": 0.7, "tstr_f1_gap": 0.09, "tstr_f1_task": "classification",
        "tstr_f1_positive_class": ">50K", "tstr_f1_rows": {"train": 320, "synthetic": 300, "holdout": 80},
        "tstr_r2": None, "tstr_r2_skipped": "target is a class label: see tstr_f1",
    }  # fmt: skip
    results = [
        {"expectation": "expect_column_values_to_be_in_set", "column": "colour", "success": True,
         "observed": "0.00% unexpected", "source": "derived"},
        {"expectation": "expect_column_values_to_be_between", "column": "age", "success": False,
         "observed": "3.00% unexpected (e.g. <script>)", "source": "user"},
    ]  # fmt: skip
    report["metrics"]["schema"] = {
        "expectations_pass_rate": 0.5,
        "expectations_pass_rate_results": results,
        "expectations_pass_rate_evaluated": 2,
    }
    return report


@pytest.fixture(scope="module")
def rich_doc() -> str:
    return render_html(_rich_report())


def _images(html: str) -> int:
    return html.count("data:image/png;base64,")


def test_topic_sections_render_in_order(rich_doc: str) -> None:
    anchors = ("gates", "run", "fidelity", "privacy", "utility", "expectations", "metrics")
    order = [rich_doc.index(f'<section id="{a}">') for a in anchors]
    assert order == sorted(order)
    fidelity, privacy = _section(rich_doc, "fidelity"), _section(rich_doc, "privacy")
    assert "<h3>Correlations</h3>" in fidelity and "<h3>Worst column pairs</h3>" in fidelity
    assert _images(fidelity) == 3  # real, synthetic, |difference|
    assert "<h3>Distance to closest record (DCR)</h3>" in privacy and _images(privacy) == 1
    assert _images(_section(rich_doc, "utility")) == 0
    assert "<h2>Expectations — pass rate 50.0%</h2>" in rich_doc


def test_fidelity_worst_pairs(rich_doc: str) -> None:
    pairs = _section(rich_doc, "fidelity").split("Worst column pairs")[1]
    rows = re.findall(r"<tr><td>(.*?)</td><td.*?>(.*?)</td><td.*?>(.*?)</td>", pairs)
    assert [r[0] for r in rows] == [
        "colour ↔ age",
        "age ↔ visits",
        "visits ↔ &lt;i&gt;x&lt;/i&gt;|y",  # split on the right "|"
    ]
    assert rows[1][1:] == ("0.8", "0.5") and rows[0][2] == ""
    assert "3 pair scores" in pairs


def test_privacy_reading_table_and_pii(rich_doc: str) -> None:
    privacy = _section(rich_doc, "privacy")
    assert "closer to training than to unseen (holdout) rows: 51.0%" in privacy
    row = re.search(r"<tr><td>singling_out_risk</td>(.*?)</tr>", privacy, re.S)
    assert row and "lower" in row.group(1) and "0.04 – 0.14" in row.group(1)
    assert "worst: multivariate; attack success 18.0%" in row.group(1)
    assert "skipped: no sensitive columns declared" in privacy
    assert "<td>p50</td>" in privacy  # quantiles beside the histogram
    assert "found again in the synthetic table: 2 (PII columns checked: email)" in privacy
    assert "<code>j***@&lt;evil&gt;.com</code>" in privacy


def test_utility_table_and_skips(rich_doc: str) -> None:
    utility = _section(rich_doc, "utility")
    assert "TSTR (synthetic-trained)" in utility and "TRTR (real-trained ceiling)" in utility
    assert re.search(r"tstr_f1 \(positive class: &gt;50K\).*?0\.61.*?0\.7.*?0\.09", utility)
    assert "tstr_r2: target is a class label" in utility

    report = _rich_report()
    report["metrics"]["utility"] = {f"tstr_{m}_skipped": "no target column" for m in ("f1", "r2")}
    report["metrics"]["utility"].update(tstr_f1=None, tstr_r2=None)
    utility = _section(render_html(report), "utility")
    assert "Skipped: no target column." in utility and "<table>" not in utility


def test_expectations_failed_first(rich_doc: str) -> None:
    checks = _section(rich_doc, "expectations")
    rows = re.findall(r'<tr class="(pass|fail)">(.*?)</tr>', checks, re.S)
    assert [cls for cls, _ in rows] == ["fail", "pass"]
    assert "FAIL" in rows[0][1] and ">user<" in rows[0][1] and ">derived<" in rows[1][1]
    assert "(e.g. &lt;script&gt;)" in rows[0][1]
    assert "1 of 2 checks passed" in checks


def test_skipped_gate_is_not_a_pass(rich_doc: str) -> None:
    gates = _section(rich_doc, "gates")
    row = re.search(r'<tr class="skipped">(.*?)</tr>', gates, re.S)
    assert row and "SKIPPED" in row.group(1) and "PASS" not in row.group(1)
    assert "skipped: no &lt;PII&gt; columns" in row.group(1)
    assert "1 of 4 gates passed, 1 skipped" in rich_doc
    # without a status, a "skipped:" error still marks it
    report = _report()
    report["gates"] = [{"name": "g", "passed": True, "error": "skipped: no holdout"}]
    assert '<tr class="skipped">' in render_html(report)


def test_generic_metrics_hide_bulky_details(rich_doc: str) -> None:
    metrics = _section(rich_doc, "metrics")
    for key in ("dcr_share_hist_train", "column_pair_trends_correlation", "pii_replay_examples"):
        assert f"<td>{key}</td>" not in metrics and key in metrics  # named in a note only
    assert "expectations_pass_rate_results" in metrics and "[[" not in metrics
    assert "<td>dcr_share_raw_share</td>" in metrics  # scalars stay


def test_topic_sections_tolerate_missing_and_malformed(report: dict) -> None:
    doc = render_html(report)  # no topic details at all
    for anchor in ("fidelity", "utility", "expectations"):
        assert f'id="{anchor}"' not in doc
    assert "exact_copy_rate" in _section(doc, "privacy")

    bad = _rich_report()
    bad["metrics"]["fidelity"]["column_pair_trends_correlation"]["real"] = [[1.0, "x"]]
    bad["metrics"]["fidelity"]["column_pair_trends_per_pair"] = "oops"
    bad["metrics"]["privacy"]["dcr_share_hist_train"] = [1, 2]
    bad["metrics"]["privacy"]["dcr_share_dcr_train"] = None
    bad["metrics"]["schema"]["expectations_pass_rate_results"] = "not a list"
    bad["metrics"]["utility"] = {"tstr_f1": 0.5}
    doc = render_html(bad)
    assert "malformed: no heatmap" in _section(doc, "fidelity")
    assert "No DCR histogram recorded." in _section(doc, "privacy")
    assert "No expectation results recorded." in _section(doc, "expectations")
    assert _images(_section(doc, "fidelity") + _section(doc, "privacy")) == 0
    assert "tstr_f1" in _section(doc, "utility")
    assert render_html({"metrics": {"privacy": {}, "fidelity": [], "utility": None}})


def test_heatmap_caps_columns() -> None:
    n = 35
    rng = np.random.default_rng(2)
    m = rng.uniform(-1, 1, (n, n)).round(3).tolist()
    corr = {"columns": [f"c{i}" for i in range(n)], "real": m, "synthetic": m, "difference": m}
    doc = render_html({"metrics": {"fidelity": {"column_pair_trends_correlation": corr}}})
    fidelity = _section(doc, "fidelity")
    assert "Showing the 30 of 35 columns with the largest differences." in fidelity
    assert _images(fidelity) == 3


def test_a_failing_topic_section_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.report import sections

    def boom(group: object) -> str:
        raise ValueError("odd <data>")

    monkeypatch.setattr(sections, "utility_section", boom)
    doc = render_html(_rich_report())
    assert "Could not draw this section (ValueError: odd &lt;data&gt;)." in _section(doc, "utility")
    assert _images(_section(doc, "fidelity")) == 3


def test_report_json_is_strict_json_without_nan():
    import json

    import numpy as np

    from synthgen.report.assemble import report_json

    text = report_json(
        {"train_loss": float("nan"), "m": [np.float64("inf"), 1.5, np.float32(2.0)], "ok": 1}
    )

    def refuse(name: str):
        raise AssertionError(f"non-standard JSON constant {name}")

    doc = json.loads(text, parse_constant=refuse)
    assert doc == {"train_loss": None, "m": [None, 1.5, 2.0], "ok": 1}


def test_a_text_column_gets_its_section_with_samples_escaped():
    report = {
        "passed": True,
        "gates": [],
        "text": {
            "note": {
                "backend": "local",
                "condition_on": ["age", "ward"],
                "null_fraction": 0.1,
                "generation": {"rows": 3, "regenerated": 1},
            }
        },
    }
    syn = pd.DataFrame({"note": ["Pain <b>left</b> knee", None, "x" * 900], "age": [1, 2, 3]})
    doc = render_html(report, synthetic=syn)
    part = doc[doc.index('<section id="text">') :]
    part = part[: part.index("</section>")]
    assert "Pain &lt;b&gt;left&lt;/b&gt; knee" in part and "<b>left" not in part
    assert "x" * 400 + "…" in part and "x" * 401 not in part  # long texts cut
    assert "age, ward" in part and "regenerated" in part
    assert "the first 2 generated texts" in part
    assert '<section id="text">' not in render_html({"passed": True, "gates": []})


def test_rules_section_lists_each_rule_its_evidence_and_its_breaks(report: dict) -> None:
    label = "detected rule (determined_by education -> education-num)"
    report = {
        **report,
        "constraints": {
            "rules": [
                {
                    "id": "education -> education-num",
                    "label": label,
                    "origin": "detected",
                    "evidence": {"rows_checked": 26049, "exceptions": 0},
                    "enforced": "by construction: derived from a lookup learnt from the data",
                },
                {
                    "id": "age >= 0",
                    "label": "constraints[0] (positive age)",
                    "origin": "declared",
                    "enforced": "repaired row by row after sampling",
                },
            ],
            "real_violations": [
                {"rule": "constraints[0] (positive age)", "rows": 2, "examples": ["age=-1"]}
            ],
            "resampled_rows": 0,
        },
        "metrics": {"schema": {"constraint_violations_per_rule": {label: 0}}},
    }
    rules = _section(render_html(report), "rules")
    assert "education -&gt; education-num" in rules and "rows checked 26,049" in rules
    assert "by construction" in rules and '<td class="num">0</td>' in rules
    assert "age=-1" in rules and "left out of the fit" in rules
    assert 'id="rules"' not in render_html({**report, "constraints": {"rules": []}})
