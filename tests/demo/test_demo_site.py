"""The demo news site over real HTTP on 127.0.0.1: feeds, pages, encodings, validators, drip."""

from __future__ import annotations

import asyncio
import gzip
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import feedparser
import httpx
import orjson
import pytest
from lxml import etree

from services.crawler.feeds import parse_document
from services.demo.command import main
from services.demo.content import article_path, load_articles, load_outlets
from services.demo.errors import DemoError
from services.demo.site import INITIAL_ITEMS, RELEASE, RunningSite, feed_urls, serve

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def site() -> AsyncIterator[RunningSite]:
    async with serve(port=0) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


async def _feed_links(client: httpx.AsyncClient, desc: dict[str, str]) -> list[str]:
    resp = await client.get(desc["url"])
    assert resp.status_code == 200, desc
    if desc["format"] == "json":
        doc = orjson.loads(resp.content)
        assert doc["version"] == "https://jsonfeed.org/version/1.1"
        assert resp.headers["content-type"].startswith("application/feed+json")
        return [item["url"] for item in doc["items"]]
    parsed = feedparser.parse(resp.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == {"rss": "rss20", "atom": "atom10"}[desc["format"]]
    for e in parsed.entries:
        assert e.title
        assert e.get("published_parsed")
        assert e.get("author")
    return [e.link for e in parsed.entries]


async def test_feeds_json_matches_feed_urls_and_uses_actual_port(site: RunningSite, client: httpx.AsyncClient) -> None:
    resp = await client.get(site.base_url + "/feeds.json")
    assert resp.json() == feed_urls(site.base_url)
    assert site.port != 0
    assert {d["language"] for d in resp.json()} == {"ar", "en"}
    assert all(d["url"].startswith(f"http://127.0.0.1:{site.port}/") for d in resp.json())


async def test_every_feed_parses_and_every_link_resolves(site: RunningSite, client: httpx.AsyncClient) -> None:
    links: list[str] = []
    for desc in feed_urls(site.base_url):
        got = await _feed_links(client, desc)
        assert got, f"{desc['id']} lists nothing"
        links += got
    assert len(links) == len(load_articles())
    for link in links:
        assert link.startswith(site.base_url)
        page = await client.get(link)
        assert page.status_code == 200, link
        assert page.headers["content-type"].startswith("text/html")


async def test_rss_alternates_and_news_sitemaps(site: RunningSite, client: httpx.AsyncClient) -> None:
    for outlet in load_outlets().values():
        parsed = feedparser.parse((await client.get(f"{site.base_url}{outlet.prefix}rss.xml")).content)
        assert not parsed.bozo
        assert parsed.version == "rss20"
        assert parsed.entries
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "n": "http://www.google.com/schemas/sitemap-news/0.9"}
    root = etree.fromstring((await client.get(site.base_url + "/sitemap-news.xml")).content)
    locs = root.xpath("//s:url/s:loc/text()", namespaces=ns)
    assert len(locs) == len(load_articles())
    assert set(root.xpath("//n:language/text()", namespaces=ns)) == {"ar", "en"}
    assert (await client.get(locs[0])).status_code == 200
    robots = (await client.get(site.base_url + "/robots.txt")).text
    assert f"Sitemap: {site.base_url}/sitemap-news.xml" in robots


async def test_pages_carry_autodiscovery_metadata_and_chrome(site: RunningSite, client: httpx.AsyncClient) -> None:
    for desc in feed_urls(site.base_url):
        link = (await _feed_links(client, desc))[0]
        page = await client.get(link)
        html = page.text
        alt = re.search(r'<link rel="alternate" type="application/rss\+xml"[^>]*href="([^"]+)"', html)
        assert alt
        assert (await client.get(alt.group(1))).status_code == 200
        for needle in ('property="og:title"', 'property="article:published_time"', '"@type": "NewsArticle"', "<h1"):
            assert needle in html, (link, needle)
        if desc["language"] == "ar":
            assert 'dir="rtl"' in html
            assert "الصفحات" in html
        for href in re.findall(r'href="(/[^"]+)"', html):  # navigation, breadcrumbs, footer
            assert (await client.get(site.base_url + href)).status_code == 200, href


async def test_windows_1256_page(site: RunningSite, client: httpx.AsyncClient) -> None:
    desc = next(d for d in feed_urls(site.base_url) if d["id"] == "ar-daily")
    link = (await _feed_links(client, desc))[0]
    resp = await client.get(link)
    assert resp.headers["content-type"] == "text/html; charset=windows-1256"
    text = resp.content.decode("cp1256")
    assert '<meta charset="windows-1256">' in text
    assert "&#" not in text  # every character had a windows-1256 byte
    with pytest.raises(UnicodeDecodeError):
        resp.content.decode("utf-8")
    title = re.search(r'<h1 class="title">([^<]+)</h1>', text)
    assert title
    assert title.group(1) in {a.title for a in load_articles() if a.outlet == "ar-daily"}


async def test_conditional_get_and_gzip(site: RunningSite, client: httpx.AsyncClient) -> None:
    url = site.base_url + "/wire/atom.xml"
    first = await client.get(url, headers={"Accept-Encoding": "identity"})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert (await client.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})).status_code == 304
    assert (await client.get(url, headers={"If-Modified-Since": modified})).status_code == 304
    stale = await client.get(url, headers={"If-None-Match": '"stale"', "Accept-Encoding": "identity"})
    assert stale.status_code == 200
    assert stale.content == first.content
    old = await client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert old.status_code == 200

    raw = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == first.content  # httpx decoded it
    assert raw.headers["etag"] != etag
    assert "accept-encoding" in raw.headers["vary"].lower()
    async with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as streamed:
        body = b"".join([chunk async for chunk in streamed.aiter_raw()])
    assert gzip.decompress(body) == first.content
    again = await client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]})
    assert again.status_code == 304


async def test_drip_releases_one_article_per_interval(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    total = len(load_articles())
    async with serve(port=0, drip_seconds=10, clock=clock) as site:

        async def listed() -> list[str]:
            out: list[str] = []
            for desc in feed_urls(site.base_url):
                out += await _feed_links(client, desc)
            return out

        initial = site.app[RELEASE].initial
        assert INITIAL_ITEMS <= initial < total
        first = await listed()
        assert len(first) == initial
        for desc in feed_urls(site.base_url):  # no outlet starts with an empty feed
            assert await _feed_links(client, desc), desc["id"]
        etag = (await client.get(site.base_url + "/sitemap-news.xml")).headers["etag"]
        clock.now += 9.9
        assert len(await listed()) == initial
        clock.now += 0.1
        second = await listed()
        assert len(second) == initial + 1
        assert set(first) < set(second)
        changed = await client.get(site.base_url + "/sitemap-news.xml", headers={"If-None-Match": etag})
        assert changed.status_code == 200

        clock.now += 10 * total
        assert len(await listed()) == total


async def test_unreleased_article_is_404(client: httpx.AsyncClient) -> None:
    outlets = load_outlets()
    async with serve(port=0, drip_seconds=60, clock=FakeClock()) as site:
        listed: set[str] = set()
        for desc in feed_urls(site.base_url):
            listed |= set(await _feed_links(client, desc))
        every = {site.base_url + article_path(outlets[a.outlet], a, quoted=True) for a in load_articles()}
        assert listed < every
        assert len(every - listed) == len(every) - site.app[RELEASE].initial
        for url in every - listed:
            assert (await client.get(url)).status_code == 404, url
        for url in listed:
            assert (await client.get(url)).status_code == 200, url


async def test_feed_urls_can_fall_back_to_rss(site: RunningSite, client: httpx.AsyncClient) -> None:
    limited = feed_urls(site.base_url, formats={"rss", "atom"})
    assert {d["format"] for d in limited} == {"rss", "atom"}
    assert [d["id"] for d in limited] == [d["id"] for d in feed_urls(site.base_url)]
    assert (await client.get(site.base_url + "/feeds.json?formats=rss,atom")).json() == limited
    for desc in limited:
        assert await _feed_links(client, desc)


async def test_crawler_parser_reads_demo_feeds_and_discovers_feed_links(
    site: RunningSite, client: httpx.AsyncClient
) -> None:
    # Contract with services.crawler: what the demo serves, the crawler can read.
    for desc in feed_urls(site.base_url, formats={"rss", "atom"}):
        resp = await client.get(desc["url"])
        parsed = parse_document(resp.content, desc["url"], resp.headers["content-type"])
        assert parsed.kind == "feed"
        assert parsed.warning is None
        assert parsed.entries
        assert all(e.link and e.title and e.published and e.authors for e in parsed.entries)
        page = await client.get(parsed.entries[0].link or "")
        found = parse_document(page.content, str(page.url), page.headers["content-type"])
        assert found.kind == "html"
        assert f"{site.base_url}/{desc['id']}/rss.xml" in found.alternates
    resp = await client.get(site.base_url + "/sitemap-news.xml")
    sitemap = parse_document(resp.content, str(resp.url), resp.headers["content-type"])
    assert sitemap.kind == "sitemap"
    assert len(sitemap.entries) == len(load_articles())


async def test_unknown_paths_are_404(site: RunningSite, client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/wire/2026/11/19/no-such-story", "/ar-daily/section/nope/", "/real/feed.xml"):
        assert (await client.get(site.base_url + path)).status_code == 404, path


async def test_port_in_use_is_a_demo_error(site: RunningSite) -> None:
    with pytest.raises(DemoError):
        async with serve(port=site.port):
            pass


def test_main_rejects_a_real_dir_without_archives(tmp_path: Path) -> None:
    assert main(["--port", "0", "--real-dir", str(tmp_path)]) == 2


async def test_site_stops_listening_when_the_block_exits(client: httpx.AsyncClient) -> None:
    async with serve(port=0) as running:
        assert (await client.get(running.base_url + "/")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        await client.get(running.base_url + "/")


async def test_missing_trailing_slash_redirects(site: RunningSite, client: httpx.AsyncClient) -> None:
    resp = await client.get(site.base_url + "/wire", follow_redirects=True)
    assert resp.status_code == 200
    assert str(resp.url) == site.base_url + "/wire/"


async def test_command_line_serves_and_exits_cleanly_on_sigterm(client: httpx.AsyncClient) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.demo", "--port", "0", "--drip-seconds", "0",
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        ready = orjson.loads(line)
        assert ready["msg"] == "demo site listening"
        resp = await client.get(ready["base_url"] + "/feeds.json")
        assert resp.json() == feed_urls(ready["base_url"])
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
