"""The package face: ``import synthgen`` gives the verbs the CLI uses, and they do what the
CLI does (a run from Python writes the same run folder; evaluate judges DataFrames)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

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
