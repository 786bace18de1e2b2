"""Assigning references: children matched to parents that keep their learnt degree.

Each parent row offers as many slots as its degree (rescaled so the slots match the rows to
place); each child row asks for a parent profile (a few label cells). Rows are matched on the
whole profile first, then on shorter prefixes of it, then anyhow, in a seeded random order,
so the joint structure the model learnt (which kinds of tracks which customers buy) is kept
where the slots allow, and every parent keeps its degree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.constraints.check import key_of


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
    out = part.iloc[:, 0].to_numpy(dtype=object)
    for i in range(1, level):  # column by column: the row-wise join's strings, vectorised
        out = out + "\x1f" + part.iloc[:, i].to_numpy(dtype=object)
    return list(out)


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


def agreement(parent: np.ndarray, cells: pd.DataFrame, n_parent: int) -> np.ndarray:
    """Per parent row, the share of ordered pairs of its children asking for the same
    profile ``cells`` (NaN with fewer than two children): how alike siblings' references
    are (the tracks of one invoice: the same genre in 42 % of pairs on Chinook, 20 % at
    random)."""
    ok = parent >= 0
    key = key_of(cells, list(cells.columns)).to_numpy()
    groups = pd.DataFrame({"p": parent[ok], "k": key[ok]})
    same = groups.groupby(["p", "k"], sort=False).size()
    pairs = (same * (same - 1)).groupby(level=0).sum()
    n = np.bincount(parent[ok], minlength=n_parent).astype(float)
    out = np.full(n_parent, np.nan)
    many = n >= 2
    out[many] = 0.0
    idx = pairs.index.to_numpy(dtype=np.int64)
    keep = many[idx]
    out[idx[keep]] = pairs.to_numpy(float)[keep] / (n[idx[keep]] * (n[idx[keep]] - 1))
    return out


def cohere(
    want: pd.DataFrame, parent: np.ndarray, rate: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Child rows drawn one by one given their parent ask for unrelated profiles; siblings
    in the source are more alike. Each child after a parent's first takes the first one's
    profile with the chance ``copy_chance`` that brings the pairs of that parent's children
    to its learnt ``rate`` (their ``agreement``), from what independent draws give."""
    if len(want) < 2 or want.shape[1] == 0:
        return want
    base = agreement(parent, want, int(parent.max()) + 1)
    b = float(np.nanmean(base)) if np.isfinite(base).any() else 0.0
    k = np.bincount(parent[parent >= 0], minlength=len(rate)).astype(float)
    q = copy_chance(np.nan_to_num(rate, nan=0.0), b, k)
    draws = rng.random(len(want))
    rows = np.arange(len(want))
    first = np.full(int(parent.max()) + 1, -1)
    first[parent[::-1]] = rows[::-1]  # each parent's first child row
    start = first[parent]
    copy = (rows > start) & (draws < q[parent])
    out = want.to_numpy(dtype=object).copy()
    out[copy] = out[start[copy]]  # first children are never copied: order does not matter
    return pd.DataFrame(out, columns=want.columns, index=want.index)


def copy_chance(rate: np.ndarray, b: float, k: np.ndarray) -> np.ndarray:
    """The chance q that each of k siblings after the first copies it, so that the share of
    equal pairs is ``rate`` when independent profiles agree with chance ``b``: the k - 1
    pairs with the first agree with q, the other (k - 1)(k - 2) / 2 with q^2, so
    rate = b + (1 - b)(2/k q + (k - 2)/k q^2)."""
    s = np.clip((rate - b) / max(1.0 - b, 1e-9), 0.0, 1.0)
    kk = np.maximum(k, 2.0)
    a, c = 2.0 / kk, (kk - 2.0) / kk
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(c > 0, (-a + np.sqrt(a * a + 4 * c * s)) / (2 * np.where(c > 0, c, 1)), s / a)
    return np.clip(np.nan_to_num(q), 0.0, 1.0)


def siblings_alike(
    body: pd.DataFrame,
    t: str,
    tp: Any,
    profiles: dict[str, list[Any]],
    parent_feats: pd.DataFrame,
    parent: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``cohere`` the label cells of the profile each row of ``t`` (plan ``tp``) asks for
    through each assigned reference, at the rate its synthetic context parent learnt
    (``__same.<t>.<fk>``); number cells stay each row's own."""
    for fk in tp.assigned:
        fid = ",".join(fk.columns)
        rate = parent_feats.get(f"__same.{t}.{fid}")
        cols = [f"__want.{fid}.{i}" for i in label_cells(profiles.get(fk.ref_table, []))]
        cols = [c for c in cols if c in body.columns]
        if fid not in tp.cut and cols and rate is not None:
            r = pd.to_numeric(rate, errors="coerce").to_numpy(float)
            body[cols] = cohere(body[cols], parent, r, rng)
    return body


def label_cells(profile: list[Any]) -> list[str]:
    """The names of a parent profile's label cells (its numbers are binned, ``edges``)."""
    return [str(i) for i, pc in enumerate(profile) if pc.edges is None]
