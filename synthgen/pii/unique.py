"""Unique fakes across shards, with no set of earlier values anywhere.

A sample of ``n`` rows is cut into shards of a fixed size; a shard may be made by any worker,
in any order. A unique PII column stays unique across shards because every value has exactly
one shard that may give it:

- number-shaped types (phone, ssn, credit card, iban, codes) whose fake has enough digits
  for every row number: its last d digits (d: the digits of the largest row number) are
  replaced by a keyed permutation of the row number, so two rows with the same layout and
  leading digits never share a value (and values that differ there differ anyway);
- any other fake is *owned* by one shard (a stable hash of the value modulo the number of
  shards): a shard keeps only the fakes it owns, checked against an exact set of its own
  rows (bounded by the shard size); it draws up to ``ROUTE_TRIES`` times for one;
- failing that (or a fake equal to a source value, or holding ``~``), the value gets its
  row number, ``<fake>~<row>``, which no plain fake can equal (an e-mail:
  ``local+<row>@domain``, still an e-mail; plain e-mail fakes never hold ``+``).

Whether a value is renumbered or owned depends on its layout (where its digits are) and on
``n`` only, the same in every shard, so the two kinds can never meet either. Owning costs
draws: about one per shard, so beyond ``MAX_ROUTED_SHARDS`` shards a fake that cannot be
renumbered takes its row number at once (Faker's vocabularies are finite anyway).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

MARK = "~"
EMAIL_MARK = "+"  # plus addressing: an e-mail made unique by its row number stays valid
ROUTE_TRIES = 20
MAX_ROUTED_SHARDS = 32
NUMBERED_TYPES = frozenset({"phone", "ssn", "credit_card", "iban", "other"})
_MAX_DIGITS = 18  # 10**18 < 2**62: the permutation's arithmetic stays in uint64


def owner(value: str, shards: int) -> int:
    """The one shard that may give ``value`` (a stable hash, not Python's salted one)."""
    if shards <= 1:
        return 0
    h = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(h, "little") % shards


def digits_for(rows: int) -> int:
    """The fewest digits that number ``rows`` rows (0 .. rows - 1)."""
    return max(1, len(str(max(rows - 1, 0))))


def disambiguate(v: Any, row: int, exclude: set[str], pii_type: str | None = None) -> str:
    """``<v>~<row>``: the text after the last ``~`` is the row number, so distinct rows
    never share one; a source value of that very shape gets ``.1``, ``.2``... added.
    An e-mail stays one: ``local+<row>@domain`` (plain fakes never hold ``+``)."""
    s = str(v)
    local, at, domain = s.rpartition("@")
    if pii_type == "email" and at and local and EMAIL_MARK not in s and MARK not in s:
        cand, k = f"{local}{EMAIL_MARK}{row}@{domain}", 0
        while cand in exclude:
            k += 1
            cand = f"{local}{EMAIL_MARK}{row}.{k}@{domain}"
        return cand
    cand, k = f"{v}{MARK}{row}", 0
    while cand in exclude:
        k += 1
        cand = f"{v}{MARK}{row}.{k}"
    return cand


def renumber(value: str, row: int, key: list[int], m: int) -> str:
    """``value`` with its last ``m`` digits (it has at least that many; m <= 18) replaced by
    a keyed permutation of ``row`` (a bijection of [0, 10**m)); the others stay."""
    places = [i for i, ch in enumerate(value) if "0" <= ch <= "9"][-m:]
    x = permute_below(row, 10**m, [*key, m])
    chars = list(value)
    for i, d in zip(places, f"{x:0{m}d}", strict=True):
        chars[i] = d
    return "".join(chars)


def permute_below(row: int, size: int, key: list[int]) -> int:
    """A keyed bijection of [0, size) (size <= 2**62), by cycle-walking one of [0, 2**bits)."""
    bits = max(2, (size - 1).bit_length())
    mask = (1 << bits) - 1
    a1, a2, b = (int(v) for v in np.random.SeedSequence(key).generate_state(3, dtype=np.uint64))
    x = row
    while True:
        for a in (a1 | 1, a2 | 1):  # odd multiplier, then xorshift: both bijections mod 2**bits
            x = (x * a + b) & mask
            x ^= x >> (bits // 2 + 1)
        if x < size:
            return x


def unique_fakes(
    pii_type: str,
    make: Callable[[], Any],
    n: int,
    *,
    start: int,
    total: int,
    shard_rows: int,
    exclude: set[str],
    key: list[int],
) -> list[Any]:
    """Fakes for rows ``start .. start + n - 1`` (all in one shard of ``shard_rows`` rows)
    of a unique column of ``total`` rows: distinct from each other, from ``exclude``, and
    from any other shard's, whichever worker makes those."""
    shards = max(1, -(-total // shard_rows))
    need = min(digits_for(total), _MAX_DIGITS)  # the digits that number every row
    rows = range(start, start + n)
    return fakes_for_rows(pii_type, make, rows, start // shard_rows, shards, need, exclude, key)


@dataclass(frozen=True)
class Interleaved:
    """Rows of a table drawn per root shard (``relational.shards``), whose count per shard
    is known only once drawn: row ``i`` of shard ``shard`` is numbered
    ``i * shards + shard``, distinct for any counts. ``expected``: the table's expected
    rows, which sets the digits a number-shaped fake renumbers (a row numbered past them
    gets its row number appended instead, still unique)."""

    shard: int
    shards: int
    expected: int

    def fakes(
        self, pii_type: str, make: Callable[[], Any], n: int, exclude: set[str], key: list[int]
    ) -> list[Any]:
        rows = range(self.shard, self.shard + n * self.shards, self.shards)
        need = min(digits_for(max(self.expected, 1) * 2 + self.shards), _MAX_DIGITS)
        return fakes_for_rows(pii_type, make, rows, self.shard, self.shards, need, exclude, key)


def fakes_for_rows(
    pii_type: str,
    make: Callable[[], Any],
    rows: Iterable[int],
    shard: int,
    shards: int,
    need: int,
    exclude: set[str],
    key: list[int],
) -> list[Any]:
    """A unique fake for each of ``rows`` (row numbers no other shard has), owned by
    ``shard`` of ``shards`` or renumbered in its last ``need`` digits (see the module)."""
    numbered = pii_type in NUMBERED_TYPES
    tries_max = ROUTE_TRIES if shards <= MAX_ROUTED_SHARDS else 0
    batch: set[str] = set()
    out: list[Any] = []
    for row in rows:
        v, tries = make(), 0
        while True:
            s = str(v)
            if MARK not in s and not (pii_type == "email" and EMAIL_MARK in s):
                if numbered and sum("0" <= ch <= "9" for ch in s) >= need:
                    r = renumber(s, row, key, need) if row < 10**need else None
                    v = r if r is not None and r not in exclude else disambiguate(s, row, exclude)
                    break
                if s not in exclude and s not in batch and owner(s, shards) == shard:
                    batch.add(s)
                    break
                if pii_type == "email" and shards > 1:  # cheap variants before a new draw
                    owned = _owned_email(s, row, shard, shards, exclude, batch)
                    if owned is not None:
                        v = owned
                        batch.add(owned)
                        break
            if tries >= tries_max:
                v = disambiguate(v, row, exclude, pii_type)
                break
            v, tries = make(), tries + 1
        out.append(v)
    return out


EMAIL_VARIANTS = 8  # e-mail variants tried per draw: each costs a hash, a draw a Faker call


def _owned_email(
    s: str, row: int, shard: int, shards: int, exclude: set[str], batch: set[str]
) -> str | None:
    """A variant of the e-mail ``s`` this shard owns (up to four digits added to its local
    part, as people's addresses have them; where to start depends on the row, so a repeated
    fake tries new variants), or None. About ``shards`` variants per owned one, each a
    hash: far cheaper than as many Faker draws."""
    local, at, domain = s.rpartition("@")
    if not at or not local:
        return None
    base = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little")
    for t in range(EMAIL_VARIANTS * shards):
        cand = f"{local}{(base + 7919 * row + t) % 10_000}@{domain}"
        if cand not in exclude and cand not in batch and owner(cand, shards) == shard:
            return cand
    return None
