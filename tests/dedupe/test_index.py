"""IntMultiMap and DedupeIndex bookkeeping: lookups survive flushes, merges and compaction."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from services.dedupe import multimap
from services.dedupe.fingerprint import N_PERM
from services.dedupe.index import DedupeIndex, Entry
from services.dedupe.multimap import IntMultiMap


def test_multimap_matches_a_dict_through_flushes_and_merges() -> None:
    rng = np.random.default_rng(1)
    mm = IntMultiMap(np.uint32, flush_at=64)
    truth: dict[int, list[int]] = defaultdict(list)
    keys = rng.integers(0, 5000, size=6000, dtype=np.uint32)  # many repeated keys
    for slot, k in enumerate(keys.tolist()):
        mm.add([k], slot)
        truth[k].append(slot)
    assert len(mm) == keys.size
    probe = np.arange(0, 5200, dtype=np.uint32)
    got: dict[int, list[int]] = defaultdict(list)
    for k in probe.tolist():
        got[k] = sorted(mm.get(np.array([k], dtype=np.uint32), limit=10_000).tolist())
    assert all(got[k] == sorted(truth.get(k, [])) for k in probe.tolist())
    both = mm.get(np.array([keys[0], keys[1]], dtype=np.uint32), limit=10_000)
    assert sorted(both.tolist()) == sorted(truth[int(keys[0])] + truth[int(keys[1])])


def test_multimap_filter_grows_without_losing_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # A tiny filter that must grow twice and then saturate at its cap.
    monkeypatch.setattr(multimap, "_FILTER_MIN_LOG2", 10)
    monkeypatch.setattr(multimap, "_FILTER_MAX_LOG2", 12)
    rng = np.random.default_rng(2)
    mm = IntMultiMap(np.uint32, flush_at=50)
    keys = rng.integers(0, 2**32, size=800, dtype=np.uint32)
    for slot, k in enumerate(keys.tolist()):
        mm.add([k], slot)
        if slot == 100:  # before growth: absent keys are mostly filtered out
            mm.flush()
            absent = rng.integers(0, 2**32, size=1000, dtype=np.uint32)
            assert np.count_nonzero(mm._maybe(absent)) < 100
            assert np.count_nonzero(mm._maybe(keys[:101])) == 101
    mm.flush()
    assert mm._filter.size * 64 == 2**12
    got = mm.get(keys, limit=10_000)
    assert sorted(got.tolist()) == list(range(keys.size))
    mm.reset(keys, np.arange(keys.size, dtype=np.int32))
    assert sorted(mm.get(keys, limit=10_000).tolist()) == list(range(keys.size))


def _sig(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=N_PERM, dtype=np.uint8)


def test_index_finds_after_compaction_and_forgets_removed() -> None:
    rng = np.random.default_rng(2)
    index = DedupeIndex()
    sigs = [_sig(rng) for _ in range(9000)]
    for i, sig in enumerate(sigs):
        index.put(Entry(f"id{i}", f"u{i}", i + 1, 0, float(i), sig))
    for i in range(0, 9000, 2):  # drop half: triggers compaction
        assert index.remove(f"id{i}")
    assert len(index) == 4500
    for i in (1, 4001, 8999):
        near = index.find_near(sigs[i], 0.9)
        assert near is not None
        assert near.id == f"id{i}"
        exact = index.find_exact(i + 1)
        assert exact is not None
        assert exact.id == f"id{i}"
    assert index.find_near(sigs[0], 0.9) is None
    assert index.find_exact(1) is None
    assert index.expired(4000.0) == [f"id{i}" for i in range(1, 4000, 2)]


def test_revision_replaces_signature_and_hash() -> None:
    rng = np.random.default_rng(3)
    index = DedupeIndex()
    a, b = _sig(rng), _sig(rng)
    index.put(Entry("x", "u", 10, 0, 0.0, a))
    index.put(Entry("x", "u", 20, 1, 5.0, b))
    entry = index.get("x")
    assert entry is not None
    assert (entry.revision, entry.hash64) == (1, 20)
    assert index.find_exact(10) is None
    assert index.find_near(a, 0.9) is None
    hit = index.find_near(b, 0.9)
    assert hit is not None
    assert hit.id == "x"
