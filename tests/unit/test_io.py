"""Every kind of bad source gets a DataError naming the file and what to do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import DataError
from synthgen.io import read_table, write_table


def write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    ("name", "data", "message", "hint"),
    [
        ("empty.csv", b"", "is empty (0 bytes)", "export"),
        ("header.csv", b"a,b,c\n", "has a header but no rows", "rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", "cannot be parsed as CSV", "separator"),
        (
            "latin.csv",
            "name,city\nRenée,Zürich\n".encode("latin-1"),
            "not valid utf-8 text",
            "encoding",
        ),
        ("blank.csv", b"\n\n", "has no header and no rows", "header"),
        ("table.xlsx", b"a,b\n1,2\n", "cannot tell the format", ".csv or .parquet"),
        ("bad.parquet", b"not parquet at all", "cannot be read as Parquet", "format"),
    ],
)
def test_bad_sources(tmp_path: Path, name: str, data: bytes, message: str, hint: str):
    p = write(tmp_path, name, data)
    with pytest.raises(DataError) as info:
        read_table(p)
    text = str(info.value)
    assert str(p) in text and message in text and hint in text
    assert info.value.exit_code == 2


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(DataError, match="source file not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_latin1_reads_when_the_encoding_is_given(tmp_path: Path):
    p = write(tmp_path, "latin.csv", "name,city\nRenée,Zürich\n".encode("latin-1"))
    assert read_table(p, encoding="latin-1").loc[0, "city"] == "Zürich"


def test_strip_whitespace_and_na_values(tmp_path: Path):
    p = write(tmp_path, "s.csv", b"a, b\n1, x \n2, ?\n")
    df = read_table(p, strip_whitespace=True, na_values=["?"])
    assert list(df.columns) == ["a", "b"]
    assert df["b"].tolist()[0] == "x" and pd.isna(df["b"].tolist()[1])


def test_round_trip_and_atomic_write(tmp_path: Path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    for suffix in ("csv", "parquet"):
        out = write_table(df, tmp_path / f"o.{suffix}")
        back = read_table(out)
        assert back.shape == df.shape
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left behind


def test_unwritable_output_leaves_nothing(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot write"):
        write_table(pd.DataFrame({"a": [1]}), blocker / "sub" / "o.csv")


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def test_written_files_follow_the_umask_like_open(tmp_path: Path, umask_027: int):
    """One rule: files 0666 & ~umask, folders 0777 & ~umask (mkstemp alone would give 0600)."""
    from synthgen.io import atomic_dir, write_text
    from synthgen.io.weights import save_arrays

    df = pd.DataFrame({"a": [1, 2]})
    files = [write_table(df, tmp_path / "t.csv"), write_table(df, tmp_path / "t.parquet")]
    files.append(write_text(tmp_path / "r.json", "{}"))
    with atomic_dir(tmp_path / "model") as tmp:
        save_arrays({"w": np.zeros(3)}, tmp / "weights.safetensors")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "spec.json").write_text("{}")
    files += [tmp_path / "model" / "weights.safetensors", tmp_path / "model" / "sub" / "spec.json"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o640, f
    for d in (tmp_path / "model", tmp_path / "model" / "sub"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750, d


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        (b"age,name,age\n", "duplicate column names: 'age' (2 times)"),
        (b"age,,name\n", "empty name (column 2 of the header)"),
        (b",age,name\n", "empty name (column 1 of the header)"),
        (b'age,"name","name"\n', "duplicate column names: 'name'"),
    ],
)
def test_header_problems_are_named_not_renamed(tmp_path: Path, header: bytes, needle: str):
    """pandas would read these as 'age.1' and 'Unnamed: 0' without a word."""
    p = write(tmp_path, "h.csv", header + b"1,x,2\n3,y,4\n")
    with pytest.raises(DataError) as info:
        read_table(p)
    assert needle in str(info.value) and "fix:" in str(info.value)


def test_a_repeat_after_stripping_spaces_is_a_duplicate(tmp_path: Path):
    p = write(tmp_path, "h.csv", b"age, age\n1,2\n")
    assert list(read_table(p).columns) == ["age", " age"]
    with pytest.raises(DataError, match="duplicate column names: 'age'"):
        read_table(p, strip_whitespace=True)


@pytest.mark.parametrize("suffix", ["tsv", "tab"])
def test_tab_files_default_to_a_tab_separator(tmp_path: Path, suffix: str):
    p = write(tmp_path, f"t.{suffix}", b"a\tb,c\n1\tx,y\n2\tz\n")
    df = read_table(p)
    assert list(df.columns) == ["a", "b,c"] and df["b,c"].tolist() == ["x,y", "z"]
    assert list(read_table(p, sep=",").columns) == ["a\tb", "c"]  # a given sep still wins
    out = write_table(df, tmp_path / f"o.{suffix}")
    assert out.read_text().splitlines()[0] == "a\tb,c"


def test_text_with_a_carriage_return_survives_csv(tmp_path: Path):
    """pandas leaves a lone \\r unquoted, which ends the row for every reader: ours quotes."""
    from synthgen.io import write_table_chunks

    df = pd.DataFrame({"note": ["one\rtwo", "plain", None], "x": [1.5, np.nan, 3.0]})
    write_table(df, tmp_path / "a.csv")
    back = pd.read_csv(tmp_path / "a.csv")
    assert back["note"].tolist()[:2] == ["one\rtwo", "plain"] and back["note"].isna().iloc[2]
    assert back["x"].isna().tolist() == [False, True, False]
    rows = write_table_chunks([df.iloc[:1], df.iloc[1:]], tmp_path / "b.csv")
    assert rows == 3 and pd.read_csv(tmp_path / "b.csv")["note"].iloc[0] == "one\rtwo"
