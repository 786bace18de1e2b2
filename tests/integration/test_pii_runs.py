"""A table with PII columns and PII inside free text: no source PII value survives anywhere
in the output, and pseudonymised keys stay joinable across runs with the same secret."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from synthgen.pipeline import run
from synthgen.recipe import load_recipe
from tests.conftest import write_recipe


def _patients(n: int = 1200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    f = Faker()
    f.seed_instance(1)
    names = [f.name() for _ in range(300)]
    notes = [
        f"Seen by {rng.choice(names)}; call {rng.integers(200, 999)}-555-{rng.integers(1000, 9999)}"
        f" or mail x{i}@corp.example.org. Stable, review in {i % 5 + 1} weeks."
        for i in range(n)
    ]
    return pd.DataFrame(
        {
            "patient_id": [f"P{int(x):05d}" for x in rng.integers(0, 400, n)],
            "name": rng.choice(names, n),
            "email": [f"u{i}@mail.example.com" for i in range(n)],
            "ssn": [
                f"{rng.integers(100, 899)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"
                for _ in range(n)
            ],
            "age": rng.integers(18, 90, n),
            "ward": rng.choice(["A", "B", "C"], n),
            "note": notes,
        }
    )


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    _patients().to_csv(tmp_path / "p.csv", index=False)
    return write_recipe(
        tmp_path,
        "name: pii\nseed: 1\nsource: {path: p.csv}\n"
        "schema: {patient_id: {kind: id}}\n"
        "pii: {consistent: [patient_id]}\n"
        "text: {note: {params: {size: tiny, context: 64, epochs: 1, max_new_tokens: 40}}}\n"
        "validate: {gates: {quality: 0, column_shapes: 0, dcr_share: 1, membership: 1}}\n",
    )


def test_no_source_pii_value_appears_in_any_output_cell(recipe: Path, tmp_path: Path) -> None:
    src = pd.read_csv(recipe.parent / "p.csv")
    res = run(load_recipe(recipe), out=tmp_path / "run")
    syn = res.synthetic
    real = set()
    for c in ("name", "email", "ssn", "patient_id"):
        real |= set(src[c].astype(str))
    cells = syn.astype(str).to_numpy().ravel()
    assert not any(c in real for c in cells)
    names = set(src["name"])
    emails = {e for n in src["note"] for e in n.split() if "@" in e}
    for text in syn["note"].dropna().astype(str):  # an emptied text is missing
        assert not any(n in text for n in names), text
        assert not any(e in text for e in emails), text
    found = res.report["pii"]["found_in_source"]["note"]
    assert {"email", "phone", "source_value"} <= set(found)


@pytest.mark.slow
def test_same_secret_same_pseudonyms_other_secret_other(
    recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTHGEN_PII_SECRET", "s3cret")
    a = run(load_recipe(recipe), out=tmp_path / "a", seed=1).synthetic
    b = run(load_recipe(recipe), out=tmp_path / "b", seed=2).synthetic
    assert len(set(a.patient_id) & set(b.patient_id)) > 0.5 * a.patient_id.nunique()
    assert a.patient_id.str.fullmatch(r"[A-Z]\d{5}").all()  # the source's shape
    assert a.patient_id.value_counts().max() > 1  # repeat visits stay repeat visits
    monkeypatch.setenv("SYNTHGEN_PII_SECRET", "other")
    c = run(load_recipe(recipe), out=tmp_path / "c", seed=1).synthetic
    assert len(set(a.patient_id) & set(c.patient_id)) < 0.05 * a.patient_id.nunique()
    report = (tmp_path / "a" / "report.json").read_text()
    assert "s3cret" not in report and "SYNTHGEN_PII_SECRET" in report


@pytest.mark.slow
def test_same_seed_same_output_without_a_secret(
    recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PII inside values is replaced under a key derived from the seed and the source rows:
    repeatable without SYNTHGEN_PII_SECRET, as every run must be."""
    monkeypatch.delenv("SYNTHGEN_PII_SECRET", raising=False)
    a = run(load_recipe(recipe), out=tmp_path / "a").synthetic
    b = run(load_recipe(recipe), out=tmp_path / "b").synthetic
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "a" / "synthetic.csv").read_bytes() == (
        tmp_path / "b" / "synthetic.csv"
    ).read_bytes()
    assert "derived from the seed" in (tmp_path / "a" / "report.json").read_text()


def test_sample_gives_the_run_table_with_its_pii_rules(tmp_path: Path) -> None:
    """`synthgen sample` on a run's model, same seed and row count: the run's table, column
    by column (PII strategies, pseudonymised keys and text columns included; a PII fake
    differs only where the run redrew one equal to a real value), and the model folder
    holds no real key."""
    from click.testing import CliRunner

    from synthgen.cli import cli

    src = _patients(600)
    src.to_csv(tmp_path / "p.csv", index=False)
    recipe = write_recipe(
        tmp_path,
        "name: pii\nseed: 3\nsource: {path: p.csv}\n"
        "schema: {patient_id: {kind: id}}\n"
        "pii: {consistent: [patient_id], strategies: {email: 'null', ssn: drop}}\n"
        "text: {note: {params: {size: tiny, context: 64, epochs: 1, max_new_tokens: 24}}}\n"
        "validate: {gates: {quality: 0, column_shapes: 0, dcr_share: 1, membership: 1}}\n",
    )
    res = run(load_recipe(recipe), out=tmp_path / "run")
    ran = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    assert "ssn" not in ran.columns and ran["email"].isna().all()
    out = CliRunner().invoke(
        cli,
        [
            "sample",
            str(tmp_path / "run" / "model"),
            "-n",
            str(len(ran)),
            "--seed",
            "3",
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    assert out.exit_code == 0, out.output
    sampled = pd.read_csv(tmp_path / "s.csv")
    assert list(sampled.columns) == list(ran.columns)
    for c in ran.columns:
        if c == "name":  # the run redraws a fake that equals a real name; sample cannot know them
            differ = sampled[c] != ran[c]
            assert (differ == sampled[c].isin(src[c])).all()
            assert not ran[c].isin(src[c]).any()
            continue
        pd.testing.assert_series_equal(sampled[c], ran[c], check_names=True, obj=c)
    assert res.synthetic["patient_id"].isin(src["patient_id"]).sum() == 0
    keys = set(src["patient_id"])
    for f in (tmp_path / "run" / "model").rglob("*"):
        if f.is_file():
            blob = f.read_bytes().decode("utf-8", "replace")
            assert not any(k in blob for k in keys), f
