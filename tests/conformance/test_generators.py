"""Every registered generator honours the same contract (scikit-learn's check_estimator idea)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import NotFittedError, RecipeError, UsageError
from synthgen.generators import Generator, create, registry

FAST_PARAMS = {
    "sdv.ctgan": {"epochs": 1, "batch_size": 50},
    "sdv.tvae": {"epochs": 1, "batch_size": 50},
}


def _cases() -> list:
    out = []
    for name, entry in sorted(registry.entries().items()):
        marks = []
        if entry.extra is not None:
            marks.append(pytest.mark.slow)
            if not registry.is_installed(entry):
                marks.append(pytest.mark.skip(reason=f"needs synthgen[{entry.extra}]"))
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "n_int": rng.integers(0, 50, n),
            "n_float": rng.normal(10, 3, n),
            "label": rng.choice(["x", "y", "z"], n),
            "flag": rng.random(n) < 0.5,
        }
    )


@pytest.mark.parametrize("name", _cases())
def test_contract(name: str, table: pd.DataFrame, tmp_path: Path):
    gen = create(name, **FAST_PARAMS.get(name, {}))
    with pytest.raises(NotFittedError):
        gen.sample(3)
    assert gen.fit(table, seed=0) is gen
    a = gen.sample(150, seed=1)
    assert list(a.columns) == list(table.columns) and len(a) == 150
    assert a.dtypes.to_dict() == table.dtypes.to_dict()
    pd.testing.assert_frame_equal(a, gen.sample(150, seed=1))
    assert set(a["label"]) <= {"x", "y", "z"}
    c = gen.sample(60, seed=2, conditions={"label": "y"})
    assert len(c) == 60 and (c["label"] == "y").all()
    c = gen.sample(60, seed=2, conditions={"label": ["x", "z"], "n_int": {"min": 10, "max": 30}})
    assert c["label"].isin(["x", "z"]).all() and c["n_int"].between(10, 30).all()
    gen.save(tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.pkl"))
    try:
        loaded = Generator.load(tmp_path / "m")
    except UsageError as err:  # engines whose state is a pickle refuse, clearly
        assert "pickle" in str(err)
    else:
        pd.testing.assert_frame_equal(a, loaded.sample(150, seed=1))
        again = loaded.sample(60, seed=2, conditions={"label": "y"})
        pd.testing.assert_frame_equal(again, gen.sample(60, seed=2, conditions={"label": "y"}))


@pytest.mark.parametrize("name", _cases())
def test_context_is_learnt_or_refused_clearly(name: str, table: pd.DataFrame, tmp_path: Path):
    """A child table given its parents' attributes: a generator that supports a context
    learns it (and keeps it through save / load); any other refuses it, saying so."""
    gen = create(name, **FAST_PARAMS.get(name, {}))
    parent = pd.DataFrame({"group": np.where(table["n_int"] < 25, "low", "high")})
    if not gen.supports_context:
        with pytest.raises(UsageError, match="cannot model a child table"):
            gen.fit(table, seed=0, context=parent)
        return
    gen.fit(table, seed=0, context=parent)
    with pytest.raises(UsageError, match="context"):
        gen.sample(10, seed=0)
    given = pd.DataFrame({"group": ["low"] * 100 + ["high"] * 100})
    a = gen.sample(200, seed=3, context=given)
    assert len(a) == 200 and list(a.columns) == list(table.columns)
    low, high = a["n_int"][:100], a["n_int"][100:]
    assert low.mean() < high.mean()  # the context is read
    gen.save(tmp_path / "m")
    loaded = Generator.load(tmp_path / "m")
    pd.testing.assert_frame_equal(a, loaded.sample(200, seed=3, context=given))


@pytest.mark.parametrize("name", sorted(registry.entries()))
def test_unknown_params_are_rejected_with_their_path(name: str):
    with pytest.raises(RecipeError, match=r"generator\.params\.no_such_param: unknown key"):
        registry.get_class(name)(no_such_param=1)


def test_missing_extra_names_what_to_install(monkeypatch: pytest.MonkeyPatch, table: pd.DataFrame):
    import sys

    from synthgen.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "sdv.single_table", None)  # import now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'synthgen\[sdv\]'"):
        create("sdv.gaussian_copula").fit(table)


def test_core_does_not_import_sdv():
    import subprocess
    import sys

    code = (
        "import sys, synthgen.pipeline, synthgen.cli, synthgen.generators.copula; "
        "print('sdv' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert importlib.util.find_spec("synthgen") is not None
