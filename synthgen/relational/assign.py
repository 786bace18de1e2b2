"""Assigning references: children matched to parents that keep their learnt degree.

Each parent row offers as many slots as its degree (rescaled so the slots match the rows to
place); each child row asks for a parent profile (a few label cells). Rows are matched on the
whole profile first, then on shorter prefixes of it, then anyhow, in a seeded random order,
so the joint structure the model learnt (which kinds of tracks which customers buy) is kept
where the slots allow, and every parent keeps its degree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def scale_degrees(deg: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Whole degrees >= 0 summing to ``total``, proportional to ``deg``."""
    deg = np.clip(np.nan_to_num(np.asarray(deg, dtype=float)), 0, None)
    if len(deg) == 0:
        return deg.astype(np.int64)
    if deg.sum() <= 0:
        deg = np.ones(len(deg))
    want = deg * (total / deg.sum())
    base = np.floor(want).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        frac = want - base + rng.random(len(deg)) * 1e-9
        base[np.argsort(-frac, kind="stable")[:short]] += 1
    return base


def match(
    want: pd.DataFrame, offer: pd.DataFrame, degree: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Parent row number per child row: ``want`` (child rows x cells) against ``offer``
    (parent rows x the same cells), each parent used ``degree`` times (sum = child rows)."""
    n = len(want)
    slots = np.repeat(np.arange(len(offer)), degree)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    if len(slots) < n:
        raise ValueError("fewer slots than rows to place")
    child_left = rng.permutation(n)
    slot_left = rng.permutation(len(slots))
    for level in range(want.shape[1], -1, -1):
        if len(child_left) == 0:
            break
        ckey = _prefix(want, child_left, level)
        skey = _prefix(offer, slots[slot_left], level)
        c = pd.DataFrame({"k": ckey, "i": child_left})
        s = pd.DataFrame({"k": skey, "j": slot_left})
        c["r"] = c.groupby("k", sort=False).cumcount()
        s["r"] = s.groupby("k", sort=False).cumcount()
        m = c.merge(s, on=["k", "r"], how="inner")
        out[m["i"].to_numpy()] = slots[m["j"].to_numpy()]
        done_c, done_s = set(m["i"].tolist()), set(m["j"].tolist())
        child_left = np.array([i for i in child_left if i not in done_c], dtype=np.int64)
        slot_left = np.array([j for j in slot_left if j not in done_s], dtype=np.int64)
    return out


def _prefix(cells: pd.DataFrame, rows: np.ndarray, level: int) -> list[str]:
    if level == 0 or len(rows) == 0:
        return [""] * len(rows)
    part = cells.iloc[rows, :level].astype(str)
    return part.agg("\x1f".join, axis=1).tolist()


def distinct_pairs(
    left: np.ndarray, right: np.ndarray, n_right: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``right`` changed where a (left, right) pair repeats, to a right row not yet paired
    with that left row; rows that cannot be placed so are dropped (the keep mask)."""
    right = right.copy()
    keep = np.ones(len(left), dtype=bool)
    used: dict[int, set[int]] = {}
    dups = []
    for i, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        seen = used.setdefault(a, set())
        if b in seen:
            dups.append(i)
        else:
            seen.add(b)
    order = rng.permutation(n_right)
    for i in dups:
        seen = used[int(left[i])]
        if len(seen) >= n_right:
            keep[i] = False
            continue
        start = int(rng.integers(n_right))
        for step in range(n_right):
            cand = int(order[(start + step) % n_right])
            if cand not in seen:
                right[i] = cand
                seen.add(cand)
                break
    return right, keep


def forest(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parent row per row (-1 for a root) so that each row sits at its (learnt) depth: the
    depths present are made consecutive from 0, and a row at level k takes a parent at k-1."""
    n = len(depth)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    d = np.clip(np.rint(np.nan_to_num(np.asarray(depth, dtype=float))), 0, None).astype(int)
    levels = np.unique(d)
    rank = np.searchsorted(levels, d)  # consecutive levels, the shallowest 0
    for k in range(1, len(levels)):
        above = np.flatnonzero(rank == k - 1)
        here = np.flatnonzero(rank == k)
        out[here] = above[rng.integers(len(above), size=len(here))]
    return out
