"""The command line, end to end, with click's CliRunner."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from tests.conftest import write_recipe


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def small_recipe(
    tmp: Path, df: pd.DataFrame | None = None, extra: str = "", csv: bytes | None = None
) -> Path:
    data = tmp / "data.csv"
    if csv is not None:
        data.write_bytes(csv)
    else:
        (df if df is not None else _frame()).to_csv(data, index=False)
    body = f"name: small\nseed: 3\nsource: {{path: data.csv}}\n{extra}"
    return write_recipe(tmp, body)


def _frame(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 70, n),
            "score": rng.normal(50, 10, n).round(3),
            "group": rng.choice(["a", "b", "c"], n),
        }
    )


def test_run_writes_the_run_folder_and_outputs(tmp_path: Path):
    recipe = small_recipe(tmp_path, extra="outputs:\n  - path: out/syn.parquet\n")
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {
        ".synthgen",  # the manifest: what synthgen wrote, so a later run may replace it
        "synthetic.csv",
        "dataset.json",  # the source as a dataset: its table, columns and keys
        "split.json",  # which source rows were kept aside (positions), for validate RUN
        "model",
        "report.json",
        "report.html",
    }
    assert {p.name for p in (run / "model").iterdir()} == {
        ".synthgen",
        "dataset.json",
        "config.json",
        "schema.json",
        "encoder.json",
        "weights.safetensors",
        "run.json",
    }
    report = json.loads((run / "report.json").read_text())
    assert report["passed"] is True and report["seed"] == 3
    assert report["rows"] == {"source": 2000, "train": 1600, "holdout": 400, "synthetic": 2000}
    assert {g["name"] for g in report["gates"]} >= {
        "quality",
        "column_shapes",
        "exact_copies",
        "dcr_share",
        "membership",
        "pii_replay",
    }
    assert set(report["timings"]) >= {"read", "schema", "fit", "sample", "validate"}
    assert report["outputs"][0] == {"path": "out/syn.parquet", "format": "parquet", "written": True}
    assert pd.read_parquet(tmp_path / "out" / "syn.parquet").shape == (2000, 3)
    assert "<!DOCTYPE html>" in (run / "report.html").read_text()


def test_same_recipe_and_seed_give_byte_identical_output(tmp_path: Path):
    recipe = small_recipe(tmp_path)
    for name in ("a", "b"):
        assert invoke("run", recipe, "--out", tmp_path / name).exit_code == 0
    assert invoke("run", recipe, "--seed", "4", "--out", tmp_path / "c").exit_code == 0
    a, b, c = ((tmp_path / n / "synthetic.csv").read_bytes() for n in "abc")
    assert a == b and a != c


def test_failed_gate_exits_3_writes_report_but_no_outputs(tmp_path: Path):
    recipe = small_recipe(
        tmp_path,
        extra=("validate: {gates: {dcr_share: 0.01}}\noutputs:\n  - path: out/syn.csv\n"),
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 3
    assert "dcr_share" in res.output and "outputs not written" in res.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["passed"] is False
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("case", "csv", "extra", "needle"),
    [
        ("missing file", None, "", "source file not found"),
        ("empty file", b"", "", "is empty"),
        ("header only", b"a,b\n", "", "header but no rows"),
        ("unparseable", b"a,b\n1,2\n1,2,3,4\n", "", "cannot be parsed as CSV"),
        ("non-utf8", "a,b\nRenée,1\nZoë,2\n".encode("latin-1"), "", "source.encoding"),
        ("single row", b"a,b\n1,2\n", "", "too few to learn from"),
        ("repeated header", b"a,b,a\n1,2,3\n4,5,6\n", "", "duplicate column names: 'a'"),
        ("empty header", b"a,,b\n1,2,3\n4,5,6\n", "", "a column with an empty name"),
        (
            "unknown column",
            None,
            "schema: {agee: {kind: integer}}\n",
            "schema.agee: no column 'agee'",
        ),
        ("misspelt key", None, "holdot: 0.1\n", "holdot: unknown key; did you mean 'holdout'?"),
        ("unknown target", None, "validate: {target: grop}\n", "did you mean 'group'?"),
        ("unwritable output", None, "outputs:\n  - path: blocker/x.csv\n", "cannot write to"),
    ],
)
def test_bad_input_is_exit_2_with_a_clear_message_and_nothing_written(
    tmp_path: Path, case: str, csv: bytes | None, extra: str, needle: str
):
    recipe = small_recipe(tmp_path, extra=extra, csv=csv)
    (tmp_path / "blocker").write_text("a file where a folder should be")
    if case == "missing file":
        (tmp_path / "data.csv").unlink()
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.rglob(".*tmp")]


def test_unusual_columns_run_with_a_warning(tmp_path: Path):
    df = _frame(2500)  # 500 holdout rows: enough for the privacy gates to decide
    df["empty"] = np.nan
    df["constant"] = "x"
    df["mixed"] = [str(v) if i % 40 else "unknown" for i, v in enumerate(df["age"])]
    # 'mixed' repeats age as labels: the table's only associated pair, which a copula does not
    # keep, and quality (as SDMetrics') counts only associated pairs
    gates = "validate: {gates: {quality: 0.3}}\n"
    res = invoke("run", small_recipe(tmp_path, df, gates), "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    syn = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    assert syn["empty"].isna().all() and (syn["constant"] == "x").all()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    text = " ".join(report["warnings"])
    assert "'empty' is entirely missing" in text and "'constant' is constant" in text
    assert "'mixed'" in text


def test_inspect_prints_a_table_and_writes_json(tmp_path: Path):
    df = pd.DataFrame(
        {
            "x": [f"person{i}@mail.example.com" for i in range(60)],
            "city-mpg": np.arange(60) % 30 + 10,
        }
    )
    df.to_csv(tmp_path / "d.csv", index=False)
    res = invoke("inspect", tmp_path / "d.csv", "--json", tmp_path / "s.json")
    assert res.exit_code == 0, res.output
    assert "email" in res.output
    schema = json.loads((tmp_path / "s.json").read_text())
    kinds = {c["name"]: (c["kind"], c["pii_type"]) for c in schema["columns"]}
    assert kinds["x"] == ("pii", "email")
    assert kinds["city-mpg"][0] == "integer"
    out = invoke("inspect", tmp_path / "d.csv", "--json", "-")
    assert json.loads(out.stdout)["schema_version"] == 1
    # `inspect -`: the table on standard input (a pipe), the same schema
    piped = CliRunner().invoke(cli, ["inspect", "-", "--json", "-"], input=df.to_csv(index=False))
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["columns"] == json.loads(out.stdout)["columns"]
    shown = CliRunner().invoke(cli, ["inspect", "-"], input=df.to_csv(index=False))
    assert "standard input: 60 rows" in shown.output


def test_inspect_reads_a_tsv_with_tabs_and_refuses_a_repeated_header(tmp_path: Path):
    _frame(50).to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    res = invoke("inspect", tmp_path / "d.tsv", "--json", "-")
    assert res.exit_code == 0, res.output
    assert [c["name"] for c in json.loads(res.stdout)["columns"]] == ["age", "score", "group"]
    (tmp_path / "r.csv").write_text("age,age\n1,2\n3,4\n")
    res = invoke("inspect", tmp_path / "r.csv")
    assert res.exit_code == 2 and "duplicate column names: 'age'" in res.output


def test_inspect_missing_file_is_exit_2(tmp_path: Path):
    res = invoke("inspect", tmp_path / "nope.csv")
    assert res.exit_code == 2 and "source file not found" in res.output


def test_sample_from_a_saved_model(tmp_path: Path):
    recipe = small_recipe(tmp_path)
    assert invoke("run", recipe, "--out", tmp_path / "run").exit_code == 0
    model = tmp_path / "run" / "model"
    res = invoke("sample", model, "-n", "1000", "--out", tmp_path / "x.parquet", "--seed", "7")
    assert res.exit_code == 0, res.output
    a = pd.read_parquet(tmp_path / "x.parquet")
    assert a.shape == (1000, 3) and a["age"].dtype == np.int64
    invoke("sample", model, "-n", "1000", "--out", tmp_path / "y.parquet", "--seed", "7")
    pd.testing.assert_frame_equal(a, pd.read_parquet(tmp_path / "y.parquet"))
    res = invoke("sample", model, "-n", "50", "--out", tmp_path / "b.csv", "--where", "group=b")
    assert res.exit_code == 0 and set(pd.read_csv(tmp_path / "b.csv")["group"]) == {"b"}
    where = ("--where", "group=a|c", "--where", "age=30..45")
    res = invoke("sample", model, "-n", "50", "--out", tmp_path / "r.csv", *where)
    assert res.exit_code == 0, res.output
    r = pd.read_csv(tmp_path / "r.csv")
    assert set(r["group"]) <= {"a", "c"} and r["age"].between(30, 45).all()
    # `--out -`: the same rows as CSV on standard output, nothing else there
    res = invoke("sample", model, "-n", "50", "--out", "-", *where)
    assert res.exit_code == 0 and "wrote 50 rows to standard output" in res.stderr
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(res.stdout)), r)


def test_sample_from_a_folder_that_is_no_model(tmp_path: Path):
    res = invoke("sample", tmp_path, "-n", "5", "--out", tmp_path / "x.csv")
    assert res.exit_code == 2 and "not a synthgen model folder" in res.output


def test_list_shows_generators_and_suites():
    res = invoke("list")
    assert res.exit_code == 0
    for name in ("autoreg", "copula", "sdv.ctgan", "sdv.tvae", "sdv.gaussian_copula", "default"):
        assert name in res.output
    listed = json.loads(invoke("list", "--json").output)
    gens = {g["name"]: g for g in listed["generators"]}
    assert gens["autoreg"]["extra"] is None and gens["autoreg"]["installed"]
    assert gens["sdv.ctgan"]["extra"] == "sdv"
    default = next(s for s in listed["suites"] if s["name"] == "default")
    assert {"metric": "detection_auc", "op": "<="}.items() <= next(
        g for g in default["gates"] if g["metric"] == "detection_auc"
    ).items()
    assert any(b["name"] == "local" for b in listed["text_backends"])


def test_holdout_0_warns_which_gates_it_skips(tmp_path: Path):
    res = invoke("run", small_recipe(tmp_path, extra="holdout: 0\n"), "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    skipped = {g["name"] for g in report["gates"] if g["status"] == "skipped"}
    assert {"dcr_share", "membership"} <= skipped
    (warning,) = [w for w in report["warnings"] if "holdout: 0" in w]
    assert "dcr_share" in warning and "membership" in warning and "holdout: 0.2" in warning
    assert "text_exact_copies" not in warning  # skipped for another reason (no text column)
    assert "holdout: 0.2 restores them" in " ".join(res.output.split())  # in the terminal
    assert "holdout: 0.2 restores them" in (tmp_path / "run" / "report.html").read_text()


def test_a_trial_run_with_seed_or_out_leaves_the_recipe_outputs_alone(tmp_path: Path):
    body = "generator: {name: copula}\noutputs:\n  - path: out/syn.csv\n"
    recipe = small_recipe(tmp_path, extra=body)
    res = invoke("run", recipe, "--seed", "7", "--out", tmp_path / "trial")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "trial" / "synthetic.csv").is_file()
    assert not (tmp_path / "out" / "syn.csv").exists()
    assert "outputs (out/syn.csv) are not written" in " ".join(res.output.split())
    res = invoke("run", recipe, "--seed", "7", "--out", tmp_path / "t2", "--write-outputs")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "syn.csv").is_file()


@pytest.mark.slow
def test_validate_a_run_folder_again_on_its_own_split(tmp_path: Path):
    recipe = small_recipe(tmp_path, extra="generator: {name: copula}\n")
    assert invoke("run", recipe, "--out", tmp_path / "run").exit_code == 0
    res = invoke("validate", tmp_path / "run", "--out", tmp_path / "again")
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "useful? quality" in said and "detection AUC" in said and "worst pair" in said
    page = (tmp_path / "again" / "report.html").read_text()
    assert 'id="useful">quality' in page and "detection AUC" in page
    first = json.loads((tmp_path / "run" / "report.json").read_text())
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["rows"] == first["rows"]  # the same split: same train and holdout sizes
    values = {g["name"]: g["value"] for g in first["gates"]}
    for g in again["gates"]:  # the same rows, schema and seed: the same figures
        want = values[g["name"]]
        assert g["value"] == (want if want is None else pytest.approx(want, rel=1e-9)), g["name"]
    # a stricter suite judges the same run; a changed source is refused, by name
    res = invoke(
        "validate", tmp_path / "run", "--suite", "healthcare-release", "--out", tmp_path / "h"
    )
    assert res.exit_code in (0, 3, 4) and "healthcare-release" in res.output
    df = pd.read_csv(tmp_path / "data.csv")
    df.loc[0, "age"] += 1
    df.to_csv(tmp_path / "data.csv", index=False)
    res = invoke("validate", tmp_path / "run", "--out", tmp_path / "x")
    assert res.exit_code == 2 and "data.csv changed since the run" in " ".join(res.output.split())
    res = invoke("validate", tmp_path / "run", "--real", tmp_path / "data.csv")
    assert res.exit_code == 2 and "leave out --real" in res.output
    assert invoke("validate", tmp_path).exit_code == 2  # no split.json: not a run folder
