"""A run never destroys or overwrites what the user did not ask to replace, checks every
destination before any work, and an interrupted run leaves the previous results intact."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synthgen.io.atomic import exclusive
from tests.conftest import ROOT, write_recipe
from tests.integration.test_cli import _frame, invoke, small_recipe


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _temps(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if ".synthgen-" in p.name]


def test_out_over_a_folder_of_user_files_is_refused_before_any_work(tmp_path: Path):
    sub = tmp_path / "sub"
    sub.mkdir()
    recipe = small_recipe(sub)
    (sub / "notes.txt").write_text("my own notes")
    before = _snapshot(sub)
    res = invoke("run", recipe, "--out", sub)
    assert res.exit_code == 2, res.output
    assert "holds files synthgen did not write" in res.output and "notes.txt" in res.output
    assert "fitting" not in res.output  # refused before any work
    assert _snapshot(sub) == before


def test_out_onto_a_file_or_the_working_folder_is_refused(tmp_path: Path, monkeypatch):
    recipe = small_recipe(tmp_path)
    before = _snapshot(tmp_path)
    res = invoke("run", recipe, "--out", tmp_path / "data.csv")
    assert res.exit_code == 2 and "is not a folder synthgen wrote" in res.output
    monkeypatch.chdir(tmp_path)
    res = invoke("run", recipe, "--out", ".")
    assert res.exit_code == 2 and "the folder you are working in" in res.output
    assert "Traceback" not in res.output
    assert _snapshot(tmp_path) == before


def test_outputs_never_overwrite_the_source_or_the_recipe(tmp_path: Path):
    for extra in (
        "outputs:\n  - path: data.csv\n",
        "outputs:\n  - {path: recipe.yaml, format: csv}\n",
        "outputs:\n  - path: run/x.csv\n",
        "outputs:\n  - path: o.csv\n  - path: ./o.csv\n",
    ):
        recipe = small_recipe(tmp_path, extra=extra)
        before = _snapshot(tmp_path)
        res = invoke("run", recipe, "--out", tmp_path / "run")
        assert res.exit_code == 2, (extra, res.output)
        assert "nothing was done" in res.output
        assert _snapshot(tmp_path) == before


def test_an_unwritable_destination_fails_before_anything_is_written(tmp_path: Path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    recipe = small_recipe(
        tmp_path, extra="outputs:\n  - path: ok/syn.csv\n  - path: blocker/syn.csv\n"
    )
    res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2, res.output
    assert not (tmp_path / "ok").exists() and not (tmp_path / "run").exists()
    recipe = small_recipe(tmp_path, extra="outputs:\n  - path: ok/syn.csv\n")
    res = invoke("run", recipe, "--out", tmp_path / "blocker" / "run")
    assert res.exit_code == 2, res.output
    assert not (tmp_path / "ok").exists()


@pytest.mark.slow
def test_a_run_replaces_its_own_folder_but_not_once_a_user_added_to_it(tmp_path: Path):
    recipe = small_recipe(tmp_path, extra="outputs:\n  - path: out/syn.csv\n")
    run = tmp_path / "run"
    assert invoke("run", recipe, "--out", run).exit_code == 0
    first = _snapshot(run)
    assert invoke("run", recipe, "--out", run, "--seed", "9").exit_code == 0
    assert _snapshot(run) != first  # replaced: it was ours
    (run / "my-analysis.ipynb").write_text("{}")
    res = invoke("run", recipe, "--out", run, "--seed", "10")
    assert res.exit_code == 2 and "my-analysis.ipynb" in res.output
    assert (run / "my-analysis.ipynb").exists()


def test_stale_temp_files_of_dead_runs_are_swept(tmp_path: Path):
    recipe = small_recipe(tmp_path, extra="outputs:\n  - path: out/syn.csv\n")
    (tmp_path / "out").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / "out" / f".syn.csv.synthgen-{dead}-abcd1234.tmp"
    stale_dir = tmp_path / f".run.synthgen-{dead}-abcd1234.tmp"
    alive = tmp_path / "out" / f".syn.csv.synthgen-{os.getppid()}-abcd1234.tmp"
    foreign = tmp_path / "out" / ".syn.csv.abcd.tmp"
    for p in (stale, alive, foreign):
        p.write_text("x")
    stale_dir.mkdir()
    assert invoke("run", recipe, "--out", tmp_path / "run").exit_code == 0
    assert not stale.exists() and not stale_dir.exists()
    assert alive.exists() and foreign.exists()  # a live process's, and not ours


def test_a_destination_another_run_is_writing_is_refused(tmp_path: Path):
    recipe = small_recipe(tmp_path, extra="outputs:\n  - path: out/syn.csv\n")
    with exclusive([tmp_path / "out" / "syn.csv"]):
        res = invoke("run", recipe, "--out", tmp_path / "run")
    assert res.exit_code == 2 and "another synthgen process" in res.output
    assert not (tmp_path / "run").exists()


# ---- real processes ---------------------------------------------------------------------------
def _start(recipe: Path, out: Path, seed: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "synthgen.cli", "run", str(recipe), "--out", str(out)]
    return subprocess.Popen(
        [*cmd, "--seed", str(seed)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        text=True, env=env, cwd=recipe.parent,
    )  # fmt: skip


@pytest.mark.slow
def test_an_interrupted_run_leaves_the_previous_results_intact(tmp_path: Path):
    _frame(3000).to_csv(tmp_path / "data.csv", index=False)
    recipe = write_recipe(
        tmp_path,
        "name: sig\nseed: 1\nsource: {path: data.csv}\noutputs:\n  - path: out/syn.csv\n",
    )
    run = tmp_path / "run"
    first = _start(recipe, run, 1)
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    before = _snapshot(tmp_path)
    outcomes = []
    # interrupt at each stage, the write stage twice
    plan = [
        ("fitting", signal.SIGTERM),
        ("sampling", signal.SIGINT),
        ("validating", signal.SIGTERM),
        ("writing", signal.SIGTERM),
        ("writing", signal.SIGINT),
    ]
    for i, (stage, signum) in enumerate(plan):
        proc = _start(recipe, run, 100 + i)
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if stage in line:
                proc.send_signal(signum)
                break
        rest = "".join(seen) + proc.stderr.read()
        code = proc.wait(timeout=300)
        outcomes.append(code)
        assert "Traceback" not in rest, rest
        if code == 0:  # the signal came after the commit: a complete, consistent new run
            before = _snapshot(tmp_path)
            continue
        assert code == 128 + signum, (stage, signum, code, rest)
        after = _snapshot(tmp_path)
        changed = sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))
        assert not changed, f"interrupted at {stage}: changed {changed}\n{rest}"
        assert _temps(tmp_path) == []
    assert sum(c != 0 for c in outcomes) >= 3, outcomes
    report = json.loads((run / "report.json").read_text())
    syn = (run / "synthetic.csv").read_bytes()
    assert (tmp_path / "out" / "syn.csv").read_bytes() == syn  # from the same run
    assert report["passed"]


@pytest.mark.slow
def test_concurrent_runs_never_mix_their_outputs(tmp_path: Path):
    _frame(1000).to_csv(tmp_path / "data.csv", index=False)
    recipe = write_recipe(
        tmp_path,
        "name: conc\nseed: 1\nsource: {path: data.csv}\noutputs:\n  - path: out/syn.csv\n",
    )
    procs = [_start(recipe, tmp_path / f"run{k}", k) for k in range(3)]
    codes = [p.wait(timeout=300) for p in procs]
    errs = [p.stderr.read() if p.stderr else "" for p in procs]
    assert set(codes) <= {0, 2}, errs
    assert codes.count(0) >= 1, errs
    refused = [e for c, e in zip(codes, errs, strict=True) if c == 2]
    assert all("another synthgen process" in e for e in refused), refused
    out = (tmp_path / "out" / "syn.csv").read_bytes()
    written = [k for k in range(3) if (tmp_path / f"run{k}" / "synthetic.csv").exists()]
    matches = [k for k in written if (tmp_path / f"run{k}" / "synthetic.csv").read_bytes() == out]
    assert matches and set(written) == {k for k, c in enumerate(codes) if c == 0}
    if codes.count(0) == 1:
        assert matches == [codes.index(0)]
