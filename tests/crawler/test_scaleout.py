"""Scale-out: two crawler processes in one group share the registry's feeds.

Each process polls only the feeds of its registry partitions; when the second joins,
feeds move; when it leaves (SIGTERM), they come back.  No feed is polled by both at
once, and every entry reaches news.raw exactly once through the handovers.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from services.crawler.registry import FeedSpec, add_feed, list_feeds, remove_feed
from services.runtime.config import Settings
from tests.crawler.conftest import Site, read_topic, rss, values

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
N_FEEDS = 9


def spawn(settings: Settings, name: str, group: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "NEWSINGEST_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "NEWSINGEST_KAFKA__PARTITIONS": str(settings.kafka.partitions),
        "NEWSINGEST_CRAWLER_INSTANCE_ID": name,
        "NEWSINGEST_CRAWLER_GROUP_ID": group,
        "NEWSINGEST_CRAWLER_USER_AGENT": f"crawler-{name} (+http://example.test/contact)",
        "NEWSINGEST_CRAWLER_ALLOW_NETWORKS": '["127.0.0.0/8"]',
        "NEWSINGEST_CRAWLER_PER_HOST_MIN_DELAY_S": "0",
        "NEWSINGEST_CRAWLER_PER_HOST_CONCURRENCY": "16",
        "NEWSINGEST_CRAWLER_POLL_MIN_INTERVAL_S": "0.2",
        "NEWSINGEST_CRAWLER_POLL_MAX_INTERVAL_S": "0.3",
        "NEWSINGEST_CRAWLER_PARSE_WORKERS": "0",
        "NEWSINGEST_CRAWLER_SESSION_TIMEOUT_S": "3",
        "NEWSINGEST_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.crawler"], cwd=REPO, env=env)


async def wait_for(cond, timeout_s: float = 40.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_two_processes_share_feeds_without_overlap(site: Site, settings: Settings) -> None:
    # (feed, instance, start, end) of every feed request the server saw
    polls: list[tuple[int, str, float, float]] = []

    def feed_handler(i: int):
        async def handler(request: web.Request) -> web.Response:
            start = time.monotonic()
            await asyncio.sleep(0.03)  # wide enough that two concurrent polls would overlap
            who = request.headers.get("User-Agent", "?").split()[0].removeprefix("crawler-")
            polls.append((i, who, start, time.monotonic()))
            doc = rss([(f"e{i}", site.url(f"/p/{i}"))])
            return web.Response(text=doc, content_type="application/rss+xml")

        return handler

    for i in range(N_FEEDS):
        site.add(f"/feeds/{i}.xml", feed_handler(i))
        site.static(f"/p/{i}", f"<html><body>page {i}</body></html>")
    for i in range(N_FEEDS):
        await add_feed(settings, FeedSpec(id=f"feed-{i}", url=site.url(f"/feeds/{i}.xml"), language="en"))
    group = f"g-{settings.kafka.topic_prefix}"

    def pollers_since(t: float) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for i, who, start, _ in polls:
            if start >= t:
                out.setdefault(who, set()).add(i)
        return out

    a = spawn(settings, "A", group)
    b: subprocess.Popen[bytes] | None = None
    try:
        await wait_for(lambda: pollers_since(0).get("A", set()) == set(range(N_FEEDS)))
        b = spawn(settings, "B", group)
        await wait_for(lambda: "B" in pollers_since(0))
        await asyncio.sleep(1.0)  # let the rebalance settle
        t = time.monotonic()
        await asyncio.sleep(1.5)
        split = pollers_since(t)
        assert split.get("A"), split
        assert split.get("B"), split
        assert not (split["A"] & split["B"]), f"a feed polled by both: {split}"
        assert split["A"] | split["B"] == set(range(N_FEEDS))

        # B leaves: A takes every feed back.
        b.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(b.wait, 30) == 0
        t = time.monotonic()
        await wait_for(lambda: pollers_since(t).get("A", set()) == set(range(N_FEEDS)))
        assert "B" not in pollers_since(t)

        # A registry tombstone stops the polls of that feed.
        await remove_feed(settings, "feed-0")
        await asyncio.sleep(1.0)
        t = time.monotonic()
        await asyncio.sleep(1.0)
        assert 0 not in pollers_since(t).get("A", set())
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(a.wait, 30) == 0

    # Same feed never polled by two instances at overlapping times.
    for i in range(N_FEEDS):
        mine = sorted((s, e, who) for j, who, s, e in polls if j == i)
        for (_s1, e1, w1), (s2, _e2, w2) in itertools.pairwise(mine):
            assert not (w1 != w2 and s2 < e1), f"feed {i}: {w1} and {w2} overlapped"

    # Every entry on news.raw exactly once, through the handovers.
    raw = values(await read_topic(settings.kafka, "news.raw", want=N_FEEDS + 1, timeout_s=3))
    assert sorted(v["entry"]["id"] for v in raw) == sorted(f"e{i}" for i in range(N_FEEDS))
    assert all(site.hits[f"/p/{i}"] == 1 for i in range(N_FEEDS))

    # Health is visible to ops through list_feeds.
    listed = {s.spec.id: s for s in await list_feeds(settings)}
    assert "feed-0" not in listed
    assert set(listed) == {f"feed-{i}" for i in range(1, N_FEEDS)}
    assert all(s.last_success_at is not None and s.error_streak == 0 for s in listed.values())
    assert all(s.state is not None and s.state.items_total == 1 for s in listed.values())


async def test_killed_process_restarts_without_republishing(site: Site, settings: Settings) -> None:
    """SIGKILL mid-poll, then a restart under the same instance id: the open transaction is
    aborted (fenced), the committed state is resumed, every entry lands exactly once."""
    n_pages = 30

    async def slow_page(request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)
        return web.Response(text=f"<html>{request.path}</html>", content_type="text/html")

    for i in range(n_pages):
        site.add(f"/slow/{i}", slow_page)
    site.static("/feed.xml", rss([(f"k{i}", site.url(f"/slow/{i}")) for i in range(n_pages)]), "application/rss+xml")
    await add_feed(settings, FeedSpec(id="kill-me", url=site.url("/feed.xml")))
    group = f"g-{settings.kafka.topic_prefix}"
    first = spawn(settings, "K", group)
    try:
        await wait_for(lambda: sum(site.hits.get(f"/slow/{i}", 0) for i in range(n_pages)) >= 10)
        first.kill()
        assert await asyncio.to_thread(first.wait, 30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    second = spawn(settings, "K", group)
    try:
        raw = values(await read_topic(settings.kafka, "news.raw", want=n_pages, timeout_s=60))
        await asyncio.sleep(1.0)
        raw = values(await read_topic(settings.kafka, "news.raw", want=n_pages + 1, timeout_s=2))
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0
    ids = sorted(v["entry"]["id"] for v in raw)
    assert ids == sorted(f"k{i}" for i in range(n_pages))  # each exactly once
