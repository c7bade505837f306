"""The detectors the benchmark compares, behind one small interface.

- :class:`Ours`: :class:`services.dedupe.handler.DedupeHandler` as the Kafka stage runs it;
- ``exact-only``: the same handler with near-duplicate detection switched off;
- :class:`DatasketchLSH`: exact hash + ``datasketch.MinHashLSH`` with default settings
  (threshold 0.9, 128 permutations) over the same normalized 3-word shingles.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import numpy as np
from datasketch import MinHash, MinHashLSH

from bench.dedupe.data import Doc
from services.dedupe.fingerprint import MIN_NEAR_TOKENS, shingle_hashes, text_hash
from services.dedupe.folding import word_hashes
from services.dedupe.handler import DedupeHandler
from services.runtime.handler import Out

__all__ = ["DatasketchLSH", "Detector", "Ours", "Verdict", "article_of"]

#: (duplicate_of doc id or None, kind "exact" | "near" | None)
Verdict = tuple[str | None, str | None]


def _aid(url: str) -> str:
    return hashlib.blake2b(url.encode("utf-8"), digest_size=16).hexdigest()


def article_of(doc: Doc) -> dict[str, Any]:
    """A CleanArticle message for ``doc`` (id = hash of its URL)."""
    return {
        "schema_version": 1,
        "id": _aid(doc.url),
        "url": doc.url,
        "canonical_url": doc.url,
        "source": doc.source,
        "title": doc.title,
        "text": doc.text,
        "language": None,
        "published": None,
        "authors": [],
        "fetched_at": doc.fetched_at or "2024-01-01T00:00:00Z",
        "cleaned_at": doc.fetched_at or "2024-01-01T00:00:00Z",
    }


class Detector(Protocol):
    name: str

    def check(self, doc: Doc) -> Verdict: ...


class Ours:
    """The stage handler; keeps the changelog it wrote so a copy can be restored."""

    def __init__(self, name: str = "ours", **kwargs: Any) -> None:
        self.name = name
        self.kwargs = kwargs
        self.handler = DedupeHandler(**kwargs)
        self.doc_of: dict[str, str] = {}
        self.changelog: list[Out] = []

    def check(self, doc: Doc) -> Verdict:
        art = article_of(doc)
        outs = self.handler.handle(art)
        first = outs[0]
        self.changelog.extend(o for o in outs if o.topic == self.handler.state_topic)
        if first.topic == "news.duplicates" and first.value is not None:
            return self.doc_of.get(first.value["duplicate_of"]), first.value["kind"]
        self.doc_of.setdefault(art["id"], doc.id)
        return None, None

    def restored(self) -> Ours:
        """A fresh instance rebuilt only from this one's changelog (as after a restart)."""
        clone = Ours(self.name, **self.kwargs)
        for rec in self.changelog:
            clone.handler.restore(rec.key or b"", rec.value)
        clone.doc_of = dict(self.doc_of)
        clone.changelog = list(self.changelog)
        return clone


class DatasketchLSH:
    """Exact text hash, then datasketch MinHashLSH (defaults) for near duplicates."""

    name = "datasketch-default"

    def __init__(self) -> None:
        #: When set, checks do not index the checked document (evaluating copies).
        self.frozen = False
        self.lsh = MinHashLSH()
        self.minhashes: dict[str, MinHash] = {}
        self.by_hash: dict[str, str] = {}
        self.by_url: dict[str, tuple[str, str]] = {}

    def check(self, doc: Doc) -> Verdict:
        words = word_hashes(doc.text)
        th = text_hash(words)
        prev = self.by_url.get(doc.url)
        if prev is not None and prev[1] == th:
            return prev[0], "exact"
        if th in self.by_hash:
            return self.by_hash[th], "exact"
        m: MinHash | None = None
        if words.size >= MIN_NEAR_TOKENS:
            m = MinHash()
            m.update_batch([s.tobytes() for s in np.unique(shingle_hashes(words))])
            cands = self.lsh.query(m)
            if cands:
                best = max(cands, key=lambda c: m.jaccard(self.minhashes[c]) if m else 0.0)
                return best, "near"
        if self.frozen:
            return None, None
        self.by_hash[th] = doc.id
        self.by_url[doc.url] = (doc.id, th)
        if m is not None:
            self.minhashes[doc.id] = m
            self.lsh.insert(doc.id, m)
        return None, None
