"""`synthgen validate` on files from any generator: leaks must fail, clean data must pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli

PRIVACY_GATES = {"exact_copies", "dcr_share", "membership"}


@pytest.fixture(scope="module")
def tables(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("validate")
    rows = adult.sample(6000, random_state=1).reset_index(drop=True)
    parts = {
        "train": rows.iloc[:2500],
        "holdout": rows.iloc[2500:3500],
        "other": rows.iloc[3500:6000],
    }
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(
        {
            c: (
                rng.uniform(rows[c].min(), rows[c].max(), 2500).round()
                if rows[c].dtype.kind in "if"
                else rng.choice(rows[c].dropna().unique(), 2500)
            )
            for c in rows.columns
        }
    )
    from synthgen.generators import create

    fixtures = create("copula").fit(parts["train"], seed=0).sample(2500, seed=0)
    paths = {}
    for name, df in {**parts, "copy": parts["train"], "noise": noise, "copula": fixtures}.items():
        paths[name] = d / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    return paths


def validate(tables: dict[str, Path], synthetic: str, out: Path, *extra: str):
    args = [
        "validate",
        "--real",
        tables["train"],
        "--synthetic",
        tables[synthetic],
        "--holdout",
        tables["holdout"],
        "--target",
        "income",
        "--out",
        out,
        *extra,
    ]
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    report = (
        json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else None
    )
    return res, report


def test_a_copy_of_train_fails_every_privacy_gate(tables: dict[str, Path], tmp_path: Path):
    res, report = validate(tables, "copy", tmp_path / "v")
    assert res.exit_code == 3
    p = report["metrics"]["privacy"]
    assert p["exact_copy_rate"] == 1.0
    assert p["dcr_share"] > 0.95
    assert p["membership_auc"] > 0.9
    failed = {g["name"] for g in report["gates"] if not g["passed"]}
    assert failed >= PRIVACY_GATES
    assert (tmp_path / "v" / "report.html").is_file()


def test_a_copy_fails_the_healthcare_suite_on_every_privacy_gate(
    tables: dict[str, Path], tmp_path: Path
):
    res, report = validate(
        tables, "copy", tmp_path / "v", "--suite", "healthcare-release", "--sensitive", "income"
    )
    assert res.exit_code == 3
    gates = {g["name"]: g for g in report["gates"]}
    for name in (
        "exact_copies",
        "dcr_share",
        "membership",
        "singling_out",
        "linkability",
        "inference",
        "attribute_inference",
    ):
        assert gates[name]["status"] == "fail", name
    assert report["verdict"] == "fail"


def test_unseen_real_rows_pass_privacy_and_score_high(tables: dict[str, Path], tmp_path: Path):
    res, report = validate(tables, "other", tmp_path / "v")
    gates = {g["name"]: g for g in report["gates"]}
    assert all(gates[n]["status"] == "pass" for n in PRIVACY_GATES), report["gates"]
    assert report["verdict"] == "pass"
    assert report["metrics"]["fidelity"]["quality"] > 0.9
    assert report["metrics"]["fidelity"]["detection_auc"] < 0.6
    u = report["metrics"]["utility"]
    assert abs(u["tstr_f1"] - u["tstr_f1_trtr"]) < 0.08
    assert res.exit_code == 0, res.output


def test_noise_of_the_right_schema_fails_fidelity(tables: dict[str, Path], tmp_path: Path):
    res, report = validate(tables, "noise", tmp_path / "v")
    assert res.exit_code == 3
    gates = {g["name"]: g for g in report["gates"]}
    assert not gates["quality"]["passed"] and not gates["column_shapes"]["passed"]
    assert report["metrics"]["fidelity"]["detection_auc"] > 0.95


def test_bad_input_is_exit_2(tables: dict[str, Path], tmp_path: Path):
    lacking = tmp_path / "lacking.csv"
    pd.read_csv(tables["other"]).drop(columns=["age"]).to_csv(lacking, index=False)

    def run(synthetic: Path, *extra: str):
        args = [
            "validate",
            "--real",
            str(tables["train"]),
            "--synthetic",
            str(synthetic),
            "--out",
            str(tmp_path / "v"),
            *extra,
        ]
        return CliRunner().invoke(cli, args)

    res = run(lacking)
    assert res.exit_code == 2 and "lacks the real table's column(s): age" in res.output
    res = run(tmp_path / "nope.csv")
    assert res.exit_code == 2 and "not found" in res.output
    res = run(tables["other"], "--target", "incme")
    assert res.exit_code == 2 and "did you mean 'income'" in res.output
    assert not (tmp_path / "v").exists()


def test_test_fixture_suite_checks_structure(tables: dict[str, Path], tmp_path: Path):
    res, report = validate(tables, "copula", tmp_path / "v", "--suite", "test-fixtures")
    assert res.exit_code == 0, report["gates"]
    shuffled = tmp_path / "shuffled.csv"
    df = pd.read_csv(tables["copula"])
    df[list(reversed(df.columns))].to_csv(shuffled, index=False)
    tables = {**tables, "shuffled": shuffled}
    res, report = validate(tables, "shuffled", tmp_path / "w", "--suite", "test-fixtures")
    assert res.exit_code == 3


def test_the_default_suite_fails_rows_a_classifier_can_spot(
    tables: dict[str, Path], tmp_path: Path
):
    """The copula's Adult rows pass every privacy gate, but a classifier tells them from
    real ones: the default suite's detection gate fails them (unseen real rows pass it)."""
    res, report = validate(tables, "copula", tmp_path / "v")
    gates = {g["name"]: g for g in report["gates"]}
    assert res.exit_code == 3 and not gates["detection"]["passed"]
    assert all(gates[n]["passed"] for n in PRIVACY_GATES)
    _, report = validate(tables, "other", tmp_path / "w")
    assert {g["name"]: g for g in report["gates"]}["detection"]["passed"]


def test_unseen_real_rows_pass_the_healthcare_suite(tables: dict[str, Path], tmp_path: Path):
    """The issue's new user: real, unseen rows offered as the synthetic data must not be
    refused by the strict suite."""
    res, report = validate(
        tables, "other", tmp_path / "v", "--suite", "healthcare-release", "--sensitive", "income"
    )
    bad = [g for g in report["gates"] if g["status"] not in ("pass", "skipped")]
    assert not bad, bad
    assert res.exit_code == 0


def test_a_table_too_small_to_tell_is_exit_4(tmp_path: Path):
    """Three training rows copied: not a pass, and not reported as a leak either."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=5), "y": rng.integers(0, 99, 5), "c": list("abcab")})
    paths = {}
    for name, part in {"train": df.iloc[:3], "holdout": df.iloc[3:], "copy": df.iloc[:3]}.items():
        paths[name] = tmp_path / f"{name}.csv"
        part.to_csv(paths[name], index=False)
    args = ["validate", "--real", paths["train"], "--synthetic", paths["copy"]]
    args += ["--holdout", paths["holdout"], "--out", tmp_path / "v"]
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 4, res.output
    assert "inconclusive" in res.output and "would decide" in res.output
    report = json.loads((tmp_path / "v" / "report.json").read_text())
    assert report["verdict"] == "inconclusive" and report["passed"] is False
    membership = next(g for g in report["gates"] if g["name"] == "membership")
    assert membership["status"] == "inconclusive" and membership["rows_to_decide"] > 2
    html = (tmp_path / "v" / "report.html").read_text()
    assert "INCONCLUSIVE" in html


def test_raw_spaced_labels_are_warned_about_and_read_like_inspect(
    tables: dict[str, Path], tmp_path: Path
):
    """Raw Adult writes ' Male' and '?': validated against clean synthetic labels, no label
    matches (warned, by column); --strip-whitespace / --na-values read it as inspect does."""
    raw = pd.read_csv(tables["train"]).iloc[:1500]
    text = [c for c in raw.columns if not pd.api.types.is_numeric_dtype(raw[c])]
    for c in text:
        raw[c] = (" " + raw[c].astype(str)).where(raw[c].notna(), " ?")
    raw.to_csv(tmp_path / "raw.csv", index=False)
    args = ["--real", tmp_path / "raw.csv", "--synthetic", tables["copula"]]
    args += ["--target", "income", "-q"]
    plain = CliRunner().invoke(cli, ["validate", *map(str, args), "--out", str(tmp_path / "a")])
    warned = json.loads((tmp_path / "a" / "report.json").read_text())["warnings"]
    assert any(w.startswith("column 'sex': no synthetic label is a real one") for w in warned)
    assert any("--strip-whitespace" in w for w in warned)
    fixed = CliRunner().invoke(
        cli,
        ["validate", *map(str, args), "--out", str(tmp_path / "b"), "--strip-whitespace"]
        + ["--na-values", "?"],
    )
    assert fixed.exit_code in (0, 3, 4), fixed.output
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert not any("no synthetic label" in w for w in report["warnings"])
    first = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["metrics"]["fidelity"]["quality"] > first["metrics"]["fidelity"]["quality"] + 0.2
    assert plain.exit_code in (0, 3, 4)
    run_dir = CliRunner().invoke(cli, ["validate", str(tmp_path), "--strip-whitespace"])
    assert run_dir.exit_code == 2 and "leave out --strip-whitespace" in run_dir.output
