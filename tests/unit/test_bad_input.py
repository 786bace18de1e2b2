"""Bad input never gives a traceback (issue 11): exit 2, a message naming the file / column /
key and the fix, and nothing written. Named tests for each known case, then seeded mutations
of a valid source, recipe and saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from synthgen.cli import cli


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def refused(res: Result, *needles: str, out: Path | None = None) -> None:
    """Exit 2, no traceback, each needle in the output, nothing at ``out``."""
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    for needle in needles:
        assert needle in res.output, f"{needle!r} not in:\n{res.output}"
    if out is not None:
        assert not out.exists(), f"{out} was written"


def frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 70, n),
            "score": rng.normal(50, 10, n).round(3),
            "group": rng.choice(["a", "b", "c"], n),
        }
    )


def recipe(tmp: Path, extra: str = "", *, source: str = "source: {path: data.csv}") -> Path:
    """A recipe beside ``data.csv`` (written from ``frame()`` unless it exists)."""
    data = tmp / "data.csv"
    if not data.exists():
        frame().to_csv(data, index=False)
    p = tmp / "recipe.yaml"
    p.write_text(f"name: small\nseed: 3\n{source}\n{extra}", encoding="utf-8")
    return p


def run_refused(tmp: Path, rec: Path, *needles: str) -> None:
    refused(invoke("run", rec, "--out", tmp / "run"), *needles, out=tmp / "run")


# ---- reading a source -------------------------------------------------------------------------
def test_infinity_in_a_numeric_column_names_the_column_and_the_fix(tmp_path: Path):
    df = frame()
    df["score"] = df["score"].astype(float)
    df.loc[[5, 9], "score"] = [np.inf, -np.inf]
    df.to_csv(tmp_path / "data.csv", index=False)
    run_refused(
        tmp_path,
        recipe(tmp_path),
        "data.csv",
        "column 'score' holds 2 infinite value(s) (first in data row 6)",
        "source.na_values",
    )
    refused(invoke("inspect", tmp_path / "data.csv"), "column 'score'", "--na-values")


def test_infinity_read_as_missing_when_listed_in_na_values(tmp_path: Path):
    from synthgen.io import read_table

    (tmp_path / "d.csv").write_text("a,b\n1,inf\n2,-inf\n3,4.5\n")
    df = read_table(tmp_path / "d.csv", na_values=["inf", "-inf"])
    assert df["b"].isna().sum() == 2


def test_utf16_encoding_on_a_utf8_file(tmp_path: Path):
    rec = recipe(tmp_path, source="source: {path: data.csv, encoding: utf-16}")
    run_refused(tmp_path, rec, "data.csv", "is not valid utf-16 text", "source.encoding")


def test_a_line_break_as_separator(tmp_path: Path):
    rec = recipe(tmp_path, source='source: {path: data.csv, sep: "\\n"}')
    run_refused(tmp_path, rec, "data.csv", "separator '\\n'", "source.sep")
    refused(invoke("inspect", tmp_path / "data.csv", "--sep", "\n"), "--sep")


def test_a_ten_megabyte_header_is_refused_before_parsing(tmp_path: Path, monkeypatch):
    import pandas

    def never(*args, **kwargs):  # the refusal must come from the header, before any parse
        raise AssertionError("pandas.read_csv was called on a million-column file")

    monkeypatch.setattr(pandas, "read_csv", never)
    n = 1_000_000
    (tmp_path / "data.csv").write_text(
        ",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" for _ in range(n)) + "\n"
    )
    run_refused(tmp_path, recipe(tmp_path), "data.csv", "more than 10,000 columns")
    refused(invoke("inspect", tmp_path / "data.csv"), "more than 10,000 columns")


def test_a_wide_parquet_is_refused_from_its_metadata(tmp_path: Path, monkeypatch):
    from synthgen.errors import DataError
    from synthgen.io import read_table, sources

    monkeypatch.setattr(sources, "MAX_COLUMNS", 5)
    pd.DataFrame({f"c{i}": [1] for i in range(6)}).to_parquet(tmp_path / "w.pq")
    with pytest.raises(DataError, match="w.pq has more than 5 columns"):
        read_table(tmp_path / "w.pq")


def test_validate_read_errors_name_the_option(tmp_path: Path):
    frame().to_csv(tmp_path / "syn.csv", index=False)
    res = invoke(
        "validate", "--real", tmp_path / "missing.csv", "--synthetic", tmp_path / "syn.csv",
        "--out", tmp_path / "v",
    )  # fmt: skip
    refused(res, "--real file not found", "missing.csv", "check --real", out=tmp_path / "v")
    assert "source.path" not in res.output
    res = invoke(
        "validate", "--real", tmp_path / "syn.csv", "--synthetic", tmp_path / "nope.csv",
        "--out", tmp_path / "v",
    )  # fmt: skip
    refused(res, "--synthetic file not found", out=tmp_path / "v")


# ---- numbers ----------------------------------------------------------------------------------
def huge_frame() -> pd.DataFrame:
    df = frame()
    df["score"] = np.where(np.arange(len(df)) % 2, 1e308, -1e308)
    return df


def test_huge_finite_values_bin_and_compare_without_overflow():
    from synthgen.metrics.fidelity import _range_cover
    from synthgen.metrics.pairs import _codes, equal_width_edges

    x = np.array([-1e308, 1e308, 0.0])
    edges = equal_width_edges(x, 10)
    assert np.isfinite(edges).all() and (np.diff(edges) > 0).all()
    for ordinary in (np.array([1.0, 2.0, 3.0, 10.0]), np.array([5.0]), np.array([])):
        want = np.histogram_bin_edges(ordinary if len(ordinary) else [0.0], bins=10)
        assert np.array_equal(equal_width_edges(ordinary, 10), want)
    r, s, k = _codes(pd.Series(x), pd.Series(x[::-1]), numeric=True)
    assert k == 11 and set(r) == {0, 5, 9}
    assert _range_cover(x, np.array([-1e308, 0.0])) == pytest.approx(0.5)


def test_huge_finite_values_copula_samples_stay_finite():
    from synthgen.generators import create

    gen = create("copula").fit(huge_frame())
    assert np.isfinite(gen.arrays_["knots.1"]).all()
    out = gen.sample(500, seed=1)["score"].to_numpy()
    assert np.isfinite(out).all() and out.min() == -1e308 and out.max() == 1e308


@pytest.mark.parametrize("name", ["ctgan", "tvae"])
def test_huge_finite_values_are_refused_by_the_neural_encoders(name: str):
    from synthgen.errors import DataError
    from synthgen.generators import create

    with pytest.raises(DataError, match="column 'score' holds values as large as 1e\\+308"):
        create(name, epochs=1).fit(huge_frame())


def test_infinity_in_a_frame_passed_to_fit():
    from synthgen.errors import DataError
    from synthgen.generators import create

    df = frame()
    df.loc[3, "score"] = -np.inf
    with pytest.raises(DataError, match="column 'score' holds 1 infinite value"):
        create("copula").fit(df)


@pytest.mark.slow
def test_huge_finite_values_run_end_to_end(tmp_path: Path):
    import json
    import warnings

    huge_frame().to_csv(tmp_path / "data.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow anywhere on the way
        res = invoke("run", recipe(tmp_path, "holdout: 0.3\n"), "--out", tmp_path / "run")
    assert res.exit_code in (0, 3, 4), res.output  # ran: pass, fail or inconclusive
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    shapes = report["metrics"]["fidelity"]["column_shapes_per_column"]
    assert all(np.isfinite(v) for v in shapes.values())


# ---- recipe -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("{score: {kind: datetime}}", ["schema.score.kind", "holds numbers", "kind: numeric"]),
        (
            "{group: {kind: numeric}}",
            ["schema.group.kind", "only 0 of 200 values read as numbers", "kind: categorical"],
        ),
        ("{group: {kind: integer}}", ["schema.group.kind: integer does not fit"]),
        ("{group: {kind: datetime}}", ["schema.group.kind", "datetime_format"]),
    ],
)
def test_a_kind_override_that_does_not_fit_the_column(
    tmp_path: Path, override: str, needles: list[str]
):
    run_refused(tmp_path, recipe(tmp_path, f"schema: {override}\n"), *needles)


def test_unknown_faker_locale_lists_close_ones(tmp_path: Path):
    run_refused(
        tmp_path, recipe(tmp_path, "pii: {locale: xx_XX}\n"), "pii.locale", "'xx_XX'", "en_US"
    )
    run_refused(tmp_path, recipe(tmp_path, "pii: {locale: fr_XX}\n"), "close ones: fr_BE, fr_CA")


def test_credentials_in_a_text_backend_url_are_never_echoed(tmp_path: Path):
    url = "http://bob:s3cretpw@example.org:8000/v1"
    extra = f"text: {{group: {{backend: openai, params: {{base_url: '{url}', model: m}}}}}}\n"
    res = invoke("run", recipe(tmp_path, extra), "--out", tmp_path / "run")
    refused(res, "text.group.params.base_url", "must not hold credentials", out=tmp_path / "run")
    assert "s3cretpw" not in res.output and "bob" not in res.output


def test_mask_credentials():
    from synthgen.errors import mask_credentials

    text = "x: postgresql://u:p%40ss@db:5432/x and https://tok@h/v1 but not a@b.org"
    assert (
        mask_credentials(text)
        == "x: postgresql://***@db:5432/x and https://***@h/v1 but not a@b.org"
    )


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        ("sample: {rows: true}", ["sample.rows", "true is a yes/no value"]),
        ("sample: {rows: 2.5}", ["sample.rows: Input should be a valid integer"]),
        ("sample: {rows: 1e12}", ["sample.rows: Input should be a valid integer"]),
        ("sample: {rows: '1e12'}", ["sample.rows", "YAML reads 1e12 as text"]),
        ("sample: {ratio: 1e9}", ["sample.ratio (1e+09 x 200 source rows)", "memory"]),
        ("sample: {ratio: .nan}", ["sample.ratio: Input should be a finite number"]),
        ("seed: true", ["seed", "yes/no"]),
        ("validate: {gates: {quality: .nan}}", ["validate.gates.quality", "finite number"]),
        ("validate: {gates: {quality: .inf}}", ["validate.gates.quality", "finite number"]),
        ("schema: {score: {min: .nan, max: 1}}", ["schema.score.min", "finite number"]),
    ],
)
def test_recipe_values_that_are_not_usable_numbers(tmp_path: Path, extra: str, needles: list[str]):
    run_refused(tmp_path, recipe(tmp_path, extra + "\n"), *needles)


def test_a_nan_threshold_in_a_suite_file(tmp_path: Path):
    (tmp_path / "suite.yaml").write_text(
        "name: s\ngates:\n  - {name: q, metric: quality, op: '>=', threshold: .nan}\n"
    )
    rec = recipe(tmp_path, "validate: {suite: suite.yaml}\n")
    run_refused(tmp_path, rec, "validate.suite", "suite.yaml", "gates.0.threshold", "finite")
    frame().to_csv(tmp_path / "syn.csv", index=False)
    res = invoke(
        "validate", "--real", tmp_path / "data.csv", "--synthetic", tmp_path / "syn.csv",
        "--suite", tmp_path / "suite.yaml", "--out", tmp_path / "v",
    )  # fmt: skip
    refused(res, "--suite", "gates.0.threshold", out=tmp_path / "v")


@pytest.fixture
def one_gigabyte(monkeypatch):
    """The memory check sees 1 GB available, whatever this machine has."""
    from synthgen.generators import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 2**30)


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        ("sample: {rows: 1000000000000}", ["sample.rows: 1,000,000,000,000 rows"]),
        ("sample: {ratio: 1.0e+9}", ["sample.ratio (1e+09 x 200 source rows)"]),
        ("sample: {ratio: 1.0e+308}", ["more than 1e308 rows"]),
    ],
)
def test_more_rows_than_memory_holds(tmp_path: Path, one_gigabyte, extra: str, needles):
    run_refused(
        tmp_path,
        recipe(tmp_path, extra + "\n"),
        *needles,
        "1.0 GB available",
        "enough for about 11,930,464 rows",  # 0.8 GB / (3 columns x 8 bytes x 3 copies)
        "sample in parts",
    )


# ---- model folders ----------------------------------------------------------------------------
def model_frame(n: int = 200) -> pd.DataFrame:
    """Every kind a model folder stores: numbers (with missing), labels, a flag, dates as text,
    PII, two kinds of id, free text."""
    rng = np.random.default_rng(2)
    income = rng.normal(3000, 500, n).round(2)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "age": rng.integers(20, 70, n),
            "income": income,
            "city": rng.choice(["Lyon", "Paris", "Nice"], n),
            "member": rng.random(n) < 0.4,
            "joined": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "email": [f"person{i}@example.org" for i in range(n)],
            "row_id": np.arange(1, n + 1),
            "code": [f"P{i:05d}" for i in range(n)],
            "note": [f"a free text note about case {i} and what happened" for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """A valid copula model and a tiny tvae (1 epoch), each with the run.json a run writes."""
    import json

    from synthgen.generators import create
    from synthgen.recipe import PiiSpec

    root = tmp_path_factory.mktemp("models")
    df = model_frame()
    gens = {
        "copula": create("copula"),
        "tvae": create(
            "tvae", epochs=1, batch_size=50, embedding_dim=8, compress_dims=[8],
            decompress_dims=[8],
        ),
    }  # fmt: skip
    run = {"pii": PiiSpec().model_dump(mode="json"), "recipe": "small", "seed": 0}
    for name, gen in gens.items():
        gen.fit(df, seed=0).save(root / name)
        (root / name / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return {name: root / name for name in gens}


def copy_model(saved: dict[str, Path], name: str, tmp: Path) -> Path:
    import shutil

    return Path(shutil.copytree(saved[name], tmp / f"model-{name}"))


def sample_refused(model: Path, *needles: str, n: str = "5") -> Result:
    out = model.parent / "out.csv"
    res = invoke("sample", model, "-n", n, "--out", out)
    refused(res, *needles, out=out)
    return res


def edit_json(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """``change`` edits the parsed document in place (what it returns is ignored)."""
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def edit_weights(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    from safetensors.numpy import load_file, save_file

    arrays = dict(load_file(str(path)))
    change(arrays)
    save_file(arrays, str(path))


def test_the_saved_models_sample(saved: dict[str, Path], tmp_path: Path):
    for name, model in saved.items():
        res = invoke("sample", model, "-n", "20", "--out", tmp_path / f"{name}.csv")
        assert res.exit_code == 0, res.output
        assert pd.read_csv(tmp_path / f"{name}.csv").shape == (20, 9)


def _first_var(kind: str):  # type: ignore[no-untyped-def]
    def pick(d: dict) -> dict:
        return next(v for v in d["generator_state"]["variables"] if v["type"] == kind)

    return pick


@pytest.mark.parametrize(
    ("file", "change", "needles"),
    [
        ("config.json", lambda c: c.update(n_rows="many"), ["config.json: n_rows"]),
        ("config.json", lambda c: c.update(modelled_columns="age"), ["modelled_columns"]),
        ("config.json", lambda c: c.pop("params"), ["config.json: params: Field required"]),
        ("config.json", lambda c: c.update(format_version="1"), ["format_version: must be"]),
        ("config.json", lambda c: c.update(format_version=2), ["model format 2 is not supported"]),
        ("config.json", lambda c: c.update(generator="nope"), ["unknown generator 'nope'"]),
        ("config.json", lambda c: c["params"].update(max_knots=-1), ["params.max_knots"]),
        (
            "config.json",
            lambda c: c["modelled_columns"].append("zzz"),
            ["'zzz' is not in schema.json"],
        ),
        (
            "schema.json",
            lambda s: s["columns"][0].pop("dtype"),
            ["schema.json: columns.0: missing dtype"],
        ),
        ("schema.json", lambda s: s["columns"][0].update(dtype="int128x"), ["not a pandas dtype"]),
        ("schema.json", lambda s: s["columns"][1].update(name="age"), ["names two columns"]),
        ("encoder.json", lambda e: e.pop("side_columns"), ["encoder.json: side_columns"]),
        (
            "encoder.json",
            lambda e: e["side_columns"].update(ghost={"how": "null"}),
            ["side_columns.ghost: not a column of schema.json"],
        ),
        (
            "encoder.json",
            lambda e: e["side_columns"]["code"].update(width=10**8),
            ["side_columns.code.id_pattern.width", "less than or equal to 1000"],
        ),
        (
            "encoder.json",
            lambda e: e["side_columns"]["email"].update(how="magic"),
            ["side_columns.email", "'magic'"],
        ),
        (
            "encoder.json",
            lambda e: _first_var("numeric")(e).update(type="spline"),
            ["generator_state.variables.0", "'spline'"],
        ),
        (
            "encoder.json",
            lambda e: _first_var("labels")(e)["labels"].__setitem__(0, [1, 2]),
            ["generator_state.variables.", "labels.0"],
        ),
        (
            "encoder.json",
            lambda e: _first_var("numeric")(e).update(missing_rate=1e308),
            ["missing_rate", "less than or equal to 1"],
        ),
        (
            "encoder.json",
            lambda e: e["generator_state"]["variables"].reverse(),
            ["not one variable per modelled column"],
        ),
    ],
)
def test_damaged_copula_json(saved, tmp_path: Path, file: str, change, needles: list[str]):
    model = copy_model(saved, "copula", tmp_path)
    edit_json(model / file, change)
    sample_refused(model, f"model folder {model}", *needles)


TINY = {
    "copula": {},
    "tvae": {"epochs": 1, "batch_size": 50, "embedding_dim": 8, "compress_dims": [8],
             "decompress_dims": [8]},
    "ctgan": {"epochs": 1, "batch_size": 50, "embedding_dim": 8, "generator_dim": [8],
              "discriminator_dim": [8]},
}  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        "copula",
        pytest.param("tvae", marks=pytest.mark.slow),
        pytest.param("ctgan", marks=pytest.mark.slow),
    ],
)
def test_valid_models_load_under_differential_privacy_too(tmp_path: Path, name: str):
    """The checks refuse damage, not valid models: a DP fit writes its state its own way
    (the encoder's columns in another order, knots from DP quantiles)."""
    from synthgen.generators import Generator, create
    from synthgen.privacy import DPPlan

    df = model_frame(300).drop(columns=["note"])  # free text is refused under DP
    plan = DPPlan.build(5.0, None, len(df), metadata_share=0.2, bounds={}, categories={})
    create(name, **TINY[name]).fit(df, privacy=plan).save(tmp_path / "m")
    assert Generator.load(tmp_path / "m").sample(10).shape == (10, 8)


def test_config_json_as_a_list(saved, tmp_path: Path):
    model = copy_model(saved, "copula", tmp_path)
    (model / "config.json").write_text((saved["copula"] / "config.json").read_text().join("[]"))
    sample_refused(model, "config.json: (top level): Input should be a valid dictionary")


def _nan_corner(a: dict) -> None:
    a["corr"] = a["corr"].copy()
    a["corr"][0, 1] = a["corr"][1, 0] = np.nan


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (_nan_corner, ["corr: holds 2 non-finite value(s)"]),
        (lambda a: a.pop("corr"), ["corr: missing"]),
        (lambda a: a.update(corr=np.eye(2)), ["corr: shape (2, 2), expected"]),
        (
            lambda a: a.update(corr=a["corr"].astype(np.float32)),
            ["dtype float32, expected float64"],
        ),
        (lambda a: a.update(extra=np.zeros(3)), ["extra: not a tensor this model has"]),
        (
            lambda a: a.update({"knots.0": a["knots.0"][::-1].copy()}),
            ["knots.0: quantiles out of order"],
        ),
        (
            lambda a: a.update({"knots.0": np.full_like(a["knots.0"], 1e300)}),
            ["knots.0: values beyond what column 'age' (int64) can hold"],
        ),
        (lambda a: a.update(corr=np.full_like(a["corr"], 0.5)), ["not a positive definite"]),
        (lambda a: a.update({"probs.2": a["probs.2"] * 3}), ["probs.2: not probabilities"]),
    ],
)
def test_damaged_copula_weights(saved, tmp_path: Path, change, needles: list[str]):
    model = copy_model(saved, "copula", tmp_path)
    edit_weights(model / "weights.safetensors", change)
    sample_refused(model, "weights.safetensors", *needles)


def _first_float(arrays: dict) -> str:
    return next(k for k in sorted(arrays) if arrays[k].dtype.kind == "f" and arrays[k].ndim == 2)


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda a: a.pop(_first_float(a)), ["weights.safetensors: decoder.", "missing"]),
        (lambda a: a.update({(k := _first_float(a)): a[k].reshape(-1, 1)}), ["shape", "expected"]),
        (lambda a: a.update({(k := _first_float(a)): a[k] * np.nan}), ["non-finite"]),
        (lambda a: a.update({(k := _first_float(a)): a[k].astype(np.float64)}), ["dtype float64"]),
    ],
)
def test_damaged_tvae_weights(saved, tmp_path: Path, change, needles: list[str]):
    model = copy_model(saved, "tvae", tmp_path)
    edit_weights(model / "weights.safetensors", change)
    sample_refused(model, "weights.safetensors", *needles)


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (
            lambda e: e["generator_state"]["encoder"]["columns"][0].update(type="spline"),
            ["generator_state.encoder.columns.0.type"],
        ),
        (
            lambda e: e["generator_state"]["encoder"]["numeric"]["age"].update(stds=[-1.0]),
            ["numeric.age.stds.0", "greater than 0"],
        ),
        (
            lambda e: e["generator_state"]["encoder"]["discrete"]["city"]["freq"].pop(),
            ["discrete.city: labels, frequencies and rare labels disagree"],
        ),
        (
            lambda e: e["generator_state"]["encoder"]["spans"].pop(),
            ["spans: do not follow"],
        ),
        (
            lambda e: e["generator_state"]["encoder"]["discrete"]["member"]["labels"].__setitem__(
                0, "yes"
            ),
            ["discrete.member", "'member' (bool) holds only true/false"],
        ),
        (lambda e: e["generator_state"].update(epochs_trained=-1), ["epochs_trained"]),
        (
            lambda e: e["generator_state"]["encoder"]["numeric"].update(
                ghost=e["generator_state"]["encoder"]["numeric"]["age"]
            ),
            ["numeric / discrete: not one encoder per column"],
        ),
    ],
)
def test_damaged_tvae_encoder(saved, tmp_path: Path, change, needles: list[str]):
    model = copy_model(saved, "tvae", tmp_path)
    edit_json(model / "encoder.json", change)
    sample_refused(model, "encoder.json", *needles)


def test_a_damaged_embedding_dim_allocates_nothing(saved, tmp_path: Path):
    model = copy_model(saved, "tvae", tmp_path)
    edit_json(model / "config.json", lambda c: c["params"].update(embedding_dim=10**12))
    sample_refused(model, "weights.safetensors: decoder.net.0.weight: shape (8, 8)")


@pytest.mark.parametrize("file", ["config.json", "schema.json", "encoder.json", "run.json"])
def test_json_nested_100k_deep(saved, tmp_path: Path, file: str):
    model = copy_model(saved, "copula", tmp_path)
    (model / file).write_text("[" * 100_000 + "]" * 100_000)
    sample_refused(model, f"{file}: nested too deeply")


def test_a_pickle_in_run_json(saved, tmp_path: Path):
    import pickle

    model = copy_model(saved, "copula", tmp_path)
    (model / "run.json").write_bytes(pickle.dumps({"pii": {"locale": "en_US"}}))
    sample_refused(model, "run.json: a Python pickle", "never loads pickles")


def test_run_json_with_an_unknown_locale(saved, tmp_path: Path):
    model = copy_model(saved, "copula", tmp_path)
    edit_json(model / "run.json", lambda r: r["pii"].update(locale="xx_XX"))
    sample_refused(model, "run.json: pii.locale", "unknown Faker locale")


def test_a_model_path_that_is_a_file(saved, tmp_path: Path):
    sample_refused(saved["copula"] / "config.json", "is a file, not a synthgen model folder")


@pytest.mark.parametrize(
    "file", ["config.json", "schema.json", "encoder.json", "weights.safetensors"]
)
def test_truncated_and_missing_files(saved, tmp_path: Path, file: str):
    model = copy_model(saved, "copula", tmp_path)
    data = (model / file).read_bytes()
    (model / file).write_bytes(data[: len(data) // 2])
    sample_refused(model, file)
    (model / file).unlink()
    sample_refused(model, f"missing {file}")


def test_sample_n_in_exponent_notation_is_not_a_count(saved, tmp_path: Path):
    sample_refused(saved["copula"], "'1e12' is not a valid integer", n="1e12")


def test_sample_more_rows_than_memory_holds(saved, tmp_path: Path, one_gigabyte):
    sample_refused(
        saved["copula"],
        "rows to sample: 1,000,000,000,000 rows",
        "sample in parts",
        n="1000000000000",
    )


# ---- synthgen validate --schema -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("{not json", ["not valid JSON: Expecting property name"]),
        ('{"columns": 3}', ["columns: Input should be a valid list"]),
        ('{"columns": [{"name": "age", "kind": "wizard"}]}', ["columns.0.kind"]),
        ("[" * 100_000, ["nested too deeply"]),
        (
            '{"columns": [{"name": "group", "kind": "numeric"}]}',
            ["does not fit the --real file", "group: numeric does not fit"],
        ),
        (
            '{"columns": [{"name": "nope", "kind": "numeric"}]}',
            ["nope: not a column of the --real"],
        ),
    ],
)
def test_validate_with_a_bad_schema_file(tmp_path: Path, text: str, needles: list[str]):
    frame().to_csv(tmp_path / "real.csv", index=False)
    frame().to_csv(tmp_path / "syn.csv", index=False)
    (tmp_path / "bad.json").write_text(text)
    res = invoke(
        "validate", "--real", tmp_path / "real.csv", "--synthetic", tmp_path / "syn.csv",
        "--schema", tmp_path / "bad.json", "--out", tmp_path / "v",
    )  # fmt: skip
    refused(res, "--schema file", "bad.json", *needles, out=tmp_path / "v")


# ---- seeded mutations ---------------------------------------------------------------------------
# Each mutation below makes its file invalid whatever it hits (all keys of a saved file are
# required, every type is strict, every number finite, every tensor named, shaped and typed):
# the command must exit 2, name the file, and write nothing. Huge numbers can land on a value
# that may legitimately be huge (a mixture mean of a float column): they have a test of their
# own that asks for no traceback, and a sane table when the model is accepted.
FUZZ_SEED = 2024
MODEL_JSON = ("config.json", "schema.json", "encoder.json", "run.json")
FREE = {  # subtrees whose keys have defaults or whose values are free (params, privacy...)
    "config.json": [("params",), ("privacy",)],
    "encoder.json": [("generator_state", "history")],
    "run.json": [("pii",)],
}


def _nodes(doc, path=()):  # type: ignore[no-untyped-def]
    yield path, doc
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    )
    for k, v in items:
        yield from _nodes(v, (*path, k))


def _free(file: str, path: tuple) -> bool:
    return any(path[: len(f)] == f for f in FREE.get(file, []))


def _at(doc, path):  # type: ignore[no-untyped-def]
    for k in path:
        doc = doc[k]
    return doc


def _set(doc, path, value):  # type: ignore[no-untyped-def]
    if not path:
        return value
    _at(doc, path[:-1])[path[-1]] = value
    return doc


def _other_type(v):  # type: ignore[no-untyped-def]
    """A value of a type no field holding ``v`` accepts."""
    if isinstance(v, (dict, list, bool, int, float)):
        return "x"
    return {"x": 1}  # for text and null


def _json_mutation(file: str, doc, rng: np.random.Generator) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    nodes = [(p, v) for p, v in _nodes(doc) if not _free(file, p)]
    op = rng.choice(["delete_key", "add_key", "change_type", "nan"])
    if op == "add_key":  # into a record (an unknown key) or a map (an unknown column)
        dicts = [(p, v) for p, v in nodes if isinstance(v, dict)]
        p, d = dicts[rng.integers(len(dicts))]
        first = next(iter(d.values()), None)
        d["zzz"] = dict(first) if isinstance(first, dict) else 0  # a map entry's copy, or a key
        return f"{file}: add {'.'.join(map(str, (*p, 'zzz')))}", doc
    if op == "delete_key":
        keyed = [
            (p, k) for p, v in nodes if isinstance(v, dict) for k in v if not _free(file, (*p, k))
        ]
        if keyed:
            p, k = keyed[rng.integers(len(keyed))]
            del _at(doc, p)[k]
            return f"{file}: delete {'.'.join(map(str, (*p, k)))}", doc
    if op == "nan":
        numbers = [p for p, v in nodes if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            p = numbers[rng.integers(len(numbers))]
            return f"{file}: NaN at {'.'.join(map(str, p))}", _set(doc, p, float("nan"))
    p, v = nodes[rng.integers(len(nodes))]
    return f"{file}: retype {'.'.join(map(str, p)) or '(top)'}", _set(doc, p, _other_type(v))


def _tensor_mutation(arrays: dict, rng: np.random.Generator) -> str:
    names = sorted(arrays)
    name = names[rng.integers(len(names))]
    a = arrays[name]
    op = rng.choice(["delete", "extra", "flip_shape", "nan", "dtype"])
    if op == "delete":
        del arrays[name]
    elif op == "extra":
        arrays[f"{name}.copy"] = a.copy()
    elif op == "flip_shape":
        arrays[name] = np.ascontiguousarray(a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1))
    elif op == "nan" and a.dtype.kind == "f" and a.size:
        a = a.copy()
        a.flat[rng.integers(a.size)] = np.nan
        arrays[name] = a
    else:
        op = "dtype"
        arrays[name] = a.astype(np.float32 if a.dtype != np.float32 else np.float64)
    return f"weights.safetensors: {op} {name}"


def _file_mutation(model: Path, rng: np.random.Generator) -> str:
    import pickle

    file = rng.choice([*MODEL_JSON, "weights.safetensors"])
    p = model / file
    op = rng.choice(["truncate", "garbage", "deep", "pickle", "delete"])
    if op == "truncate":
        data = p.read_bytes()
        p.write_bytes(data[: int(rng.integers(len(data)))])
    elif op == "garbage":
        p.write_bytes(rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes())
    elif op == "deep":
        p.write_text('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    elif op == "pickle":
        p.write_bytes(pickle.dumps({"generator": "copula"}))
    elif file != "run.json":  # a model saved from the Python API has no run.json
        p.unlink()
    else:
        p.write_text("")
    return f"{file}: {op}"


def mutate_model(model: Path, rng: np.random.Generator) -> tuple[str, str]:
    """One seeded mutation of the model folder: (what was done, the file it names)."""
    import json

    from safetensors.numpy import load_file, save_file

    kind = rng.choice(["json", "json", "tensor", "file"])
    if kind == "json":
        file = str(rng.choice(MODEL_JSON))
        doc = json.loads((model / file).read_text(encoding="utf-8"))
        what, doc = _json_mutation(file, doc, rng)
        (model / file).write_text(json.dumps(doc), encoding="utf-8")
    elif kind == "tensor":
        arrays = dict(load_file(str(model / "weights.safetensors")))
        what = _tensor_mutation(arrays, rng)
        save_file(arrays, str(model / "weights.safetensors"))
    else:
        what = _file_mutation(model, rng)
    return what, what.split(":")[0]


@pytest.mark.parametrize(("name", "count"), [("copula", 80), ("tvae", 40)])
def test_seeded_mutations_of_a_saved_model_are_refused(
    saved, tmp_path: Path, name: str, count: int
):
    import shutil

    rng = np.random.default_rng([FUZZ_SEED, count])
    failures = []
    for i in range(count):
        model = Path(shutil.copytree(saved[name], tmp_path / f"m{i}"))
        what, file = mutate_model(model, rng)
        out = tmp_path / f"out{i}.csv"
        res = invoke("sample", model, "-n", "5", "--out", out)
        ok = res.exit_code == 2 and "Traceback" not in res.output and not out.exists()
        if not (ok and file in res.output and str(model) in res.output):
            failures.append(f"{what} -> exit {res.exit_code}: {res.output[-600:]}")
        shutil.rmtree(model)
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures)


def test_seeded_huge_numbers_in_a_saved_model_never_crash(saved, tmp_path: Path):
    """±1e308 and 1e30 on random numbers of the JSON files and random tensor elements: a
    clear refusal, or (where such a number is allowed) a table with no infinity in it."""
    import json
    import shutil

    from safetensors.numpy import load_file, save_file

    rng = np.random.default_rng([FUZZ_SEED, 3])
    failures = []
    for i in range(40):
        name = ("copula", "tvae")[i % 2]
        model = Path(shutil.copytree(saved[name], tmp_path / f"m{i}"))
        value = float(rng.choice([1e308, -1e308, 1e30]))
        if rng.random() < 0.5:
            file = str(rng.choice(MODEL_JSON))
            doc = json.loads((model / file).read_text(encoding="utf-8"))
            numbers = [
                p
                for p, v in _nodes(doc)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and not _free(file, p)
            ]
            if not numbers:
                continue
            p = numbers[rng.integers(len(numbers))]
            what = f"{file}: {value:g} at {'.'.join(map(str, p))}"
            (model / file).write_text(json.dumps(_set(doc, p, value)), encoding="utf-8")
        else:
            arrays = dict(load_file(str(model / "weights.safetensors")))
            key = sorted(k for k in arrays if arrays[k].dtype.kind == "f")[rng.integers(3)]
            top = float(np.finfo(arrays[key].dtype).max)  # the largest the dtype holds
            arrays[key] = arrays[key].copy()
            arrays[key].flat[rng.integers(arrays[key].size)] = np.clip(value, -top, top)
            what = f"weights.safetensors: {value:g} in {key}"
            save_file(arrays, str(model / "weights.safetensors"))
        out = tmp_path / f"out{i}.csv"
        res = invoke("sample", model, "-n", "5", "--out", out)
        crashed = res.exit_code not in (0, 2) or "Traceback" in res.output
        if res.exit_code == 0:
            table = pd.read_csv(out)
            crashed |= table.shape[0] != 5 or bool(
                np.isinf(table.select_dtypes("number")).any().any()
            )
        elif res.exit_code == 2:
            crashed |= out.exists() or what.split(":")[0] not in res.output
        if crashed:
            failures.append(f"{what} -> exit {res.exit_code}: {res.output[-600:]}")
    assert not failures, "\n".join(failures)


BASE_RECIPE = {
    "name": "small",
    "seed": 3,
    "source": {"path": "data.csv"},
    "holdout": 0.2,
    "generator": {"name": "copula", "params": {"max_knots": 64}},
    "sample": {"rows": 100},
    "pii": {"locale": "en_US"},
    "validate": {"gates": {"quality": 0.5}, "target": "group"},
}
RECIPE_MUTATIONS = 48
BOUNDED = [("seed",), ("holdout",), ("sample", "rows"), ("generator", "params", "max_knots")]


def _recipe_mutation(doc: dict, rng: np.random.Generator) -> str:
    nodes = list(_nodes(doc))
    op = rng.choice(["change_type", "unknown_key", "nan", "huge"])
    if op == "unknown_key":
        p, d = [(p, v) for p, v in nodes if isinstance(v, dict)][rng.integers(6)]
        d["zzz_unknown"] = 1
        return ".".join(map(str, (*p, "zzz_unknown")))
    if op in ("nan", "huge"):
        p = BOUNDED[rng.integers(len(BOUNDED))]
        value = float("nan") if op == "nan" else [10**30, 1e308, -1e308][rng.integers(3)]
        _set(doc, p, value)
        return ".".join(p)
    p, v = nodes[1 + rng.integers(len(nodes) - 1)]
    _set(doc, p, _other_type(v))
    return ".".join(map(str, p))


def _source_mutation(data: Path, rng: np.random.Generator) -> str:
    text = data.read_text()
    op = rng.choice(["inf", "wide", "ragged", "empty", "bytes", "header_only"])
    lines = text.splitlines()
    if op == "inf":
        row = 1 + int(rng.integers(len(lines) - 1))
        cells = lines[row].split(",")
        cells[1] = str(rng.choice(["inf", "-inf"]))
        lines[row] = ",".join(cells)
        data.write_text("\n".join(lines) + "\n")
    elif op == "wide":
        data.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + "1,2\n")
    elif op == "ragged":
        lines.insert(1 + int(rng.integers(len(lines) - 1)), "1,2,3,4,5")
        data.write_text("\n".join(lines) + "\n")
    elif op == "empty":
        data.write_bytes(b"")
    elif op == "bytes":
        data.write_bytes(text.encode() + b"\xff\xfe,\x80\n")
    else:
        data.write_text(lines[0] + "\n")
    return f"data.csv: {op}"


def test_seeded_mutations_of_a_recipe_and_its_source_are_refused(tmp_path: Path, one_gigabyte):
    import yaml

    rng = np.random.default_rng([FUZZ_SEED, 7])
    failures = []
    for i in range(RECIPE_MUTATIONS):
        folder = tmp_path / f"r{i}"
        folder.mkdir()
        frame().to_csv(folder / "data.csv", index=False)
        doc = yaml.safe_load(yaml.safe_dump(BASE_RECIPE))
        if i % 4 == 3:
            what = _source_mutation(folder / "data.csv", rng)
            needle = "data.csv"
        else:
            what = _recipe_mutation(doc, rng)
            needle = what.split(".")[0]  # the key (or, for the mapping itself, the file)
        rec = folder / "recipe.yaml"
        rec.write_text(yaml.safe_dump(doc), encoding="utf-8")
        res = invoke("run", rec, "--out", folder / "run")
        ok = res.exit_code == 2 and "Traceback" not in res.output
        if not (
            ok
            and not (folder / "run").exists()
            and (needle in res.output or str(rec) in res.output)
        ):
            failures.append(f"{what} -> exit {res.exit_code}: {res.output[-600:]}")
    assert not failures, f"{len(failures)} of {RECIPE_MUTATIONS}:\n" + "\n".join(failures)
