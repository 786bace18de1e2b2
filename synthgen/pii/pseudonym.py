"""Consistent fakes: the same source value maps to the same fake, through a keyed hash.

The key comes from the environment (``SYNTHGEN_PII_SECRET``), so two runs or two tables with
the same secret agree (a patient id stays joinable); without it a random key is drawn for the
run and never written anywhere, so nobody can recompute the mapping. A fake never equals a
value from ``exclude`` (the real values): on a clash the hash is taken again with a counter.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from faker import Faker

from synthgen.pii.fake import fake_maker

SECRET_ENV = "SYNTHGEN_PII_SECRET"


class Pseudonymiser:
    def __init__(self, secret: bytes, locale: str = "en_US") -> None:
        self._secret = secret
        self._faker = Faker(locale)
        self._cache: dict[tuple[str, str], Any] = {}
        self.from_env = False

    @classmethod
    def from_environment(cls, locale: str = "en_US") -> Pseudonymiser:
        """The secret from ``SYNTHGEN_PII_SECRET`` if set, else random for this run only."""
        env = os.environ.get(SECRET_ENV)
        p = cls(env.encode("utf-8") if env else os.urandom(32), locale)
        p.from_env = bool(env)
        return p

    @classmethod
    def for_run(cls, locale: str, frames: list[Any], seed: int) -> Pseudonymiser:
        """The secret from ``SYNTHGEN_PII_SECRET`` if set, else a key derived from the seed
        and every training row: the same recipe and seed give the same fakes, and nobody
        without every training row can recompute the key to test a guessed value."""
        if os.environ.get(SECRET_ENV):
            return cls.from_environment(locale)
        import pandas as pd

        h = hashlib.blake2b(str(seed).encode(), digest_size=32)
        for df in frames:
            h.update("\x1f".join(map(str, df.columns)).encode("utf-8"))
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return cls(h.digest(), locale)

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymiser(from_env={self.from_env})"

    def digest(self, domain: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{domain}\x1f{value}".encode(), hashlib.sha256).digest()

    def fake(
        self, pii_type: str, value: object, exclude: frozenset[str] | set[str] = frozenset()
    ) -> Any:
        """The fake for ``value`` as a ``pii_type``: the same every time for the same key."""
        key = (pii_type, str(value))
        if key in self._cache:
            return self._cache[key]
        make = fake_maker(pii_type)
        for attempt in range(50):
            digest = self.digest(pii_type, f"{value}\x1f{attempt}")
            self._faker.seed_instance(int.from_bytes(digest[:8], "big"))
            out = make(self._faker)
            if str(out) not in exclude and str(out).casefold() not in exclude:
                break
        else:
            out = f"{out}-{digest[:3].hex()}"
        self._cache[key] = out
        return out
