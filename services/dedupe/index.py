"""The in-memory dedupe index: article ids, exact text hashes and MinHash LSH bands.

Sized for a million articles in well under a gigabyte, so it avoids Python objects per
article where it can:

- per-article data (signature, text hash, first-seen time, revision) lives in growable
  numpy arrays indexed by a small integer *slot* (slots grow in arrival order, so a
  lower slot is an older article);
- exact hashes and LSH band keys live in :class:`.multimap.IntMultiMap` (sorted numpy
  runs, 8-12 bytes per entry);
- only the id -> slot dict, the ids and the URLs are Python objects.

Deletions (retention, revisions) clear an ``alive`` flag; lookups check what a slot
holds, and everything is compacted in bulk when a third of the slots are dead.
The index knows nothing about messages or the changelog; :mod:`.handler` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.dedupe.fingerprint import N_PERM, Signature, jaccard_from_matches
from services.dedupe.multimap import IntMultiMap

__all__ = ["BANDS", "ROWS", "DedupeIndex", "Entry", "Match", "band_keys"]

#: LSH over all 128 signature values: 32 bands of 4 rows.  A pair becomes a candidate
#: with probability 1 - (1 - J**4)**32: 0.56 at Jaccard 0.4, 0.87 at 0.5, 0.99 at 0.6,
#: so verification at the chosen threshold is reached with high recall while unrelated
#: texts (J < 0.2) rarely cost a check.
BANDS = 32
ROWS = 4  # four uint8 values make one uint32 key
_MAX_CANDIDATES = 512
_BAND_SALT = np.random.Generator(np.random.PCG64(32)).integers(0, 2**32, size=BANDS, dtype=np.uint32)
_NO_SIG: Signature = np.zeros(0, dtype=np.uint8)


def band_keys(sig: Signature) -> npt.NDArray[np.uint32]:
    """The BANDS LSH keys of one signature.

    A band's four 8-bit values are its key as one uint32 (a free ``view``), XORed with a
    per-band constant so equal values in different bands are different keys.  The keys
    only live in memory (restore recomputes them), so native byte order is fine.
    """
    return np.ascontiguousarray(sig[: BANDS * ROWS]).view(np.uint32) ^ _BAND_SALT


@dataclass(frozen=True, slots=True)
class Entry:
    """What the index remembers about one article id."""

    id: str
    url: str | None
    hash64: int
    revision: int
    seen_at: float
    signature: Signature


@dataclass(frozen=True, slots=True)
class Match:
    """A previously indexed article that a new text duplicates."""

    id: str
    url: str | None
    similarity: float


class DedupeIndex:
    """Ids, exact hashes and near-duplicate bands of the articles within retention.

    ``keep_urls=False`` drops the original's URL from memory (about 130 bytes per article
    for typical news URLs); duplicates then name the original by id only.
    """

    def __init__(self, capacity: int = 1024, *, keep_urls: bool = True) -> None:
        self.keep_urls = keep_urls
        self._alloc(capacity)
        self._ids: list[str] = []
        self._urls: list[str | None] = []
        self._n = 0
        self._dead = 0
        self._by_id: dict[str, int] = {}
        self._exact = IntMultiMap(np.uint64, flush_at=16_384)
        self._bands = IntMultiMap(np.uint32)

    def _alloc(self, capacity: int) -> None:
        self._sigs = np.zeros((capacity, N_PERM), dtype=np.uint8)
        self._has_sig = np.zeros(capacity, dtype=bool)
        self._alive = np.zeros(capacity, dtype=bool)
        self._hash = np.zeros(capacity, dtype=np.uint64)
        self._seen = np.zeros(capacity, dtype=np.float64)
        self._rev = np.zeros(capacity, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._by_id)

    # -- lookups -------------------------------------------------------------------------

    def get(self, article_id: str) -> Entry | None:
        """The live entry for ``article_id``, if any."""
        slot = self._by_id.get(article_id)
        if slot is None:
            return None
        return Entry(
            article_id,
            self._urls[slot],
            int(self._hash[slot]),
            int(self._rev[slot]),
            float(self._seen[slot]),
            self._sigs[slot].copy() if self._has_sig[slot] else _NO_SIG,
        )

    def find_exact(self, hash64: int) -> Match | None:
        """The oldest live article whose folded text has this hash."""
        slots = self._exact.get(np.array([hash64], dtype=np.uint64))
        if slots.size == 0:
            return None
        slots = slots[self._alive[slots] & (self._hash[slots] == np.uint64(hash64))]
        if slots.size == 0:
            return None
        slot = int(slots.min())
        return Match(self._ids[slot], self._urls[slot], 1.0)

    def find_near(
        self,
        sig: Signature,
        threshold: float,
        keys: npt.NDArray[np.uint32] | None = None,
    ) -> Match | None:
        """The most similar live article with estimated Jaccard >= ``threshold``.

        ``keys`` are ``band_keys(sig)`` when the caller already has them.  Ties go to
        the oldest article.
        """
        found = self._scored(sig, keys)
        if found is None:
            return None
        cands, sims = found
        best = int(np.argmax(sims))
        if sims[best] < threshold:
            return None
        slot = int(cands[best])
        return Match(self._ids[slot], self._urls[slot], float(sims[best]))

    def similar(self, sig: Signature, limit: int = 10) -> list[Match]:
        """Up to ``limit`` LSH candidates with their estimated Jaccard, most similar first.

        For audits and threshold studies; :meth:`find_near` is the fast path.
        """
        found = self._scored(sig, None)
        if found is None:
            return []
        cands, sims = found
        order = np.argsort(-sims, kind="stable")[:limit]
        return [Match(self._ids[int(cands[i])], self._urls[int(cands[i])], float(sims[i])) for i in order]

    def _scored(
        self, sig: Signature, keys: npt.NDArray[np.uint32] | None
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]] | None:
        if sig.size != N_PERM or self._n == 0:
            return None
        cands = self._bands.get(band_keys(sig) if keys is None else keys)
        if cands.size == 0:
            return None
        cands = np.unique(cands)[:_MAX_CANDIDATES]
        cands = cands[self._alive[cands] & self._has_sig[cands]]
        if cands.size == 0:
            return None
        return cands, jaccard_from_matches(np.count_nonzero(self._sigs[cands] == sig, axis=1))

    # -- updates -------------------------------------------------------------------------

    def put(self, entry: Entry, keys: npt.NDArray[np.uint32] | None = None) -> None:
        """Insert ``entry`` or replace the entry with the same id (a revision).

        ``keys`` are ``band_keys(entry.signature)`` when the caller already has them.
        """
        old = self._by_id.get(entry.id)
        if old is not None:
            self._drop_slot(old)
        if self._n == self._alive.size:
            self._grow(max(1024, self._n * 5 // 4))
        slot = self._n
        self._n += 1
        has_sig = entry.signature.size == N_PERM
        if has_sig:
            self._sigs[slot] = entry.signature
        self._has_sig[slot] = has_sig
        self._hash[slot] = entry.hash64
        self._seen[slot] = entry.seen_at
        self._rev[slot] = entry.revision
        self._alive[slot] = True
        self._ids.append(entry.id)
        self._urls.append(entry.url if self.keep_urls else None)
        self._by_id[entry.id] = slot
        self._exact.add([entry.hash64], slot)
        if has_sig:
            self._bands.add((band_keys(entry.signature) if keys is None else keys).tolist(), slot)

    def remove(self, article_id: str) -> bool:
        """Forget ``article_id``; returns whether it was present."""
        slot = self._by_id.get(article_id)
        if slot is None:
            return False
        self._drop_slot(slot)
        return True

    def expired(self, cutoff: float) -> list[str]:
        """Ids of live entries first seen before ``cutoff`` (epoch seconds)."""
        slots = np.flatnonzero(self._alive[: self._n] & (self._seen[: self._n] < cutoff))
        return [self._ids[int(s)] for s in slots]

    def _drop_slot(self, slot: int) -> None:
        self._alive[slot] = False
        del self._by_id[self._ids[slot]]
        self._dead += 1
        if self._dead > 4096 and self._dead * 3 > self._n:
            self.compact()

    def _arrays(self) -> tuple[npt.NDArray[Any], ...]:
        return (self._sigs, self._has_sig, self._alive, self._hash, self._seen, self._rev)

    def _grow(self, capacity: int) -> None:
        n = self._n
        old = self._arrays()
        self._alloc(capacity)
        for new, prev in zip(self._arrays(), old, strict=True):
            new[:n] = prev[:n]

    def compact(self) -> None:
        """Drop dead slots and stale map entries; renumber live slots in the same order."""
        live = np.flatnonzero(self._alive[: self._n])
        kept = [a[live] for a in self._arrays()]
        ids = [self._ids[i] for i in live.tolist()]
        urls = [self._urls[i] for i in live.tolist()]
        n = live.size
        self._alloc(max(1024, n * 5 // 4))
        for new, prev in zip(self._arrays(), kept, strict=True):
            new[:n] = prev
        self._ids, self._urls, self._n, self._dead = ids, urls, n, 0
        self._by_id = {aid: i for i, aid in enumerate(ids)}
        slots = np.arange(n, dtype=np.int32)
        self._exact.reset(self._hash[:n].copy(), slots)
        with_sig = np.flatnonzero(self._has_sig[:n]).astype(np.int32)
        keys = (np.ascontiguousarray(self._sigs[with_sig]).view(np.uint32) ^ _BAND_SALT).ravel()
        self._bands.reset(keys, np.repeat(with_sig, BANDS))

    # -- measurement ---------------------------------------------------------------------

    def nbytes_arrays(self) -> int:
        """Bytes held by the numpy arrays (not the dict and lists); for benchmarks."""
        return sum(a.nbytes for a in self._arrays()) + self._exact.nbytes + self._bands.nbytes
