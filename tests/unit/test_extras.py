"""Optional packages: a user without one gets an error naming the extra that installs it,
before any work, never an ImportError traceback."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import MissingExtraError
from synthgen.privacy.accounting import SGDRun, _prv_epsilon, composed_epsilon


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):
    """Make the named top-level packages look not installed."""
    real = importlib.util.find_spec
    hidden: set[str] = set()

    def find_spec(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in hidden:
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return hidden


def test_dp_sgd_accounting_without_opacus_names_the_dp_extra(without: set[str]):
    without.add("opacus")
    _prv_epsilon.cache_clear()
    assert composed_epsilon(0.5, [], 1e-6) > 0  # Gaussian releases alone need no opacus
    with pytest.raises(MissingExtraError, match=r"synthgen\[dp\]"):
        composed_epsilon(0.5, [SGDRun(1.0, 0.01, 100)], 1e-6)


def test_a_dp_run_without_opacus_stops_before_the_fit(without: set[str], tmp_path: Path):
    without.add("opacus")
    import pandas as pd

    pd.DataFrame({"x": range(300), "y": ["a", "b", "c"] * 100}).to_csv(
        tmp_path / "d.csv", index=False
    )
    (tmp_path / "r.yaml").write_text(
        "name: t\nsource: {path: d.csv}\ngenerator: {name: autoreg}\n"
        "privacy: {epsilon: 3}\nschema:\n  x: {min: 0, max: 300}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "pip install 'synthgen[dp]'" in res.output and "Traceback" not in res.output
    assert "fitting" not in res.output and not (tmp_path / "o").exists()


def test_list_says_which_extras_are_missing(without: set[str]):
    without.add("tokenizers")
    listed = json.loads(CliRunner().invoke(cli, ["list", "--json"]).output)
    local = next(b for b in listed["text_backends"] if b["name"] == "local")
    assert local == local | {"extra": "text", "installed": False}
