"""HttpClient against a hostile local server (both transports): caps, timeouts, redirects, types."""

from __future__ import annotations

import asyncio
import zlib

import pytest
from aiohttp import web

from services.crawler.errors import (
    BlockedAddress,
    FetchTimeout,
    FetchTooLarge,
    HttpStatusError,
    ServerBusy,
    TooManyRedirects,
    UnsupportedContent,
)
from services.crawler.http import HttpClient, parse_content_type, parse_retry_after
from tests.crawler.conftest import Site, crawler_cfg

TRANSPORTS = ["aiohttp", "httpx", "aiohttp-raw"]


@pytest.fixture(params=TRANSPORTS)
async def http(request: pytest.FixtureRequest):
    cfg = crawler_cfg(
        max_bytes=256 * 1024,
        max_decompressed_bytes=1024 * 1024,
        total_timeout_s=1.5,
        read_timeout_s=1.0,
        max_redirects=3,
        resolve={"news.test": "127.0.0.1"},
    )
    async with HttpClient(cfg, transport=request.param) as client:
        yield client


def gzip_bomb(size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(comp.compress(block) for _ in range(size >> 20)) + comp.flush()


async def test_body_bytes_and_charset_kept_exactly(site: Site, http: HttpClient) -> None:
    body = "<html><body>\u0633\u0648\u0631\u064a\u0627</body></html>".encode("windows-1256")
    # The declared charset is wrong on purpose: bytes and declaration go through unchanged.
    site.static("/p", body, "text/html; charset=utf-8", **{"X-Thing": "1"})
    res = await http.get(site.url("/p"))
    assert res.body == body
    assert res.charset == "utf-8"
    assert res.content_type == "text/html"
    assert res.headers["x-thing"] == "1"
    assert all(k == k.lower() for k in res.headers)


async def test_gzip_content_encoding_is_decoded(site: Site, http: HttpClient) -> None:
    body = b"<html>" + "\u0634\u0627\u0645".encode() * 1000 + b"</html>"
    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    site.static("/gz", comp.compress(body) + comp.flush(), "text/html", **{"Content-Encoding": "gzip"})
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    site.static("/df", raw_deflate.compress(body) + raw_deflate.flush(), "text/html", **{"Content-Encoding": "deflate"})
    assert (await http.get(site.url("/gz"))).body == body
    assert (await http.get(site.url("/df"))).body == body


async def test_gzip_bomb_stops_at_the_decompressed_cap(site: Site, http: HttpClient) -> None:
    bomb = gzip_bomb(64 << 20)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < http.cfg.max_bytes
    site.static("/bomb", bomb, "text/html", **{"Content-Encoding": "gzip"})
    with pytest.raises(FetchTooLarge, match="decompressed"):
        await http.get(site.url("/bomb"))


async def test_endless_body_stops_at_the_byte_cap(site: Site, http: HttpClient) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        await resp.prepare(request)
        chunk = b"<p>" + b"x" * 16_000 + b"</p>"
        while sent < 100 << 20:
            await resp.write(chunk)
            sent += len(chunk)
        return resp

    site.add("/endless", endless)
    with pytest.raises(FetchTooLarge):
        await http.get(site.url("/endless"))
    assert sent < 100 << 20  # the client hung up long before the server was done


async def test_declared_oversize_refused_before_reading(site: Site, http: HttpClient) -> None:
    site.static("/big", b"<html>" + b"a" * (300 * 1024), "text/html")
    with pytest.raises(FetchTooLarge, match="Content-Length"):
        await http.get(site.url("/big"))


async def test_slow_drip_hits_the_total_timeout(site: Site, http: HttpClient) -> None:
    async def drip(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        await resp.prepare(request)
        for _ in range(100):  # one byte every 0.2 s: each read is quick, the whole never ends
            await resp.write(b"<")
            await asyncio.sleep(0.2)
        return resp

    site.add("/drip", drip)
    with pytest.raises(FetchTimeout):
        await http.get(site.url("/drip"))


async def test_redirect_loop_and_long_chain(site: Site, http: HttpClient) -> None:
    async def to(target: str):
        raise web.HTTPFound(target)

    site.add("/loop-a", lambda r: to("/loop-b"))
    site.add("/loop-b", lambda r: to("/loop-a"))
    for i in range(10):
        site.add(f"/chain/{i}", lambda r, i=i: to(f"/chain/{i + 1}"))
    with pytest.raises(TooManyRedirects, match="loop"):
        await http.get(site.url("/loop-a"))
    with pytest.raises(TooManyRedirects, match="more than 3"):
        await http.get(site.url("/chain/0"))


async def test_redirect_followed_and_final_url_reported(site: Site, http: HttpClient) -> None:
    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(f"http://news.test:{site.port}/final")

    site.add("/old", moved)
    site.static("/final", "<html>ok</html>")
    res = await http.get(site.url("/old"))
    assert res.final_url == f"http://news.test:{site.port}/final"
    assert res.redirects == [res.final_url]


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/x",
        "http://127.0.0.2:{port}/x",
    ],
)
async def test_redirect_to_private_address_is_blocked(site: Site, target: str) -> None:
    cfg = crawler_cfg(allow_networks=("127.0.0.1/32",))

    async def evil(_: web.Request) -> web.Response:
        raise web.HTTPFound(target.format(port=site.port))

    site.add("/evil", evil)
    for transport in TRANSPORTS:
        async with HttpClient(cfg, transport=transport) as client:
            with pytest.raises(BlockedAddress):
                await client.get(site.url("/evil"))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_guard_blocks_loopback_unless_allowed(site: Site, transport: str) -> None:
    """Without the allow-list, 127.0.0.1 is refused: as a literal, by a name resolving to
    it (checked at connect time), and by ``localhost`` through real name resolution."""
    site.static("/p", "<html>secret</html>")
    cfg = crawler_cfg(allow_networks=(), resolve={"inside.test": "127.0.0.1"})
    async with HttpClient(cfg, transport=transport) as client:
        for host in ("127.0.0.1", "inside.test", "localhost"):
            with pytest.raises(BlockedAddress):
                await client.get(f"http://{host}:{site.port}/p")
    assert site.hits.get("/p") is None
    async with HttpClient(crawler_cfg(), transport=transport) as client:
        assert (await client.get(site.url("/p"))).body == b"<html>secret</html>"


async def test_binary_content_refused(site: Site, http: HttpClient) -> None:
    site.static("/img", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, "image/png")
    site.static("/disguised", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, "text/html")
    site.static("/pdf", b"%PDF-1.4 ...", "application/pdf")
    for path in ("/img", "/disguised", "/pdf"):
        with pytest.raises(UnsupportedContent):
            await http.get(site.url(path))


async def test_status_errors_are_typed(site: Site, http: HttpClient) -> None:
    async def status(code: int, **headers: str):
        return web.Response(status=code, text="x", headers=headers)

    site.add("/gone", lambda r: status(410))
    site.add("/missing", lambda r: status(404))
    site.add("/forbidden", lambda r: status(403))
    site.add("/busy", lambda r: status(503, **{"Retry-After": "120"}))
    site.add("/limited", lambda r: status(429, **{"Retry-After": "7"}))
    with pytest.raises(HttpStatusError) as gone:
        await http.get(site.url("/gone"))
    assert gone.value.gone
    with pytest.raises(HttpStatusError) as missing:
        await http.get(site.url("/missing"))
    assert missing.value.gone
    with pytest.raises(HttpStatusError) as forbidden:
        await http.get(site.url("/forbidden"))
    assert not forbidden.value.gone
    with pytest.raises(ServerBusy) as busy:
        await http.get(site.url("/busy"))
    assert (busy.value.status, busy.value.retry_after_s) == (503, 120.0)
    with pytest.raises(ServerBusy) as limited:
        await http.get(site.url("/limited"))
    assert limited.value.retry_after_s == 7.0


async def test_conditional_get_returns_304(site: Site, http: HttpClient) -> None:
    async def cond(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(text="<rss/>", content_type="application/rss+xml", headers={"ETag": '"v1"'})

    site.add("/feed", cond)
    first = await http.get(site.url("/feed"), kind="feed")
    second = await http.get(site.url("/feed"), kind="feed", headers={"If-None-Match": first.headers["etag"]})
    assert not first.not_modified
    assert second.not_modified
    assert second.body == b""


async def test_user_agent_carries_contact(site: Site, http: HttpClient) -> None:
    site.static("/p", "<html></html>")
    await http.get(site.url("/p"))
    ua = site.log[-1][1]["User-Agent"]
    assert ua == http.cfg.user_agent
    assert "+http" in ua


def test_header_parsers() -> None:
    assert parse_content_type('text/html; charset="Windows-1256"') == ("text/html", "Windows-1256")
    assert parse_content_type("application/rss+xml") == ("application/rss+xml", None)
    assert parse_content_type(None) == (None, None)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=1767225600.0) == 60.0
    assert parse_retry_after("soon") is None
