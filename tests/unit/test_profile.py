"""The dataset profile: children per parent, orphans, cycles, row counts and warnings."""

from __future__ import annotations

import pandas as pd

from synthgen.dataset import Dataset, DatasetSpec, ForeignKey, TableSpec
from synthgen.dataset.profile import DatasetProfile, profile


def _dataset(frames: dict[str, pd.DataFrame], keys: dict[str, dict]) -> Dataset:
    base = Dataset.of_frames(frames).spec
    tables = [t.model_copy(update=keys.get(t.name, {})) for t in base]
    return Dataset(DatasetSpec(tables=tables), frames)


def _fk(col: str, table: str, ref: str, origin: str = "declared") -> ForeignKey:
    return ForeignKey(columns=[col], ref_table=table, ref_columns=[ref], origin=origin)  # type: ignore[arg-type]


def test_children_per_parent_and_orphans():
    parents = pd.DataFrame({"id": [1, 2, 3, 4]})
    # parent 1: 3 children, 2: 1, 3: 0, 4: 0; two rows reference 9 (missing), one is empty
    kids = pd.DataFrame({"id": range(7), "pid": [1, 1, 1, 2, 9, 9, None]})
    ds = _dataset(
        {"parents": parents, "kids": kids},
        {
            "parents": {"primary_key": ["id"]},
            "kids": {"foreign_keys": [_fk("pid", "parents", "id")]},
        },
    )
    p = profile(ds)
    [r] = p.relationships
    assert (r.children_min, r.children_median, r.children_max) == (0, 0.5, 3)
    assert r.childless_share == 0.5
    assert (r.references, r.empty, r.orphans, r.orphan_values) == (6, 1, 2, 1)
    assert r.orphan_examples == ["9"]  # 9.0 in a float column is the value 9
    assert {t.name: t.rows for t in p.tables} == {"parents": 4, "kids": 7}
    assert "kids has no primary key" in p.warnings
    assert any(
        w.startswith("kids.pid -> parents.id: 2 orphaned references (33.3 % of 6)")
        for w in p.warnings
    )
    assert DatasetProfile.model_validate_json(p.model_dump_json()) == p


def test_a_composite_key_is_counted_as_one_value():
    orders = pd.DataFrame({"shop": [1, 1, 2], "no": [1, 2, 1]})
    lines = pd.DataFrame({"shop": [1, 1, 2, 2], "no": [1, 1, 1, 2]})
    fk = ForeignKey(columns=["shop", "no"], ref_table="orders", ref_columns=["shop", "no"])
    ds = _dataset(
        {"orders": orders, "lines": lines},
        {"orders": {"primary_key": ["shop", "no"]}, "lines": {"foreign_keys": [fk]}},
    )
    [r] = profile(ds).relationships
    assert (r.children_min, r.children_max, r.orphans) == (0, 2, 1)
    assert r.orphan_examples == ["2, 2"]


def test_cycles_cut_at_a_nullable_key_self_references_and_an_unbreakable_cycle():
    a = pd.DataFrame({"id": [1, 2], "b_id": [1, None], "boss": [None, 1]})
    b = pd.DataFrame({"id": [1, 2], "a_id": [1, 2]})
    keys = {
        "a": {
            "primary_key": ["id"],
            "foreign_keys": [_fk("b_id", "b", "id"), _fk("boss", "a", "id")],
        },
        "b": {"primary_key": ["id"], "foreign_keys": [_fk("a_id", "a", "id")]},
    }
    p = profile(_dataset({"a": a, "b": b}, keys))
    assert p.order == ["a", "b"] and p.cut == ["a.b_id -> b.id"]
    assert p.self_references == ["a.boss -> a.id"]
    assert any(w.startswith("cycle: a.b_id -> b.id is cut") for w in p.warnings)
    a["b_id"] = [1, 2]  # no longer nullable: the cycle cannot be broken
    keys["a"]["columns"] = Dataset.of_frames({"a": a}).spec["a"].columns
    p = profile(_dataset({"a": a, "b": b}, keys))
    assert p.order == [] and any("reference each other in a cycle" in w for w in p.warnings)


def test_a_table_spec_keeps_its_detected_origin_in_the_profile():
    ds = _dataset(
        {"t": pd.DataFrame({"id": [1]})},
        {"t": {"primary_key": ["id"], "primary_key_origin": "detected"}},
    )
    [t] = profile(ds).tables
    assert (t.primary_key, t.primary_key_origin, t.columns) == (["id"], "detected", 1)
    assert isinstance(ds.spec["t"], TableSpec)
