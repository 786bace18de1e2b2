"""Command-line conventions: -q / -v on every command (through `logging`), exit 130 on
Ctrl-C, shell completion, one version."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import synthgen
from synthgen.cli import cli
from synthgen.logs import LOGGER
from tests.conftest import ROOT, write_recipe


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    pd.read_csv(ROOT / "data" / "insurance.csv").iloc[:400].to_csv(tmp_path / "t.csv", index=False)
    return write_recipe(
        tmp_path,
        "name: t\nseed: 1\nsource: {path: t.csv}\ngenerator: {name: copula}\n"
        "validate: {gates: {quality: 0, column_shapes: 0, detection: 1}}\n",
    )


def test_every_command_takes_q_and_v() -> None:
    commands = {"(group)": cli, **cli.commands}
    assert {"run", "validate", "inspect", "sample", "list", "fixtures", "init"} <= set(commands)
    for name, command in commands.items():
        flags = {o for p in command.params for o in p.opts}
        assert {"-q", "-v", "--quiet", "--verbose"} <= flags, name


def test_v_shows_the_stages_debug_lines_and_q_only_errors(recipe: Path, tmp_path: Path) -> None:
    loud = invoke("run", recipe, "--out", tmp_path / "a", "-v")
    assert loud.exit_code == 0, loud.output
    assert "· detecting schema" in loud.stderr  # the stage messages (INFO)
    assert "debug: stage fit done in" in loud.stderr and "debug: metric quality:" in loud.stderr
    assert "debug: schema: age integer" in loud.stderr
    quiet = invoke("-q", "run", recipe, "--out", tmp_path / "c")  # the group takes it too
    assert quiet.exit_code == 0 and quiet.output == ""
    assert (tmp_path / "c" / "report.json").is_file()
    said = invoke("sample", tmp_path / "a" / "model", "-n", 5, "--out", tmp_path / "s.csv")
    assert "wrote 5 rows" in said.stderr and "debug:" not in said.stderr
    louder = invoke("sample", tmp_path / "a" / "model", "-n", 5, "--out", tmp_path / "s.csv", "-v")
    assert "wrote 5 rows" in louder.stderr and "debug: model: generator copula" in louder.stderr
    hush = invoke("sample", tmp_path / "a" / "model", "-n", 5, "--out", tmp_path / "s.csv", "-q")
    assert hush.exit_code == 0 and hush.output == ""
    shown = invoke("inspect", recipe.parent / "t.csv", "--json", tmp_path / "x.json", "-q")
    assert "wrote" not in shown.stderr and "charges" in shown.stdout  # the result still shows
    # an error still shows under -q
    bad = invoke("run", tmp_path / "nope.yaml", "-q")
    assert bad.exit_code == 2 and "recipe file not found" in bad.stderr
    both = invoke("run", recipe, "-q", "-v")
    assert both.exit_code == 2 and "not both" in both.output
    assert LOGGER.handlers == [] and LOGGER.propagate  # the CLI left logging as it found it


def test_a_python_run_logs_its_stages_through_logging(
    recipe: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="synthgen"):
        synthgen.run(recipe, out=tmp_path / "r")
    said = [r.getMessage() for r in caplog.records if r.name == "synthgen"]
    assert "detecting schema" in said and any(m.startswith("stage fit done") for m in said)


def test_ctrl_c_exits_130_without_a_traceback(
    recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("synthgen.pipeline.run", interrupted)
    res = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(tmp_path / "r")])
    assert res.exit_code == 130, res.output
    assert "interrupted" in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "r").exists()


def test_shell_completion_script_and_answers(tmp_path: Path) -> None:
    script = invoke("completion", "bash")
    assert script.exit_code == 0 and "_SYNTHGEN_COMPLETE=bash_complete" in script.stdout
    for shell in ("zsh", "fish"):
        assert invoke("completion", shell).exit_code == 0

    def complete(words: str, cword: int) -> str:
        env = os.environ | {
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
            "_SYNTHGEN_COMPLETE": "bash_complete",
            "PYTHONPATH": str(ROOT),
        }
        cmd = [sys.executable, "-m", "synthgen.cli"]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout

    assert "plain,run" in complete("synthgen ru", 1).split()
    assert "plain,--engine" in complete("synthgen run --en", 2).split()
    assert "plain,ray" in complete("synthgen sample --engine r", 3).split()


def test_the_version_has_one_source() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "synthgen.__version__"}
    res = invoke("--version")
    assert res.exit_code == 0 and res.stdout.strip() == f"synthgen, version {synthgen.__version__}"
