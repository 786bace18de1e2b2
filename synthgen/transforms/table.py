"""TableEncoder: a model frame <-> one float32 matrix, with spans that say what each slice is.

Numbers (numeric, integer, datetime-as-seconds) get mode-specific normalisation
(``alpha`` + ``modes`` spans) and, when they have missing values, a two-slot ``missing`` span;
labels (categorical, boolean) get a capped one-hot ``labels`` span. The state is plain JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from synthgen.schema.spec import Schema

if TYPE_CHECKING:
    from synthgen.privacy.marginals import TableSummary
from synthgen.transforms.continuous import ContinuousEncoder
from synthgen.transforms.discrete import DiscreteEncoder

NUMERIC_KINDS = ("numeric", "integer", "datetime")


@dataclass(frozen=True)
class Span:
    column: str
    kind: str  # alpha | modes | missing | labels
    start: int
    width: int

    @property
    def stop(self) -> int:
        return self.start + self.width


class TableEncoder:
    def __init__(
        self, max_modes: int = 10, max_categories: int = 100, subsample: int = 10_000
    ) -> None:
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.subsample = subsample

    def fit(self, frame: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> TableEncoder:
        self.columns_: list[dict[str, Any]] = []
        self.numeric_: dict[str, ContinuousEncoder] = {}
        self.discrete_: dict[str, DiscreteEncoder] = {}
        for name in frame.columns:
            kind = schema[name].kind
            if kind in NUMERIC_KINDS:
                x = frame[name].to_numpy(np.float64)
                enc = ContinuousEncoder(
                    self.max_modes, subsample=self.subsample, integer=kind == "integer"
                ).fit(x, rng)
                self.numeric_[name] = enc
                self.columns_.append(
                    {"name": name, "type": "numeric", "missing": bool(np.isnan(x).any())}
                )
            else:
                self.discrete_[name] = DiscreteEncoder(self.max_categories).fit(frame[name])
                self.columns_.append({"name": name, "type": "labels", "missing": False})
        self._build_spans()
        return self

    def fit_dp(
        self, summary: TableSummary, pseudo: pd.DataFrame, rng: np.random.Generator
    ) -> TableEncoder:
        """Fit from a DP summary only: mixtures on draws from the DP histograms, ranges from
        the DP bounds, labels from the DP counts. Post-processing: spends nothing more."""
        self.columns_, self.numeric_, self.discrete_ = [], {}, {}
        for name in pseudo.columns:
            if name in summary.numeric:
                s = summary.numeric[name]
                x = pseudo[name].to_numpy(np.float64)
                enc = ContinuousEncoder(
                    self.max_modes, subsample=self.subsample, integer=s.integer
                ).fit(x, rng)
                half = 0.5 if s.integer else 0.0
                enc.min_, enc.max_ = s.lo + half, s.hi - half
                self.numeric_[name] = enc
                missing = s.missing_rate > 0.0
                self.columns_.append({"name": name, "type": "numeric", "missing": missing})
            else:
                lab = summary.labels[name]
                self.discrete_[name] = DiscreteEncoder(self.max_categories).fit_counts(
                    lab.labels, lab.counts
                )
                self.columns_.append({"name": name, "type": "labels", "missing": False})
        self._build_spans()
        return self

    def _build_spans(self) -> None:
        spans, at = [], 0
        for col in self.columns_:
            name = col["name"]
            if col["type"] == "numeric":
                widths = [("alpha", 1), ("modes", self.numeric_[name].width - 1)]
                widths += [("missing", 2)] if col["missing"] else []
            else:
                widths = [("labels", self.discrete_[name].width)]
            for kind, w in widths:
                spans.append(Span(name, kind, at, w))
                at += w
        self.spans_ = spans
        self.width_ = at

    @property
    def discrete_spans(self) -> list[Span]:
        return [s for s in self.spans_ if s.kind == "labels"]

    def transform(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((len(frame), self.width_), dtype=np.float32)
        for span in self.spans_:
            if span.kind == "alpha":
                x = frame[span.column].to_numpy(np.float64)
                out[:, span.start : span.start + self.numeric_[span.column].width] = self.numeric_[
                    span.column
                ].transform(x, rng)
            elif span.kind == "missing":
                miss = np.isnan(frame[span.column].to_numpy(np.float64))
                out[:, span.start] = ~miss
                out[:, span.start + 1] = miss
            elif span.kind == "labels":
                out[:, span.start : span.stop] = self.discrete_[span.column].transform(
                    frame[span.column]
                )
        return out

    def inverse(self, matrix: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Decode encoded rows: each span's slot by argmax, then as ``inverse_codes``."""
        alpha = [s.start for s in self.spans_ if s.kind == "alpha"]
        soft = [s for s in self.spans_ if s.kind != "alpha"]
        codes = np.empty((len(soft), len(matrix)), dtype=np.int64)
        for j, span in enumerate(soft):
            codes[j] = matrix[:, span.start : span.stop].argmax(1)
        return self.inverse_codes(matrix[:, alpha].T, codes, rng)

    def inverse_codes(
        self,
        alpha: np.ndarray,
        codes: np.ndarray,
        rng: np.random.Generator,
        categorical: bool = False,
    ) -> pd.DataFrame:
        """Decode rows given as their ``alpha`` values ([alpha spans, rows]) and the slot of
        every other span ([spans, rows], in span order): no one-hot matrix, no argmax.
        With ``categorical`` label columns come as ``pd.Categorical`` (missing = NA)."""
        cols: dict[str, Any] = {}
        a = j = 0
        for span in self.spans_:
            if span.kind == "alpha":
                cols[span.column], a = alpha[a], a + 1
                continue
            code, j = codes[j], j + 1
            if span.kind == "modes":
                cols[span.column] = self.numeric_[span.column].decode(cols[span.column], code)
            elif span.kind == "missing":
                cols[span.column] = np.where(code == 1, np.nan, cols[span.column])
            elif span.kind == "labels":
                enc = self.discrete_[span.column]
                decode = enc.decode_categorical if categorical else enc.decode_codes
                cols[span.column] = decode(code, rng)
                if isinstance(cols[span.column], np.ndarray):  # labels stay objects (pandas 3
                    cols[span.column] = pd.Series(cols[span.column], dtype=object)  # infers str)
        return pd.DataFrame({c["name"]: cols[c["name"]] for c in self.columns_}, copy=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_modes": self.max_modes,
            "max_categories": self.max_categories,
            "subsample": self.subsample,
            "columns": self.columns_,
            "numeric": {k: v.to_json() for k, v in self.numeric_.items()},
            "discrete": {k: v.to_json() for k, v in self.discrete_.items()},
            "spans": [asdict(s) for s in self.spans_],
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> TableEncoder:
        enc = cls(state["max_modes"], state["max_categories"], state["subsample"])
        enc.columns_ = list(state["columns"])
        enc.numeric_ = {k: ContinuousEncoder.from_json(v) for k, v in state["numeric"].items()}
        enc.discrete_ = {k: DiscreteEncoder.from_json(v) for k, v in state["discrete"].items()}
        enc._build_spans()
        return enc


# ---- the JSON state, as a saved model is checked against it ----------------------------------
class _Saved(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


_Label = StrictStr | StrictBool | StrictInt | float | None
_NonNeg = Annotated[float, Field(ge=0.0)]


class ContinuousState(_Saved):
    min: float
    max: float
    integer: StrictBool
    means: list[float] = Field(min_length=1, max_length=1000)
    stds: list[Annotated[float, Field(gt=0.0, lt=1e307)]] = Field(min_length=1, max_length=1000)
    weights: list[_NonNeg] = Field(min_length=1, max_length=1000)


class DiscreteState(_Saved):
    max_width: StrictInt = Field(ge=2, le=1_000_000)
    labels: list[_Label] = Field(min_length=1)
    na_label: StrictBool
    rare: list[_Label]
    rare_probs: list[_NonNeg]
    freq: list[_NonNeg]


class _ColumnState(_Saved):
    name: StrictStr
    type: Literal["numeric", "labels"]
    missing: StrictBool


class _SpanState(_Saved):
    column: StrictStr
    kind: Literal["alpha", "modes", "missing", "labels"]
    start: StrictInt = Field(ge=0)
    width: StrictInt = Field(ge=1)


class TableEncoderState(_Saved):
    max_modes: StrictInt = Field(ge=1, le=1000)
    max_categories: StrictInt = Field(ge=2, le=1_000_000)
    subsample: StrictInt = Field(ge=1)
    columns: list[_ColumnState]
    numeric: dict[str, ContinuousState]
    discrete: dict[str, DiscreteState]
    spans: list[_SpanState]


def state_problems(state: TableEncoderState, schema: Schema, modelled: list[str]) -> list[str]:
    """What makes a (pydantic-valid) encoder state unusable for these modelled columns."""
    from synthgen.transforms.discrete import OTHER

    names = [c.name for c in state.columns]  # any order: a DP fit orders them its own way
    if len(set(names)) != len(names) or set(names) != set(modelled):
        return ["columns: not the modelled columns of config.json, each once"]
    problems = []
    for i, c in enumerate(state.columns):
        want = "numeric" if schema[c.name].kind in NUMERIC_KINDS else "labels"
        if c.type != want:
            problems.append(f"columns.{i}.type: {c.type} for a {schema[c.name].kind} column")
    numeric = {c.name for c in state.columns if c.type == "numeric"}
    if (
        set(state.numeric) != numeric
        or set(state.discrete) != {c.name for c in state.columns} - numeric
    ):
        return [*problems, "numeric / discrete: not one encoder per column of its type"]
    for name, n in state.numeric.items():
        if not len(n.means) == len(n.stds) == len(n.weights) or n.min > n.max or not sum(n.weights):
            problems.append(f"numeric.{name}: mixture lists of unequal length, or min > max")
    for name, d in state.discrete.items():
        other = OTHER in d.labels
        if (
            len(d.freq) != len(d.labels)
            or len(d.rare_probs) != len(d.rare)
            or other != bool(d.rare)
        ):
            problems.append(f"discrete.{name}: labels, frequencies and rare labels disagree")
        elif d.rare and abs(sum(d.rare_probs) - 1.0) > 1e-6:
            problems.append(f"discrete.{name}.rare_probs: do not sum to 1")
    if problems:
        return problems
    rebuilt = [asdict(s) for s in TableEncoder.from_json(state.model_dump()).spans_]
    if rebuilt != [s.model_dump() for s in state.spans]:
        problems.append("spans: do not follow from the columns' encoders")
    return problems
