"""run_crawler end to end: local feed server -> real broker, restarts, dedupe, shutdown."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import jsonschema
import pytest

from services.crawler.registry import FeedSpec, read_table
from services.crawler.service import run_crawler
from services.runtime.config import Settings
from services.urls import article_id
from tests.crawler.conftest import Site, crawler_cfg, read_topic, rss, values

pytestmark = pytest.mark.kafka

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "raw_page.schema.json").read_text())
PAGE = "<html><head><title>t</title></head><body><p>\u0633\u0648\u0631\u064a\u0627 {n}</p></body></html>"


def serve_pages(site: Site, n: int, start: int = 0) -> list[tuple[str, str]]:
    items = []
    for i in range(start, start + n):
        site.static(f"/a/{i}", PAGE.format(n=i).encode("windows-1256", "replace"), "text/html; charset=windows-1256")
        items.append((f"guid-{i}", site.url(f"/a/{i}")))
    return items


async def crawl_until(settings: Settings, cfg, feeds, want: int, *, topic: str = "news.raw", timeout_s: float = 20):
    stop = asyncio.Event()
    task = asyncio.create_task(run_crawler(settings, cfg, feeds=feeds, stop=stop))
    try:
        records = await read_topic(settings.kafka, topic, want=want, timeout_s=timeout_s)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    return records


async def test_publishes_each_entry_once_across_restarts(site: Site, settings: Settings) -> None:
    items = serve_pages(site, 5)
    site.static("/feed.xml", rss(items), "application/rss+xml")
    spec = FeedSpec(id="f1", url=site.url("/feed.xml"), language="ar")
    cfg = crawler_cfg()

    first = values(await crawl_until(settings, cfg, [spec], want=5))
    assert sorted(v["entry"]["id"] for v in first) == [f"guid-{i}" for i in range(5)]
    for v in first:
        jsonschema.validate(v, SCHEMA)
        assert v["id"] == article_id(v["url"])
        assert v["charset"] == "windows-1256"
        assert v["language_hint"] == "ar"
        assert v["feed"] == {"id": "f1", "url": spec.url}
        n = int(v["url"].rsplit("/", 1)[1])
        assert base64.b64decode(v["body_b64"]) == PAGE.format(n=n).encode("windows-1256", "replace")

    # Restart with two more entries (and the same link under a tracking parameter):
    # exactly the two new pages appear, nothing is republished.
    items2 = items + serve_pages(site, 2, start=5) + [("dup", site.url("/a/0?utm_source=rss#x"))]
    site.static("/feed.xml", rss(items2), "application/rss+xml")
    everything = values(await crawl_until(settings, crawler_cfg(instance_id=cfg.instance_id), [spec], want=7))
    await asyncio.sleep(0.5)
    everything = values(await read_topic(settings.kafka, "news.raw", want=8, timeout_s=2))
    assert len(everything) == 7
    assert sorted(v["entry"]["id"] for v in everything) == [f"guid-{i}" for i in range(7)]
    assert site.hits["/a/0"] == 1

    state = (await read_table(settings.kafka, "news.crawler.state"))["f1"]
    assert state is not None
    assert state["error_streak"] == 0
    assert state["items_total"] == 7  # counted across the restart
    assert state["last_success_at"] is not None


async def test_stop_returns_promptly_mid_poll(site: Site, settings: Settings) -> None:
    """A stop while page fetches hang returns cleanly and commits nothing half-done."""
    hang = asyncio.Event()

    async def slow(_request):
        await hang.wait()
        raise AssertionError("unreachable")

    site.add("/slow", slow)
    site.static("/feed.xml", rss([("s", site.url("/slow"))]), "application/rss+xml")
    stop = asyncio.Event()
    cfg = crawler_cfg(read_timeout_s=30, total_timeout_s=30)
    task = asyncio.create_task(run_crawler(settings, cfg, feeds=[FeedSpec("f2", site.url("/feed.xml"))], stop=stop))
    for _ in range(100):
        if site.hits.get("/slow"):
            break
        await asyncio.sleep(0.05)
    assert site.hits.get("/slow") == 1
    stop.set()
    await asyncio.wait_for(task, 10)
    hang.set()
    assert await read_topic(settings.kafka, "news.raw", want=1, timeout_s=1) == []
