"""`synthgen validate --engine local|ray` on a whole dataset larger than memory: a folder
that `synthgen sample MODEL -n ROOTS --out db/` writes (a folder of part files per table,
``dataset.json`` with the keys), against the real tables in the same layout.

Counted exactly over every row (``scale.integrity``), here or on Ray, the same for any
number of workers: references that resolve (``referential_integrity``), keys holding a
value twice (``key_uniqueness``) and children per parent row, real against synthetic
(``cardinality_similarity``, 1 - KS of the two exact distributions). The relational
suite's other metrics need whole tables in memory: they are reported as not computed,
saying how to get each table's own figures (`validate --engine` on its folder).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen import logs, validate
from synthgen.errors import DataError
from synthgen.metrics.base import Result
from synthgen.scale.chunks import ChunkEngine
from synthgen.scale.integrity import (
    KeyCounts,
    KeyMapper,
    KeyPlan,
    key_plan,
    ranges_for,
    reduce_keys,
)
from synthgen.scale.stream_source import StreamSource, open_source

SPEC_FILE = "dataset.json"
COUNTED = ("referential_integrity", "key_uniqueness", "cardinality_similarity")


def is_table_folders(where: Path) -> bool:
    """A dataset of table folders (``dataset.json`` beside them), not one table's parts."""
    return (where / SPEC_FILE).is_file()


def validate_dataset_at_scale(
    real: Path,
    synthetic: Path,
    *,
    suite: str = "default",
    out: Path = Path("validation"),
    seed: int = 0,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    say: Callable[[str], None] = logs.say,
) -> dict[str, Any]:
    """Judge the dataset at ``synthetic`` against ``real`` with the relational suite's
    key gates, counted over every row; writes ``out`` whole or not at all."""
    from synthgen.dataset.data import Dataset
    from synthgen.io.atomic import atomic_dir, check_replaceable, exclusive
    from synthgen.io.destinations import check_writable
    from synthgen.progress import StageClock
    from synthgen.report.relational import write_dataset_report
    from synthgen.scale.chunks import chunk_engine

    the_suite = validate.load_suite(
        "relational" if suite == "default" else suite, Path.cwd(), given_by="--suite"
    )
    check_replaceable(out, "validation folder")
    check_writable([out])
    runner = chunk_engine(engine, workers, address)
    spec = read_spec(synthetic)
    clock = StageClock(say)
    with clock.stage("read", "opening the tables"):
        sources = {"synthetic": table_sources(synthetic, spec, "--synthetic")}
        sources["real"] = table_sources(real, spec, "--real")
    plan = key_plan(spec)
    counted: dict[str, tuple[dict[str, int], KeyCounts, int]] = {}
    spill = Path(tempfile.mkdtemp(prefix=".synthgen-validate-", dir=out.absolute().parent))
    try:
        for role, srcs in sources.items():
            with clock.stage(f"keys-{role}", f"counting the {role} keys over every row"):
                counted[role] = count_keys(srcs, plan, spill / role, runner)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    given = key_results(plan, counted["real"][1], counted["synthetic"][1])
    for name in list(the_suite.metrics) + [g.metric for g in the_suite.gates]:
        given.setdefault(name, Result(None, skipped=NOT_AT_SCALE))
    empty = pd.DataFrame()
    from synthgen.schema.spec import Schema

    verdict = validate.run(the_suite, empty, empty, empty, Schema(columns=[]), given=given)
    report = _report(synthetic, seed, spec, verdict, counted, clock.timings, runner)
    frames = {t.name: pd.DataFrame(columns=[c.name for c in t.columns]) for t in spec.tables}
    with exclusive([out]), atomic_dir(out, "validation folder") as tmp:
        write_dataset_report(tmp, report, Dataset(spec, frames))
    return report


NOT_AT_SCALE = (
    "not computed at scale (it needs whole tables in memory): run `synthgen validate "
    "--engine` on each table's folder for its own figures"
)


def read_spec(folder: Path) -> Any:
    from pydantic import ValidationError

    from synthgen.dataset.spec import DatasetSpec

    path = folder / SPEC_FILE
    try:
        return DatasetSpec.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as err:
        first = str(err).splitlines()[0]
        raise DataError(
            f"{path}: not a dataset description ({first})",
            hint="give a folder `synthgen sample MODEL -n ROOTS --out DIR` wrote",
        ) from None


def table_sources(folder: Path, spec: Any, option: str) -> dict[str, StreamSource]:
    """Each table of ``spec`` in ``folder``: the folder the top manifest names, else
    ``<table>/``, ``<table>.parquet`` or ``<table>.csv``."""
    named: dict[str, str] = {}
    top = folder / "_manifest.json"
    if top.is_file():
        tables = json.loads(top.read_text(encoding="utf-8")).get("tables", {})
        named = {t: str(v.get("folder", t)) for t, v in tables.items() if isinstance(v, dict)}
    out = {}
    for t in spec.tables:
        cands = [folder / named.get(t.name, t.name), folder / f"{t.name}.parquet"]
        where = next((p for p in [*cands, folder / f"{t.name}.csv"] if p.exists()), None)
        if where is None:
            raise DataError(
                f"{option} {folder}: no table {t.name} (looked for {t.name}/, "
                f"{t.name}.parquet and {t.name}.csv)",
                hint="give a folder with every table the dataset.json lists",
            )
        src = open_source(where)
        missing = [c for ks in _key_columns(t) for c in ks if c not in src.columns]
        if missing:
            raise DataError(
                f"{option} {where}: table {t.name} has no column {', '.join(missing)} "
                "(a key column of dataset.json)",
                hint="give the table with its key columns",
            )
        out[t.name] = src
    return out


def _key_columns(t: Any) -> list[list[str]]:
    keys = [t.primary_key] if t.primary_key else []
    return keys + [u.columns for u in t.unique] + [fk.columns for fk in t.foreign_keys]


def count_keys(
    sources: dict[str, StreamSource], plan: KeyPlan, spill: Path, runner: ChunkEngine
) -> tuple[dict[str, int], KeyCounts, int]:
    """Rows per table, the exact key counts, and the number of hash ranges."""
    spill.mkdir(parents=True, exist_ok=True)
    jobs = [(sources, plan, str(spill), t, u) for t, s in sources.items() for u in s.units()]
    rows: dict[str, int] = dict.fromkeys(sources, 0)
    files: dict[Any, list[str]] = {}
    for (_s, _p, _d, t, _u), (n, got) in zip(jobs, runner.map(_map, jobs), strict=True):
        rows[t] += n
        for key, paths in got.items():
            files.setdefault(key, []).extend(paths)
    ranges = ranges_for(sum(rows.values()), plan)
    counts = KeyCounts()
    for part in runner.map(reduce_keys, [(plan, files, k, ranges) for k in range(ranges)]):
        counts.add(part)
    return rows, counts, ranges


def _map(sources: dict[str, StreamSource], plan: KeyPlan, spill: str, table: str, unit: Any):  # type: ignore[no-untyped-def]
    return KeyMapper(sources, plan, spill).map(table, unit)


def key_results(plan: KeyPlan, real: KeyCounts, syn: KeyCounts) -> dict[str, Result]:
    """The relational suite's key metrics from the exact counts."""
    from synthgen.scale.integrity import ks_from_counts

    refs = sum(syn.references.values())
    bad = sum(syn.dangling.values())
    keys = sum(syn.values.values())
    common = {"exact": True, "collision_bound": refs * max(keys, 1) / 2.0**64}
    per = {k: 1 - syn.dangling[k] / n if n else 1.0 for k, n in syn.references.items()}
    ri = Result(
        1 - bad / refs if refs else 1.0,
        {"per_key": per, "references": refs, "dangling": syn.dangling, **common},
    )
    held = {k: float(syn.repeated[k] == 0) for k in syn.values}
    ku = Result(
        sum(held.values()) / len(held) if held else 1.0,
        {"per_key": held, "repeated_values": syn.repeated, **common},
    )
    card = {
        label: ks_from_counts(real.per_parent.get(label, {}), syn.per_parent.get(label, {}))
        for label, _c, _p in plan.refs
        if label in syn.per_parent
    }
    cs = Result(sum(card.values()) / len(card) if card else None, {"per_key": card, "exact": True})
    return {"referential_integrity": ri, "key_uniqueness": ku, "cardinality_similarity": cs}


def _report(
    synthetic: Path,
    seed: int,
    spec: Any,
    verdict: dict[str, Any],
    counted: dict[str, tuple[dict[str, int], KeyCounts, int]],
    timings: dict[str, float],
    runner: ChunkEngine,
) -> dict[str, Any]:
    from synthgen.report.assemble import build_report
    from synthgen.scale.integrity import shares
    from synthgen.schema.spec import Schema

    real_rows, real_counts, _ = counted["real"]
    syn_rows, syn_counts, ranges = counted["synthetic"]
    card = verdict["metrics"].get("fidelity", {}).get("cardinality_similarity_per_key", {}) or {}
    tables = {}
    for t in spec.tables:
        hists = {}
        for fk in t.foreign_keys:
            label = fk.describe(t.name)
            if fk.ref_table != t.name and label in syn_counts.per_parent:
                hists[label] = shares(
                    real_counts.per_parent.get(label, {}), syn_counts.per_parent[label]
                )
        tables[t.name] = {
            "rows": {
                "source": real_rows[t.name],
                "train": real_rows[t.name],
                "synthetic": syn_rows[t.name],
            },
            "primary_key": t.primary_key,
            "foreign_keys": [fk.describe(t.name) for fk in t.foreign_keys],
            "quality": None,
            "exact_copy_rate": None,
            "cardinality": {k: v for k, v in card.items() if k.startswith(f"{t.name}.")},
            "children_per_parent": hists,
        }
    rows = {"source": sum(real_rows.values()), "train": sum(real_rows.values())}
    rows["synthetic"] = sum(syn_rows.values())
    scale = {
        "exact": {
            "references": syn_counts.references, "dangling_references": syn_counts.dangling,
            "key_values": syn_counts.values, "repeated_key_values": syn_counts.repeated,
            "hash_ranges": ranges, "hash_bits": 64,
        },
        "not_at_scale": NOT_AT_SCALE,
    }  # fmt: skip
    return build_report(
        f"validate {synthetic.name}", seed, Schema(columns=[]), verdict, [], timings, rows,
        tables=tables, scale=scale,
        engine={"engine": runner.name, "workers": runner.workers or 1},
    )  # fmt: skip
