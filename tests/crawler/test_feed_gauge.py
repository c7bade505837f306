"""The feeds-by-health gauge: refreshed at most once per interval after polls, never left stale."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from services.crawler.registry import FeedSpec
from services.crawler.service import Crawler
from services.crawler.state import FeedState
from services.runtime.config import Settings
from tests.crawler.conftest import crawler_cfg


def failing() -> float | None:
    return REGISTRY.get_sample_value("newsingest_crawler_feeds", {"health": "failing"})


async def test_a_throttled_refresh_still_lands() -> None:
    crawler = Crawler(Settings(), crawler_cfg())  # never started: no broker, no HTTP needed
    crawler.specs["a"] = FeedSpec(id="a", url="http://a.test/feed.xml")
    crawler.states["a"] = FeedState(feed_id="a", url="http://a.test/feed.xml")
    crawler._update_gauge(every_s=0.2)
    assert failing() == 0
    crawler.states["a"].error_streak = 1
    crawler._update_gauge(every_s=0.2)  # inside the interval: not counted now...
    assert failing() == 0
    for _ in range(50):  # ...but by a trailing refresh
        if failing() == 1:
            break
        await asyncio.sleep(0.05)
    assert failing() == 1
