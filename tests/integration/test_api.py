"""The package face: ``import synthgen`` gives the verbs the CLI uses, and they do what the
CLI does (a run from Python writes the same run folder; evaluate judges DataFrames)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import synthgen
from tests.conftest import ROOT, write_recipe


def test_importing_synthgen_loads_no_heavy_library() -> None:
    code = "import sys, synthgen; print(sorted({'pandas', 'torch', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_load_evaluate_and_inspect_from_python(tmp_path: Path) -> None:
    real = pd.read_csv(ROOT / "data" / "insurance.csv")
    real.to_csv(tmp_path / "ins.csv", index=False)
    recipe = write_recipe(
        tmp_path,
        "name: ins\nseed: 5\nsource: {path: ins.csv}\ngenerator: {name: copula}\n"
        "pii: {strategies: {other: 'null'}}\n",
    )
    result = synthgen.run(recipe, out=tmp_path / "run")
    assert result.run_dir == tmp_path / "run" and (tmp_path / "run" / "report.html").is_file()
    assert len(result.synthetic) == len(real)

    model = synthgen.load(tmp_path / "run" / "model")
    rows = model.sample(300, seed=1)
    assert list(rows.columns) == list(real.columns)
    pd.testing.assert_frame_equal(rows, model.sample(300, seed=1))

    train, hold = real.iloc[:1000], real.iloc[1000:]
    clean = synthgen.evaluate(train, hold, suite="default")
    assert {"passed", "gates", "metrics"} <= set(clean)
    copied = synthgen.evaluate(train, train.copy(), holdout=hold, suite="default")
    failed = {g["name"] for g in copied["gates"] if g.get("status") == "fail"}
    assert not copied["passed"] and failed & {"dcr_share", "membership", "exact_copies"}

    found = synthgen.inspect(tmp_path / "ins.csv")
    assert found.dataset.names == ["ins"] and "charges" in found.schemas["ins"].names
    gen = synthgen.create("copula")
    assert type(gen).__name__ == "CopulaGenerator"
    assert synthgen.load_recipe(recipe).name == "ins"


def _patients(n: int = 600) -> pd.DataFrame:
    """PII columns, and PII inside labels: e-mails in a referral note, the names of the
    name column as next of kin."""
    import numpy as np
    from faker import Faker

    rng = np.random.default_rng(0)
    fake = Faker()
    fake.seed_instance(3)
    names = [fake.name() for _ in range(n)]
    doctors = ["alice.martin", "bruno.keller", "chloe.dubois", "david.novak"]
    return pd.DataFrame(
        {
            "name": names,
            "email": [f"p{i}.{rng.integers(10**6)}@mail.example.com" for i in range(n)],
            "age": rng.integers(18, 90, n),
            "ward": rng.choice(["A", "B", "C"], n),
            "referral": rng.choice([f"referred by {d}@clinic.example.org" for d in doctors], n),
            "next_of_kin": rng.choice(names[:5], n),
        }
    )


def _emails(values: object) -> set[str]:
    import re

    return {m for v in pd.Series(values).astype(str) for m in re.findall(r"[\w.]+@[\w.]+", v)}


def test_a_bare_generator_refuses_labels_holding_pii_naming_the_columns() -> None:
    df = _patients()
    with pytest.raises(synthgen.DataError) as err:
        synthgen.create("copula").fit(df)
    said = str(err.value)
    assert "'referral' (email)" in said and "'next_of_kin' (source_value)" in said
    assert "synthgen.synthesize" in said
    clean = df.drop(columns=["referral", "next_of_kin"])
    assert len(synthgen.create("copula").fit(clean).sample(50)) == 50  # no PII in labels: fits
    kept = synthgen.create("copula").fit(df, embedded_pii="keep")  # said explicitly: learns them
    assert set(kept.sample(200, seed=1)["next_of_kin"]) <= set(df["next_of_kin"])


def test_synthesize_runs_the_pipeline_stages_on_a_dataframe_and_no_real_pii_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    df = _patients()
    res = synthgen.synthesize(df, generator="copula", seed=3)
    assert res.run_dir is None and list(tmp_path.iterdir()) == []  # nothing written
    syn = res.synthetic
    assert list(syn.columns) == list(df.columns) and len(syn) == len(df)
    cells = syn.astype(str).to_numpy().ravel()
    assert _emails(cells) and not _emails(cells) & _emails(df.to_numpy().ravel())
    assert not set(cells) & set(df["name"])  # no real name in any cell (Faker may still
    # draw a name that contains one by chance: 'Mrs. Lisa Allen')
    assert syn["referral"].str.contains("@").all()  # the labels' e-mails are fakes, not dropped
    assert {"referral", "next_of_kin"} <= set(res.report["pii"]["found_in_source"])
    assert {"passed", "gates", "metrics"} <= set(res.report)
    again = synthgen.synthesize(df, generator="copula", seed=3)
    pd.testing.assert_frame_equal(syn, again.synthetic)  # same data and seed, same rows


def test_synthesize_with_out_writes_a_run_folder_whose_model_loads(tmp_path: Path) -> None:
    df = _patients(300)
    res = synthgen.synthesize(
        df, {"generator": {"name": "copula"}, "sample": {"rows": 120}}, out=tmp_path / "r"
    )
    assert res.run_dir == tmp_path / "r" and len(res.synthetic) == 120
    written = pd.read_parquet(tmp_path / "r" / "synthetic.parquet")
    pd.testing.assert_frame_equal(written, res.synthetic.reset_index(drop=True))
    model = synthgen.load(tmp_path / "r" / "model")
    assert list(model.sample(10, seed=2).columns) == list(df.columns)
    from synthgen.evaluation import validate_run  # `synthgen validate RUN_FOLDER`

    with pytest.raises(synthgen.DataError, match="made from a DataFrame"):
        validate_run(tmp_path / "r", out=tmp_path / "v")
    recipe = ROOT / "recipes" / "insurance.yaml"  # has outputs: written only with a run folder
    with pytest.raises(synthgen.UsageError, match="outputs=\\[\\]"):
        synthgen.synthesize(df, recipe)
    with pytest.raises(synthgen.RecipeError) as err:
        synthgen.synthesize(df, generator="copulaa", holdout=2)
    assert "holdout" in str(err.value) and "copula" in str(err.value)


def test_evaluate_warns_when_real_and_synthetic_share_no_label() -> None:
    real = pd.read_csv(ROOT / "data" / "insurance.csv")
    other = real.iloc[600:1200].assign(sex=lambda d: d["sex"].str.upper())
    verdict = synthgen.evaluate(real.iloc[:600], other)
    assert [w for w in verdict["warnings"] if w.startswith("column 'sex': no synthetic label")]
    assert not synthgen.evaluate(real.iloc[:600], real.iloc[600:1200])["warnings"]


def test_sample_from_python_gives_the_rows_synthgen_sample_writes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from synthgen.cli import cli
    from synthgen.io import write_table

    df = _patients(300)
    synthgen.synthesize(
        df, generator="copula", pii={"strategies": {"email": "drop"}}, out=tmp_path / "r"
    )
    rows = synthgen.sample(tmp_path / "r" / "model", 80, seed=4)
    assert "email" not in rows.columns and len(rows) == 80  # the run's PII strategy applies
    assert "email" in synthgen.load(tmp_path / "r" / "model").sample(5).columns  # bare model
    out = tmp_path / "cli.csv"
    args = ["sample", str(tmp_path / "r" / "model"), "-n", "80", "--seed", "4", "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    write_table(rows, tmp_path / "py.csv", "csv")
    assert (tmp_path / "py.csv").read_bytes() == out.read_bytes()
    young = synthgen.sample(tmp_path / "r" / "model", 30, conditions={"age": {"max": 30}})
    assert young["age"].max() <= 30
    with pytest.raises(synthgen.UsageError):
        synthgen.sample(tmp_path / "r" / "model", 0)
