"""Shared benchmark helpers: the data, the external quality ruler and the TSTR classifier."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def adult_path() -> Path:
    shared = ROOT.parent / "shared" / "data" / "adult.csv"
    return shared if shared.exists() else ROOT / "data" / "adult.csv"


def load_adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adult, spaces stripped, '?' missing; an 80/20 train/holdout split with a fixed seed."""
    from synthgen.io import read_table

    df = read_table(adult_path(), na_values=["?"], strip_whitespace=True)
    order = np.random.default_rng(12345).permutation(len(df))
    cut = int(len(df) * 0.8)
    return df.iloc[order[:cut]].reset_index(drop=True), df.iloc[order[cut:]].reset_index(drop=True)


def one_thread() -> None:
    """One thread everywhere: on these 2-core machines it is the fastest and steadiest."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import torch
    import torch._dynamo  # noqa: F401 - imported by the first optimizer; keep it out of timings

    torch.set_num_threads(1)


def write_ray_result(out: str | Path, doc: dict[str, Any], summary: dict[str, Any]) -> None:
    """A Ray benchmark's JSON: ``doc`` with the machine, Python and Ray versions and the
    ``summary`` as its results; the summary printed."""
    import ray

    doc = doc | {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs",
        "python": platform.python_version(),
        "ray": ray.__version__,
        "results": summary,
    }
    Path(out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def sdmetrics_quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """SDMetrics' QualityReport overall score: the same external ruler for every generator."""
    from sdmetrics.reports.single_table import QualityReport

    columns = {
        c: {"sdtype": "numerical" if real[c].dtype.kind in "if" else "categorical"}
        for c in real.columns
    }
    report = QualityReport()
    report.generate(real, synthetic[real.columns], {"columns": columns}, verbose=False)
    return float(report.get_score())


def tstr_f1(train: pd.DataFrame, test: pd.DataFrame, target: str = "income") -> float:
    """F1 (positive = the rarer real class) of a fixed gradient-boosting model trained on
    ``train`` and tested on the real ``test``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score

    positive = test[target].value_counts().idxmin()
    feats = [c for c in test.columns if c != target]

    def xy(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        x = df[feats].copy()
        for c in feats:
            if x[c].dtype == object:
                x[c] = pd.Categorical(x[c], categories=sorted(test[c].dropna().unique()))
        return x, (df[target] == positive).to_numpy()

    xtr, ytr = xy(train)
    xte, yte = xy(test)
    if ytr.all() or not ytr.any():
        return 0.0
    model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, random_state=0, categorical_features="from_dtype"
    )
    model.fit(xtr, ytr)
    return float(f1_score(yte, model.predict(xte)))
