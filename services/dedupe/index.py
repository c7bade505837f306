"""The in-memory dedupe index: article ids, exact text hashes and MinHash LSH bands.

Sized for about a million articles in well under a gigabyte, so it avoids one Python
object per article where it can:

- per-article data (signature, text hash, first-seen time, revision) lives in growable
  numpy arrays indexed by a small integer *slot*;
- the LSH bands are one sorted ``uint64`` key array with an ``int32`` slot array next to
  it, searched with :func:`numpy.searchsorted`; new entries go to a small dict that is
  merged into the sorted arrays in bulk;
- deletions (retention, revisions) only clear an ``alive`` flag; the arrays are rebuilt
  when enough of them is dead.

The index knows nothing about messages or the changelog; :mod:`.handler` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.dedupe.fingerprint import N_PERM, Signature

__all__ = ["BANDS", "ROWS", "DedupeIndex", "Entry", "Match", "band_keys"]

#: LSH on the first BANDS*ROWS signature values: 16 bands of 4 rows give a candidate with
#: probability 0.5 at Jaccard 0.5 and 0.98 at 0.7, so a 0.6+ verification threshold is
#: reached with high recall while unrelated texts (J < 0.2) almost never collide.
BANDS = 16
ROWS = 4  # four uint16 values make one uint64 key
_MERGE_AT = 65_536
_MAX_CANDIDATES = 256
_BAND_SALT = (np.arange(BANDS, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)


def band_keys(sig: Signature) -> npt.NDArray[np.uint64]:
    """The BANDS LSH keys of one signature.

    A band's four 16-bit values are its key as one uint64 (a free ``view``), XORed with a
    per-band constant so equal values in different bands are different keys.  The keys
    only live in memory (restore recomputes them), so native byte order is fine.
    """
    return np.ascontiguousarray(sig[: BANDS * ROWS]).view(np.uint64) ^ _BAND_SALT


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
    """Ids, exact hashes and near-duplicate bands of the articles within retention."""

    def __init__(self, capacity: int = 1024) -> None:
        self._sigs = np.zeros((capacity, N_PERM), dtype=np.uint16)
        self._has_sig = np.zeros(capacity, dtype=bool)
        self._hash = np.zeros(capacity, dtype=np.uint64)
        self._seen = np.zeros(capacity, dtype=np.float64)
        self._rev = np.zeros(capacity, dtype=np.int32)
        self._alive = np.zeros(capacity, dtype=bool)
        self._ids: list[str] = []
        self._urls: list[str | None] = []
        self._n = 0
        self._by_id: dict[str, int] = {}
        self._by_hash: dict[int, int] = {}
        self._keys = np.zeros(0, dtype=np.uint64)
        self._slots = np.zeros(0, dtype=np.int32)
        self._delta: dict[int, list[int]] = {}
        self._delta_size = 0
        self._dead = 0

    def __len__(self) -> int:
        return len(self._by_id)

    # -- lookups -------------------------------------------------------------------------

    def get(self, article_id: str) -> Entry | None:
        """The live entry for ``article_id``, if any."""
        slot = self._by_id.get(article_id)
        if slot is None:
            return None
        sig = self._sigs[slot] if self._has_sig[slot] else np.zeros(0, dtype=np.uint16)
        return Entry(
            article_id,
            self._urls[slot],
            int(self._hash[slot]),
            int(self._rev[slot]),
            float(self._seen[slot]),
            sig,
        )

    def find_exact(self, hash64: int) -> Match | None:
        """The article whose normalized text has this hash."""
        slot = self._by_hash.get(hash64)
        if slot is None:
            return None
        return Match(self._ids[slot], self._urls[slot], 1.0)

    def find_near(
        self,
        sig: Signature,
        threshold: float,
        keys: npt.NDArray[np.uint64] | None = None,
    ) -> Match | None:
        """The most similar indexed article with estimated Jaccard >= ``threshold``.

        ``keys`` are ``band_keys(sig)`` when the caller already has them.
        """
        if sig.size == 0 or self._n == 0:
            return None
        cands = self._candidates(band_keys(sig) if keys is None else keys)
        if cands.size == 0:
            return None
        cands = cands[self._alive[cands] & self._has_sig[cands]]
        if cands.size == 0:
            return None
        sims = np.count_nonzero(self._sigs[cands] == sig, axis=1) / float(N_PERM)
        best = int(np.argmax(sims))  # first of the best: the lowest slot, the oldest article
        if sims[best] < threshold:
            return None
        slot = int(cands[best])
        return Match(self._ids[slot], self._urls[slot], float(sims[best]))

    def _candidates(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        parts: list[npt.NDArray[np.int64]] = []
        if self._keys.size:
            lo = np.searchsorted(self._keys, keys, side="left")
            hi = np.searchsorted(self._keys, keys, side="right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    parts.append(self._slots[a : min(b, a + _MAX_CANDIDATES)].astype(np.int64))
        if self._delta:
            for k in keys.tolist():
                hit = self._delta.get(k)
                if hit:
                    parts.append(np.asarray(hit[:_MAX_CANDIDATES], dtype=np.int64))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(parts))[: _MAX_CANDIDATES * 4]

    # -- updates -------------------------------------------------------------------------

    def put(self, entry: Entry, keys: npt.NDArray[np.uint64] | None = None) -> None:
        """Insert ``entry`` or replace the entry with the same id (a revision).

        ``keys`` are ``band_keys(entry.signature)`` when the caller already has them.
        """
        old = self._by_id.get(entry.id)
        if old is not None:
            self._drop_slot(old)
        slot = self._new_slot()
        has_sig = entry.signature.size == N_PERM
        if has_sig:
            self._sigs[slot] = entry.signature
        self._has_sig[slot] = has_sig
        self._hash[slot] = entry.hash64
        self._seen[slot] = entry.seen_at
        self._rev[slot] = entry.revision
        self._alive[slot] = True
        self._ids.append(entry.id)
        self._urls.append(entry.url)
        self._by_id[entry.id] = slot
        # First writer keeps an exact hash: the original stays the original.
        self._by_hash.setdefault(entry.hash64, slot)
        if has_sig:
            for k in (band_keys(entry.signature) if keys is None else keys).tolist():
                self._delta.setdefault(k, []).append(slot)
            self._delta_size += BANDS
            if self._delta_size >= _MERGE_AT:
                self._merge()

    def remove(self, article_id: str) -> bool:
        """Forget ``article_id``; returns whether it was present."""
        slot = self._by_id.pop(article_id, None)
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
        h = int(self._hash[slot])
        if self._by_hash.get(h) == slot:
            del self._by_hash[h]
        if self._by_id.get(self._ids[slot]) == slot:
            del self._by_id[self._ids[slot]]
        self._dead += 1
        if self._dead > 4096 and self._dead * 3 > self._n:
            self._rebuild()

    def _new_slot(self) -> int:
        if self._n == self._alive.size:
            self._grow(max(1024, self._n * 2))
        self._n += 1
        return self._n - 1

    def _grow(self, capacity: int) -> None:
        def grown(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            out = np.zeros((capacity, *a.shape[1:]), dtype=a.dtype)
            out[: self._n] = a[: self._n]
            return out

        self._sigs = grown(self._sigs)  # type: ignore[assignment]
        self._has_sig = grown(self._has_sig)  # type: ignore[assignment]
        self._hash = grown(self._hash)  # type: ignore[assignment]
        self._seen = grown(self._seen)  # type: ignore[assignment]
        self._rev = grown(self._rev)  # type: ignore[assignment]
        self._alive = grown(self._alive)  # type: ignore[assignment]

    def _merge(self) -> None:
        if not self._delta:
            return
        keys = np.fromiter((k for k, v in self._delta.items() for _ in v), dtype=np.uint64, count=self._delta_size)
        slots = np.fromiter((s for v in self._delta.values() for s in v), dtype=np.int32, count=self._delta_size)
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        pos = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, pos, keys)
        self._slots = np.insert(self._slots, pos, slots)
        self._delta = {}
        self._delta_size = 0

    def _rebuild(self) -> None:
        """Drop dead slots and stale band entries; renumber the live slots."""
        live = np.flatnonzero(self._alive[: self._n])
        capacity = max(1024, live.size * 2)
        entries = [
            Entry(
                self._ids[s],
                self._urls[s],
                int(self._hash[s]),
                int(self._rev[s]),
                float(self._seen[s]),
                self._sigs[s].copy() if self._has_sig[s] else np.zeros(0, dtype=np.uint16),
            )
            for s in live.tolist()
        ]
        hash_owner = {h: self._ids[s] for h, s in self._by_hash.items()}
        self.__init__(capacity)  # type: ignore[misc]
        for e in entries:
            self.put(e)
        # Keep the original owner of each exact hash, not whichever live entry came first.
        for h, owner in hash_owner.items():
            slot = self._by_id.get(owner)
            if slot is not None:
                self._by_hash[h] = slot
        self._merge()

    # -- measurement ---------------------------------------------------------------------

    def nbytes_arrays(self) -> int:
        """Bytes held by the numpy arrays (not the dicts and lists); for benchmarks."""
        arrays = (self._sigs, self._has_sig, self._hash, self._seen, self._rev, self._alive, self._keys, self._slots)
        return sum(a.nbytes for a in arrays)
