"""TextSynthesizer: one text column, generated row by row from the synthetic table.

``fit`` learns ``prompt -> text`` where the prompt serialises the row's conditioning fields;
``generate`` writes a text for each synthetic row (missing at the source's null rate), checks
every text with the :class:`LeakGuard` and regenerates rejected ones with new seeds.
Saved under ``<folder>/text/<column>/``: ``spec.json``, ``guard.safetensors`` (hashes only) and
the backend's own files in ``model/``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as pdt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen.errors import NotFittedError, UsageError
from synthgen.io.weights import load_arrays, save_arrays
from synthgen.schema.spec import Schema
from synthgen.text.base import (
    REMOTE_FIELDS,
    RemoteAccess,
    load_backend,
    make_backend,
    serialise_prompt,
)
from synthgen.text.guard import LeakGuard, reason_kind

FORMAT_VERSION = 1
MAX_PROMPT_CARDINALITY = 50


class GuardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_shared_chars: int = Field(50, ge=8, description="longest run shared with a training text")
    ngram: int = Field(8, ge=2, description="word n-gram size for the overlap check")
    ngram_share: float = Field(0.5, gt=0, le=1, description="reject at this n-gram overlap")
    on_leak: Literal["regenerate", "drop", "flag"] = "regenerate"
    max_tries: int = Field(5, ge=1, le=50, description="attempts per row, the first included")


class TextColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = Field("local", description="local | hf | openai")
    condition_on: list[str] | None = Field(
        None,
        description="prompt fields; None = non-text, non-PII, non-id columns that are "
        f"numeric or have <= {MAX_PROMPT_CARDINALITY} values",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="the backend's options")
    guard: GuardSpec = Field(default_factory=GuardSpec)


def conditioning_columns(df: pd.DataFrame, column: str, schema: Schema | None) -> list[str]:
    """The default prompt fields for ``column`` (see ``TextColumnSpec.condition_on``)."""
    out = []
    for c in df.columns:
        if c == column:
            continue
        kind = schema[c].kind if schema is not None and c in schema else _guess_kind(df[c])
        if kind in ("text", "pii", "id"):
            continue
        numeric = kind in ("numeric", "integer", "boolean")
        if numeric or df[c].nunique(dropna=True) <= MAX_PROMPT_CARDINALITY:
            out.append(str(c))
    return out


def _guess_kind(s: pd.Series) -> str:
    """Without a schema: an all-distinct integer or string column is an id."""
    distinct = s.nunique(dropna=True) == s.notna().sum() > MAX_PROMPT_CARDINALITY
    if pdt.is_bool_dtype(s):
        return "boolean"
    if pdt.is_numeric_dtype(s):
        return "id" if distinct and pdt.is_integer_dtype(s) else "numeric"
    return "id" if distinct else "categorical"


class TextSynthesizer:
    """Fit on the real table's text column; generate texts for synthetic rows."""

    def __init__(self, *, progress: bool = False) -> None:
        self.progress = progress

    def fit(
        self,
        train_df: pd.DataFrame,
        column: str,
        spec: TextColumnSpec | Mapping[str, Any] | None = None,
        schema: Schema | None = None,
        seed: int = 0,
    ) -> TextSynthesizer:
        spec = TextColumnSpec.model_validate(spec or {})
        if column not in train_df.columns:
            raise UsageError(f"text column {column!r} is not in the table")
        fields = spec.condition_on
        if fields is None:
            fields = conditioning_columns(train_df, column, schema)
        _require(train_df, fields, "training table")
        present = train_df[column].notna().to_numpy()
        texts = train_df.loc[present, column].astype(str).tolist()
        prompts = _prompts(train_df.loc[present], fields)
        params = dict(spec.params)
        if self.progress and spec.backend in ("local", "hf"):
            params["progress"] = True
        backend = make_backend(spec.backend, params)
        backend.fit(texts, prompts, seed=seed)
        g = spec.guard
        self.guard_ = LeakGuard(
            texts,
            max_shared_chars=g.max_shared_chars,
            ngram=g.ngram,
            ngram_share=g.ngram_share,
            pii_values=_pii_values(train_df, schema),
        )
        self.column_, self.spec_, self.fields_, self.backend_ = column, spec, fields, backend
        self.null_fraction_ = float(1 - present.mean()) if len(present) else 0.0
        return self

    def generate(self, synth_df: pd.DataFrame, seed: int) -> tuple[pd.Series, dict[str, Any]]:
        """One text per row (NaN at the source's null rate), every text checked by the guard."""
        self._check_fitted()
        _require(synth_df, self.fields_, "synthetic table")
        rng = np.random.default_rng(seed)
        present = np.flatnonzero(rng.random(len(synth_df)) >= self.null_fraction_)
        seeds = [int(s) for s in rng.integers(2**31, size=self.spec_.guard.max_tries)]
        prompts = _prompts(synth_df.iloc[present], self.fields_)
        texts: list[str | None] = _printable(self.backend_.generate(prompts, seed=seeds[0]))
        stats = self._guard(prompts, texts, seeds)
        out = pd.Series(np.nan, index=synth_df.index, dtype=object, name=self.column_)
        out.iloc[present] = [np.nan if t is None or not t.strip() else t for t in texts]
        # every empty cell counted (the source's null rate, and texts dropped or left empty)
        stats["missing"] = int(out.isna().sum())
        stats["missing_at_source_rate"] = int(len(synth_df) - len(present))
        return out, stats

    def _guard(
        self, prompts: list[str], texts: list[str | None], seeds: list[int]
    ) -> dict[str, Any]:
        """Check, regenerate rejected rows with the next seed, give up after ``max_tries``."""
        g = self.spec_.guard
        by_reason: Counter[str] = Counter()
        pending, flagged, exhausted = list(range(len(texts))), 0, 0
        for attempt in range(g.max_tries):
            reasons = self.guard_.check([texts[i] or "" for i in pending])
            bad = [i for i, r in zip(pending, reasons, strict=True) if r]
            by_reason.update(reason_kind(r) for r in reasons if r)
            if not bad:
                break
            if g.on_leak == "flag":
                flagged = len(bad)
                break
            if g.on_leak == "drop" or attempt == g.max_tries - 1:
                for i in bad:
                    texts[i] = None
                exhausted = len(bad)
                break
            pending = bad
            new = _printable(
                self.backend_.generate(
                    [prompts[i] for i in pending], seed=seeds[attempt + 1], attempt=attempt + 1
                )
            )
            for i, t in zip(pending, new, strict=True):
                texts[i] = t
        return {
            "generated": len(texts),
            "rejected": sum(by_reason.values()),
            "rejected_by_reason": dict(by_reason),
            "exhausted": exhausted,
            "flagged": flagged,
        }

    # ---- report and persistence ---------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "column": self.column_,
            "backend": self.spec_.backend,
            "condition_on": self.fields_,
            "null_fraction": round(self.null_fraction_, 4),
            "guard": self.spec_.guard.model_dump(),
            "model": self.backend_.describe(),
        }

    def save(self, folder: Path) -> Path:
        """Write under ``folder/text/<column>/``; returns that folder."""
        self._check_fitted()
        where = column_folder(folder, self.column_)
        where.mkdir(parents=True, exist_ok=True)
        guard_config, arrays = self.guard_.to_state()
        spec = self.spec_.model_dump()
        # where a remote backend connects is the loading user's choice, not the folder's
        spec["params"] = {k: v for k, v in spec["params"].items() if k not in REMOTE_FIELDS}
        meta = {
            "format_version": FORMAT_VERSION,
            "column": self.column_,
            "condition_on": self.fields_,
            "null_fraction": self.null_fraction_,
            "spec": spec,
            "guard": guard_config,
        }
        (where / "spec.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        save_arrays(arrays, where / "guard.safetensors")
        self.backend_.save(where / "model")
        return where

    @classmethod
    def load(cls, folder: Path, column: str, remote: RemoteAccess | None = None) -> TextSynthesizer:
        """The text model saved for ``column``. A remote backend connects only to ``remote``
        (the caller's choice); the folder's own settings never name a server or a key."""
        where = column_folder(folder, column)
        try:
            meta = json.loads((where / "spec.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"no text model for column {column!r} under {folder}") from None
        except (ValueError, RecursionError) as err:
            raise UsageError(f"{where / 'spec.json'}: not valid JSON: {err}") from None
        try:
            saved = _SavedText.model_validate(meta)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise UsageError(
                f"{where / 'spec.json'} is damaged or not a synthgen text model: {problems}"
            ) from None
        if saved.column != column:
            raise UsageError(
                f"{where / 'spec.json'} describes column {saved.column!r}, not {column!r}"
            )
        self = cls()
        self.column_, self.fields_ = saved.column, saved.condition_on
        self.null_fraction_ = saved.null_fraction
        spec = dict(saved.spec)
        spec["params"] = {}  # the backend's own config.json holds what it needs
        self.spec_ = TextColumnSpec.model_validate(spec)
        self.guard_ = LeakGuard.from_state(saved.guard, load_arrays(where / "guard.safetensors"))
        self.backend_ = load_backend(where / "model", remote)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "backend_"):
            raise NotFittedError("TextSynthesizer must be fitted (or loaded) first")


class _SavedText(BaseModel):
    """spec.json of a saved text column, checked before anything in it is used."""

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1]
    column: str = Field(min_length=1, max_length=1000)
    condition_on: list[str] = Field(max_length=10_000)
    null_fraction: float = Field(ge=0.0, le=1.0)
    spec: dict[str, Any]
    guard: dict[str, Any]


def load_text_models(
    folder: Path, schema: Schema, remote: RemoteAccess | None = None
) -> dict[str, TextSynthesizer]:
    """Every text model saved under ``folder/text/``, by column. Each must belong to a column
    the model's schema marks as free text, its fields to columns the schema has: a text model
    dropped into a folder cannot overwrite a modelled column."""
    base = Path(folder) / "text"
    if not base.is_dir():
        return {}
    expected = {column_folder(folder, c.name).name: c.name for c in schema.of_kind("text")}
    out: dict[str, TextSynthesizer] = {}
    for sub in sorted(base.iterdir()):
        if sub.name not in expected:
            raise UsageError(
                f"{sub} is a text model for a column the model's schema does not mark as free "
                "text; the model folder was changed after it was saved",
                hint="remove that folder, or use the model folder as synthgen wrote it",
            )
        loaded = TextSynthesizer.load(folder, expected[sub.name], remote)
        unknown = [f for f in loaded.fields_ if f not in schema]
        if unknown:
            raise UsageError(
                f"{sub / 'spec.json'} conditions on column(s) the model does not have: "
                f"{', '.join(unknown)}"
            )
        out[loaded.column_] = loaded
    return out


def column_folder(folder: Path, column: str) -> Path:
    """``folder/text/<column>``, the column name made safe as a file name."""
    return Path(folder) / "text" / (re.sub(r"[^\w.-]", "_", column).strip(".") or "_")


def _prompts(df: pd.DataFrame, fields: list[str]) -> list[str]:
    return [serialise_prompt(r, fields) for r in df[fields].to_dict("records")]


def _require(df: pd.DataFrame, fields: list[str], what: str) -> None:
    missing = [f for f in fields if f not in df.columns]
    if missing:
        raise UsageError(f"conditioning field(s) {missing} are not in the {what}")


def _pii_values(df: pd.DataFrame, schema: Schema | None) -> list[str]:
    """Distinct values of the columns the schema marks as PII."""
    if schema is None:
        return []
    cols = [c.name for c in schema.columns if c.kind == "pii" and c.name in df.columns]
    return sorted({str(v) for c in cols for v in df[c].dropna().unique()})


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # C0 controls and DEL, except tab and newline


def _printable(texts: Iterable[str | None]) -> list[str | None]:
    """Generated texts without control characters (a byte-level model can emit them; no
    reader of a CSV or a database wants a stray carriage return or NUL in a note)."""
    return [t if t is None else _CONTROL.sub("", t) for t in texts]
