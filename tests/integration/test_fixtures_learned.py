"""Learned fixtures (``synthgen fixtures --from MODEL``): the tables a fitted model covers get
learned rows (and, for a multi-table model, its relations), the rest schema-made rows; the
database accepts every row, and a value the schema refuses never reaches it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.generators import create
from synthgen.relational import RelationalSynthesizer
from tests.integration import relational_data as rd

pytestmark = pytest.mark.slow

SHOP = """
CREATE TABLE customer (cid INTEGER PRIMARY KEY, segment TEXT NOT NULL,
    age INTEGER NOT NULL CHECK (age BETWEEN 20 AND 69));
CREATE TABLE product (pid INTEGER PRIMARY KEY, category TEXT NOT NULL,
    price NUMERIC(8,2) CHECK (price > 0));
CREATE TABLE line (lid INTEGER PRIMARY KEY, cid INTEGER NOT NULL REFERENCES customer(cid),
    pid INTEGER NOT NULL REFERENCES product(pid), qty INTEGER NOT NULL CHECK (qty BETWEEN 1 AND 3));
CREATE TABLE review (rid INTEGER PRIMARY KEY, pid INTEGER NOT NULL REFERENCES product(pid),
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5), body VARCHAR(80));
"""


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _db(path: Path, ddl: str = SHOP) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl)
    return f"sqlite:///{path}"


def _frame(path: Path, table: str) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        return pd.read_sql_query(f"SELECT * FROM {table}", conn)


def _sound(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.fixture(scope="module")
def shop_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multi-table model of customers (segment A buys X 90 % of the time, B buys Y)."""
    folder = tmp_path_factory.mktemp("shop") / "model"
    RelationalSynthesizer("autoreg", {"min_steps": 60}).fit(rd.two_parents(), seed=0).save(folder)
    return folder


def _same_segment_share(path: Path) -> float:
    lines = _frame(path, "line")
    seg = lines.merge(_frame(path, "customer"), on="cid").merge(_frame(path, "product"), on="pid")
    return float(((seg.segment == "A") == (seg.category == "X")).mean())


def test_a_multi_table_model_fills_its_tables_with_its_relations(tmp_path, shop_model):
    db = tmp_path / "shop.db"
    res = invoke("fixtures", "--schema", _db(db), "--from", shop_model, "--rows", "30",
                 "--to", f"sqlite:///{db}", "--seed", "4")  # fmt: skip
    assert res.exit_code == 0, res.output
    _sound(db)
    customers = _frame(db, "customer")
    assert set(customers.segment) <= {"A", "B"}  # learned labels, not schema-made words
    assert customers.age.between(20, 69).all()
    # the learned relation: customers buy their segment's category (0.9 in the source);
    # schema-made rows pair them at random (about 0.5)
    assert _same_segment_share(db) > 0.75
    lines = _frame(db, "line")
    per_customer = lines.groupby("cid").size()
    assert per_customer.max() > 1 and per_customer.nunique() > 1  # children per parent vary
    reviews = _frame(db, "review")  # the table the model does not cover: schema-made
    assert len(reviews) == 90 and reviews.pid.isin(_frame(db, "product").pid).all()
    assert reviews.stars.between(1, 5).all()


def test_same_seed_same_learned_rows(tmp_path, shop_model):
    dumps = []
    for i in (1, 2):
        db = tmp_path / f"s{i}.db"
        res = invoke("fixtures", "--schema", _db(db), "--from", shop_model, "--to",
                     f"sqlite:///{db}", "--seed", "9")  # fmt: skip
        assert res.exit_code == 0, res.output
        with sqlite3.connect(db) as conn:
            dumps.append("\n".join(conn.iterdump()))
    assert dumps[0] == dumps[1]


def test_rows_of_the_first_learned_table_scale_the_model(tmp_path, shop_model):
    db = tmp_path / "scaled.db"
    res = invoke("fixtures", "--schema", _db(db), "--from", shop_model, "--rows",
                 "customer=400", "--rows", "line=5", "--to", f"sqlite:///{db}")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(_frame(db, "customer")) == 400
    assert len(_frame(db, "line")) > 400  # children per parent follow the model
    assert "--rows line=5 is not used" in res.output.replace("\n", " ")


def test_a_single_table_model_keeps_the_schemas_checks(tmp_path):
    r = np.random.default_rng(0)
    age = r.integers(18, 90, 3000)
    segment = np.where(age < 40, "A", "B")
    model = tmp_path / "model"
    frame = pd.DataFrame({"age": age, "segment": segment, "visits": r.poisson(3, 3000)})
    create("autoreg", min_steps=60).fit(frame).save(model)
    db = tmp_path / "one.db"
    res = invoke("fixtures", "--schema", _db(db), "--from", f"customer={model}", "--rows",
                 "customer=2000", "--rows", "1", "--to", f"sqlite:///{db}")  # fmt: skip
    assert res.exit_code == 0, res.output
    out = _frame(db, "customer")
    assert len(out) == 2000 and out.age.between(20, 69).all()  # the CHECK held
    # learned ages outside 20..69 (about a third of the source) kept schema-made rows, said so
    assert "learned rows broke the schema's constraints" in res.output.replace("\n", " ")
    # the learned rows keep the relation between age and segment
    learned = out[out.segment.isin(["A", "B"])]
    assert len(learned) > 1000
    assert ((learned.age < 40) == (learned.segment == "A")).mean() > 0.9
    _sound(db)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("nowhere", "no such model folder"),
        ("empty", "not a model folder"),
        ("single", "which table does this model fill"),
        ("named", "the schema has no table 'orders'"),
    ],
)
def test_bad_models_are_refused_and_nothing_is_written(tmp_path, where, message):
    folder = tmp_path / "m"
    if where == "empty":
        folder.mkdir()
    elif where in ("single", "named"):
        frame = pd.DataFrame({"a": np.arange(200) % 7, "b": np.arange(200) % 5})
        create("autoreg", min_steps=5).fit(frame).save(folder)
    arg = f"orders={folder}" if where == "named" else folder
    db = tmp_path / "x.db"
    res = CliRunner().invoke(
        cli, ["fixtures", "--schema", _db(db), "--from", str(arg), "--to", f"sqlite:///{db}"]
    )
    assert res.exit_code == 2, res.output
    assert message in res.output.replace("\n", " ")
    assert len(_frame(db, "customer")) == 0
