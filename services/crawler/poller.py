"""One poll of one feed: fetch the document, find new entries, fetch their pages.

:class:`FeedPoller` turns a feed's :class:`FeedState` and the network into records for
the :class:`Outbox`: RawPage messages for ``news.raw``, dead letters for entries that can
never be fetched, and the updated state.  Records are emitted in groups (pages plus the
state that marks them seen), so a poll cut short by cancellation or a crash loses only
uncommitted work, which the next owner redoes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

import orjson

from services.crawler.config import CrawlerSettings
from services.crawler.errors import FeedParseError, HttpStatusError, ServerBusy
from services.crawler.feeds import Entry, ParsedFeed, parse_document
from services.crawler.http import FetchResult
from services.crawler.metrics import ENTRY_LATENCY, FETCHES, PAGES, POLLS, labelled
from services.crawler.outbox import Outbox, Record
from services.crawler.politeness import PoliteFetcher
from services.crawler.registry import STATE_TOPIC, FeedSpec
from services.crawler.state import FeedState, bounds, schedule_failure, schedule_success
from services.errors import NewsIngestError
from services.urls import article_id, canonical_url, short_hash

__all__ = ["CRAWLER_VERSION", "FeedPoller", "entry_key"]

log = logging.getLogger(__name__)

CRAWLER_VERSION = "newsingest-crawler/0.1"
_CHUNK = 25  # pages per committed group within one poll
_CHUNK_S = 1.0  # ... or fewer, once the oldest waited this long (slow hosts, overload)
_PAGE_PARALLEL = 16  # page fetches in flight per poll (hosts still limit themselves)
_RECENT_MAX = 100_000  # ~15 MB: a day of a large crawler instance


def entry_key(entry: Entry) -> str | None:
    """The seen-set key: short hash of the canonical link (so two feeds linking one
    article agree), else of the entry id; ``None`` if the entry has neither."""
    if entry.link:
        return article_id(entry.link)[:16]
    if entry.id:
        return short_hash(entry.id)
    return None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def raw_page(spec: FeedSpec, st: FeedState, entry: Entry, res: FetchResult) -> dict[str, Any]:
    """The news.raw message of one fetched page (see schemas/raw_page.schema.json)."""
    link = entry.link or res.url
    return {
        "schema_version": 1,
        "id": article_id(link),
        "url": link,
        "canonical_url": canonical_url(link),
        "final_url": res.final_url,
        "status": res.status,
        "headers": res.headers,
        "charset": res.charset,
        "content_type": res.content_type,
        "fetched_at": res.fetched_at,
        "body_b64": base64.b64encode(res.body).decode("ascii"),
        "truncated": False,
        "language_hint": spec.language,
        "feed": {"id": spec.id, "url": st.url},
        "entry": entry.as_dict(),
        "crawler_version": CRAWLER_VERSION,
    }


def dead_letter(spec: FeedSpec, entry: Entry, exc: NewsIngestError) -> dict[str, Any]:
    """A news.deadletter message for an entry whose page can never be fetched."""
    original = {"feed_id": spec.id, "entry": entry.as_dict()}
    return {
        "schema_version": 1,
        "stage": "crawler",
        "error_class": type(exc).__name__,
        "reason": exc.reason[:1000],
        "source": {"topic": "news.feeds", "partition": -1, "offset": -1, "key_b64": _b64(spec.id.encode())},
        "original_b64": _b64(orjson.dumps(original)),
        "original_headers": {},
        "item_id": article_id(entry.link) if entry.link else None,
        "failed_at": _now_iso(),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class FeedPoller:
    """Polls feeds through a :class:`PoliteFetcher` and emits to an :class:`Outbox`."""

    def __init__(
        self,
        cfg: CrawlerSettings,
        fetcher: PoliteFetcher,
        outbox: Outbox,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.fetcher = fetcher
        self.outbox = outbox
        self.executor = executor
        self.clock = clock
        # Pages this instance published recently, by entry key: a second feed linking the
        # same article does not fetch it again.
        self.recent: OrderedDict[str, None] = OrderedDict()
        self._inflight: set[str] = set()

    def seed_recent(self, keys: list[str]) -> None:
        """Remember keys restored from feed states (bounded)."""
        for k in keys:
            self.recent[k] = None
        while len(self.recent) > _RECENT_MAX:
            self.recent.popitem(last=False)

    def _state_record(self, st: FeedState) -> Record:
        return Record(STATE_TOPIC, st.feed_id, st.to_dict())

    async def _parse(self, res: FetchResult) -> ParsedFeed:
        if self.executor is None:
            return parse_document(res.body, res.final_url, res.headers.get("content-type"))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, parse_document, res.body, res.final_url, res.headers.get("content-type")
        )

    def _fail(self, spec: FeedSpec, st: FeedState, exc: NewsIngestError) -> None:
        status = getattr(exc, "status", None)
        gone = isinstance(exc, HttpStatusError) and exc.gone
        retry_after = exc.retry_after_s if isinstance(exc, ServerBusy) else None
        schedule_failure(
            st,
            f"{type(exc).__name__}: {exc.reason}",
            self.cfg,
            status=status,
            gone=gone,
            retry_after_s=retry_after,
            now=self.clock(),
        )
        if st.disabled_reason:
            st.disabled_revision = spec.revision
        labelled(POLLS, "error").inc()

    async def poll(self, spec: FeedSpec, st: FeedState) -> None:
        """Poll once and wait until everything it produced is committed."""
        await (await self.start(spec, st))

    async def start(self, spec: FeedSpec, st: FeedState) -> asyncio.Future[None]:
        """Poll once; return the future of the commit of what it produced.

        The feed loop awaits that future only before the feed's next poll, so the commit
        overlaps the wait between polls instead of adding to it, while a feed still has
        at most one poll's output waiting for Kafka (back-pressure).
        """
        lo, hi = bounds(self.cfg, spec.min_interval_s, spec.max_interval_s)
        return await self._poll(spec, st, lo, hi)

    async def _poll(self, spec: FeedSpec, st: FeedState, lo: float, hi: float) -> asyncio.Future[None]:
        # Intervals count from the poll's start: a poll that spends a while fetching pages
        # must not push the next one back by that long (entries would fall off the feed).
        started = self.clock()
        probe = self.cfg.probe_every > 0 and st.polls % self.cfg.probe_every == self.cfg.probe_every - 1
        sent = {} if probe else st.conditional_headers()
        try:
            res = await self.fetcher.fetch(st.url, kind="feed", headers=sent)
        except NewsIngestError as exc:
            labelled(FETCHES, "feed", type(exc).__name__).inc()
            self._fail(spec, st, exc)
            return self._put([], st)
        labelled(FETCHES, "feed", str(res.status)).inc()
        st.last_status = res.status
        if res.not_modified:
            schedule_success(st, 0, self.cfg, lo, hi, now=started)
            labelled(POLLS, "not_modified").inc()
            return self._put([], st)

        body_hash = short_hash(res.body)
        etag, modified = res.headers.get("etag"), res.headers.get("last-modified")
        if st.body_hash is not None and (etag or modified):
            same_validators = (etag or None) == st.etag and (modified or None) == st.last_modified
            if same_validators and body_hash != st.body_hash:
                st.validators_unreliable = True  # same validators, new content: never trust them again
            elif not same_validators and body_hash == st.body_hash:
                st.validator_churn += 1  # new validators, same content: the hash saves the parse
        if body_hash == st.body_hash:
            st.etag, st.last_modified = etag, modified
            schedule_success(st, 0, self.cfg, lo, hi, now=started)
            labelled(POLLS, "unchanged").inc()
            return self._put([], st)

        try:
            parsed = await self._parse(res)
            if parsed.kind == "sitemapindex":
                parsed = await self._expand_index(parsed)
        except FeedParseError as exc:
            self._fail(spec, st, exc)
            return self._put([], st)
        if parsed.kind == "html":
            # Autodiscovery: the registered URL is a page that names its feed; poll that now.
            st.url = parsed.alternates[0]
            st.etag = st.last_modified = st.body_hash = None
            st.next_poll_at = self.clock()
            labelled(POLLS, "discovered").inc()
            return self._put([], st)
        st.hub = parsed.hub
        st.topic = parsed.self_url or st.url
        st.kind = parsed.kind

        complete, published, group, found_at = await self._fetch_entries(spec, st, parsed.entries)
        # Validators and body hash are kept only when every entry is settled; otherwise a
        # 304 or an equal hash would hide the entries still to retry.
        if complete:
            st.etag, st.last_modified, st.body_hash = etag, modified, body_hash
        else:
            st.etag = st.last_modified = st.body_hash = None
        schedule_success(st, published, self.cfg, lo, hi, now=started)
        if parsed.warning:
            st.last_error = f"ill-formed feed (used anyway): {parsed.warning}"
        labelled(POLLS, "ok").inc()
        return self._put(group, st, found_at)

    async def _expand_index(self, index: ParsedFeed) -> ParsedFeed:
        out = ParsedFeed(kind="sitemap")
        for child in index.children[: self.cfg.max_sitemap_children]:
            try:
                res = await self.fetcher.fetch(child, kind="feed")
                parsed = await self._parse(res)
            except NewsIngestError as exc:
                labelled(FETCHES, "feed", type(exc).__name__).inc()
                continue
            out.entries.extend(parsed.entries)
        if not out.entries and index.children:
            raise FeedParseError("no child sitemap of the index could be used")
        return out

    async def _fetch_entries(
        self, spec: FeedSpec, st: FeedState, entries: list[Entry]
    ) -> tuple[bool, int, list[Record], float]:
        """Fetch every unseen entry's page, emitting full groups as they fill.

        Returns whether every entry is settled, how many pages were published, the last
        (not yet emitted) group, and when the entries were found.
        """
        published = 0
        # A sitemap may list far more URLs than seen_max: remember at least twice the
        # document, or its tail would be fetched again on every poll.
        cap = max(self.cfg.seen_max, min(2 * len(entries), 50_000))
        current = {k for e in entries if (k := entry_key(e)) is not None}
        st.attempts = {k: n for k, n in st.attempts.items() if k in current}
        seen = set(st.seen)
        todo: list[tuple[str, Entry]] = []
        settled: list[str] = []
        for e in entries:
            key = entry_key(e)
            if key is None or key in seen:
                continue
            seen.add(key)
            if not e.link:
                settled.append(key)  # nothing to fetch: remember it so it is not counted again
                labelled(PAGES, "no_link").inc()
            elif key in self.recent or key in self._inflight:
                settled.append(key)  # another feed on this instance has it
                labelled(PAGES, "duplicate").inc()
            else:
                todo.append((key, e))
        complete = len(todo) <= self.cfg.max_entries_per_poll
        todo = todo[: self.cfg.max_entries_per_poll]
        found_at = group_since = time.monotonic()
        sem = asyncio.Semaphore(_PAGE_PARALLEL)
        group: list[Record] = []
        group_keys: list[str] = list(settled)
        pending_retry = False

        async def one(key: str, e: Entry) -> tuple[str, Entry, FetchResult | NewsIngestError]:
            async with sem:
                try:
                    return key, e, await self.fetcher.fetch(e.link or "", kind="page")
                except NewsIngestError as exc:
                    return key, e, exc

        for key, _ in todo:
            self._inflight.add(key)
        try:
            tasks = [asyncio.ensure_future(one(k, e)) for k, e in todo]
            try:
                for next_done in asyncio.as_completed(tasks):
                    key, e, outcome = await next_done
                    if isinstance(outcome, FetchResult):
                        labelled(FETCHES, "page", str(outcome.status)).inc()
                        group.append(Record("news.raw", article_id(e.link or ""), raw_page(spec, st, e, outcome)))
                        group_keys.append(key)
                        published += 1
                        labelled(PAGES, "published").inc()
                    else:
                        labelled(FETCHES, "page", type(outcome).__name__).inc()
                        attempts = st.attempts.get(key, 0) + 1
                        if outcome.retriable and attempts < self.cfg.entry_max_attempts:
                            st.attempts[key] = attempts
                            pending_retry = True
                            labelled(PAGES, "retry").inc()
                            continue
                        group.append(Record("news.deadletter", article_id(e.link or ""), dead_letter(spec, e, outcome)))
                        group_keys.append(key)
                        labelled(PAGES, "dead_letter").inc()
                    if len(group) >= _CHUNK or (group and time.monotonic() - group_since >= _CHUNK_S):
                        group_since = time.monotonic()
                        st.remember(group_keys, cap)
                        self._note_recent(group_keys)
                        self._put(group, st, found_at)
                        group, group_keys = [], []
            finally:
                for t in tasks:
                    t.cancel()
        finally:
            for key, _ in todo:
                self._inflight.discard(key)
        # The last group goes out with the final state (the caller's put).
        st.remember(group_keys, cap)
        self._note_recent(group_keys)
        return complete and not pending_retry, published, group, found_at

    def _note_recent(self, keys: list[str]) -> None:
        for k in keys:
            self.recent[k] = None
        while len(self.recent) > _RECENT_MAX:
            self.recent.popitem(last=False)

    def _put(self, group: list[Record], st: FeedState, found_at: float | None = None) -> asyncio.Future[None]:
        """Queue pages with a snapshot of the state that marks them seen."""
        fut = self.outbox.put([*group, self._state_record(st)])
        if group and found_at is not None:
            n = sum(1 for r in group if r.topic == "news.raw")

            def observe(f: asyncio.Future[None]) -> None:
                if not f.cancelled() and f.exception() is None:
                    elapsed = time.monotonic() - found_at
                    for _ in range(n):
                        ENTRY_LATENCY.observe(elapsed)

            fut.add_done_callback(observe)
        return fut
