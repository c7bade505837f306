"""The in-memory dedupe index: article ids, exact text hashes and MinHash LSH bands.

Sized for a million articles in well under a gigabyte, so it avoids Python objects per
article where it can:

- per-article data (signature, text hash, first-seen time, revision) lives in growable
  numpy arrays indexed by a small integer *slot* (slots grow in arrival order, so a
  lower slot is an older article);
- exact hashes (32 bits of them) and LSH band keys live in one
  :class:`.multimap.IntMultiMap` (sorted numpy runs, 8 bytes per entry);
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

__all__ = ["BANDS", "ROWS", "Candidates", "DedupeIndex", "Entry", "Match", "band_keys", "exact_key", "index_keys"]

#: LSH over the signature: 42 bands of 3 rows (126 of the 128 values).  A pair becomes a
#: candidate with probability 1 - (1 - p**3)**42, p the chance two values agree
#: (J + (1 - J)/256): 0.49 at Jaccard 0.25, 0.69 at 0.3, 0.94 at 0.4, 0.99 at 0.5.  Low
#: Jaccard must still reach verification because a copy padded with another outlet's
#: boilerplate or cut short can share most of its text at Jaccard 0.3.  A band key is
#: 24 bits of values plus the band number, so random collisions cost 42 in 2**24 per
#: indexed article (2.5 candidates per lookup at a million articles).
BANDS = 42
ROWS = 3
_MAX_CANDIDATES = 2048
_KEY_TEMPLATE = np.zeros((BANDS, 4), dtype=np.uint8)
_KEY_TEMPLATE[:, ROWS] = np.arange(BANDS)
_KEYS_TEMPLATE = np.zeros((BANDS + 1, 4), dtype=np.uint8)  # the band keys and the exact key
_KEYS_TEMPLATE[:BANDS] = _KEY_TEMPLATE
_NO_SIG: Signature = np.zeros(0, dtype=np.uint8)
_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_SIMS = np.zeros(0, dtype=np.float64)
_MAX_SHINGLES = 2**16 - 1


def band_keys(sig: Signature) -> npt.NDArray[np.uint32]:
    """The BANDS LSH keys of one signature.

    Three 8-bit values and the band number are the four bytes of one uint32 key (a free
    ``view``), so equal values in different bands are different keys.  The keys only
    live in memory (restore recomputes them), so native byte order is fine.
    """
    buf = _KEY_TEMPLATE.copy()
    buf[:, :ROWS] = sig[: BANDS * ROWS].reshape(BANDS, ROWS)
    keys: npt.NDArray[np.uint32] = buf.view(np.uint32).reshape(BANDS)
    return keys


def _band_keys(sigs: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """:func:`band_keys` of each row of ``sigs``, shape ``(len(sigs), BANDS)``."""
    buf = np.empty((sigs.shape[0], BANDS, 4), dtype=np.uint8)
    buf[:] = _KEY_TEMPLATE
    buf[:, :, :ROWS] = sigs[:, : BANDS * ROWS].reshape(-1, BANDS, ROWS)
    keys: npt.NDArray[np.uint32] = buf.view(np.uint32).reshape(-1, BANDS)
    return keys


def exact_key(hash64: int) -> int:
    """Key of an exact text hash in the same map as the band keys (verified on lookup)."""
    return (hash64 ^ (hash64 >> 32)) & 0xFFFFFFFF


def index_keys(sig: Signature, hash64: int | None) -> npt.NDArray[np.uint32]:
    """The keys one article has in the index: its band keys (if ``sig`` is a full
    signature), then the exact key of ``hash64`` (unless ``None``).

    Built once per article, they serve both :meth:`DedupeIndex.lookup` and
    :meth:`DedupeIndex.put`.
    """
    if sig.size != N_PERM:
        return np.array([] if hash64 is None else [exact_key(hash64)], dtype=np.uint32)
    buf = _KEYS_TEMPLATE.copy()
    buf[:BANDS, :ROWS] = sig[: BANDS * ROWS].reshape(BANDS, ROWS)
    keys: npt.NDArray[np.uint32] = buf.view(np.uint32).reshape(BANDS + 1)
    if hash64 is None:
        return keys[:BANDS]
    keys[BANDS] = exact_key(hash64)
    return keys


@dataclass(frozen=True, slots=True)
class Entry:
    """What the index remembers about one article id."""

    id: str
    url: str | None
    hash64: int
    revision: int
    seen_at: float
    signature: Signature
    #: Distinct shingles behind ``signature``; 0 when unknown (then only Jaccard counts).
    shingles: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    """A previously indexed article that a new text duplicates."""

    id: str
    url: str | None
    similarity: float


@dataclass(frozen=True, slots=True)
class Candidates:
    """What one lookup found: an exact match, or the near candidates to verify.

    ``slots``, ``jaccard`` and ``shingles`` are parallel arrays over the live LSH
    candidates with a signature (a slot may repeat; lower slots are older articles).
    """

    exact: Match | None
    slots: npt.NDArray[np.int32]
    jaccard: npt.NDArray[np.float64]
    shingles: npt.NDArray[np.int64]


_NO_SHINGLES = np.zeros(0, dtype=np.int64)
#: The Jaccard estimate of every possible count of equal signature values (one lookup).
_JACCARD_OF_MATCHES = jaccard_from_matches(np.arange(N_PERM + 1))
_NO_CANDIDATES = Candidates(None, _NO_SLOTS, _NO_SIMS, _NO_SHINGLES)


class DedupeIndex:
    """Ids, exact hashes and near-duplicate bands of the articles within retention.

    One integer multimap holds both the LSH band keys and a 32-bit key of each exact
    text hash, so a lookup is one vectorised search; candidates are verified against
    the full 64-bit hash or the signature.

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
        self._keys = IntMultiMap(np.uint32)

    def _alloc(self, capacity: int) -> None:
        self._sigs = np.zeros((capacity, N_PERM), dtype=np.uint8)
        self._has_sig = np.zeros(capacity, dtype=bool)
        self._alive = np.zeros(capacity, dtype=bool)
        self._hash = np.zeros(capacity, dtype=np.uint64)
        self._seen = np.zeros(capacity, dtype=np.float64)
        self._rev = np.zeros(capacity, dtype=np.int32)
        self._nsh = np.zeros(capacity, dtype=np.uint16)

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
            int(self._nsh[slot]),
        )

    def lookup(self, hash64: int | None, sig: Signature, keys: npt.NDArray[np.uint32] | None = None) -> Candidates:
        """The oldest live article with this exact text hash, else the near candidates.

        ``hash64=None`` skips the exact lookup; ``keys`` are ``index_keys(sig, hash64)``
        when the caller already has them.
        """
        has_sig = sig.size == N_PERM
        if self._n == 0 or (hash64 is None and not has_sig):
            return _NO_CANDIDATES
        cands = self._keys.get(index_keys(sig, hash64) if keys is None else keys)
        if cands.size == 0:
            return _NO_CANDIDATES
        alive = self._alive.take(cands)
        if hash64 is not None:
            same = cands.compress(alive & (self._hash.take(cands) == np.uint64(hash64)))
            if same.size:
                slot = int(same.min())
                return Candidates(Match(self._ids[slot], self._urls[slot], 1.0), _NO_SLOTS, _NO_SIMS, _NO_SHINGLES)
        if not has_sig:
            return _NO_CANDIDATES
        cands = cands.compress(alive & self._has_sig.take(cands))[:_MAX_CANDIDATES]
        if cands.size == 0:
            return _NO_CANDIDATES
        sims = _JACCARD_OF_MATCHES.take((self._sigs[cands] == sig).sum(axis=1))
        return Candidates(None, cands, sims, self._nsh.take(cands).astype(np.int64))

    def find_exact(self, hash64: int) -> Match | None:
        """The oldest live article whose folded text has this hash."""
        return self.lookup(hash64, _NO_SIG).exact

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
        found = self._near(sig, keys)
        ok = found.jaccard >= threshold
        return self.best(found, ok)

    def best(self, found: Candidates, ok: npt.NDArray[np.bool_]) -> Match | None:
        """The candidate with the highest Jaccard among ``ok`` ones (ties: the oldest)."""
        if not ok.any():
            return None
        sims = np.where(ok, found.jaccard, -1.0)
        top = sims.max()
        slot = int(found.slots[sims == top].min())
        return Match(self._ids[slot], self._urls[slot], float(top))

    def similar(self, sig: Signature, limit: int = 10) -> list[Match]:
        """Up to ``limit`` LSH candidates with their estimated Jaccard, most similar first.

        For audits and threshold studies; :meth:`find_near` is the fast path.
        """
        found = self._near(sig, None)
        if found.slots.size == 0:
            return []
        slots, first = np.unique(found.slots, return_index=True)
        sims = found.jaccard[first]
        order = np.argsort(-sims, kind="stable")[:limit]
        return [Match(self._ids[int(slots[i])], self._urls[int(slots[i])], float(sims[i])) for i in order]

    def urls_of(self, slots: npt.NDArray[np.integer]) -> list[str | None]:
        """URLs of the articles in ``slots`` (for audits and the benchmark)."""
        return [self._urls[int(s)] for s in slots]

    def shingles_of(self, article_id: str) -> int:
        """Distinct shingle count stored for ``article_id`` (0 if unknown or absent)."""
        slot = self._by_id.get(article_id)
        return 0 if slot is None else int(self._nsh[slot])

    def _near(self, sig: Signature, keys: npt.NDArray[np.uint32] | None) -> Candidates:
        return self.lookup(None, sig, keys)

    # -- updates -------------------------------------------------------------------------

    def put(self, entry: Entry, keys: npt.NDArray[np.uint32] | None = None) -> None:
        """Insert ``entry`` or replace the entry with the same id (a revision).

        ``keys`` are ``index_keys(entry.signature, entry.hash64)`` when the caller
        already has them.
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
        self._nsh[slot] = min(entry.shingles, _MAX_SHINGLES)
        self._alive[slot] = True
        self._ids.append(entry.id)
        self._urls.append(entry.url if self.keep_urls else None)
        self._by_id[entry.id] = slot
        if keys is None:
            keys = index_keys(entry.signature, entry.hash64)
        self._keys.add(keys.tolist(), slot)

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
        return (self._sigs, self._has_sig, self._alive, self._hash, self._seen, self._rev, self._nsh)

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
        with_sig = np.flatnonzero(self._has_sig[:n]).astype(np.int32)
        h = self._hash[:n]
        keys = np.concatenate(
            [
                ((h ^ (h >> np.uint64(32))) & np.uint64(0xFFFFFFFF)).astype(np.uint32),
                _band_keys(self._sigs[with_sig]).ravel(),
            ]
        )
        self._keys.reset(keys, np.concatenate([slots, np.repeat(with_sig, BANDS)]))

    # -- measurement ---------------------------------------------------------------------

    def nbytes_arrays(self) -> int:
        """Bytes held by the numpy arrays (not the dict and lists); for benchmarks."""
        return sum(a.nbytes for a in self._arrays()) + self._keys.nbytes
