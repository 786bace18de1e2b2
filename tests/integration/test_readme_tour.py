"""The README's five-minute tour runs as written: every `synthgen` line of its shell block,
in order, in a fresh copy of the bundled data and recipes, exits 0."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour") :]
    block = re.search(r"```sh\n(.*?)```", tour, flags=re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.startswith("synthgen ")]


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path):
    if not (SHARED / "chinook").is_dir():
        pytest.skip(f"the shared data folder is missing: {SHARED}")
    repo = tmp_path / "repo"
    for folder in ("data", "recipes"):
        shutil.copytree(ROOT / folder, repo / folder)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(SHARED)
    commands = tour_commands()
    assert len(commands) >= 8 and any(c.startswith("synthgen run ") for c in commands)
    bin_dir = Path(sys.executable).parent
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in commands:
        done = subprocess.run(
            shlex.split(command), cwd=repo, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, command
    assert (repo / "runs" / "insurance" / "report.html").is_file()  # what the README opens next
    assert (repo / "adult-100k.parquet").is_file() and (repo / "women.csv").is_file()
    assert (repo / "my-insurance.yaml").is_file() and (repo / "chinook.html").is_file()


def readme_python() -> str:
    """The README's Python blocks of the tour, in order, as one program."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour") : text.index("## What a run does")]
    blocks = re.findall(r"```python\n(.*?)```", tour, flags=re.S)
    assert len(blocks) >= 2
    return "\n".join(blocks)


@pytest.mark.slow
def test_the_readme_python_snippets_run_as_written(tmp_path: Path):
    for folder in ("data", "recipes"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    code = readme_python()
    assert "synthgen.synthesize(df" in code and "synthgen.load(" in code
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "runs" / "ins-df" / "model" / "config.json").is_file()


def test_every_bundled_recipe_is_listed_with_how_long_it_takes():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text[text.index("## Bundled recipes") : text.index("## What a run does")]
    rows = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\| `([^`]+)` \|[^|]*\|([^|]*)\|$", part, flags=re.M)
    }
    recipes = {
        p.relative_to(ROOT / "recipes").as_posix()
        for p in (ROOT / "recipes").rglob("*.yaml")
        if re.search(r"^name: ", p.read_text(encoding="utf-8"), flags=re.M)
    }
    assert recipes and recipes == set(rows), recipes ^ set(rows)
    for name, took in rows.items():
        assert re.search(r"\d+ (s|min)\b|not timed here", took), (name, took)
