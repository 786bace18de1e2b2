"""The pytest plugin, run in a pytest of its own (pytester), as a CI pipeline would use it."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.integration.fixtures_schemas import SQLITE_SCHEMA

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """Installed, the package registers the plugin (pytest11) and pytest loads it by itself;
    from a source tree not yet reinstalled, name it."""
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="pytest11")}
    return (
        []
        if "synthgen.fixtures.pytest_plugin" in names
        else ["-p", "synthgen.fixtures.pytest_plugin"]
    )


PLUGIN = _plugin_args()

_TESTS = """
import sqlite3


def _count(url, table):
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_session_db(synthgen_db):
    assert _count(synthgen_db, "department") == 12
    assert _count(synthgen_db, "assignment") == 90


def test_same_db_again(synthgen_db):
    assert _count(synthgen_db, "employee") == 36


def test_own_fixtures(synthgen_fixtures):
    a = synthgen_fixtures("schema.sql", rows=["4"], seed=3)
    b = synthgen_fixtures("schema.sql", rows=["4"], seed=3)
    assert a != b and _count(a, "department") == 4
    with sqlite3.connect(a.removeprefix("sqlite:///")) as x, sqlite3.connect(b.removeprefix("sqlite:///")) as y:
        assert list(x.iterdump()) == list(y.iterdump())
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's synthgen in the subprocess
    pytester.makefile(".sql", schema=SQLITE_SCHEMA)
    pytester.makepyfile(test_app=_TESTS)
    return pytester


def test_plugin_gives_a_seeded_database(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nsynthgen_schema = schema.sql\nsynthgen_rows = 12 assignment=90\nsynthgen_seed = 7\n"
    )
    result = project.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(passed=3)


def test_plugin_without_a_schema_says_what_to_set(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\n")
    result = project.runpytest_subprocess(*PLUGIN, "-k", "session_db")
    result.stdout.fnmatch_lines(["*synthgen_db needs synthgen_schema*"])
    assert result.ret != 0


@pytest.mark.postgres
def test_plugin_fills_a_named_postgres_database(project: pytest.Pytester, pg_db) -> None:
    project.makeini(
        "[pytest]\nsynthgen_schema = schema.sql\nsynthgen_rows = 12 assignment=90\n"
        f"synthgen_db_url = {pg_db.url}\n"
    )
    project.makepyfile(
        test_app="def test_url(synthgen_db):\n    assert synthgen_db.startswith('postgresql')\n"
    )
    result = project.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(passed=1)
    assert pg_db.scalar("SELECT count(*) FROM assignment") == 90
    assert pg_db.scalar("SELECT count(*) FROM department") == 12
