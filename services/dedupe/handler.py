"""The dedupe stage handler: CleanArticle in, UniqueArticle or Duplicate out.

Decision order for one article (``id`` is the hash of its canonical URL):

1. id already indexed (same canonical URL)
   - same normalized text                      -> duplicate, kind ``exact``, basis ``url``
   - estimated Jaccard >= ``same_url_threshold`` -> duplicate, kind ``near`` (a re-fetch
     whose page changed only in noise)
   - otherwise                                 -> revision: ``news.unique`` with revision+1
2. normalized text hash seen under another id  -> duplicate, kind ``exact``, basis ``text``
3. MinHash LSH finds an article with estimated Jaccard >= ``near_threshold``, or one
   whose estimated overlap covers ``containment_threshold`` of the shorter text (a
   copy cut short or padded with another outlet's boilerplate; :meth:`is_near`)
                                                -> duplicate, kind ``near``, basis ``minhash``
4. otherwise                                    -> new article, revision 0

Every index change is returned as a changelog record on ``news.dedupe.state`` so the
runtime writes it in the same transaction as the outputs; :meth:`DedupeHandler.restore`
replays those records.  Retention runs on event time: the clock is the newest
``fetched_at`` seen (or an injected clock), so replays and tests are deterministic.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from services.dedupe.errors import InvalidArticle
from services.dedupe.fingerprint import Fingerprint, fingerprint, similarity
from services.dedupe.index import DedupeIndex, Entry, Match, index_keys
from services.dedupe.state import decode_entry, encode_entry, hash64, state_key
from services.errors import RejectedInput
from services.runtime.handler import Out
from services.urls import canonical_url

__all__ = [
    "CONTAINMENT_FLOOR",
    "CONTAINMENT_THRESHOLD",
    "MIN_LENGTH_RATIO",
    "NEAR_THRESHOLD",
    "RETENTION_S",
    "SAME_URL_THRESHOLD",
    "DedupeHandler",
    "dedupe_records",
    "fingerprint_article",
]

#: Estimated Jaccard of 3-word shingles at or above which two texts are one story.
#: Chosen on data (``python -m bench.dedupe.run`` prints the sweep): on synthetic
#: republished copies precision stays >= 0.998 down to 0.5 while recall keeps rising,
#: and natural SaudiNewsNet pairs between 0.5 and 0.6 are the same press release
#: rewritten by two outlets; below ~0.45 pairs are mostly a short item contained in a
#: longer roundup (a different article).
NEAR_THRESHOLD = 0.5
#: Estimated share of the shorter text's shingles found in the other text at or above
#: which two texts are one story even below ``NEAR_THRESHOLD`` (set above 1 to disable).
#: Chosen on the bench's containment sweep: synthetic copies P 0.9996 R 0.761 without
#: it, P 0.9973 R 0.890 at 0.6 (0.9964 / 0.930 at 0.5); no flag at any value on 400
#: same-day cross-outlet stories of one event; the remaining false matches are copies
#: into which the edit script pasted most of a short unrelated article.
CONTAINMENT_THRESHOLD = 0.6
#: ... provided the shorter text has at least this share of the longer one's shingles.
MIN_LENGTH_RATIO = 0.5
#: ... and their estimated Jaccard is at least this (below it the estimate is mostly noise).
CONTAINMENT_FLOOR = 0.25
#: Same URL, text this similar: a re-fetch with noise (counters, related links), not an update.
SAME_URL_THRESHOLD = 0.95
RETENTION_S = 30 * 86400.0
#: Sweep for expired entries at most this often (event time), not on every message.
_SWEEP_EVERY_S = 3600.0

UNIQUE_TOPIC = "news.unique"
DUPLICATES_TOPIC = "news.duplicates"
STATE_TOPIC = "news.dedupe.state"


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _validate(value: dict[str, Any]) -> None:
    article_id, text = value.get("id"), value.get("text")
    if not isinstance(article_id, str) or not article_id:
        raise InvalidArticle("dedupe: article has no string 'id'")
    if not isinstance(text, str):
        raise InvalidArticle(f"dedupe: article {article_id} has no string 'text'")


def fingerprint_article(value: dict[str, Any]) -> Fingerprint:
    """The fingerprint :meth:`DedupeHandler.handle` would compute (module-level: picklable).

    Raises :class:`InvalidArticle` for the inputs ``handle`` rejects.
    """
    _validate(value)
    title = value.get("title")
    return fingerprint(value["text"], title if isinstance(title, str) else None)


class DedupeHandler:
    """Stateful dedupe handler (implements ``services.runtime.handler.StatefulHandler``).

    ``clock`` returns epoch seconds; when given it drives retention and ``detected_at``.
    Without it retention uses event time (the newest ``fetched_at`` seen), which keeps
    decisions reproducible on replay, and ``detected_at`` comes from ``wall_clock``.

    >>> h = DedupeHandler()
    >>> art = {"id": "a" * 32, "url": "https://x.sa/1", "title": "t", "text": "كلمة " * 30,
    ...        "fetched_at": "2025-01-01T00:00:00Z"}
    >>> [o.topic for o in h.handle(art)]
    ['news.unique', 'news.dedupe.state']
    >>> h.handle(dict(art))[0].value["basis"]
    'url'
    """

    stage = "dedupe"
    state_topic = STATE_TOPIC

    def __init__(
        self,
        *,
        near_threshold: float = NEAR_THRESHOLD,
        containment_threshold: float = CONTAINMENT_THRESHOLD,
        min_length_ratio: float = MIN_LENGTH_RATIO,
        containment_floor: float = CONTAINMENT_FLOOR,
        same_url_threshold: float = SAME_URL_THRESHOLD,
        retention_s: float = RETENTION_S,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        fingerprinter: Callable[[str, str | None], Fingerprint] = fingerprint,
    ) -> None:
        self.near_threshold = near_threshold
        self.containment_threshold = containment_threshold
        self.min_length_ratio = min_length_ratio
        self.containment_floor = containment_floor
        self.same_url_threshold = same_url_threshold
        self.retention_s = retention_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._fingerprint = fingerprinter
        self.index = DedupeIndex()
        self._watermark = 0.0
        self._next_sweep = 0.0

    # -- time ----------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else self._watermark

    def _observe(self, ts: float | None) -> None:
        if ts is not None and ts > self._watermark:
            self._watermark = ts

    def _sweep(self) -> list[Out]:
        now = self._now()
        if now < self._next_sweep or now <= 0:
            return []
        self._next_sweep = now + _SWEEP_EVERY_S
        outs = []
        for article_id in self.index.expired(now - self.retention_s):
            self.index.remove(article_id)
            outs.append(Out(STATE_TOPIC, state_key(article_id), None))
        return outs

    # -- handle --------------------------------------------------------------------------

    def handle(self, value: dict[str, Any]) -> Sequence[Out]:
        """Classify one CleanArticle; return its output record and changelog records."""
        _validate(value)
        title = value.get("title")
        return self.handle_fingerprinted(
            value, self._fingerprint(value["text"], title if isinstance(title, str) else None)
        )

    #: The stateless half for the runtime's prepare pool (``offload="prepare"``).
    prepare = staticmethod(fingerprint_article)

    def handle_prepared(self, value: dict[str, Any], prepared: Any) -> list[Out]:
        """:meth:`handle_fingerprinted` under the runtime's :class:`PreparingHandler` name."""
        if not isinstance(prepared, Fingerprint):
            raise TypeError(f"expected a Fingerprint, got {type(prepared).__name__}")
        return self.handle_fingerprinted(value, prepared)

    def handle_fingerprinted(self, value: dict[str, Any], fp: Fingerprint) -> list[Out]:
        """:meth:`handle` with the fingerprint already computed by :func:`fingerprint_article`.

        Fingerprinting is most of the CPU cost and needs no state, so a runtime can run
        :func:`fingerprint_article` for a batch in a process pool and then call this in
        order; the decisions are the same as :meth:`handle`.
        """
        _validate(value)
        fetched = _epoch(value.get("fetched_at"))
        self._observe(fetched)
        seen_at = fetched if fetched is not None else self._now()
        outs = self._classify(value, value["id"], fp, seen_at)
        outs.extend(self._sweep())
        return outs

    def _classify(self, value: dict[str, Any], article_id: str, fp: Fingerprint, seen_at: float) -> list[Out]:
        h64 = hash64(fp.text_hash)
        prev = self.index.get(article_id)
        if prev is not None:
            if prev.hash64 == h64:
                return [self._duplicate(value, Match(article_id, prev.url, 1.0), "exact", "url")]
            sim = similarity(prev.signature, fp.signature)
            if sim >= self.same_url_threshold:
                return [self._duplicate(value, Match(article_id, prev.url, sim), "near", "minhash")]
            return self._accept(value, article_id=article_id, fp=fp, seen_at=seen_at, revision=prev.revision + 1)
        keys = index_keys(fp.signature, h64)
        found = self.index.lookup(h64, fp.signature, keys)
        if found.exact is not None:
            return [self._duplicate(value, found.exact, "exact", "text")]
        if found.slots.size:
            near = self.index.best(found, self.is_near(found.jaccard, fp.shingles, found.shingles))
            if near is not None:
                containment = _containment(near.similarity, fp.shingles, self.index.shingles_of(near.id))
                return [self._duplicate(value, near, "near", "minhash", containment)]
        return self._accept(value, article_id=article_id, fp=fp, seen_at=seen_at, revision=0, keys=keys)

    def is_near(
        self, jaccard: npt.NDArray[np.float64], shingles: int, other: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """Which candidates (estimated Jaccard, distinct shingle counts) are the same story.

        Jaccard >= ``near_threshold``; or, when both shingle counts are known, the
        estimated overlap ``J (|A| + |B|) / (1 + J)`` covers ``containment_threshold`` of
        the shorter text, the shorter has at least ``min_length_ratio`` of the longer's
        shingles, and Jaccard is at least ``containment_floor``.  The second rule is what
        catches a copy padded with another outlet's boilerplate or cut short; the length
        ratio keeps a short item quoted inside a long roundup from counting.
        """
        ok = jaccard >= self.near_threshold
        # The best candidate is the most similar accepted one: if that passes on Jaccard
        # alone the second rule cannot change the answer, and below the floor it never applies.
        top = float(jaccard.max(initial=0.0))
        if top >= self.near_threshold or top < self.containment_floor:
            return ok
        if shingles <= 0 or self.containment_threshold > 1.0:
            return ok
        small = np.minimum(other, shingles)
        large = np.maximum(other, shingles)
        overlap = jaccard * (other + shingles) / (1.0 + jaccard)
        ok |= (
            (other > 0)
            & (overlap >= self.containment_threshold * small)
            & (small >= self.min_length_ratio * large)
            & (jaccard >= self.containment_floor)
        )
        return ok

    def _accept(
        self,
        value: dict[str, Any],
        *,
        article_id: str,
        fp: Fingerprint,
        seen_at: float,
        revision: int,
        keys: npt.NDArray[np.uint32] | None = None,
    ) -> list[Out]:
        # The page's declared canonical URL, else the fetched one, in the crawler's one
        # canonical form (a declared canonical may still carry tracking parameters).
        # Only indexed articles need it: a duplicate's record names the original's URL.
        raw = value.get("canonical_url") or value.get("url")
        url = canonical_url(raw, readable=True) if isinstance(raw, str) and raw else None
        entry = Entry(article_id, url, hash64(fp.text_hash), revision, seen_at, fp.signature, fp.shingles)
        self.index.put(entry, keys)
        unique = {**value, "revision": revision, "text_hash": fp.text_hash}
        return [
            Out(UNIQUE_TOPIC, article_id.encode("utf-8"), unique),
            Out(STATE_TOPIC, state_key(article_id), encode_entry(entry, fp.text_hash)),
        ]

    def _duplicate(
        self, value: dict[str, Any], match: Match, kind: str, basis: str, containment: float | None = None
    ) -> Out:
        detected = _iso(self._clock() if self._clock is not None else self._wall_clock())
        record = {
            "schema_version": 1,
            "id": value["id"],
            "url": value.get("url") or "",
            "source": value.get("source"),
            "title": value.get("title"),
            "duplicate_of": match.id,
            "duplicate_of_url": match.url,
            "kind": kind,
            "basis": basis,
            "similarity": round(match.similarity, 4),
            "containment": None if containment is None else round(containment, 4),
            "detected_at": detected,
        }
        return Out(DUPLICATES_TOPIC, str(value["id"]).encode("utf-8"), record)

    # -- restore -------------------------------------------------------------------------

    def restore(self, key: bytes, value: dict[str, Any] | None) -> None:
        """Apply one changelog record; idempotent and tolerant of order across partitions.

        - a record with a lower revision than the indexed one is stale and ignored;
        - a record already past retention is not loaded;
        - a tombstone removes the entry only if that entry is itself past retention, so a
          tombstone replayed after the same id was indexed again cannot erase it.
        """
        if value is None:
            if not key.startswith(b"u:"):
                return
            article_id = key[2:].decode("utf-8")
            entry = self.index.get(article_id)
            if entry is not None and entry.seen_at < self._now() - self.retention_s:
                self.index.remove(article_id)
            return
        entry = decode_entry(key, value)
        if entry is None:
            return
        self._observe(entry.seen_at)
        if entry.seen_at < self._now() - self.retention_s:
            return
        prev = self.index.get(entry.id)
        if prev is not None and (
            prev.revision > entry.revision
            or (
                prev.revision == entry.revision
                and prev.hash64 == entry.hash64
                # a version-1 record (no signature) read before its version-2 rewrite
                and (prev.signature.size > 0 or entry.signature.size == 0)
            )
        ):
            return
        self.index.put(entry)


def _containment(jaccard: float, a: int, b: int) -> float | None:
    """Estimated share of the shorter text's shingles found in the other, from Jaccard and sizes.

    |A ∩ B| = J (|A| + |B|) / (1 + J).  Duplicate records carry it because a copy padded
    with another outlet's text or cut short is matched on it while its Jaccard stays low.
    """
    if a <= 0 or b <= 0:
        return None
    return min(1.0, jaccard * (a + b) / (1.0 + jaccard) / min(a, b))


def _record_id(url: str | None, fallback: str) -> str:
    return hashlib.blake2b((url or fallback).encode("utf-8"), digest_size=16).hexdigest()


def dedupe_records(records: Iterable[dict[str, Any]], handler: DedupeHandler | None = None) -> Iterator[dict[str, Any]]:
    """Offline dedupe for the CLI: one verdict per input record, in input order.

    Input ``{"id", "url", "title", "text"}`` (ids are the caller's); output
    ``{"id", "duplicate_of": <caller id> | None, "kind": "exact" | "near" | None}``.
    A changed text under an already-seen URL is a revision, reported as not a duplicate.
    A record that cannot be processed (no text) gets an extra ``"error"`` reason.
    """
    handler = handler or DedupeHandler(clock=lambda: 0.0)
    caller_ids: dict[str, str] = {}
    for rec in records:
        caller_id = str(rec.get("id", ""))
        url = rec.get("url")
        canonical = canonical_url(url, readable=True) if isinstance(url, str) and url else None
        internal = _record_id(canonical, caller_id)
        article = {
            "id": internal,
            "url": url or "",
            "canonical_url": canonical,
            "title": rec.get("title"),
            "text": rec.get("text"),
        }
        try:
            outs = handler.handle(article)
        except RejectedInput as exc:
            reason = exc.reason.replace(internal, caller_id)
            yield {"id": caller_id, "duplicate_of": None, "kind": None, "error": reason}
            continue
        first = outs[0]
        if first.topic == DUPLICATES_TOPIC and first.value is not None:
            dup_of = caller_ids.get(first.value["duplicate_of"], first.value["duplicate_of"])
            yield {"id": caller_id, "duplicate_of": dup_of, "kind": first.value["kind"]}
        else:
            caller_ids.setdefault(internal, caller_id)
            yield {"id": caller_id, "duplicate_of": None, "kind": None}
