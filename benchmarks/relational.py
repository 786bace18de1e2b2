"""Multi-table synthesis on Chinook (issue 14), one thread, one run.

* ``chinook``: ``recipes/chinook.yaml`` end to end (read, fit, sample, validate, write):
  wall seconds, the relational gates, SDMetrics' multi-table QualityReport on all 11 tables,
  and the second-parent assignment of InvoiceLine.TrackId measured: the joint distribution of
  (Invoice.BillingCountry, Genre of the track) against the real one, for the learnt matching
  and for a uniform choice of track (the same synthetic rows otherwise).
* ``vs_sdv``: the largest part of Chinook SDV's free HMASynthesizer accepts (5 tables, no
  chain deeper than parent -> child): Invoice, Track, Playlist, InvoiceLine, PlaylistTrack.
  synthgen and HMA fit and sample it in the same run; SDMetrics QualityReport and
  CardinalityShapeSimilarity for both.

``python benchmarks/relational.py`` writes benchmarks/results/relational.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, one_thread  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "relational.json"
CHINOOK = ROOT.parent / "shared" / "data" / "chinook"
SDV_PART = ["Invoice", "Track", "Playlist", "InvoiceLine", "PlaylistTrack"]


def sdv_metadata(spec, names: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """SDMetrics / SDV metadata from our dataset spec (keys as ids, the rest by dtype)."""
    tables, rels = {}, []
    for t in spec:
        if t.name not in names:
            continue
        keys = set(t.primary_key) | {c for fk in t.foreign_keys for c in fk.columns}
        keys |= {c for _c, fk in spec.edges() if fk.ref_table == t.name for c in fk.ref_columns}
        cols = {}
        for c in t.column_names:
            if c in keys:
                cols[c] = {"sdtype": "id"}
            else:
                cols[c] = {"sdtype": "categorical"}
        tables[t.name] = {"columns": cols}
        if len(t.primary_key) == 1:
            tables[t.name]["primary_key"] = t.primary_key[0]
        for fk in t.foreign_keys:
            if fk.ref_table in names and fk.ref_table != t.name:
                rels.append(
                    {
                        "parent_table_name": fk.ref_table,
                        "child_table_name": t.name,
                        "parent_primary_key": fk.ref_columns[0],
                        "child_foreign_key": fk.columns[0],
                    }
                )
    return {"tables": tables, "relationships": rels, "METADATA_SPEC_VERSION": "V1"}


def typed(meta: dict, data: dict[str, pd.DataFrame]) -> dict:
    """Numbers as numerical, dates as datetime (SDMetrics scores them by shape)."""
    for t, info in meta["tables"].items():
        for c, col in info["columns"].items():
            if col["sdtype"] == "id":
                continue
            s = data[t][c]
            if pd.api.types.is_numeric_dtype(s) and s.nunique() > 10:
                col["sdtype"] = "numerical"
            elif "Date" in c:
                col.update(sdtype="datetime", datetime_format="%Y-%m-%d %H:%M:%S")
    return meta


def without_pii(data: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each table without the columns synthgen's detection calls PII or free text (faked,
    not modelled: comparing their values says nothing); keys stay."""
    from synthgen.schema import detect

    out = {}
    for t, df in data.items():
        real = pd.read_csv(CHINOOK / f"{t}.csv")
        drop = [c.name for c in detect(real, seed=0).columns if c.kind in ("pii", "text")]
        out[t] = df.drop(columns=[c for c in drop if c in df.columns])
    return out


def pii_columns(names: list[str]) -> dict[str, list[str]]:
    """Per table, the columns synthgen's detection calls PII (it fakes them)."""
    from synthgen.schema import detect

    out = {}
    for t in names:
        real = pd.read_csv(CHINOOK / f"{t}.csv")
        out[t] = [c.name for c in detect(real, seed=0).columns if c.kind == "pii"]
    return out


# SDV's PII sdtypes (Faker-backed, ``pii: True``) for the PII columns of the SDV part
SDV_PII_SDTYPES = {"Address": "address", "City": "city", "PostalCode": "postcode"}


def sdv_pii_metadata(meta: dict, pii: dict[str, list[str]]) -> dict:
    """The same metadata with the PII columns declared as SDV PII sdtypes, so HMA fakes
    them as synthgen does (what a user who protects them configures)."""
    import copy

    out = copy.deepcopy(meta)
    for t, cols in pii.items():
        for c in cols:
            if t not in out["tables"] or c not in out["tables"][t]["columns"]:
                continue
            kind = next((v for k, v in SDV_PII_SDTYPES.items() if c.endswith(k)), "unknown")
            out["tables"][t]["columns"][c] = {"sdtype": kind, "pii": True}
    return out


def pii_replay(real: dict, syn: dict, pii: dict[str, list[str]]) -> float | None:
    """Share of synthetic values in PII columns that are values of the same real column
    (real addresses, cities, postcodes given back); None when there are none."""
    hits = total = 0
    for t, cols in pii.items():
        for c in cols:
            if t not in syn or c not in syn[t].columns:
                continue
            s = syn[t][c].dropna().astype(str)
            hits += int(s.isin(set(real[t][c].dropna().astype(str))).sum())
            total += len(s)
    return round(hits / total, 4) if total else None


def strip(meta: dict, data: dict[str, pd.DataFrame]) -> dict:
    for t, info in meta["tables"].items():
        info["columns"] = {c: v for c, v in info["columns"].items() if c in data[t].columns}
    return meta


def both_scores(real: dict, syn: dict, meta: dict) -> dict:
    """Every column, and the modelled ones only (PII columns are faked by synthgen and
    sampled from the real values by HMA, so on them one scores the other's privacy loss)."""
    import copy

    out = sdmetrics_scores(real, syn, meta)
    r, s = without_pii(real), without_pii(syn)
    out["without_pii"] = sdmetrics_scores(r, s, strip(copy.deepcopy(meta), r))
    return out


def sdmetrics_scores(real: dict, syn: dict, meta: dict) -> dict:
    from sdmetrics.multi_table import CardinalityShapeSimilarity
    from sdmetrics.reports.multi_table import QualityReport

    report = QualityReport()
    report.generate(real, syn, meta, verbose=False)
    props = report.get_properties()
    return {
        "quality": float(report.get_score()),
        "properties": {r["Property"]: float(r["Score"]) for _, r in props.iterrows()},
        "cardinality_shape": float(CardinalityShapeSimilarity.compute(real, syn, meta)),
    }


def country_genre(ds: dict, track_ids: pd.Series) -> pd.Series:
    line = ds["InvoiceLine"].assign(TrackId=track_ids.to_numpy())
    j = line.merge(ds["Invoice"][["InvoiceId", "BillingCountry"]], on="InvoiceId")
    j = j.merge(ds["Track"][["TrackId", "GenreId"]], on="TrackId")
    j = j.merge(ds["Genre"][["GenreId", "Name"]], on="GenreId")
    return (j["BillingCountry"].astype(str) + " | " + j["Name"].astype(str)).value_counts(
        normalize=True
    )


def tv_complement(a: pd.Series, b: pd.Series) -> float:
    keys = a.index.union(b.index)
    return float(
        1 - 0.5 * np.abs(a.reindex(keys, fill_value=0) - b.reindex(keys, fill_value=0)).sum()
    )


def same_within_invoice(ds: dict, track_ids: pd.Series, column: str) -> float:
    """The share of pairs of lines of one invoice whose tracks share ``column`` (GenreId,
    AlbumId): what the lines of one invoice have in common."""
    line = ds["InvoiceLine"][["InvoiceId"]].assign(TrackId=track_ids.to_numpy())
    j = line.merge(ds["Track"][["TrackId", column]], on="TrackId")
    same = j.groupby(["InvoiceId", column]).size()
    n = j.groupby("InvoiceId").size()
    return float((same * (same - 1)).sum() / (n * (n - 1)).sum())


def genre_share(ds: dict, track_ids: pd.Series) -> pd.Series:
    t = ds["Track"].set_index("TrackId")["GenreId"]
    g = ds["Genre"].set_index("GenreId")["Name"]
    return track_ids.map(t).map(g).value_counts(normalize=True)


def chinook() -> dict:
    from synthgen.pipeline import run
    from synthgen.recipe import Output, load_recipe

    recipe = load_recipe(ROOT / "recipes" / "chinook.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        recipe.outputs = [Output(url=f"sqlite:///{Path(tmp) / 'chinook.db'}")]
        t0, c0 = time.perf_counter(), time.process_time()
        result = run(recipe, out=Path(tmp) / "run")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    syn = result.dataset
    real = {t: pd.read_csv(CHINOOK / f"{t}.csv") for t in syn.names}
    fake = {t: syn[t] for t in syn.names}
    real_s, fake_s = without_pii(real), without_pii(fake)
    meta = typed(sdv_metadata(syn.spec, syn.names), real)
    metrics = result.report["metrics"]
    r = np.random.default_rng(0)
    uniform = pd.Series(r.choice(fake["Track"]["TrackId"], len(fake["InvoiceLine"])))
    joint_real = country_genre(real, real["InvoiceLine"]["TrackId"])
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),  # one thread: what the run costs when others share the cores
        "timings_s": result.report["timings"],
        "passed": result.passed,
        "gates": {g["name"]: g["value"] for g in result.report["gates"]},
        "parent_child_trends": metrics["fidelity"]["parent_child_trends"],
        "row_count_ratio": metrics["fidelity"]["row_count_ratio"],
        "sdmetrics": sdmetrics_scores(real_s, fake_s, strip(meta, real_s)),
        "sdmetrics_note": "PII and free-text columns (faked, not modelled) left out of both sides",
        "invoice_line_track": {
            "what": "1 - TV distance of (BillingCountry, Genre) over invoice lines, and of "
            "the genre alone, real vs synthetic",
            "matched_country_genre": tv_complement(
                joint_real, country_genre(fake, fake["InvoiceLine"]["TrackId"])
            ),
            "uniform_country_genre": tv_complement(joint_real, country_genre(fake, uniform)),
            "matched_genre": tv_complement(
                genre_share(real, real["InvoiceLine"]["TrackId"]),
                genre_share(fake, fake["InvoiceLine"]["TrackId"]),
            ),
            "uniform_genre": tv_complement(
                genre_share(real, real["InvoiceLine"]["TrackId"]), genre_share(fake, uniform)
            ),
            "same_within_invoice": {
                col: {
                    "real": same_within_invoice(real, real["InvoiceLine"]["TrackId"], col),
                    "matched": same_within_invoice(fake, fake["InvoiceLine"]["TrackId"], col),
                    "uniform": same_within_invoice(fake, uniform, col),
                }
                for col in ("GenreId", "MediaTypeId", "AlbumId")
            },
        },
    }


def vs_sdv() -> dict:
    from synthgen.dataset.keys import detect_keys
    from synthgen.io.folder import read_folder
    from synthgen.recipe import load_recipe
    from synthgen.relational import RelationalSynthesizer
    from synthgen.source import _only

    part = detect_keys(_only(read_folder(CHINOOK), SDV_PART, str(CHINOOK)))
    real = {t: part[t] for t in SDV_PART}
    meta = typed(sdv_metadata(part.spec, SDV_PART), real)
    out: dict = {"tables": SDV_PART, "rows": {t: len(real[t]) for t in SDV_PART}}
    params = load_recipe(ROOT / "recipes" / "chinook.yaml").generator.params
    t0, c0 = time.perf_counter(), time.process_time()
    model = RelationalSynthesizer("autoreg", params).fit(part, seed=0)
    t1, c1 = time.perf_counter(), time.process_time()
    syn = model.sample(seed=0)
    t2, c2 = time.perf_counter(), time.process_time()
    ours = {t: syn[t] for t in SDV_PART}
    out["synthgen"] = {"fit_s": round(t1 - t0, 1), "sample_s": round(t2 - t1, 2)}
    out["synthgen"].update(fit_cpu_s=round(c1 - c0, 1), cpu_s=round(c2 - c0, 1))
    out["synthgen"].update(both_scores(real, ours, meta))
    pii = pii_columns(SDV_PART)
    out["pii_columns"] = {t: c for t, c in pii.items() if c}
    out["synthgen"]["pii_replay"] = pii_replay(real, ours, pii)
    # HMA twice: told the PII columns (it fakes them, as we do: the like-for-like run), and
    # with them as plain categories (it samples real addresses back; what it scores then)
    for name, fit_meta in (
        ("sdv_hma", sdv_pii_metadata(meta, pii)),
        ("sdv_hma_pii_as_categories", meta),
    ):
        got, fit_s, sample_s, fit_cpu_s, cpu_s = hma_run(real, fit_meta)
        out[name] = {"fit_s": fit_s, "sample_s": sample_s}
        out[name].update(fit_cpu_s=fit_cpu_s, cpu_s=cpu_s)
        out[name]["rows"] = {t: len(got[t]) for t in SDV_PART}
        out[name].update(both_scores(real, got, meta))
        out[name]["pii_replay"] = pii_replay(real, got, pii)
    out["scoring_note"] = (
        "every run scored with the same metadata (PII columns as categories, so a faked "
        "value scores as a miss and a replayed real one as a hit); without_pii leaves them out"
    )
    # fit + sample CPU seconds (one thread each): other jobs on the machine stretch wall
    # times unevenly between runs; the CPU a run uses is what it costs
    for name in ("sdv_hma", "sdv_hma_pii_as_categories"):
        out[f"speedup_vs_{name}"] = round(out[name]["cpu_s"] / out["synthgen"]["cpu_s"], 2)
    out["speedup"] = out["speedup_vs_sdv_hma"]
    return out


def hma_run(real: dict, meta: dict) -> tuple[dict, float, float, float, float]:
    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hma = HMASynthesizer(Metadata.load_from_dict(meta), verbose=False)
        t0, c0 = time.perf_counter(), time.process_time()
        hma.fit(real)
        t1, c1 = time.perf_counter(), time.process_time()
        got = hma.sample(num_rows=len(real["Invoice"]), main_table_name="Invoice")
        t2, c2 = time.perf_counter(), time.process_time()
    return got, round(t1 - t0, 1), round(t2 - t1, 2), round(c1 - c0, 1), round(c2 - c0, 1)


def main() -> None:
    one_thread()
    import sdv

    report = {
        "machine": "one thread (torch and BLAS), 2-core shared machine",
        "sdv_version": sdv.__version__,
        "chinook": chinook(),
        "vs_sdv": vs_sdv(),
    }
    OUT.write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
