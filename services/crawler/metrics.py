"""Crawler metrics (prefix ``newsingest_crawler_``) and the crawler's health endpoints.

Labels are bounded, never a URL: fetch kind, status class, feed id (the registry's ids).
Per-feed figures are read from the crawler's feed states at scrape time (a collector),
so they are always current and vanish when a feed moves to another instance.

:func:`observe_crawler` wraps a running :class:`~services.crawler.service.Crawler`: it
counts every fetch by status class, bytes and robots denials at the fetcher's boundary,
and serves ``/livez``, ``/readyz`` and ``/metrics`` like every other service (port
``NEWSINGEST_STAGE__HTTP_PORT``, or ``NEWSINGEST_CRAWLER_METRICS_PORT`` when set).
"""

from __future__ import annotations

import contextlib
import functools
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.crawler.errors import RobotsDenied
from services.errors import NewsIngestError
from services.runtime.health import BrokerWatch, HealthServer
from services.runtime.metrics import READY

if TYPE_CHECKING:
    from services.crawler.config import CrawlerSettings
    from services.crawler.service import Crawler
    from services.runtime.config import Settings

__all__ = [
    "ENTRY_LATENCY",
    "FEEDS",
    "FETCHES",
    "FETCH_BYTES",
    "FETCH_SECONDS",
    "PAGES",
    "POLLS",
    "REQUESTS",
    "ROBOTS_DENIALS",
    "labelled",
    "observe_crawler",
    "status_class",
]


@functools.lru_cache(maxsize=1024)
def labelled(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: the lookup (a lock, a tuple, a dict) ran
    several times per fetch and showed in bench/crawl's profile.  Label values are
    bounded (kinds, outcomes, status classes), so is this cache."""
    return metric.labels(*labels)


FETCHES = Counter(
    "newsingest_crawler_fetches_total",
    "Fetches by kind (feed, page) and outcome (HTTP status code, or the error class).",
    ["kind", "outcome"],
)
POLLS = Counter("newsingest_crawler_polls_total", "Feed polls by outcome.", ["outcome"])
PAGES = Counter("newsingest_crawler_pages_total", "Entries handled, by outcome.", ["outcome"])
FEEDS = Gauge("newsingest_crawler_feeds", "Feeds owned by this instance, by health.", ["health"])
ENTRY_LATENCY = Histogram(
    "newsingest_crawler_entry_seconds",
    "From a feed poll that found an entry to its page committed on news.raw.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
REQUESTS = Counter(
    "newsingest_crawler_requests_total",
    "HTTP requests by kind (feed, page, robots) and status class (2xx, 3xx, 4xx, 5xx; error: no response).",
    ["kind", "status_class"],
)
FETCH_BYTES = Counter(
    "newsingest_crawler_fetched_bytes_total", "Body bytes received (after content decoding), by kind.", ["kind"]
)
FETCH_SECONDS = Histogram(
    "newsingest_crawler_fetch_duration_seconds",
    "Time of one fetch, waiting for the host's politeness slot included, by kind.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
ROBOTS_DENIALS = Counter(
    "newsingest_crawler_robots_denials_total", "URLs not fetched because robots.txt disallows them or is unreachable."
)


def status_class(status: int | None) -> str:
    """``404`` -> ``4xx``; no status (timeout, refused, blocked) -> ``error``."""
    return f"{status // 100}xx" if isinstance(status, int) and 100 <= status < 600 else "error"


# ---------------------------------------------------------------- per-feed collector
_crawlers: weakref.WeakSet[Crawler] = weakref.WeakSet()


class _FeedCollector(Collector):
    """Per-feed health of every crawler running in this process, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        p = "newsingest_crawler_feed_"
        last_ok = GaugeMetricFamily(
            p + "last_success_timestamp_seconds", "Unix time of the last good poll.", labels=["feed"]
        )
        last_new = GaugeMetricFamily(
            p + "last_new_item_timestamp_seconds", "Unix time a poll last found a new entry.", labels=["feed"]
        )
        streak = GaugeMetricFamily(p + "error_streak", "Failed polls in a row.", labels=["feed"])
        interval = GaugeMetricFamily(p + "poll_interval_seconds", "Current adaptive poll interval.", labels=["feed"])
        usual = GaugeMetricFamily(
            p + "item_interval_seconds",
            "Usual time between new entries (from the observed items per day).",
            labels=["feed"],
        )
        enabled = GaugeMetricFamily(
            p + "enabled", "1 unless the feed was disabled (gone, too many errors).", labels=["feed"]
        )
        items = CounterMetricFamily(p + "items", "New entries found, over the feed's life.", labels=["feed"])
        for crawler in list(_crawlers):
            for fid, st in list(crawler.states.items()):
                if fid not in crawler.specs:
                    continue
                labels = [fid]
                if st.last_success_at:
                    last_ok.add_metric(labels, st.last_success_at)
                if st.last_new_at:
                    last_new.add_metric(labels, st.last_new_at)
                streak.add_metric(labels, st.error_streak)
                if st.interval_s:
                    interval.add_metric(labels, st.interval_s)
                if st.items_per_day:
                    usual.add_metric(labels, 86400.0 / st.items_per_day)
                enabled.add_metric(labels, 0 if st.disabled_reason else 1)
                items.add_metric(labels, st.items_total)
        yield from (last_ok, last_new, streak, interval, usual, enabled, items)


REGISTRY.register(_FeedCollector())


# ---------------------------------------------------------------- fetch boundary
def _instrument(fetcher: Any) -> None:
    """Count every fetch of ``fetcher`` (a PoliteFetcher, robots.txt fetches included)."""
    inner = fetcher.fetch
    if getattr(inner, "_newsingest_observed", False):
        return

    async def fetch(url: str, *, kind: str = "page", **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await inner(url, kind=kind, **kw)
        except RobotsDenied:
            ROBOTS_DENIALS.inc()
            raise
        except NewsIngestError as exc:
            labelled(REQUESTS, kind, status_class(getattr(exc, "status", None))).inc()
            labelled(FETCH_SECONDS, kind).observe(time.perf_counter() - started)
            raise
        labelled(REQUESTS, kind, status_class(result.status)).inc()
        labelled(FETCH_BYTES, kind).inc(len(result.body))
        labelled(FETCH_SECONDS, kind).observe(time.perf_counter() - started)
        return result

    fetch._newsingest_observed = True  # type: ignore[attr-defined]
    fetcher.fetch = fetch


def _ready(crawler: Crawler, broker: BrokerWatch | None = None) -> tuple[bool, str]:
    task = crawler.outbox.task
    if crawler.poller is None or task is None:
        return False, "starting"
    if task.done():
        return False, "committer stopped"
    if broker is not None and not (state := broker.state())[0]:
        return state
    return True, f"{len(crawler.specs)} feeds owned"


@contextlib.asynccontextmanager
async def observe_crawler(settings: Settings, cfg: CrawlerSettings, crawler: Crawler) -> AsyncIterator[HealthServer]:
    """Metrics and ``/livez`` ``/readyz`` ``/metrics`` for a started crawler, until the block ends."""
    _instrument(crawler.fetcher)
    _crawlers.add(crawler)
    port = cfg.metrics_port if cfg.metrics_port is not None else settings.stage.http_port
    broker = BrokerWatch(
        crawler.broker_round_trip, interval_s=settings.stage.broker_check_s, timeout_s=settings.kafka.request_timeout_s
    )
    health = HealthServer(settings.stage.http_host, port, lambda: _ready(crawler, broker))
    await health.start()
    broker.start()
    READY.labels("crawler").set_function(lambda: 1.0 if _ready(crawler, broker)[0] else 0.0)
    try:
        yield health
    finally:
        READY.labels("crawler").set_function(lambda: 0.0)
        _crawlers.discard(crawler)
        await broker.close()
        await health.close()
