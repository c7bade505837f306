"""The crawler service: owns feeds, schedules their polls, and shares them out via Kafka.

Two ways to run (:func:`run_crawler`):

- *static*: poll the feeds given by the caller (the end-to-end test, the demo);
- *registry*: join the consumer group on ``news.feeds``; each instance polls the feeds
  of the registry partitions assigned to it.  On revocation it stops those feeds' polls
  and commits their state *before* the rebalance completes, so two instances never poll
  one feed at once and the next owner resumes from the committed state.

Per-feed state lives on ``news.crawler.state`` under the same key as the registry
record, so with equal partition counts the state of registry partition *p* is state
partition *p* and an instance restores only what it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from services.crawler.config import CrawlerSettings
from services.crawler.http import HttpClient
from services.crawler.metrics import FEEDS, observe_crawler
from services.crawler.outbox import Outbox
from services.crawler.politeness import PoliteFetcher
from services.crawler.poller import FeedPoller
from services.crawler.registry import REGISTRY_TOPIC, STATE_TOPIC, FeedSpec, partition_counts, read_table
from services.crawler.state import FeedState, schedule_failure
from services.crawler.websub import WebSubServer, subscribe
from services.errors import NewsIngestError, RejectedInput
from services.runtime.config import Settings
from services.runtime.kafka import (
    broker_round_trip,
    decode_json,
    ensure_topics,
    make_consumer,
    make_producer,
    topic_name,
)

__all__ = ["Crawler", "FeedSpec", "run_crawler"]

log = logging.getLogger(__name__)

_TOPICS = (REGISTRY_TOPIC, STATE_TOPIC, "news.raw", "news.deadletter")


class Crawler:
    """Feed polling tasks over one HTTP client, one transactional producer, one outbox.

    An async context manager; :meth:`close` cancels the polls, commits what they
    produced and closes the clients (idempotent).
    """

    def __init__(self, settings: Settings, cfg: CrawlerSettings) -> None:
        self.settings = settings
        self.cfg = cfg
        self.specs: dict[str, FeedSpec] = {}
        self.states: dict[str, FeedState] = {}
        self.partition_of: dict[str, int] = {}
        # Registry partitions whose feed states are restored: records of other partitions
        # (fetched while a rebalance is in progress) are ignored and read again later.
        self.ready_partitions: set[int] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._http = HttpClient(cfg)
        kafka = settings.kafka
        if cfg.compression is not None:
            kafka = kafka.model_copy(update={"compression": cfg.compression})
        self._producer = make_producer(
            kafka,
            transactional_id=f"{cfg.group_id}.{cfg.instance_id}",
            linger_ms=5,
            # Pages are ~20-100 KB: with the default 16 KB batches every page is a batch of
            # its own, which cut committed throughput by 4x in bench/crawl.
            max_batch_size=1 << 20,
        )
        self.outbox = Outbox(self._producer, settings.kafka, cfg.commit_interval_s, compacted=frozenset({STATE_TOPIC}))
        self.fetcher = PoliteFetcher(self._http, cfg)
        self._executor: Executor | None = None
        self.poller: FeedPoller | None = None
        self._state = "new"
        self._pokes: dict[str, asyncio.Event] = {}
        self.websub: WebSubServer | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._gauge_at = 0.0
        self._gauge_later: asyncio.TimerHandle | None = None

    async def broker_round_trip(self) -> None:
        """Ask the broker for metadata over the crawler's producer (readiness)."""
        await broker_round_trip(self._producer)

    async def __aenter__(self) -> Crawler:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Create topics if missing, start the producer, HTTP client and committer."""
        if self._state != "new":
            raise RuntimeError(f"crawler is {self._state}")
        timeout = self.settings.kafka.request_timeout_s * 2
        await ensure_topics(self.settings.kafka, _TOPICS)
        await asyncio.wait_for(self._producer.start(), timeout)
        self._state = "running"
        await self._http.start()
        if self.cfg.parse_workers > 0:
            self._executor = ProcessPoolExecutor(
                self.cfg.parse_workers, mp_context=multiprocessing.get_context("spawn")
            )
        self.poller = FeedPoller(self.cfg, self.fetcher, self.outbox, self._executor)
        self.outbox.start()
        if self.cfg.websub_callback_url:
            self.websub = WebSubServer(self.cfg, self.poke)
            await self.websub.start()

    async def close(self) -> None:
        """Stop every poll, commit pending output, close clients.  Safe to call twice."""
        if self._state in ("closed", "new"):
            self._state = "closed"
            return
        self._state = "closed"
        try:
            if self.websub is not None:
                await self.websub.close()
            for task in list(self._side_tasks):
                task.cancel()
            await asyncio.gather(*self._side_tasks, return_exceptions=True)
            await self.drop(list(self._tasks))
            await self.outbox.close()
        finally:
            if self._gauge_later is not None:
                self._gauge_later.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), self.settings.kafka.request_timeout_s)
            await self._http.close()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)

    # -- ownership -------------------------------------------------------------------

    async def restore(self, partitions: list[int] | None = None, feed_ids: Iterable[str] | None = None) -> int:
        """Load feed states from the state topic (some partitions, or all); returns how many."""
        table = await read_table(self.settings.kafka, STATE_TOPIC, partitions)
        wanted = set(feed_ids) if feed_ids is not None else None
        n = 0
        for key, value in table.items():
            if value is None or (wanted is not None and key not in wanted):
                continue
            try:
                self.states[key] = FeedState.from_dict(value)
            except TypeError:
                continue
            n += 1
        if self.poller is not None:
            self.poller.seed_recent([k for st in self.states.values() for k in st.seen])
        return n

    def upsert(self, spec: FeedSpec, partition: int | None = None) -> None:
        """Own (or re-configure) a feed; a disabled spec stops its polls."""
        self.specs[spec.id] = spec
        if partition is not None:
            self.partition_of[spec.id] = partition
        st = self.states.get(spec.id)
        if st is None:
            st = self.states[spec.id] = FeedState(feed_id=spec.id, url=spec.url, spec_url=spec.url)
        elif (st.spec_url or st.url) != spec.url:
            # The operator changed the URL: poll the new one from scratch, but keep the seen
            # entries so articles already published are not published again.
            st.url = st.spec_url = spec.url
            st.etag = st.last_modified = st.body_hash = None
            st.next_poll_at = 0.0
        if st.disabled_reason and spec.revision != st.disabled_revision:
            # The operator registered the feed again after the crawler disabled it.
            st.disabled_reason = None
            st.error_streak = st.gone_streak = 0
            st.next_poll_at = 0.0
        if not spec.enabled:
            self._cancel(spec.id)
            return
        if spec.id not in self._tasks or self._tasks[spec.id].done():
            self._tasks[spec.id] = asyncio.create_task(self._feed_loop(spec.id), name=f"feed-{spec.id}")
        self._update_gauge()

    def _cancel(self, feed_id: str) -> asyncio.Task[None] | None:
        task = self._tasks.pop(feed_id, None)
        if task is not None:
            task.cancel()
        return task

    async def drop(self, feed_ids: Iterable[str]) -> None:
        """Stop polling these feeds, wait for their tasks, and commit what they produced."""
        tasks = [t for fid in list(feed_ids) if (t := self._cancel(fid)) is not None]
        for fid in list(feed_ids):
            self.specs.pop(fid, None)
            self.partition_of.pop(fid, None)
            self.states.pop(fid, None)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.outbox.flush()
        self._update_gauge()

    def _update_gauge(self, *, every_s: float = 0.0) -> None:
        # After each poll (every_s > 0) the count is refreshed at most that often: it walks
        # every owned feed, which per poll cost 0.5 ms with 200 feeds in bench/crawl.
        now = time.monotonic()
        if every_s and now - self._gauge_at < every_s:
            if self._gauge_later is None:  # a trailing refresh: the last change is not lost
                self._gauge_later = asyncio.get_running_loop().call_later(every_s, self._update_gauge)
            return
        if self._gauge_later is not None:
            self._gauge_later.cancel()
            self._gauge_later = None
        self._gauge_at = now
        ok = failing = disabled = 0
        for fid in self.specs:
            st = self.states.get(fid)
            if st is None:
                continue
            if st.disabled_reason:
                disabled += 1
            elif st.error_streak:
                failing += 1
            else:
                ok += 1
        FEEDS.labels("ok").set(ok)
        FEEDS.labels("failing").set(failing)
        FEEDS.labels("disabled").set(disabled)

    # -- polling ---------------------------------------------------------------------

    async def _feed_loop(self, feed_id: str) -> None:
        assert self.poller is not None
        committed: asyncio.Future[None] | None = None  # the previous poll's output
        while True:
            spec, st = self.specs[feed_id], self.states[feed_id]
            if st.disabled_reason:
                log.warning("feed disabled", extra={"feed_id": feed_id, "reason": st.disabled_reason})
                self._update_gauge()
                return
            delay = st.next_poll_at - time.time()
            poke = self._pokes.setdefault(feed_id, asyncio.Event())
            if delay > 0 and not poke.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poke.wait(), delay)  # a WebSub push ends the wait early
            poke.clear()
            try:
                if committed is not None:
                    # At most one poll's output of a feed waits for Kafka (back-pressure);
                    # the wait overlapped the sleep above, so it rarely delays this poll.
                    await committed
                    committed = None
                committed = await self.poller.start(spec, st)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not stop the other feeds, nor this one for good
                if not self.outbox.task or self.outbox.task.done():
                    raise
                log.exception("feed poll failed", extra={"feed_id": feed_id})
                schedule_failure(st, f"internal error: {type(exc).__name__}: {exc}", self.cfg)
            self._maybe_subscribe(feed_id, st)
            self._update_gauge(every_s=1.0)

    def poke(self, feed_id: str) -> None:
        """Poll this feed now (a WebSub push arrived)."""
        if feed_id in self._tasks:
            self._pokes.setdefault(feed_id, asyncio.Event()).set()

    def _maybe_subscribe(self, feed_id: str, st: FeedState) -> None:
        if self.websub is None or not st.hub or not st.topic:
            return
        if not self.websub.needs_subscription(feed_id, st.hub, st.topic):
            return
        task = asyncio.create_task(self._subscribe(feed_id, st.hub, st.topic))
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _subscribe(self, feed_id: str, hub: str, topic: str) -> None:
        assert self.websub is not None
        try:
            status = await subscribe(self._http, self.websub, feed_id, hub, topic)
        except NewsIngestError as exc:
            log.warning("websub subscription failed", extra={"feed_id": feed_id, "reason": exc.reason})
            return
        if status not in (202, 204):
            log.warning("websub hub refused", extra={"feed_id": feed_id, "status": status})

    async def wait(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; raise if the committer failed."""
        stopper = asyncio.create_task(stop.wait())
        try:
            assert self.outbox.task is not None
            done, _ = await asyncio.wait({stopper, self.outbox.task}, return_when=asyncio.FIRST_COMPLETED)
            if self.outbox.task in done:
                self.outbox.task.result()
        finally:
            stopper.cancel()

    async def run_static(self, feeds: list[FeedSpec], stop: asyncio.Event) -> None:
        """Poll the given feeds (state restored from the state topic) until ``stop``."""
        await self.restore(feed_ids=[f.id for f in feeds])
        for spec in feeds:
            self.upsert(spec)
        await self.wait(stop)

    async def run_registry(self, stop: asyncio.Event) -> None:
        """Be a member of the crawler group on the registry until ``stop``."""
        kafka = self.settings.kafka
        consumer = make_consumer(
            kafka, group_id=self.cfg.group_id, session_timeout_ms=int(self.cfg.session_timeout_s * 1000)
        )
        listener = _Rebalance(self, consumer)
        consumer.subscribe([topic_name(kafka, REGISTRY_TOPIC)], listener=listener)
        await asyncio.wait_for(consumer.start(), kafka.request_timeout_s * 2)
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                fetch = asyncio.create_task(consumer.getmany(timeout_ms=500))
                assert self.outbox.task is not None
                done, _ = await asyncio.wait({fetch, stopper, self.outbox.task}, return_when=asyncio.FIRST_COMPLETED)
                if self.outbox.task in done:
                    fetch.cancel()
                    self.outbox.task.result()
                if fetch not in done:
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await fetch
                    break
                for tp, records in fetch.result().items():
                    for rec in records:
                        self._apply_registry(tp.partition, rec.key, rec.value)
        finally:
            stopper.cancel()
            # Stop polls and commit their state before leaving the group, so the next owner
            # starts from it.
            await self.drop(list(self._tasks))
            await asyncio.wait_for(consumer.stop(), kafka.request_timeout_s * 2)

    def _apply_registry(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if partition not in self.ready_partitions:
            return
        feed_id = key.decode("utf-8", "replace")
        if value is None:
            self._cancel(feed_id)
            self.specs.pop(feed_id, None)
            return
        try:
            spec = FeedSpec.from_dict(decode_json(value))
        except RejectedInput as exc:
            log.warning("bad registry record", extra={"feed_id": feed_id, "reason": exc.reason})
            return
        self.upsert(spec, partition)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands feeds over between instances at rebalance time."""

    def __init__(self, crawler: Crawler, consumer: AIOKafkaConsumer) -> None:
        self.crawler = crawler
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        parts = {tp.partition for tp in revoked}
        self.crawler.ready_partitions -= parts
        feeds = [fid for fid, p in self.crawler.partition_of.items() if p in parts]
        await self.crawler.drop(feeds)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if not assigned:
            return
        parts = sorted(tp.partition for tp in assigned)
        counts = await partition_counts(self.crawler.settings.kafka, REGISTRY_TOPIC, STATE_TOPIC)
        # Co-partitioned (same key, same count): restore only the assigned partitions.
        same = counts[REGISTRY_TOPIC] == counts[STATE_TOPIC]
        await self.crawler.restore(parts if same else None)
        self.crawler.ready_partitions.update(parts)
        # The registry is compacted and never committed: read it whole on every assignment
        # (this also re-reads records that arrived before the restore and were ignored).
        await self.consumer.seek_to_beginning(*assigned)


async def run_crawler(
    settings: Settings,
    crawler_settings: CrawlerSettings,
    *,
    feeds: list[FeedSpec] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Crawl until ``stop`` is set: the given ``feeds``, or (``None``) the registry's share.

    Fetched pages go to ``news.raw``; entries that can never be fetched to
    ``news.deadletter``; feed state to ``news.crawler.state``, all in transactions, so a
    restart neither republishes nor misses an entry.  Returns after committing.
    """
    stop = stop or asyncio.Event()
    async with (
        Crawler(settings, crawler_settings) as crawler,
        observe_crawler(settings, crawler_settings, crawler),
    ):
        if feeds is not None:
            await crawler.run_static(feeds, stop)
        else:
            await crawler.run_registry(stop)
