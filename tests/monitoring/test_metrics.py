"""What each metric counts, checked on the functions that feed it (no broker needed).

Samples are read from prometheus_client's registry before and after, so other tests in
the same process do not disturb the figures.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY, generate_latest

from services.crawler import metrics as crawler_metrics
from services.crawler.errors import FetchTimeout, HttpStatusError, RobotsDenied
from services.crawler.registry import FeedSpec
from services.crawler.state import FeedState
from services.runtime import metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Change of one sample across a block."""

    def __init__(self, name: str, **labels: str) -> None:
        self.name, self.labels = name, labels
        self.before = sample(name, **labels)

    @property
    def value(self) -> float:
        return sample(self.name, **self.labels) - self.before


def _clean(source: str, text: str, published: str | None) -> tuple[str, bytes, bytes]:
    doc = {"id": "a", "url": f"https://{source}/x", "source": source, "text": text, "published": published}
    return ("news.clean", b"a", orjson.dumps(doc))


def test_clean_outputs_feed_extraction_quality_per_source() -> None:
    text = Delta("newsingest_extract_pages_total", source="daily.example", result="text")
    undated = Delta("newsingest_extract_undated_total", source="daily.example")
    chars = Delta("newsingest_extract_text_chars_sum", source="daily.example")
    empty = Delta("newsingest_extract_pages_total", source="daily.example", result="empty_text")
    failed = Delta("newsingest_extract_pages_total", source="daily.example", result="failed")
    metrics.observe_outputs("clean", [_clean("daily.example", "x" * 1200, None)])
    metrics.observe_outputs("clean", [_clean("daily.example", "y" * 300, "2026-11-26")])
    raw = orjson.dumps({"url": "https://www.Daily.example/gallery", "body_b64": ""})
    for error_class, result in (("EmptyText", empty), ("NotAnArticle", failed)):
        dead = {"error_class": error_class, "original_b64": base64.b64encode(raw).decode()}
        metrics.observe_outputs("clean", [("news.deadletter", b"a", orjson.dumps(dead))])
        assert result.value == 1
    assert text.value == 2
    assert undated.value == 1
    assert chars.value == 1500


def test_dedupe_and_tag_outputs() -> None:
    unique = Delta("newsingest_dedupe_decisions_total", decision="unique", basis="none")
    revision = Delta("newsingest_dedupe_decisions_total", decision="revision", basis="none")
    dup = Delta("newsingest_dedupe_decisions_total", decision="duplicate", basis="minhash")
    metrics.observe_outputs(
        "dedupe",
        [
            ("news.unique", b"a", orjson.dumps({"revision": 0})),
            ("news.dedupe.state", b"a", b"{}"),
            ("news.unique", b"b", orjson.dumps({"revision": 2})),
            ("news.duplicates", b"c", orjson.dumps({"kind": "near", "basis": "minhash"})),
        ],
    )
    assert (unique.value, revision.value, dup.value) == (1, 1, 1)
    grade2 = Delta("newsingest_tag_articles_total", grade="2")
    grade0 = Delta("newsingest_tag_articles_total", grade="0")
    article = {"tags": {"syria": {"grade": 2}}}
    metrics.observe_outputs(
        "tag",
        [
            ("news.articles", b"a", orjson.dumps(article)),
            ("news.syria", b"a", orjson.dumps(article)),  # counted once, on news.articles
            ("news.articles", b"b", orjson.dumps({"tags": {"syria": {"grade": 0}}})),
        ],
    )
    assert (grade2.value, grade0.value) == (1, 1)


def test_latency_and_last_output() -> None:
    count = Delta("newsingest_end_to_end_latency_seconds_count", topic="news.syria")
    total = Delta("newsingest_end_to_end_latency_seconds_sum", topic="news.syria")
    now = time.time()
    fetched = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 42))
    metrics.observe_latency("tag", "news.syria", orjson.dumps({"fetched_at": fetched, "id": "a"}), now)
    metrics.observe_latency("tag", "news.syria", b'{"id": "no fetched_at"}', now)
    assert count.value == 1
    assert total.value == pytest.approx(42, abs=1)
    assert sample("newsingest_stage_last_output_timestamp_seconds", stage="tag", topic="news.syria") == now


def test_lag_series_go_away_with_the_partition() -> None:
    metrics.set_lag("clean", "news.raw", 4, 17)
    assert sample("newsingest_consumer_lag_records", stage="clean", topic="news.raw", partition="4") == 17
    metrics.forget_partitions("clean", [("news.raw", 4), ("news.raw", 5)])
    assert (
        REGISTRY.get_sample_value(
            "newsingest_consumer_lag_records", {"stage": "clean", "topic": "news.raw", "partition": "4"}
        )
        is None
    )


def test_status_class() -> None:
    assert [crawler_metrics.status_class(s) for s in (200, 304, 404, 503, None, 999)] == [
        "2xx",
        "3xx",
        "4xx",
        "5xx",
        "error",
        "error",
    ]


class _Result:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body


class _Fetcher:
    async def fetch(self, url: str, *, kind: str = "page", **_: Any) -> _Result:
        if "robots-denied" in url:
            raise RobotsDenied("disallowed")
        if "missing" in url:
            raise HttpStatusError("404", status=404)
        if "slow" in url:
            raise FetchTimeout("timeout")
        return _Result(200, b"x" * 1000)


async def test_fetches_counted_at_the_fetcher_boundary() -> None:
    fetcher = _Fetcher()
    crawler_metrics._instrument(fetcher)
    crawler_metrics._instrument(fetcher)  # idempotent: counted once
    ok = Delta("newsingest_crawler_requests_total", kind="page", status_class="2xx")
    nf = Delta("newsingest_crawler_requests_total", kind="page", status_class="4xx")
    err = Delta("newsingest_crawler_requests_total", kind="feed", status_class="error")
    size = Delta("newsingest_crawler_fetched_bytes_total", kind="page")
    denied = Delta("newsingest_crawler_robots_denials_total")
    await fetcher.fetch("https://a.example/ok")
    for url, kind, exc in (
        ("https://a.example/robots-denied", "page", RobotsDenied),
        ("https://a.example/missing", "page", HttpStatusError),
        ("https://a.example/slow", "feed", FetchTimeout),
    ):
        with pytest.raises(exc):
            await fetcher.fetch(url, kind=kind)
    assert (ok.value, nf.value, err.value, size.value, denied.value) == (1, 1, 1, 1000, 1)


class _Crawler:
    """What the feed collector reads of a crawler."""

    def __init__(self) -> None:
        now = time.time()
        self.specs = {
            "gazette": FeedSpec(id="gazette", url="https://g.example/rss"),
            "gone": FeedSpec(id="gone", url="u"),
        }
        self.states = {
            "gazette": FeedState(
                feed_id="gazette",
                url="u",
                last_success_at=now,
                last_new_at=now - 60,
                items_per_day=48.0,
                items_total=9,
                interval_s=300,
            ),
            "gone": FeedState(feed_id="gone", url="u", error_streak=7, disabled_reason="HTTP 410"),
            "not-owned": FeedState(feed_id="not-owned", url="u"),
        }


def test_feed_collector_reads_feed_states() -> None:
    crawler = _Crawler()
    crawler_metrics._crawlers.add(crawler)  # type: ignore[arg-type]
    try:
        text = generate_latest(REGISTRY).decode()
        assert sample("newsingest_crawler_feed_item_interval_seconds", feed="gazette") == 1800
        assert sample("newsingest_crawler_feed_items_total", feed="gazette") == 9
        assert sample("newsingest_crawler_feed_error_streak", feed="gone") == 7
        assert sample("newsingest_crawler_feed_enabled", feed="gone") == 0
        assert sample("newsingest_crawler_feed_enabled", feed="gazette") == 1
        assert 'feed="not-owned"' not in text  # only feeds this instance owns
        assert not [ln for ln in text.splitlines() if "https://" in ln and not ln.startswith("#")]  # never a URL label
    finally:
        crawler_metrics._crawlers.discard(crawler)  # type: ignore[arg-type]
    assert 'feed="gazette"' not in generate_latest(REGISTRY).decode()
