"""One feed poll against a real local server: validators, health, robots, formats.

The outbox here is a list (no broker): these tests are about what a poll decides.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.crawler.config import CrawlerSettings
from services.crawler.http import HttpClient
from services.crawler.outbox import Record
from services.crawler.politeness import HostSlots, PoliteFetcher
from services.crawler.poller import FeedPoller
from services.crawler.registry import FeedSpec
from services.crawler.state import FeedState, schedule_failure, schedule_success
from tests.crawler.conftest import Site, crawler_cfg, rss


class ListOutbox:
    def __init__(self) -> None:
        self.groups: list[list[Record]] = []

    def put(self, records: list[Record]) -> asyncio.Future[None]:
        self.groups.append(records)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def records(self, topic: str) -> list[Record]:
        return [r for g in self.groups for r in g if r.topic == topic]


class Harness:
    def __init__(self, cfg: CrawlerSettings, http: HttpClient) -> None:
        self.outbox = ListOutbox()
        self.fetcher = PoliteFetcher(http, cfg)
        self.poller = FeedPoller(cfg, self.fetcher, self.outbox)  # type: ignore[arg-type]

    async def poll(self, spec: FeedSpec, st: FeedState, times: int = 1) -> FeedState:
        for _ in range(times):
            await self.poller.poll(spec, st)
        return st


async def make(cfg: CrawlerSettings) -> AsyncIterator[Harness]:
    async with HttpClient(cfg) as http:
        yield Harness(cfg, http)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async for x in make(crawler_cfg(probe_every=0)):
        yield x


def pages(site: Site, n: int) -> list[tuple[str, str]]:
    for i in range(n):
        site.static(f"/a/{i}", f"<html><body>{i}</body></html>")
    return [(f"g{i}", site.url(f"/a/{i}")) for i in range(n)]


def new_state(spec: FeedSpec) -> FeedState:
    return FeedState(feed_id=spec.id, url=spec.url)


async def test_conditional_get_and_seen_entries(site: Site, h: Harness) -> None:
    doc = rss(pages(site, 3)).encode()

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"e1"':
            return web.Response(status=304)
        return web.Response(body=doc, content_type="application/rss+xml", headers={"ETag": '"e1"'})

    site.add("/feed", feed)
    spec = FeedSpec("f", site.url("/feed"))
    st = await h.poll(spec, new_state(spec))
    assert len(h.outbox.records("news.raw")) == 3
    assert st.etag == '"e1"'
    await h.poll(spec, st)
    assert site.log[-1][1].get("If-None-Match") == '"e1"'
    assert st.last_status == 304
    assert len(h.outbox.records("news.raw")) == 3
    assert {site.hits[f"/a/{i}"] for i in range(3)} == {1}
    last_state = h.outbox.records("news.crawler.state")[-1].value
    assert last_state is not None
    assert len(last_state["seen"]) == 3


async def test_server_reusing_validators_for_new_content_is_detected(site: Site) -> None:
    """A server that answers 304 forever would hide new entries; the periodic
    unconditional probe sees the new body under the old ETag, and the feed falls back to
    the body hash for good."""
    items = pages(site, 4)
    current = {"doc": rss(items[:2]).encode()}

    async def liar(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match"):
            return web.Response(status=304)
        return web.Response(body=current["doc"], content_type="application/rss+xml", headers={"ETag": '"same"'})

    site.add("/feed", liar)
    async for h in make(crawler_cfg(probe_every=4)):
        spec = FeedSpec("f", site.url("/feed"))
        st = await h.poll(spec, new_state(spec))
        current["doc"] = rss(items).encode()
        await h.poll(spec, st, times=2)  # 304, 304 (the lie)
        assert len(h.outbox.records("news.raw")) == 2
        await h.poll(spec, st)  # the probe
        assert st.validators_unreliable
        assert len(h.outbox.records("news.raw")) == 4
        assert st.conditional_headers() == {}


async def test_validators_changing_for_same_content_uses_body_hash(site: Site, h: Harness) -> None:
    doc = rss(pages(site, 2)).encode()
    n = {"v": 0}

    async def churn(_: web.Request) -> web.Response:
        n["v"] += 1
        return web.Response(body=doc, content_type="application/rss+xml", headers={"ETag": f'"v{n["v"]}"'})

    site.add("/feed", churn)
    spec = FeedSpec("f", site.url("/feed"))
    st = await h.poll(spec, new_state(spec), times=3)
    assert st.validator_churn == 2
    assert st.last_error is None
    assert len(h.outbox.records("news.raw")) == 2


async def test_gone_feed_is_disabled_by_policy(site: Site, h: Harness) -> None:
    async def gone(_: web.Request) -> web.Response:
        return web.Response(status=410)

    site.add("/feed", gone)
    spec = FeedSpec("f", site.url("/feed"))
    st = new_state(spec)
    for _ in range(h.poller.cfg.gone_disable_after):
        assert st.disabled_reason is None
        await h.poll(spec, st)
    assert st.disabled_reason is not None
    assert "410" in st.disabled_reason
    assert st.error_streak == h.poller.cfg.gone_disable_after


async def test_500_storm_backs_off_then_recovers(site: Site) -> None:
    async for h in make(crawler_cfg(backoff_max_s=3600, probe_every=0)):
        await _storm(site, h)


async def _storm(site: Site, h: Harness) -> None:
    state = {"fail": True}
    doc = rss(pages(site, 1)).encode()

    async def storm(_: web.Request) -> web.Response:
        if state["fail"]:
            return web.Response(status=503, headers={"Retry-After": "30"})
        return web.Response(body=doc, content_type="application/rss+xml")

    site.add("/feed", storm)
    spec = FeedSpec("f", site.url("/feed"))
    st = await h.poll(spec, new_state(spec))
    assert st.error_streak == 1
    assert st.last_status == 503
    assert st.next_poll_at >= st.last_poll_at + 30 * (1 - h.poller.cfg.poll_jitter) - 1  # type: ignore[operator]
    assert h.fetcher.slots.blocked_for(f"http://127.0.0.1:{site.port}") > 0
    h.fetcher.slots._get(f"http://127.0.0.1:{site.port}").blocked_until = 0  # the test does not wait 30 s
    state["fail"] = False
    await h.poll(spec, st)
    assert st.error_streak == 0
    assert len(h.outbox.records("news.raw")) == 1


async def test_rejected_page_is_dead_lettered_and_transient_one_retried(site: Site, h: Harness) -> None:
    site.static("/ok", "<html>ok</html>")
    site.static("/img", b"\x89PNG\r\n\x1a\n....", "image/png")
    flaky = {"n": 0}

    async def flaky_page(_: web.Request) -> web.Response:
        flaky["n"] += 1
        if flaky["n"] == 1:
            return web.Response(status=503)
        return web.Response(text="<html>late</html>", content_type="text/html")

    site.add("/flaky", flaky_page)
    doc = rss([("ok", site.url("/ok")), ("img", site.url("/img")), ("flaky", site.url("/flaky"))]).encode()
    site.static("/feed", doc, "application/rss+xml", ETag='"x"')
    spec = FeedSpec("f", site.url("/feed"))
    st = await h.poll(spec, new_state(spec))
    dead = h.outbox.records("news.deadletter")
    assert len(dead) == 1
    assert dead[0].value is not None
    assert dead[0].value["error_class"] == "UnsupportedContent"
    assert dead[0].value["stage"] == "crawler"
    assert len(h.outbox.records("news.raw")) == 1
    assert st.etag is None  # an entry is pending: do not let a 304 hide it
    h.fetcher.slots._hosts.clear()
    await h.poll(spec, st)
    assert sorted(r.value["entry"]["id"] for r in h.outbox.records("news.raw")) == ["flaky", "ok"]  # type: ignore[index]
    assert st.etag == '"x"'


async def test_robots_txt_is_obeyed_and_cached(site: Site, h: Harness) -> None:
    site.static("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.static("/private/1", "<html>no</html>")
    site.static("/public/1", "<html>yes</html>")
    doc = rss([("a", site.url("/private/1")), ("b", site.url("/public/1"))]).encode()
    site.static("/feed", doc, "application/rss+xml")
    spec = FeedSpec("f", site.url("/feed"))
    await h.poll(spec, new_state(spec))
    assert "/private/1" not in site.hits
    assert site.hits["/public/1"] == 1
    assert site.hits["/robots.txt"] == 1
    dead = h.outbox.records("news.deadletter")
    assert [d.value["error_class"] for d in dead] == ["RobotsDenied"]  # type: ignore[index]


async def test_autodiscovery_then_sitemap_index(site: Site, h: Harness) -> None:
    site.static("/", '<html><head><link rel="alternate" type="application/rss+xml" href="/sm.xml"></head></html>')
    site.static(
        "/sm.xml",
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>/s1.xml</loc></sitemap><sitemap><loc>/s2.xml</loc></sitemap></sitemapindex>",
        "application/xml",
    )
    for n in (1, 2):
        site.static(f"/p{n}", "<html>p</html>")
        site.static(
            f"/s{n}.xml",
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/p{n}</loc></url></urlset>',
            "application/xml",
        )
    spec = FeedSpec("f", site.url("/"))
    st = await h.poll(spec, new_state(spec))
    assert st.url == site.url("/sm.xml")
    await h.poll(spec, st)
    assert sorted(r.value["url"] for r in h.outbox.records("news.raw")) == [site.url("/p1"), site.url("/p2")]  # type: ignore[index]


async def test_same_article_from_two_feeds_fetched_once(site: Site, h: Harness) -> None:
    site.static("/story", "<html>story</html>")
    site.static("/f1", rss([("x", site.url("/story?utm_source=f1"))]), "application/rss+xml")
    site.static("/f2", rss([("y", site.url("/story#top"))]), "application/rss+xml")
    for fid in ("f1", "f2"):
        spec = FeedSpec(fid, site.url(f"/{fid}"))
        await h.poll(spec, new_state(spec))
    assert site.hits["/story"] == 1
    assert len(h.outbox.records("news.raw")) == 1


def test_adaptive_interval_follows_publishing_rate() -> None:
    cfg = crawler_cfg(poll_min_interval_s=300, poll_max_interval_s=21600, poll_jitter=0.1)
    rng = random.Random(1)
    busy = FeedState("busy", "u")
    quiet = FeedState("quiet", "u")
    t = 0.0
    for _ in range(20):  # busy: 12 new items every hour -> ~288/day -> every 5 min (the floor)
        t += 3600
        schedule_success(busy, 12, cfg, 300, 21600, now=t, rng=rng)
        schedule_success(quiet, 0, cfg, 300, 21600, now=t, rng=rng)
    assert busy.interval_s == 300
    assert quiet.interval_s == 21600
    assert busy.items_per_day is not None
    assert 250 < busy.items_per_day < 320
    medium = FeedState("m", "u")
    for _ in range(30):  # 2 items every 2 hours -> 24/day -> hourly
        t += 7200
        schedule_success(medium, 2, cfg, 300, 21600, now=t, rng=rng)
    assert medium.interval_s == pytest.approx(3600, rel=0.05)
    assert abs(medium.next_poll_at - t - 3600) <= 0.1 * 3600 + 1


def test_failure_backoff_is_exponential_and_capped() -> None:
    cfg = crawler_cfg(backoff_base_s=60, backoff_max_s=3600, poll_jitter=0.0, error_disable_after=100)
    st = FeedState("f", "u")
    waits = []
    for _ in range(10):
        schedule_failure(st, "x", cfg, now=0.0)
        waits.append(st.next_poll_at)
    assert waits[:4] == [60, 120, 240, 480]
    assert max(waits) == 3600
    schedule_failure(st, "busy", cfg, retry_after_s=7200, now=0.0)
    assert st.next_poll_at == 3600  # Retry-After honoured up to the cap


async def test_host_slots_space_requests_and_back_off() -> None:
    cfg = crawler_cfg(per_host_min_delay_s=0.05, per_host_concurrency=1, backoff_max_s=60)
    slots = HostSlots(cfg)
    starts = []
    loop = asyncio.get_running_loop()

    async def one() -> None:
        h = await slots.acquire("http://x:80")
        starts.append(loop.time())
        slots.release(h)

    await asyncio.gather(*(one() for _ in range(4)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(g >= 0.045 for g in gaps)
    wait = slots.backoff("http://x:80", retry_after_s=12.0)
    assert wait == 12.0
    assert slots.blocked_for("http://x:80") > 11


async def test_registering_again_reenables_a_disabled_feed() -> None:
    from services.crawler.service import Crawler
    from services.runtime.config import Settings

    crawler = Crawler(Settings(), crawler_cfg())
    crawler.states["f"] = FeedState("f", "http://x.test/feed", disabled_reason="gone", disabled_revision=1.0)
    crawler.upsert(FeedSpec("f", "http://x.test/feed", enabled=False, revision=1.0))  # a replay
    assert crawler.states["f"].disabled_reason == "gone"
    crawler.upsert(FeedSpec("f", "http://x.test/feed", enabled=False, revision=2.0))  # the operator again
    assert crawler.states["f"].disabled_reason is None
    await crawler.close()


async def test_url_change_in_registry_keeps_seen_entries() -> None:
    from services.crawler.service import Crawler
    from services.runtime.config import Settings

    crawler = Crawler(Settings(), crawler_cfg())
    crawler.states["f"] = FeedState("f", "http://x.test/discovered", spec_url="http://x.test/", seen=["k1"], etag="e")
    crawler.upsert(FeedSpec("f", "http://x.test/", enabled=False))  # same registry URL: keep the discovered one
    assert crawler.states["f"].url == "http://x.test/discovered"
    crawler.upsert(FeedSpec("f", "http://y.test/rss", enabled=False))
    st = crawler.states["f"]
    assert (st.url, st.etag, st.seen) == ("http://y.test/rss", None, ["k1"])
    await crawler.close()


def test_host_backoff_without_retry_after_doubles_to_the_cap() -> None:
    slots = HostSlots(crawler_cfg(host_backoff_base_s=1.0, backoff_max_s=5.0))
    waits = [slots.backoff("http://x:80", None) for _ in range(5)]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    slots.success("http://x:80")
    assert slots.backoff("http://x:80", None) == 1.0
