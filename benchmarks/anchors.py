"""Fit one anchor on a training table and sample from it, in the anchors' own virtualenv.

    .bench-venv/bin/python benchmarks/anchors.py NAME TRAIN.parquet OUT.parquet --seed S

NAME: ``tabularargn`` (MOSTLY AI's TabularARGN, ``mostlyai-engine``; its own early stopping,
a 3-minute cap) or ``arf`` (adversarial random forests, ``arfpy``). One thread. Prints one
JSON line: fit and sample seconds (wall and CPU) and the peak RSS of this process. This
file imports neither synthgen nor anything of its dependencies beyond pandas: the anchors'
pins (torch, numpy < 2.4) never meet synthgen's (``make bench-anchors`` builds the venv).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MISSING = "__missing__"


def _peak_mb() -> float:
    """This program's own peak RSS in MB: VmHWM (ru_maxrss keeps the forking parent's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tabularargn(train: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, dict]:
    import torch
    from mostlyai.engine import TabularARGN

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as ws:
        model = TabularARGN(max_training_time=3, device="cpu", workspace_dir=ws, random_state=seed)
        t = _clock()
        model.fit(train)
        fit = _since(t)
        t = _clock()
        syn = model.sample(n_samples=n)
        return syn, {**fit, **_since(t, "sample")}


def arf(train: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """arfpy wants labels as categories and no missing values: missing labels are a label of
    their own, given back as missing; numbers with missing values are refused (Adult has
    none)."""
    from arfpy import arf as arfmod

    np.random.seed(seed)
    x = train.copy()
    labels = [c for c in x.columns if x[c].dtype == object]
    for c in labels:
        x[c] = x[c].fillna(MISSING).astype("category")
    t = _clock()
    model = arfmod.arf(x=x, verbose=False)
    model.forde()
    fit = _since(t)
    t = _clock()
    syn = model.forge(n=n)
    for c in labels:
        syn[c] = syn[c].astype(object).where(syn[c].astype(object) != MISSING, np.nan)
    return syn, {**fit, **_since(t, "sample")}


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float], what: str = "fit") -> dict:
    return {f"{what}_s": time.perf_counter() - t[0], f"{what}_cpu_s": time.process_time() - t[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("name", choices=["tabularargn", "arf"])
    ap.add_argument("train")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=int)
    args = ap.parse_args()
    train = pd.read_parquet(args.train)
    syn, timing = {"tabularargn": tabularargn, "arf": arf}[args.name](
        train, args.rows or len(train), args.seed
    )
    syn = syn[list(train.columns)].reset_index(drop=True)
    for c in syn.columns:  # plain dtypes: numbers as floats, labels as objects
        syn[c] = (
            pd.to_numeric(syn[c], errors="coerce").astype(float)
            if train[c].dtype.kind in "if"
            else syn[c].astype(object).where(syn[c].notna(), None)
        )
    syn.to_parquet(args.out)
    timing["peak_rss_mb"] = _peak_mb()
    print(json.dumps(timing))


if __name__ == "__main__":
    main()
