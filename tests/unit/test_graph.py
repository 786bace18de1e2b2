"""The relationship graph (levels, layout, PNG) and the dataset page that embeds it."""

from __future__ import annotations

import base64

import pandas as pd

from synthgen.dataset import Dataset, DatasetSpec, ForeignKey, TableSpec
from synthgen.dataset.profile import profile
from synthgen.report.dataset import render_dataset_html
from synthgen.report.graph import levels, positions, relationship_graph
from synthgen.schema import detect


def _fk(col: str, table: str, ref: str = "id") -> ForeignKey:
    return ForeignKey(columns=[col], ref_table=table, ref_columns=[ref], origin="detected")


def _spec() -> DatasetSpec:
    return DatasetSpec(
        tables=[
            TableSpec(name="line", foreign_keys=[_fk("order_id", "order"), _fk("item_id", "item")]),
            TableSpec(name="order", foreign_keys=[_fk("customer_id", "customer")]),
            TableSpec(name="customer", foreign_keys=[_fk("referred_by", "customer")]),
            TableSpec(name="item", rows=12),
        ]
    )


def test_levels_put_parents_above_their_children():
    spec = _spec()
    assert levels(spec) == {"customer": 0, "item": 0, "order": 1, "line": 2}
    pos = positions(spec)
    assert pos["customer"][1] > pos["order"][1] > pos["line"][1]
    assert pos["item"][1] == pos["customer"][1]


def test_a_cycle_still_gets_levels_and_a_picture():
    spec = DatasetSpec(
        tables=[
            TableSpec(name="a", foreign_keys=[_fk("b_id", "b")]),
            TableSpec(name="b", foreign_keys=[_fk("a_id", "a")]),
        ]
    )
    assert sorted(levels(spec).values()) == [0, 1]
    assert base64.b64decode(relationship_graph(spec)).startswith(b"\x89PNG")


def test_the_graph_is_a_png_with_arrows_and_loops():
    png = base64.b64decode(relationship_graph(_spec()), validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    lone = base64.b64decode(relationship_graph(DatasetSpec(tables=[TableSpec(name="t")])))
    assert lone.startswith(b"\x89PNG") and len(lone) < len(png)


def test_the_dataset_page_is_standalone_and_escapes_names():
    frames = {
        "p<1>": pd.DataFrame({"id": [1, 2, 3]}),
        "c": pd.DataFrame({"p_id": [1, 1, 7]}),
    }
    base = Dataset.of_frames(frames).spec
    p_spec = base["p<1>"].model_copy(update={"primary_key": ["id"]})
    c_spec = base["c"].model_copy(update={"foreign_keys": [_fk("p_id", "p<1>")]})
    ds = Dataset(DatasetSpec(tables=[p_spec, c_spec]), frames)
    page = render_dataset_html(
        ds.spec, profile(ds), {n: detect(df) for n, df in frames.items()}, "shop"
    )
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64,iVBOR" in page
    assert "p&lt;1&gt;" in page and "<1>" not in page
    assert "c.p_id -&gt; p&lt;1&gt;.id" in page and "0 / 0 / 2" in page  # children per parent
    assert (
        "c has no primary key" in page
        and "1 orphaned reference (" in page
        and "1 (1 value, e.g. 7)" in page
    )
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from anywhere
