"""The report a run or a validation writes: one dict (report.json for machines) and the
HTML page people read, both from the same data. Nothing here computes a metric."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen import __version__
from synthgen.schema import Schema


def build_report(
    name: str,
    seed: int,
    schema: Schema,
    verdict: dict[str, Any],
    warnings: list[str],
    timings: dict[str, float],
    rows: dict[str, int],
    **extra: Any,
) -> dict[str, Any]:
    """The report both `run` and `validate` write; ``extra`` adds their own keys."""
    return {
        "synthgen_version": __version__,
        "recipe": name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "passed": verdict["passed"],
        "verdict": verdict["verdict"],
        "gates": verdict["gates"],
        "suite": verdict["suite"],
        "rows": rows,
        "timings": timings,
        "metrics": verdict["metrics"],
        "schema": [c.model_dump() for c in schema.columns],
        "warnings": warnings,
        "outputs": [],
        **extra,
    }


def write_report_files(
    folder: Path,
    report: dict[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
) -> None:
    """report.json for machines and report.html for people, into ``folder``."""
    from synthgen.report.html import render_html

    text = report_json(report)
    (folder / "report.json").write_text(text, encoding="utf-8")
    html = render_html(report, real=real, synthetic=synthetic, schema=schema)
    (folder / "report.html").write_text(html, encoding="utf-8")


def report_json(report: dict[str, Any]) -> str:
    """Strict JSON: a NaN or an infinity (a loss that diverged, a metric with nothing to
    compare) is written as null, which every parser reads; bare NaN is not JSON."""
    return json.dumps(_finite(report), indent=2, default=_json_default, allow_nan=False)


def _finite(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    return v


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
