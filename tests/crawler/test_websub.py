"""WebSub push beside polling: subscribe, verify, signed push -> immediate poll."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import aiohttp
import pytest
from aiohttp import web

from services.crawler.registry import FeedSpec
from services.crawler.service import run_crawler
from services.runtime.broker import free_port
from services.runtime.config import Settings
from tests.crawler.conftest import Site, crawler_cfg, read_topic, values

pytestmark = pytest.mark.kafka


def feed_doc(site: Site, n: int) -> str:
    items = "".join(
        f"<entry><id>urn:{i}</id><title>t{i}</title><link href='{site.url(f'/p/{i}')}'/>"
        f"<updated>2026-11-26T00:00:0{i}Z</updated></entry>"
        for i in range(n)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>w</title>"
        f"<id>urn:feed</id><updated>2026-11-26T00:00:00Z</updated><link rel='hub' href='{site.url('/hub')}'/>"
        f"<link rel='self' href='{site.url('/feed.xml')}'/>{items}</feed>"
    )


async def test_signed_push_triggers_a_poll(site: Site, settings: Settings) -> None:
    for i in range(3):
        site.static(f"/p/{i}", f"<html>{i}</html>")
    site.static("/feed.xml", feed_doc(site, 1), "application/atom+xml")
    subscription: dict[str, str] = {}
    verified = asyncio.Event()

    async def hub(request: web.Request) -> web.Response:
        form = await request.post()
        subscription.update({k: str(v) for k, v in form.items()})

        async def verify() -> None:
            params = {
                "hub.mode": "subscribe",
                "hub.topic": subscription["hub.topic"],
                "hub.challenge": "c-123",
                "hub.lease_seconds": "3600",
            }
            async with aiohttp.ClientSession() as s, s.get(subscription["hub.callback"], params=params) as r:
                if r.status == 200 and await r.text() == "c-123":
                    verified.set()

        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(verify()))
        return web.Response(status=202)

    site.add("/hub", hub)
    port = free_port()
    cfg = crawler_cfg(
        poll_min_interval_s=60,
        poll_max_interval_s=120,
        websub_callback_url=f"http://127.0.0.1:{port}",
        websub_port=port,
        websub_secret="k",
        websub_min_gap_s=0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_crawler(settings, cfg, feeds=[FeedSpec("w", site.url("/feed.xml"))], stop=stop))
    try:
        assert len(await read_topic(settings.kafka, "news.raw", want=1)) == 1
        await asyncio.wait_for(verified.wait(), 10)
        assert subscription["hub.topic"] == site.url("/feed.xml")
        assert subscription["hub.callback"].endswith("/w")
        polls = site.hits["/feed.xml"]

        async def push(body: bytes, signature: str) -> int:
            async with (
                aiohttp.ClientSession() as s,
                s.post(subscription["hub.callback"], data=body, headers={"X-Hub-Signature": signature}) as r,
            ):
                return r.status

        body = feed_doc(site, 3).encode()
        site.static("/feed.xml", body, "application/atom+xml")
        assert await push(body, "sha256=" + "0" * 64) == 202  # forged: acknowledged, ignored
        await asyncio.sleep(0.5)
        assert site.hits["/feed.xml"] == polls
        good = "sha256=" + hmac.new(subscription["hub.secret"].encode(), body, hashlib.sha256).hexdigest()
        assert await push(body, good) == 202
        raw = values(await read_topic(settings.kafka, "news.raw", want=3, timeout_s=15))
        assert sorted(v["entry"]["id"] for v in raw) == ["urn:0", "urn:1", "urn:2"]
        assert site.hits["/feed.xml"] == polls + 1  # one poll, pushed, long before the 60 s interval
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
