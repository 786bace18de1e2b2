"""LeakGuard: reject generated texts that copy training texts or carry personal data.

A text is rejected (first reason wins) when, after lower-casing and collapsing whitespace, it
- equals a training text ("exact copy");
- contains an e-mail address, phone number, US SSN, card number passing Luhn or IP address;
- contains a value of one of the source's PII columns as whole words (a single alphabetic word,
  such as a given name, only when capitalised, so "will" does not match a "Will");
- shares a run of ``max_shared_chars`` characters or more with one training text;
- repeats ``ngram_share`` or more of its word ``ngram``-grams from the training texts.

Training texts are indexed once as stable 64-bit hashes (character k-grams, word n-grams, whole
texts), so checking thousands of outputs takes well under a second, and the saved guard holds
hashes only - never the texts or PII values themselves.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

from synthgen.pii.scan import find_pii

_BASE = 0x100000001B3  # the FNV-64 prime: odd, so invertible modulo 2**64
_INV_BASE = pow(_BASE, -1, 2**64)
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """Lower-case, whitespace runs to one space, trimmed."""
    return " ".join(text.lower().split())


def stable_hash(s: str) -> int:
    """64-bit hash that is the same in every process (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


def _powers(base: int, n: int) -> np.ndarray:
    """``base**0 .. base**(n-1)`` modulo 2**64."""
    out = np.full(max(n, 1), base, dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=np.uint64)


def kgram_hashes(normalised: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every ``k``-character window of each text, and the text each belongs to.

    One vectorised pass over the concatenated texts: with prefix sums ``S`` of
    ``c[t] * B**-t`` (B is odd, so invertible modulo 2**64), a window's polynomial hash is
    ``B**(i+k-1) * (S[i+k] - S[i])``; windows that straddle two texts are dropped."""
    lengths = np.array([len(t) for t in normalised], dtype=np.int64)
    codes = np.frombuffer("".join(normalised).encode("utf-32-le"), dtype=np.uint32)
    n = len(codes)
    if n < k:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    with np.errstate(over="ignore"):
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(codes.astype(np.uint64) * _powers(_INV_BASE, n), dtype=np.uint64, out=prefix[1:])
        starts = np.arange(n - k + 1)
        hashes = _powers(_BASE, n)[starts + k - 1] * (prefix[starts + k] - prefix[starts])
    owner = np.repeat(np.arange(len(lengths)), lengths)
    keep = owner[starts] == owner[starts + k - 1]
    return hashes[keep], owner[starts[keep]]


class SharedIndex:
    """Every ``k``-character window of the training texts, hashed, sorted, deduplicated."""

    def __init__(self, hashes: np.ndarray, k: int) -> None:
        self.hashes, self.k = hashes, k

    @classmethod
    def build(cls, texts: Iterable[str], k: int) -> SharedIndex:
        hashes = np.sort(kgram_hashes([normalise(t) for t in texts], k)[0])
        return cls(_dedupe_sorted(hashes), k)

    def longest(self, texts: Sequence[str]) -> list[int]:
        """For each text, the characters in its longest run found in the training texts.

        0 means no shared run of ``k`` characters; above that, the run is measured by
        consecutive shared windows (exact unless two training texts abut inside it)."""
        hashes, owner = kgram_hashes([normalise(t) for t in texts], self.k)
        if not len(self.hashes) or not len(hashes):
            return [0] * len(texts)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        hit = self.hashes[at] == hashes
        out = [0] * len(texts)
        bounds = np.searchsorted(owner, np.arange(len(texts) + 1))
        for i in np.unique(owner[hit]):
            h = hit[bounds[i] : bounds[i + 1]]
            edges = np.flatnonzero(np.diff(np.concatenate([[0], h.astype(np.int8), [0]])))
            out[i] = int((edges[1::2] - edges[::2]).max()) + self.k - 1
        return out


def _dedupe_sorted(a: np.ndarray) -> np.ndarray:
    """``np.unique`` for an already sorted array (numpy's own is slow on uint64)."""
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def longest_shared(text: str, index: SharedIndex) -> int:
    """Characters in the longest run of ``text`` (normalised) shared with a training text;
    0 when shorter than ``index.k``. See :meth:`SharedIndex.longest` for many texts."""
    return index.longest([text])[0]


def word_ngrams(normalised: str, n: int) -> list[int]:
    words = _WORD.findall(normalised)
    return [stable_hash(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)]


_PII_WORDS = {
    "email": "an e-mail address",
    "ssn": "a social security number",
    "credit_card": "a card number",
    "ip": "an IP address",
    "phone": "a phone number",
    "date_of_birth": "a date of birth",
}


def pii_pattern(text: str) -> str | None:
    """The kind of personal data ``text`` contains by pattern and checksum, if any (the same
    finder the pipeline uses on source values: synthgen.pii.scan)."""
    hits = find_pii(text)
    return _PII_WORDS.get(hits[0].kind, "personal data") if hits else None


def reason_kind(reason: str) -> str:
    """A reason without its numbers, for counting: "shares N chars with a training text"."""
    return re.sub(r"\d+", "N", reason)


class LeakGuard:
    """Index training texts (and PII values) once; ``check`` many generated texts fast."""

    def __init__(
        self,
        train_texts: Iterable[str],
        *,
        max_shared_chars: int = 50,
        ngram: int = 8,
        ngram_share: float = 0.5,
        pii_values: Iterable[str] = (),
    ) -> None:
        if max_shared_chars < 8 or ngram < 2 or not 0 < ngram_share <= 1:
            raise ValueError("need max_shared_chars >= 8, ngram >= 2 and 0 < ngram_share <= 1")
        texts = [normalise(str(t)) for t in train_texts]
        self.max_shared_chars, self.ngram, self.ngram_share = max_shared_chars, ngram, ngram_share
        self.shared = SharedIndex.build(texts, max_shared_chars)
        self.exact = {stable_hash(t) for t in texts if t}
        self.ngrams = {h for t in texts for h in word_ngrams(t, ngram)}
        self.pii_cap, self.pii_any, self.pii_first, self.pii_width = _pii_index(pii_values)

    def check(self, texts: Sequence[str]) -> list[str | None]:
        """None for a text that may be released, else a short reason it may not."""
        shared = self.shared.longest(texts)
        return [self._reason(t, s) for t, s in zip(texts, shared, strict=True)]

    def _reason(self, text: str, shared: int) -> str | None:
        norm = normalise(text)
        if norm and stable_hash(norm) in self.exact:
            return "exact copy"
        if kind := pii_pattern(text):
            return f"contains {kind}"
        if self._has_pii_value(text):
            return "contains a value of a PII column"
        if shared >= self.max_shared_chars:
            return f"shares {shared} chars with a training text"
        grams = word_ngrams(norm, self.ngram)
        if grams:
            share = sum(g in self.ngrams for g in grams) / len(grams)
            if share >= self.ngram_share:
                return f"repeats {round(100 * share)}% of its {self.ngram}-word runs from training"
        return None

    def _has_pii_value(self, text: str) -> bool:
        if not self.pii_width:
            return False
        words = _WORD.findall(text)
        lower = [w.lower() for w in words]
        for i, w in enumerate(lower):
            if zlib.crc32(w.encode("utf-8")) not in self.pii_first:  # cheap pre-filter
                continue
            for n in range(1, min(self.pii_width, len(words) - i) + 1):
                key = stable_hash(" ".join(lower[i : i + n]))
                if key in self.pii_any or (key in self.pii_cap and words[i][0].isupper()):
                    return True
        return False

    # ---- persistence: hashes only -------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, float | int], dict[str, np.ndarray]]:
        config = {
            "max_shared_chars": self.max_shared_chars,
            "ngram": self.ngram,
            "ngram_share": self.ngram_share,
            "pii_width": self.pii_width,
        }
        arrays = {
            "kgrams": self.shared.hashes,
            "exact": _array(self.exact),
            "ngrams": _array(self.ngrams),
            "pii_cap": _array(self.pii_cap),
            "pii_any": _array(self.pii_any),
            "pii_first": _array(self.pii_first),
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, float | int], arrays: dict[str, np.ndarray]) -> LeakGuard:
        self = cls.__new__(cls)
        self.max_shared_chars, self.ngram = int(config["max_shared_chars"]), int(config["ngram"])
        self.ngram_share, self.pii_width = float(config["ngram_share"]), int(config["pii_width"])
        self.shared = SharedIndex(arrays["kgrams"], self.max_shared_chars)
        self.exact, self.ngrams = _set(arrays["exact"]), _set(arrays["ngrams"])
        self.pii_cap, self.pii_any = _set(arrays["pii_cap"]), _set(arrays["pii_any"])
        self.pii_first = _set(arrays["pii_first"])
        return self


def _pii_index(values: Iterable[str]) -> tuple[set[int], set[int], set[int], int]:
    """Hashes of PII values as lower-case word runs: single alphabetic words (matched only
    when capitalised in a text) apart from the rest; values too short to be telling skipped.
    Also CRC-32s of each value's first word, a quick filter before hashing word runs."""
    cap: set[int] = set()
    rest: set[int] = set()
    first: set[int] = set()
    width = 0
    for v in values:
        words = _WORD.findall(str(v).lower())
        if not words or len(words) > 6 or len("".join(words)) < 3:
            continue
        key = stable_hash(" ".join(words))
        if len(words) == 1 and words[0].isalpha():
            cap.add(key)
        elif len(words) > 1 or len(words[0]) >= 4:
            rest.add(key)
        else:
            continue
        first.add(zlib.crc32(words[0].encode("utf-8")))
        width = max(width, len(words))
    return cap, rest, first, width


def _array(hashes: set[int]) -> np.ndarray:
    return np.array(sorted(hashes), dtype=np.uint64)


def _set(a: np.ndarray) -> set[int]:
    return {int(x) for x in a}
