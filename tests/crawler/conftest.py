"""Fixtures of the crawler tests: a real local HTTP server and crawler settings.

The server is aiohttp.web on 127.0.0.1 (never a live site); its routes are set per test
through :class:`Site`.  Crawler settings allow 127.0.0.0/8 through the SSRF guard (the
guard test builds its own settings without that).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.crawler.config import CrawlerSettings
from services.runtime.config import KafkaSettings, Settings
from services.runtime.kafka import decode_json, make_consumer, topic_name
from tests.support.site import Site, serve_site

__all__ = ["Site", "crawler_cfg", "read_topic", "rss", "serve_site", "values"]


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serve_site() as s:
        yield s


def crawler_cfg(**kw: Any) -> CrawlerSettings:
    """Fast, loopback-allowed settings for tests."""
    base: dict[str, Any] = {
        "instance_id": f"test-{uuid.uuid4().hex[:8]}",
        "group_id": f"crawler-{uuid.uuid4().hex[:8]}",
        "allow_networks": ("127.0.0.0/8",),
        "per_host_min_delay_s": 0.0,
        "per_host_concurrency": 4,
        "poll_min_interval_s": 0.2,
        "poll_max_interval_s": 0.5,
        "backoff_base_s": 0.2,
        "backoff_max_s": 1.0,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": 4.0,
        "commit_interval_s": 0.05,
        "parse_workers": 0,
    }
    base.update(kw)
    return CrawlerSettings(**base)


@pytest.fixture
def settings(kafka_settings: KafkaSettings) -> Settings:
    return Settings(kafka=kafka_settings)


async def read_topic(kafka: KafkaSettings, logical: str, *, want: int, timeout_s: float = 20.0) -> list[Any]:
    """Committed records of a topic from the start, until ``want`` arrived (or the timeout)."""
    consumer = make_consumer(kafka, logical, group_id=None)
    await consumer.start()
    out: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(out) < want and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                out.extend(records)
    finally:
        await asyncio.wait_for(consumer.stop(), 10)
    return out


def values(records: list[Any]) -> list[dict[str, Any]]:
    return [decode_json(r.value) for r in records if r.value is not None]


def rss(items: list[tuple[str, str]], *, hub: str | None = None) -> str:
    """An RSS 2.0 document of (guid, link) items."""
    hub_link = f'<atom:link rel="hub" href="{hub}"/>' if hub else ""
    body = "".join(
        f"<item><title>Item {guid}</title><guid isPermaLink='false'>{guid}</guid><link>{link}</link>"
        f"<pubDate>Thu, 26 Nov 2026 00:0{i % 10}:00 GMT</pubDate><description>about {guid}</description></item>"
        for i, (guid, link) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Test feed</title>{hub_link}{body}</channel></rss>"
    )


__all__ = ["Site", "crawler_cfg", "read_topic", "rss", "topic_name", "values"]
