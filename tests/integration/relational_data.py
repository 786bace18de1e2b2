"""Small datasets with a known relational structure, for the relational tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.dataset import ColumnInfo, Dataset, DatasetSpec, ForeignKey, TableSpec


def table(name: str, df: pd.DataFrame, pk: list[str], fks=(), unique=()) -> TableSpec:  # type: ignore[no-untyped-def]
    from synthgen.dataset import UniqueKey

    return TableSpec(
        name=name,
        columns=[ColumnInfo(name=c, nullable=bool(df[c].isna().any())) for c in df.columns],
        primary_key=pk,
        foreign_keys=[ForeignKey(columns=[c], ref_table=t, ref_columns=[r]) for c, t, r in fks],
        unique=[UniqueKey(columns=u) for u in unique],
        rows=len(df),
    )


def two_parents(seed: int = 0) -> Dataset:
    """Customers of segment A buy products of category X (90 %), B buy Y; product
    popularity is skewed."""
    r = np.random.default_rng(seed)
    cust = pd.DataFrame({"cid": np.arange(1, 201), "segment": r.choice(["A", "B"], 200)})
    cust["age"] = r.integers(20, 70, 200)
    prod = pd.DataFrame({"pid": np.arange(1, 101), "category": np.repeat(["X", "Y"], 50)})
    prod["price"] = np.round(r.gamma(2, 10, 100), 2)
    pop = r.zipf(1.6, 100).clip(1, 40).astype(float)
    lines = []
    for cid, seg in zip(cust.cid, cust.segment, strict=True):
        for _ in range(r.integers(1, 8)):
            cat = ("X" if seg == "A" else "Y") if r.random() < 0.9 else ("Y" if seg == "A" else "X")
            cands = prod.index[prod.category == cat]
            w = pop[cands] / pop[cands].sum()
            lines.append((cid, int(prod.pid[r.choice(cands, p=w)]), int(r.integers(1, 4))))
    line = pd.DataFrame(lines, columns=["cid", "pid", "qty"])
    line.insert(0, "lid", np.arange(1, len(line) + 1))
    spec = DatasetSpec(
        tables=[
            table("customer", cust, ["cid"]),
            table("product", prod, ["pid"]),
            table("line", line, ["lid"], [("cid", "customer", "cid"), ("pid", "product", "pid")]),
        ]
    )
    return Dataset(spec, {"customer": cust, "product": prod, "line": line})


def baskets(seed: int = 0) -> Dataset:
    """Orders whose lines share a theme: each order picks one of four categories and 85 % of
    its lines are products of it, whatever the order's own (uninformative) columns say."""
    r = np.random.default_rng(seed)
    orders = pd.DataFrame({"oid": np.arange(1, 301), "channel": r.choice(["web", "shop"], 300)})
    prod = pd.DataFrame({"pid": np.arange(1, 81), "category": np.repeat(list("ABCD"), 20)})
    lines = []
    for oid in orders.oid:
        theme = r.choice(list("ABCD"))
        for _ in range(r.integers(2, 7)):
            cat = theme if r.random() < 0.85 else r.choice(list("ABCD"))
            lines.append((oid, int(r.choice(prod.pid[prod.category == cat]))))
    line = pd.DataFrame(lines, columns=["oid", "pid"])
    line.insert(0, "lid", np.arange(1, len(line) + 1))
    spec = DatasetSpec(
        tables=[
            table("orders", orders, ["oid"]),
            table("product", prod, ["pid"]),
            table("line", line, ["lid"], [("oid", "orders", "oid"), ("pid", "product", "pid")]),
        ]
    )
    return Dataset(spec, {"orders": orders, "product": prod, "line": line})


def self_reference(seed: int = 0) -> Dataset:
    """A forest of 300 employees, depths 0-3 (10 / 40 / 100 / 150), the title by depth."""
    r = np.random.default_rng(seed)
    sizes = [10, 40, 100, 150]
    titles = ["director", "manager", "lead", "engineer"]
    ids, boss, title = [], [], []
    prev: list[int] = []
    for d, n in enumerate(sizes):
        level = list(range(len(ids) + 1, len(ids) + n + 1))
        ids += level
        boss += [None] * n if d == 0 else list(r.choice(prev, n))
        title += [titles[d]] * n
        prev = level
    df = pd.DataFrame({"eid": [f"E-{i:04d}" for i in ids], "title": title})
    df["boss"] = [None if b is None else f"E-{b:04d}" for b in boss]
    df["salary"] = np.round(
        9000 - 1500 * np.array([titles.index(t) for t in title]) + r.normal(0, 300, len(df))
    )
    spec = DatasetSpec(tables=[table("emp", df, ["eid"], [("boss", "emp", "eid")])])
    return Dataset(spec, {"emp": df})


def many_to_many(seed: int = 0) -> Dataset:
    r = np.random.default_rng(seed)
    st = pd.DataFrame({"sid": np.arange(100, 200), "year": r.integers(1, 5, 100)})
    co = pd.DataFrame(
        {"code": [f"C{i:03d}" for i in range(30)], "level": r.choice(["intro", "adv"], 30)}
    )
    pop = np.linspace(3, 0.2, 30)
    pairs = []
    for s in st.sid:
        k = int(r.integers(1, 7))
        for c in r.choice(30, k, replace=False, p=pop / pop.sum()):
            pairs.append((int(s), co.code[c], int(r.integers(50, 100))))
    en = pd.DataFrame(pairs, columns=["sid", "code", "grade"])
    spec = DatasetSpec(
        tables=[
            table("student", st, ["sid"]),
            table("course", co, ["code"]),
            table(
                "enrol",
                en,
                ["sid", "code"],
                [("sid", "student", "sid"), ("code", "course", "code")],
            ),
        ]
    )
    return Dataset(spec, {"student": st, "course": co, "enrol": en})


def cycle(seed: int = 0) -> Dataset:
    """dept.manager -> emp (nullable) and emp.dept -> dept: a cycle through a nullable key."""
    r = np.random.default_rng(seed)
    emp = pd.DataFrame({"id": np.arange(1, 201), "dept": r.integers(1, 21, 200)})
    emp["salary"] = r.normal(5000, 800, 200).round()
    mgr = [
        float(r.choice(emp.id[emp.dept == d]))
        if r.random() < 0.7 and (emp.dept == d).any()
        else np.nan
        for d in range(1, 21)
    ]
    dept = pd.DataFrame(
        {"id": np.arange(1, 21), "name": [f"dept {i}" for i in range(20)], "manager": mgr}
    )
    dept["budget"] = r.integers(10, 100, 20)
    spec = DatasetSpec(
        tables=[
            table("dept", dept, ["id"], [("manager", "emp", "id")]),
            table("emp", emp, ["id"], [("dept", "dept", "id")]),
        ]
    )
    return Dataset(spec, {"dept": dept, "emp": emp})


def deep(seed: int = 0, n_tables: int = 25) -> Dataset:
    """``n_tables`` tables: a chain t00 -> t01 -> ... -> t05 (depth 5), the others hanging
    off the first five; keys as integers, codes or UUIDs; each table's x follows its parent's."""
    r = np.random.default_rng(seed)
    frames: dict[str, pd.DataFrame] = {}
    specs = []
    formats = ["int", "code", "uuid"]
    for i in range(n_tables):
        name = f"t{i:02d}"
        parent = None if i == 0 else (f"t{i - 1:02d}" if i <= 5 else f"t{(i % 5):02d}")
        if parent is None:
            n, px = 40, np.zeros(40)
            pidx = None
        else:
            pf = frames[parent]
            per = r.integers(0, 4, len(pf)).clip(0, 3)
            pidx = np.repeat(np.arange(len(pf)), per)[:400]
            n, px = len(pidx), pf["x"].to_numpy()[pidx]
        fmt = formats[i % 3]
        ids = np.arange(1, n + 1)
        key = (
            ids
            if fmt == "int"
            else (
                [f"K-{v:05d}" for v in ids]
                if fmt == "code"
                else [f"{int(r.integers(1 << 30)):08x}-0000-4000-8000-{v:012x}" for v in ids]
            )
        )
        df = pd.DataFrame(
            {"id": key, "x": px + r.normal(0, 1, n), "kind": r.choice(["a", "b", "c"], n)}
        )
        fks = []
        if parent is not None:
            df["parent"] = frames[parent]["id"].to_numpy()[pidx]
            fks = [("parent", parent, "id")]
        frames[name] = df
        specs.append(table(name, df, ["id"], fks))
    return Dataset(DatasetSpec(tables=specs), frames)


def accounts(seed: int = 0) -> Dataset:
    """Customers (the root) with one to three accounts each; an account has a unique e-mail
    and phone number (declared) and a reference number (unique, not declared: an id, not a key)."""
    r = np.random.default_rng(seed)
    cust = pd.DataFrame({"cid": np.arange(1, 121), "age": r.integers(20, 80, 120)})
    per = r.integers(1, 4, len(cust))
    acc = pd.DataFrame({"cid": np.repeat(cust.cid.to_numpy(), per)})
    n = len(acc)
    acc.insert(0, "aid", np.arange(1, n + 1))
    first = r.choice(["ann", "bob", "carla", "dev", "eve", "femi", "gus", "hana"], n)
    acc["email"] = [f"{f}.{i * 7 + 3}@mail{i % 5}.example.org" for i, f in enumerate(first)]
    acc["ref"] = [f"ACC-{i:06d}" for i in r.permutation(n) + 1000]
    acc["phone"] = [f"+1-202-555-{i:04d}" for i in r.permutation(n) + 100]
    acc["balance"] = np.round(r.gamma(2, 300, n), 2)
    spec = DatasetSpec(
        tables=[
            table("customer", cust, ["cid"]),
            table(
                "account",
                acc,
                ["aid"],
                [("cid", "customer", "cid")],
                unique=[["email"], ["phone"]],
            ),  # fmt: skip
        ]
    )
    return Dataset(spec, {"customer": cust, "account": acc})
