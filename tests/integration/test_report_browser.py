"""report.html in a real browser (headless Chromium): no console errors, every plot decodes,
the gate table is visible. A screenshot is kept as a test artefact.

Skipped when no Chromium is installed, unless SYNTHGEN_REQUIRE_BROWSER=1 (CI sets it and
installs Debian's ``chromium``): then a missing browser fails the test."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from tests.integration.cdp import Chromium, find_browser

pytestmark = pytest.mark.slow

PLOTS = """[...document.images].map(i => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))"""
GATES = """(() => {
    const s = document.querySelector('#gates');
    if (!s) return null;
    const r = s.getBoundingClientRect(), st = getComputedStyle(s);
    return {top: r.top, height: r.height, width: r.width, display: st.display,
            visibility: st.visibility, rows: s.querySelectorAll('tbody tr').length,
            text: s.innerText};
})()"""


@pytest.fixture(scope="module")
def browser() -> str:
    found = find_browser()
    if found is None:
        if os.environ.get("SYNTHGEN_REQUIRE_BROWSER") == "1":
            pytest.fail("SYNTHGEN_REQUIRE_BROWSER=1 but no chromium is installed")
        pytest.skip(
            "no chromium installed (apt-get install chromium); set "
            "SYNTHGEN_REQUIRE_BROWSER=1 to make this a failure"
        )
    return found


@pytest.fixture(scope="module")
def report(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real report: `synthgen validate` of copula output on Adult rows (every plot kind:
    distributions, DCR histogram, correlation heatmaps, timings)."""
    from synthgen.generators import create

    d = tmp_path_factory.mktemp("browser")
    rows = adult.sample(3000, random_state=2).reset_index(drop=True)
    train, holdout = rows.iloc[:2400], rows.iloc[2400:]
    syn = create("copula").fit(train, seed=0).sample(2400, seed=1)
    paths = {}
    for name, df in (("train", train), ("holdout", holdout), ("syn", syn)):
        paths[name] = d / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    args = [
        "validate",
        "--real",
        paths["train"],
        "--synthetic",
        paths["syn"],
        "--holdout",
        paths["holdout"],
        "--target",
        "income",
        "--out",
        d / "v",
        "-q",
    ]
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code in (0, 3, 4), res.output
    return d / "v" / "report.html"


def artefact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SYNTHGEN_ARTEFACTS (CI collects it) or pytest's own temporary folder."""
    where = os.environ.get("SYNTHGEN_ARTEFACTS")
    out = Path(where) if where else tmp_path_factory.getbasetemp() / "artefacts"
    out.mkdir(parents=True, exist_ok=True)
    return out


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_report_in_headless_chromium(
    browser: str, report: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with Chromium(browser) as page:
        page.open(report)
        plots = page.evaluate(PLOTS)
        gates = page.evaluate(GATES)
        shot = page.screenshot(artefact_dir(tmp_path_factory) / "report.png")
        errors = page.errors()
    print(f"screenshot: {shot}")
    assert not errors, errors
    assert len(plots) >= 5, plots  # distributions, DCR, heatmaps, timings
    broken = [p for p in plots if not p["complete"] or p["width"] == 0 or p["height"] == 0]
    assert not broken, broken
    assert gates is not None, "no gate table"
    assert gates["display"] != "none" and gates["visibility"] == "visible"
    assert gates["height"] > 50 and gates["width"] > 300
    assert gates["top"] < 900, "the gate table is not on the first screen"
    assert gates["rows"] >= 5 and "membership" in gates["text"]
    width, height = png_size(shot)
    assert width >= 1000 and height >= 900
    assert np.isfinite(width)


def test_a_broken_plot_and_a_script_error_are_caught(browser: str, tmp_path: Path) -> None:
    """The checks can fail: an image that does not decode and a throwing script."""
    page_file = tmp_path / "bad.html"
    page_file.write_text(
        '<!DOCTYPE html><html><body><section id="gates"><table><tbody><tr><td>x</td></tr>'
        '</tbody></table></section><img alt="bad" src="data:image/png;base64,AAAA">'
        "<script>undefinedFunction()</script></body></html>",
        encoding="utf-8",
    )
    with Chromium(browser) as page:
        page.open(page_file)
        plots = page.evaluate(PLOTS)
        errors = page.errors()
    assert plots and plots[0]["width"] == 0
    assert any("undefinedFunction" in e for e in errors), errors
