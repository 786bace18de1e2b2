"""One-hot coding of a label column with a cap on width.

The ``max_width - 1`` most frequent labels (missing is a label of its own) get a slot each;
the rest share an ``(other)`` slot, decoded by drawing one of them by its frequency. A
10,000-level column therefore costs ``max_width`` floats per row, not 10,000.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

OTHER = "\x00other"
_NA = "\x00na"


def _key(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return _NA
    return v.item() if isinstance(v, np.generic) else v


class DiscreteEncoder:
    def __init__(self, max_width: int = 100) -> None:
        self.max_width = max(2, max_width)

    def fit(self, s: pd.Series) -> DiscreteEncoder:
        counts = pd.Series([_key(v) for v in s.to_numpy()], dtype=object).value_counts(sort=False)
        order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        if len(order) > self.max_width:
            head, tail = order[: self.max_width - 1], order[self.max_width - 1 :]
            self.labels_ = [k for k, _ in head] + [OTHER]
            total = float(sum(c for _, c in tail))
            self.rare_ = [k for k, _ in tail]
            self.rare_probs_ = np.array([c / total for _, c in tail])
            freq = [c for _, c in head] + [total]
        else:
            self.labels_ = [k for k, _ in order]
            self.rare_, self.rare_probs_ = [], np.zeros(0)
            freq = [c for _, c in order]
        self.freq_ = np.asarray(freq, dtype=np.float64) / float(sum(freq))
        self._index = {k: i for i, k in enumerate(self.labels_)}
        return self

    def fit_counts(self, labels: list[Any], counts: np.ndarray) -> DiscreteEncoder:
        """From (noisy, DP) counts: the ``max_width`` commonest labels, no shared slot (a
        label outside them encodes as all zeros and is never generated)."""
        order = sorted(zip(labels, counts, strict=True), key=lambda kv: (-kv[1], str(kv[0])))
        order = order[: self.max_width]
        self.labels_ = [_key(k) for k, _ in order]
        self.rare_, self.rare_probs_ = [], np.zeros(0)
        freq = np.asarray([c for _, c in order], dtype=np.float64)
        self.freq_ = freq / freq.sum()
        self._index = {k: i for i, k in enumerate(self.labels_)}
        return self

    @property
    def width(self) -> int:
        return len(self.labels_)

    def codes(self, s: pd.Series) -> np.ndarray:
        other = self._index.get(OTHER, -1)
        return np.array([self._index.get(_key(v), other) for v in s.to_numpy()], dtype=np.int64)

    def transform(self, s: pd.Series) -> np.ndarray:
        codes = self.codes(s)
        out = np.zeros((len(s), self.width), dtype=np.float32)
        ok = codes >= 0
        out[np.nonzero(ok)[0], codes[ok]] = 1.0
        return out

    def decode_codes(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        labels = np.empty(self.width, dtype=object)
        labels[:] = [None if k == _NA else k for k in self.labels_]
        out = labels[codes]
        if self.rare_:
            hit = np.nonzero(np.asarray([k == OTHER for k in self.labels_])[codes])[0]
            rare = np.empty(len(self.rare_), dtype=object)
            rare[:] = [None if k == _NA else k for k in self.rare_]
            out[hit] = rare[rng.choice(len(rare), size=len(hit), p=self.rare_probs_)]
        return out

    def decode_categorical(self, codes: np.ndarray, rng: np.random.Generator) -> Any:
        """As ``decode_codes`` (same draws), but a ``pd.Categorical`` (missing = NA): no
        per-row Python objects until the caller asks for them. Falls back to the object
        array when the labels cannot be categories (e.g. ``True`` and ``1`` both present)."""
        real = [k for k in self.labels_ if k not in (_NA, OTHER)]
        rare = [k for k in self.rare_ if k != _NA]
        cats = pd.Index(real + rare, dtype=object)
        if not cats.is_unique:
            return self.decode_codes(codes, rng)
        where = {k: i for i, k in enumerate(real)}
        to_cat = np.array([where.get(k, -1) for k in self.labels_], dtype=np.int64)
        out = to_cat[codes]
        if self.rare_:
            hit = np.nonzero(codes == self.labels_.index(OTHER))[0]
            rare_cat = np.array([-1 if k == _NA else len(real) + rare.index(k) for k in self.rare_])
            out[hit] = rare_cat[rng.choice(len(self.rare_), size=len(hit), p=self.rare_probs_)]
        return pd.Categorical.from_codes(out, dtype=pd.CategoricalDtype(cats), validate=False)

    def inverse(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.decode_codes(block.argmax(1), rng)

    def code_of(self, value: Any) -> int | None:
        return self._index.get(_key(value))

    def to_json(self) -> dict[str, Any]:
        enc = lambda ks: [None if k == _NA else k for k in ks]  # noqa: E731
        return {
            "max_width": self.max_width,
            "labels": enc(self.labels_),
            "na_label": _NA in self.labels_,
            "rare": enc(self.rare_),
            "rare_probs": self.rare_probs_.tolist(),
            "freq": self.freq_.tolist(),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> DiscreteEncoder:
        enc = cls(int(state["max_width"]))
        enc.labels_ = [_NA if k is None else k for k in state["labels"]]
        enc.rare_ = [_NA if k is None else k for k in state["rare"]]
        enc.rare_probs_ = np.asarray(state["rare_probs"], dtype=float)
        enc.freq_ = np.asarray(state["freq"], dtype=float)
        enc._index = {k: i for i, k in enumerate(enc.labels_)}
        return enc
