from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import MissingExtraError, UsageError
from synthgen.registry import Entry
from synthgen.schema.spec import ColumnSpec, Schema
from synthgen.text import BACKENDS, TextSynthesizer, conditioning_columns, load_backend
from synthgen.text.base import backend_class, serialise_prompt


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(
        BACKENDS, "fake", Entry("fake", "tests.unit.text.fakes:CopyThenFreshBackend")
    )


def table(n: int = 400, null_share: float = 0.3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    notes = [
        f"note number {i} about the {c} case, written by hand"
        for i, c in enumerate(rng.choice(["knee", "hip"], n))
    ]
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "rating": rng.integers(1, 6, n),
            "site": rng.choice(["knee", "hip"], n),
            "name": [f"Person{i}" for i in range(n)],
            "note": notes,
        }
    )
    df.loc[rng.random(n) < null_share, "note"] = np.nan
    return df


def test_serialise_prompt_is_deterministic_and_compact():
    row = {"rating": 4.0, "condition": "acne\nsevere", "x": float("nan"), "ok": True, "w": 0.123456}
    assert serialise_prompt(row, ["rating", "condition"]) == "rating: 4 | condition: acne severe\n"
    assert (
        serialise_prompt(row, ["x", "ok", "w", "gone"]) == "x:  | ok: true | w: 0.1235 | gone: \n"
    )


def test_rejected_texts_are_regenerated_with_new_seeds(fake):
    df = table()
    spec = {"backend": "fake", "condition_on": ["rating", "site"]}
    ts = TextSynthesizer().fit(df, "note", spec, seed=1)
    out, stats = ts.generate(df.drop(columns="note"), seed=7)
    kept = out.dropna()
    assert not set(kept) & set(df["note"].dropna())  # no training text released
    assert all(t.startswith("fresh words") for t in kept)
    assert stats["rejected"] == stats["generated"] == len(kept)
    assert stats["rejected_by_reason"] == {"exact copy": len(kept)}
    assert stats["exhausted"] == 0
    (first, s1), (second, s2) = ts.backend_.calls_
    assert s1 != s2 and first == second  # same prompts, new seed
    assert ts.backend_.attempts_ == [0, 1]  # the backend is told the second draw is a retry
    assert first[0] == serialise_prompt(
        df.drop(columns="note").iloc[int(np.flatnonzero(out.notna())[0])], ["rating", "site"]
    )


def test_null_rate_is_kept_and_seeded(fake):
    df = table(2000, null_share=0.3)
    ts = TextSynthesizer().fit(df, "note", {"backend": "fake", "condition_on": ["site"]})
    out, stats = ts.generate(df, seed=3)
    assert out.isna().mean() == pytest.approx(df["note"].isna().mean(), abs=0.04)
    assert stats["missing"] == int(out.isna().sum())
    assert out.isna().equals(ts.generate(df, seed=3)[0].isna())


@pytest.mark.parametrize(
    ("guard", "missing", "exhausted", "flagged"),
    [
        ({"max_tries": 2}, True, True, False),  # copies twice, then gives up
        ({"on_leak": "drop"}, True, True, False),
        ({"on_leak": "flag"}, False, False, True),
    ],
)
def test_exhausted_dropped_or_flagged(fake, guard, missing, exhausted, flagged):
    df = table(100, null_share=0.0)
    spec = {"backend": "fake", "params": {"copies": 5}, "condition_on": ["site"], "guard": guard}
    out, stats = TextSynthesizer().fit(df, "note", spec).generate(df, seed=0)
    assert out.isna().all() == missing
    assert (stats["exhausted"] == 100) == exhausted
    assert (stats["flagged"] == 100) == flagged


def test_default_conditioning_skips_ids_pii_text_and_many_valued_columns():
    df = table()
    df["free"] = [f"v{i}" for i in range(len(df))]
    assert conditioning_columns(df, "note", None) == ["rating", "site"]
    schema = Schema(
        columns=[ColumnSpec(name="rating", kind="pii"), ColumnSpec(name="site", kind="categorical")]
    )
    assert conditioning_columns(df[["rating", "site", "note"]], "note", schema) == ["site"]


def test_pii_column_values_are_guarded(fake):
    df = table(50, null_share=0.0)
    schema = Schema(columns=[ColumnSpec(name="name", kind="pii", pii_type="first_name")])
    ts = TextSynthesizer().fit(df, "note", {"backend": "fake", "condition_on": ["site"]}, schema)
    assert ts.guard_.check(["Then Person7 said hello"]) == ["contains a value of a PII column"]


def test_save_and_load_under_text_column_folder(fake, tmp_path):
    df = table(80)
    ts = TextSynthesizer().fit(df, "note", {"backend": "fake", "condition_on": ["site"]})
    where = ts.save(tmp_path)
    assert where == tmp_path / "text" / "note"
    again = TextSynthesizer.load(tmp_path, "note")
    a, sa = ts.generate(df, seed=5)
    b, sb = again.generate(df, seed=5)
    assert a.equals(b) and sa == sb
    assert again.describe()["condition_on"] == ["site"]


def test_unknown_and_missing_backends_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="unknown text backend"):
        backend_class("nope")
    monkeypatch.setitem(BACKENDS, "broken", Entry("broken", "synthgen.text.not_written:Backend"))
    with pytest.raises(UsageError, match="'broken' text backend cannot be imported"):
        backend_class("broken")

    def no_transformers(name: str):
        raise ModuleNotFoundError("No module named 'transformers'", name="transformers")

    monkeypatch.setattr("synthgen.registry.importlib.import_module", no_transformers)
    with pytest.raises(MissingExtraError, match="pip install 'synthgen\\[hf\\]'"):
        backend_class("hf")
    with pytest.raises(UsageError, match="config.json"):
        load_backend(tmp_path)
    with pytest.raises(UsageError, match="not in the"):
        TextSynthesizer().fit(table(), "note", {"condition_on": ["nope"]})


def test_local_backend_end_to_end_with_save_and_load(tmp_path):
    from tests.unit.text.conftest import TINY, colour_corpus

    texts, prompts = colour_corpus(200)
    df = pd.DataFrame({"colour": [p.split(": ")[1].strip() for p in prompts], "text": texts})
    spec = {"params": {**TINY, "epochs": 4}}
    ts = TextSynthesizer().fit(df, "text", spec, seed=0)
    assert ts.fields_ == ["colour"]
    synth = pd.DataFrame({"colour": ["red", "blue"] * 10})
    out, stats = ts.generate(synth, seed=1)
    assert stats["generated"] == 20 and stats["missing"] == 0
    assert not set(out.dropna()) & set(texts)  # copies regenerated, or dropped when exhausted
    assert stats["exhausted"] == out.isna().sum()
    ts.save(tmp_path)
    again = TextSynthesizer.load(tmp_path, "text")
    assert again.generate(synth, seed=1)[0].equals(out)
    assert again.describe()["model"]["parameters"] == ts.describe()["model"]["parameters"]


def test_generated_texts_carry_no_control_characters(fake, monkeypatch):
    """A byte-level model can emit \\r, NUL or other controls: a note keeps tabs and
    newlines only."""
    from tests.unit.text.fakes import CopyThenFreshBackend

    def noisy(self, prompts, *, seed, attempt=0):
        return [f"a\rb\x00c\x1ed\te\nf{i}" for i in range(len(prompts))]

    monkeypatch.setattr(CopyThenFreshBackend, "generate", noisy)
    df = table(50, null_share=0.0)
    ts = TextSynthesizer().fit(df, "note", {"backend": "fake", "condition_on": ["site"]})
    out, _ = ts.generate(df, seed=1)
    assert out.str.fullmatch(r"abcd\te\nf\d+").all()


def test_empty_texts_are_missing_and_counted(fake, monkeypatch):
    """A text the backend leaves empty is a missing cell, and the count says so (a report
    said "missing 0" next to empty cells)."""
    df = table(200, null_share=0.0)
    ts = TextSynthesizer().fit(df, "note", {"backend": "fake", "condition_on": ["site"]})
    real_generate = ts.backend_.generate

    def some_empty(prompts, **kw):  # type: ignore[no-untyped-def]
        return ["" if i % 4 == 0 else t for i, t in enumerate(real_generate(prompts, **kw))]

    monkeypatch.setattr(ts.backend_, "generate", some_empty)
    out, stats = ts.generate(df, seed=1)
    assert out.isna().sum() >= 40 and stats["missing"] == int(out.isna().sum())
    assert stats["missing_at_source_rate"] == 0
    assert not (out.dropna().str.strip() == "").any()
