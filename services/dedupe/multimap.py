"""A compact integer multimap (key -> slots) for the dedupe index.

A Python dict costs about 100 bytes per entry (the int objects and the hash table); for
tens of millions of LSH band entries that is gigabytes.  Here entries live in sorted
numpy arrays (key + int32 slot: 8-12 bytes each), searched with
:func:`numpy.searchsorted`, in two levels as in a log-structured merge tree:

- ``_recent``: small dicts collecting new entries, flushed every ``flush_at`` entries;
- ``_young``: a sorted run receiving the flushes (cheap to rewrite while it is small);
- ``_main``: the big sorted run, rewritten only when ``_young`` reaches 1/8 of it.

So each entry is copied a bounded number of times on average, and a lookup is one
vectorised binary search per run plus a dict probe.  A binary search in a run of
millions of keys costs a dozen cache misses per key, so a one-bit-per-slot filter
(a Bloom filter with one hash, sized at ``_FILTER_BITS_PER_KEY`` bits per key) over the
sorted runs lets only keys that may be there reach the search: most probes of a new
article are absent.  Removal is lazy: callers check what a slot holds
and rebuild the map (:meth:`reset`) when enough is stale.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["IntMultiMap"]

_EMPTY_SLOTS = np.zeros(0, dtype=np.int32)
#: The filter grows (rebuilt from the runs) to keep at least this many bits per key:
#: about 6% of bits set, so a probe of an absent key reaches the search 1 time in 16.
_FILTER_BITS_PER_KEY = 16
_FILTER_MIN_LOG2 = 23  # 1 MiB
_FILTER_MAX_LOG2 = 28  # 32 MiB (a million articles' 43 million keys: about 15% set)
# An odd multiplier mixes a key's bits into the high bits of a uint64 (the word index);
# the low 6 bits of keys are already random (signature values, hash bits): the bit index.
_FILTER_MIX = np.uint64(0x9E3779B97F4A7C15)
_LOW6 = np.uint64(63)
_ONE = np.uint64(1)


class _Run:
    """A sorted run of (key, slot)."""

    __slots__ = ("keys", "slots")

    def __init__(self, keys: npt.NDArray[np.unsignedinteger], slots: npt.NDArray[np.int32]) -> None:
        self.keys = keys
        self.slots = slots

    def get(self, keys: npt.NDArray[np.unsignedinteger], limit: int) -> npt.NDArray[np.int32]:
        # Most probes miss: one vectorised binary search and one comparison settle them
        # (``clip``: a probe past the last key compares with the last key, so it misses).
        lo = self.keys.searchsorted(keys)
        found = self.keys.take(lo, mode="clip") == keys
        if not found.any():
            return _EMPTY_SLOTS
        lo = lo.compress(found)
        hi = np.minimum(self.keys.searchsorted(keys.compress(found), side="right"), lo + limit)
        counts = hi - lo
        total = int(counts.sum())
        if total == lo.size:  # one slot per key, the usual case
            return self.slots.take(lo)
        # All ranges in one gather: position i of the output reads lo[r] + (i - start[r]).
        ends = counts.cumsum()
        out: npt.NDArray[np.int32] = self.slots.take(np.arange(total) + np.repeat(lo - ends + counts, counts))
        return out


class IntMultiMap:
    """Unsigned integer keys (``dtype``) to int32 slots; a key may hold several slots."""

    def __init__(self, dtype: type[np.unsignedinteger], flush_at: int = 65_536) -> None:
        self.dtype = np.dtype(dtype)
        self.flush_at = flush_at
        self._main = self._empty()
        self._young = self._empty()
        # Recent entries: a key's first slot in ``_recent``, any further slots in
        # ``_more``, so adding a batch of new keys is one C-level dict update.
        self._recent: dict[int, int] = {}
        self._more: dict[int, list[int]] = {}
        self._recent_n = 0
        self._new_filter(_FILTER_MIN_LOG2)

    def _new_filter(self, log2_bits: int) -> None:
        self._filter = np.zeros(1 << (log2_bits - 6), dtype=np.uint64)
        self._filter_shift = np.uint64(64 - (log2_bits - 6))

    def _mark(self, keys: npt.NDArray[np.unsignedinteger]) -> None:
        """Set the filter bits of ``keys``, just added to the runs (or rebuild it larger
        from the runs when they outgrew it)."""
        n = int(self._main.keys.size + self._young.keys.size)
        log2_bits = int(self._filter.size).bit_length() - 1 + 6
        if n * _FILTER_BITS_PER_KEY > 1 << log2_bits and log2_bits < _FILTER_MAX_LOG2:
            while n * _FILTER_BITS_PER_KEY > 1 << log2_bits and log2_bits < _FILTER_MAX_LOG2:
                log2_bits += 1
            self._new_filter(log2_bits)
            keys = np.concatenate([self._main.keys, self._young.keys])
        mixed = keys * _FILTER_MIX
        np.bitwise_or.at(self._filter, mixed >> self._filter_shift, _ONE << (mixed & _LOW6))

    def _maybe(self, keys: npt.NDArray[np.unsignedinteger]) -> npt.NDArray[np.uint64]:
        """Non-zero where a key may be in the runs (zero: certainly absent)."""
        mixed = keys * _FILTER_MIX
        found: npt.NDArray[np.uint64] = (self._filter.take(mixed >> self._filter_shift) >> (mixed & _LOW6)) & _ONE
        return found

    def _empty(self) -> _Run:
        return _Run(np.zeros(0, dtype=self.dtype), _EMPTY_SLOTS)

    def __len__(self) -> int:
        return int(self._main.keys.size + self._young.keys.size) + self._recent_n

    @property
    def nbytes(self) -> int:
        """Bytes in the sorted runs and their filter (the recent dict is bounded by ``flush_at``)."""
        return sum(r.keys.nbytes + r.slots.nbytes for r in (self._main, self._young)) + self._filter.nbytes

    def add(self, keys: list[int], slot: int) -> None:
        """Map each of ``keys`` to ``slot``."""
        recent = self._recent
        new = dict.fromkeys(keys, slot)
        if len(new) != len(keys):  # a key repeated in one call maps to the slot once
            keys = list(new)
        for k in recent.keys() & new.keys():
            self._more.setdefault(k, []).append(new.pop(k))
        recent.update(new)
        self._recent_n += len(keys)
        if self._recent_n >= self.flush_at:
            self.flush()

    def get(self, keys: npt.NDArray[np.unsignedinteger], limit: int = 256) -> npt.NDArray[np.int32]:
        """Slots of all ``keys`` (with repeats), at most ``limit`` per key and run."""
        parts: list[npt.NDArray[np.int32]] = []
        if self._main.keys.size or self._young.keys.size:
            maybe = self._maybe(keys)
            if maybe.any():
                present = keys.compress(maybe)
                for run in (self._main, self._young):
                    if run.keys.size:
                        found = run.get(present, limit)
                        if found.size:
                            parts.append(found)
        if self._recent:
            hits = self._recent.keys() & keys.tolist()
            if hits:
                slots: list[int] = []
                for k in hits:
                    slots.append(self._recent[k])
                    more = self._more.get(k)
                    if more:
                        slots.extend(more[: limit - 1])
                parts.append(np.array(slots, dtype=np.int32))
        if not parts:
            return _EMPTY_SLOTS
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def flush(self) -> None:
        """Move the recent entries into the sorted runs."""
        if not self._recent:
            return
        recent, more = self._recent, self._more
        keys = np.fromiter(recent.keys(), dtype=self.dtype, count=len(recent))
        slots = np.fromiter(recent.values(), dtype=np.int32, count=len(recent))
        if more:  # later slots of a key go after its first (the sort below is stable)
            keys = np.concatenate([keys, np.array([k for k, v in more.items() for _ in v], dtype=self.dtype)])
            slots = np.concatenate([slots, np.array([s for v in more.values() for s in v], dtype=np.int32)])
        self._recent = {}
        self._more = {}
        self._recent_n = 0
        order = np.argsort(keys, kind="stable")
        young = _merge(self._young, keys[order], slots[order])
        if young.keys.size * 8 >= max(self._main.keys.size, 8 * self.flush_at):
            self._main = _merge(self._main, young.keys, young.slots)
            self._young = self._empty()
        else:
            self._young = young
        self._mark(keys)

    def reset(self, keys: npt.NDArray[np.unsignedinteger], slots: npt.NDArray[np.int32]) -> None:
        """Replace the whole content by ``keys[i] -> slots[i]`` (bulk rebuild)."""
        order = np.argsort(keys, kind="stable")
        self._main = _Run(keys[order].astype(self.dtype, copy=False), slots[order].astype(np.int32, copy=False))
        self._young = self._empty()
        self._recent = {}
        self._more = {}
        self._recent_n = 0
        self._new_filter(_FILTER_MIN_LOG2)
        self._mark(self._main.keys)


def _merge(run: _Run, keys: npt.NDArray[np.unsignedinteger], slots: npt.NDArray[np.int32]) -> _Run:
    """Merge sorted ``keys``/``slots`` into ``run`` (new after old among equal keys)."""
    if run.keys.size == 0:
        return _Run(keys, slots)
    pos = np.searchsorted(run.keys, keys, side="right")
    return _Run(np.insert(run.keys, pos, keys), np.insert(run.slots, pos, slots))
