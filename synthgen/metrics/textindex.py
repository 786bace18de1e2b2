"""Fast overlap between two corpora: rolling hashes of every window, computed with numpy.

A corpus (characters, or word ids) is indexed once: prefix sums give the hash of any window
of any length in one vector operation, so "does text q share a window of length L with the
training corpus?" is answered for every q at once. The longest shared substring is found by
settling its bits from the top, probing all texts that need the same length together.
Hashes are polynomial modulo 2^64 with a fixed odd base: collisions on natural text are
negligible (about n^2 / 2^64).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_BASE = np.uint64(0x9E3779B97F4A7C15 | 1)
_BASE_INV = np.uint64(pow(int(_BASE), -1, 2**64))
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """Lower case, one space between words: how texts are compared."""
    return " ".join(text.lower().split())


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=np.uint64)


class Windows:
    """Every window of every document of one corpus, hashable by length."""

    def __init__(self, docs: Sequence[np.ndarray]) -> None:
        self.lengths = np.array([len(d) for d in docs], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)])[:-1]
        codes = np.concatenate([*docs, np.zeros(0, np.uint64)]).astype(np.uint64) + np.uint64(1)
        n = len(codes)
        with np.errstate(over="ignore"):
            weighted = codes * _powers(_BASE_INV, n)
            self._prefix = np.concatenate([[np.uint64(0)], np.cumsum(weighted, dtype=np.uint64)])
        self._pow = _powers(_BASE, n)
        self._cache: dict[int, np.ndarray] = {}

    @classmethod
    def of_chars(cls, texts: Sequence[str]) -> Windows:
        return cls([np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32) for t in texts])

    @property
    def n_docs(self) -> int:
        return len(self.lengths)

    def hashes(self, length: int, docs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of the windows of ``length`` inside one document (of ``docs`` if given, a
        boolean mask), and the document each comes from."""
        picked = np.arange(self.n_docs) if docs is None else np.flatnonzero(docs)
        counts = np.maximum(self.lengths[picked] - length + 1, 0)
        first = np.cumsum(counts) - counts
        doc = np.repeat(picked, counts)
        pos = np.repeat(self.starts[picked] - first, counts) + np.arange(counts.sum())
        with np.errstate(over="ignore"):
            h = (self._prefix[pos + length] - self._prefix[pos]) * self._pow[pos]
        return h, doc

    def sorted_hashes(self, length: int) -> np.ndarray:
        """The window hashes of ``length``, sorted; cached (the index side). A plain sort:
        repeats do no harm to a search, and it is far faster than ``np.unique``."""
        if length not in self._cache:
            self._cache[length] = np.sort(self.hashes(length)[0])
        return self._cache[length]

    def shares(self, other: Windows, length: int, docs: np.ndarray | None = None) -> np.ndarray:
        """Per document of self: does it hold a window of ``length`` that ``other`` holds?"""
        h, doc = self.hashes(length, docs)
        ref = other.sorted_hashes(length)
        out = np.zeros(self.n_docs, dtype=bool)
        if len(ref) and len(h):
            at = np.minimum(np.searchsorted(ref, h), len(ref) - 1)
            out[doc[ref[at] == h]] = True
        return out


def longest_shared(
    query: Windows, index: Windows, known: np.ndarray | None = None, exact_below: int = 32
) -> np.ndarray:
    """Per query document, the length of its longest substring found in the index corpus.

    Exact below ``exact_below``; above, the bits under the top four are not settled, so the
    value is a lower bound within 1/8 of the truth (which keeps the number of window lengths
    to hash small). ``known`` gives values already known (e.g. exact copies), or -1.
    """
    value = np.zeros(query.n_docs, dtype=np.int64)
    done = np.zeros(query.n_docs, dtype=bool)
    if known is not None:
        done = known >= 0
        value[done] = known[done]
    cap = int(min(query.lengths.max(initial=0), index.lengths.max(initial=0)))
    for bit in reversed(range(cap.bit_length())):
        cand = value | (1 << bit)
        coarse = (value >= exact_below) & (bit < _bit_length(value) - 4)
        active = ~done & ~coarse & (cand <= query.lengths) & (cand <= cap)
        for length in np.unique(cand[active]):
            probe = active & (cand == length)
            value[probe & query.shares(index, int(length), probe)] = length
    return value


def _bit_length(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0, np.floor(np.log2(np.maximum(v, 1))).astype(np.int64) + 1, 0)


def word_ids(texts: Sequence[str], vocab: dict[str, int]) -> list[np.ndarray]:
    """Each text as word ids from a vocabulary shared by the corpora compared (grown here)."""
    return [
        np.array([vocab.setdefault(w, len(vocab)) for w in _WORD.findall(t)], dtype=np.uint64)
        for t in texts
    ]


def best_jaccard(query: Windows, index: Windows, n: int) -> np.ndarray:
    """Per query document, the highest Jaccard similarity of its set of ``n``-grams (windows of
    n words) with the set of any one index document (0 when it has fewer than n words)."""
    qh, qd = _distinct_pairs(*query.hashes(n))
    th, td = _distinct_pairs(*index.hashes(n))
    order = np.argsort(th, kind="stable")
    th, td = th[order], td[order]
    lo, hi = np.searchsorted(th, qh, "left"), np.searchsorted(th, qh, "right")
    counts = hi - lo
    out = np.zeros(query.n_docs)
    if counts.sum() == 0:
        return out
    q_rep = np.repeat(qd, counts)
    t_rep = td[np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())]
    pair, shared = _counts(np.sort(q_rep * index.n_docs + t_rep))
    q_of, t_of = pair // index.n_docs, pair % index.n_docs
    size_q = np.bincount(qd, minlength=query.n_docs)
    size_t = np.bincount(td, minlength=index.n_docs)
    jaccard = shared / (size_q[q_of] + size_t[t_of] - shared)
    np.maximum.at(out, q_of, jaccard)
    return out


def _distinct_pairs(h: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hash, document) pairs without repeats: a set of n-grams per document."""
    order = np.lexsort((h, doc))
    h, doc = h[order], doc[order]
    new = np.ones(len(h), dtype=bool)
    new[1:] = (h[1:] != h[:-1]) | (doc[1:] != doc[:-1])
    return h[new], doc[new]


def _counts(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs."""
    if len(sorted_keys) == 0:
        return sorted_keys, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[starts], np.diff(np.r_[starts, len(sorted_keys)])
