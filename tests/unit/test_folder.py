"""A folder of CSV / Parquet files read as a dataset, and the errors that name what to fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthgen.errors import DataError
from synthgen.io.folder import read_folder, table_files


def test_one_table_per_file_named_by_its_stem(tmp_path: Path):
    pd.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"]}).to_csv(
        tmp_path / "b.csv", index=False
    )
    pd.DataFrame({"id": [10, 20], "b_id": [1, 3]}).to_parquet(tmp_path / "a.parquet")
    (tmp_path / "c.tsv").write_text("x\ty\n1\tNA?\n2\tok\n")
    (tmp_path / "README.md").write_text("not a table")
    (tmp_path / ".hidden.csv").write_text("x\n1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text("x\n1\n")
    ds = read_folder(tmp_path, na_values=["NA?"])
    assert ds.names == ["a", "b", "c"]
    assert ds["a"]["b_id"].tolist() == [1, 3]
    assert ds["c"].columns.tolist() == ["x", "y"]  # a tab for .tsv, as read_table does
    assert ds["c"]["y"].isna().tolist() == [True, False]  # the reading options reach every file
    assert ds.spec["b"].column("name").nullable and not ds.spec["b"].column("id").nullable
    assert ds.spec["b"].rows == 3 and not ds.spec["b"].primary_key  # a folder declares no key


def test_a_folder_without_tables_says_what_it_holds(tmp_path: Path):
    with pytest.raises(DataError, match="is empty"):
        read_folder(tmp_path)
    (tmp_path / "notes.txt.bak").write_text("x")
    with pytest.raises(DataError, match=r"no table files \(it holds: notes.txt.bak\)") as err:
        read_folder(tmp_path)
    assert ".csv" in str(err.value.hint)


def test_two_files_for_one_table_are_refused(tmp_path: Path):
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "B.csv", index=False)
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "b.tsv", index=False)
    with pytest.raises(DataError, match="the same table: B.csv and b.tsv; a.csv and a.parquet"):
        table_files(tmp_path)


def test_missing_folder_a_file_and_too_many_tables(tmp_path: Path):
    with pytest.raises(DataError, match="source folder not found"):
        read_folder(tmp_path / "nope")
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n1\n")
    with pytest.raises(DataError, match="is a file, not a folder"):
        read_folder(tmp_path / "a.csv")
    with pytest.raises(DataError, match="2 table files, more than the 1"):
        read_folder(tmp_path, max_tables=1)


def test_a_bad_file_is_named(tmp_path: Path):
    (tmp_path / "good.csv").write_text("x\n1\n")
    (tmp_path / "bad.csv").write_text("x,x\n1,2\n")
    with pytest.raises(DataError, match=r"bad.csv has duplicate column names: 'x'"):
        read_folder(tmp_path)
