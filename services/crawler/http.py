"""The one module that speaks HTTP (nothing else in the project imports httpx or aiohttp's client).

:class:`HttpClient` speaks through one of three transports, chosen by measurement in
bench/crawl (which prints all three): aiohttp's own client API ("aiohttp-raw", the
default: about twice the bare request rate of the next, and the best crawl rate), the
httpx API over aiohttp ("aiohttp"), or plain httpx/httpcore ("httpx", whose connection
pool degrades badly with hundreds of hosts).  Each has the limits a crawler of
untrusted sites needs:

- the SSRF guard at connect time (a filtering resolver) and on every redirect hop,
  which this module follows itself;
- connect/read timeouts per operation and a total deadline per fetch (slow drip);
- caps on bytes read and on bytes after decompression, decoded here chunk by chunk
  with a bounded output size (a gzip bomb stops at the cap, never in memory);
- content-type filters per kind of fetch, checked before the body is read.

The body is returned exactly as received after content decoding, never charset-decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import aiohttp
import httpcore
import httpx
from httpx_aiohttp import AiohttpTransport

from services.crawler.config import CrawlerSettings
from services.crawler.errors import (
    BlockedAddress,
    FetchNetworkError,
    FetchTimeout,
    FetchTooLarge,
    HttpStatusError,
    ServerBusy,
    TooManyRedirects,
    UnsupportedContent,
)
from services.crawler.guard import AddressPolicy, GuardedResolver, resolve_checked
from services.errors import NewsIngestError

__all__ = ["FetchKind", "FetchResult", "HttpClient", "parse_content_type", "parse_retry_after"]

FetchKind = Literal["page", "feed", "robots"]
Transport = Literal["aiohttp", "httpx", "aiohttp-raw"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})
_NEVER_TYPES = ("image/", "audio/", "video/", "font/", "model/")
_NEVER_APP = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/vnd.ms-excel",
        "application/msword",
        "application/x-msdownload",
        "application/wasm",
    }
)
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"%PDF", b"PK\x03\x04", b"\xff\xd8\xff", b"\x1f\x8b", b"BZh", b"\x7fELF")
_ACCEPT: dict[str, str] = {
    "page": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,"
    "text/xml;q=0.9,text/html;q=0.5,*/*;q=0.1",
    "robots": "text/plain,*/*;q=0.1",
}
_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xef\xbb\xbf")


@dataclass(slots=True)
class FetchResult:
    """One response after redirects, body decoded from its content-encoding only."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    content_type: str | None
    charset: str | None
    fetched_at: str
    elapsed_s: float
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        """A 304 to a conditional GET."""
        return self.status == 304


@dataclass(slots=True)
class _Response:
    status: int
    headers: dict[str, str]  # names lower-cased
    chunks: AsyncIterator[bytes]  # body as sent (before content decoding)


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """``("text/html", "windows-1256")`` from a Content-Type header (either part may be None)."""
    if not value:
        return None, None
    mime, _, rest = value.partition(";")
    charset = None
    for param in rest.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip() or None
    return (mime.strip().lower() or None), charset


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _looks_binary(head: bytes) -> bool:
    if head.startswith(_BINARY_MAGIC):
        return True
    if head.startswith(_BOMS):
        return False
    sample = head[:2048]
    return bool(sample) and sample.count(0) > len(sample) // 10


def _check_type(kind: FetchKind, mime: str | None) -> None:
    if kind == "robots" or mime is None:
        return
    if mime.startswith(_NEVER_TYPES) or mime in _NEVER_APP:
        raise UnsupportedContent(f"content type {mime} is never fetched")
    if kind == "page" and mime not in _PAGE_TYPES and not mime.endswith("+xml"):
        raise UnsupportedContent(f"content type {mime} is not an HTML/XML page")


class _Decoder:
    """Content-encoding decoder whose output never exceeds ``limit`` bytes in memory."""

    def __init__(self, encoding: str, limit: int) -> None:
        enc = encoding.strip().lower()
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        self.raw_deflate = False
        if enc in ("", "identity"):
            self.obj: Any = None
        elif enc in ("gzip", "x-gzip"):
            self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self.obj = zlib.decompressobj()
            self.raw_deflate = True  # some servers send raw deflate; retried on first error
        else:
            raise UnsupportedContent(f"content-encoding {encoding!r} not supported")

    def _take(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise FetchTooLarge(f"decompressed body exceeds {self.limit} bytes")
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self.obj is None:
            self._take(chunk)
            return
        data = chunk
        while data:
            try:
                out = self.obj.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                if self.raw_deflate and self.size == 0:
                    self.raw_deflate = False
                    self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchNetworkError(f"corrupt compressed body: {exc}") from exc
            self.raw_deflate = False
            self._take(out)
            data = self.obj.unconsumed_tail
            if self.obj.eof:
                break

    def result(self) -> bytes:
        if self.obj is not None and not self.obj.eof:
            try:
                self._take(self.obj.flush())
            except zlib.error as exc:
                raise FetchNetworkError(f"truncated compressed body: {exc}") from exc
        return b"".join(self.parts)


class _RawStream:
    """aiohttp's request context as one of ours (a class, not an async generator: this runs
    once per request and the generator machinery showed in bench/crawl's profile)."""

    __slots__ = ("_cm",)

    def __init__(self, cm: Any) -> None:
        self._cm = cm

    async def __aenter__(self) -> _Response:
        r = await self._cm.__aenter__()
        merged: dict[str, str] = {}
        for k, v in r.headers.items():
            low = k.lower()
            merged[low] = f"{merged[low]}, {v}" if low in merged else v
        return _Response(r.status, merged, r.content.iter_chunked(64 * 1024))

    async def __aexit__(self, *exc: Any) -> None:
        await self._cm.__aexit__(*exc)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend for the plain httpx transport: resolve, filter, connect to the IP."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addrs = await resolve_checked(self.policy, host, port)
        return await self.inner.connect_tcp(addrs[0], port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class HttpClient:
    """Guarded, capped GETs.  An async context manager; :meth:`close` is idempotent.

    >>> async with HttpClient(CrawlerSettings(allow_networks=("127.0.0.0/8",))) as http:
    ...     result = await http.get("http://127.0.0.1:8080/feed.xml", kind="feed")
    """

    def __init__(self, cfg: CrawlerSettings, *, transport: Transport | None = None) -> None:
        self.cfg = cfg
        self.transport_name = transport or cfg.transport
        self.policy = AddressPolicy(cfg.allow_networks, cfg.allow_hosts, cfg.resolve, only_allowed=cfg.only_allowed)
        self._client: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._raw: aiohttp.ClientSession | None = None  # set for the "aiohttp-raw" transport
        self._base_headers = {"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._closed = False
        self._timeout = httpx.Timeout(
            connect=cfg.connect_timeout_s, read=cfg.read_timeout_s, write=cfg.read_timeout_s, pool=cfg.total_timeout_s
        )
        self._raw_timeout = aiohttp.ClientTimeout(sock_connect=cfg.connect_timeout_s, sock_read=cfg.read_timeout_s)

    async def __aenter__(self) -> HttpClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the connection pool (needs a running loop)."""
        if self._client is not None:
            return
        if self._closed:
            raise RuntimeError("HttpClient is closed")
        cfg = self.cfg
        limits = httpx.Limits(max_connections=cfg.max_connections, max_keepalive_connections=cfg.max_connections)
        transport: httpx.AsyncBaseTransport
        if self.transport_name in ("aiohttp", "aiohttp-raw"):
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy),
                limit=cfg.max_connections,
                limit_per_host=max(cfg.per_host_concurrency * 2, 4),
                ttl_dns_cache=60,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
            transport = AiohttpTransport(client=self._session, limits=limits)
            if self.transport_name == "aiohttp-raw":
                self._raw = self._session
        else:
            transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
            transport._pool = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(),
                max_connections=cfg.max_connections,
                max_keepalive_connections=cfg.max_connections,
                network_backend=_GuardedBackend(self.policy),
            )
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=self._timeout,
            headers=self._base_headers,
        )

    async def close(self) -> None:
        """Close the pool; safe to call twice."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        self._raw = None
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def post_form(self, url: str, data: dict[str, str]) -> int:
        """POST a form (WebSub subscription) under the guard, no redirects; returns the status.

        The answer body is read up to 64 KiB and dropped.
        """
        if self._client is None:
            await self.start()
        assert self._client is not None
        self.policy.check_url(url)
        try:
            async with asyncio.timeout(self.cfg.total_timeout_s):
                async with self._client.stream("POST", url, data=data) as resp:
                    read = 0
                    async for chunk in resp.aiter_raw():
                        read += len(chunk)
                        if read > 65536:
                            break
                    return resp.status_code
        except TimeoutError as exc:
            raise FetchTimeout(f"{url}: no answer in {self.cfg.total_timeout_s:g}s") from exc
        except NewsIngestError:
            raise
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            blocked = _find_cause(exc, BlockedAddress)
            if blocked is not None:
                raise blocked from exc
            raise FetchNetworkError(f"{url}: {type(exc).__name__}: {exc}") from exc

    async def get(self, url: str, *, kind: FetchKind = "page", headers: dict[str, str] | None = None) -> FetchResult:
        """GET ``url`` following redirects under the guard; raise a crawler error on failure.

        Returns 2xx and 304 results; 3xx are followed, 429/5xx raise :class:`ServerBusy`,
        other 4xx :class:`HttpStatusError`.
        """
        if self._client is None:
            await self.start()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.cfg.total_timeout_s):
                return await self._get(url, kind, headers or {}, started)
        except TimeoutError as exc:
            raise FetchTimeout(f"{url}: no complete answer in {self.cfg.total_timeout_s:g}s") from exc

    async def _get(self, url: str, kind: FetchKind, headers: dict[str, str], started: float) -> FetchResult:
        assert self._client is not None
        req_headers = {"Accept": _ACCEPT[kind], **headers}
        current = url
        redirects: list[str] = []
        seen = {url}
        while True:
            self.policy.check_url(current)
            try:
                async with self._stream(current, req_headers) as resp:
                    status = resp.status
                    if status in _REDIRECTS and "location" in resp.headers:
                        target = urljoin(current, resp.headers["location"].strip())
                        redirects.append(target)
                        if len(redirects) > self.cfg.max_redirects:
                            raise TooManyRedirects(f"{url}: more than {self.cfg.max_redirects} redirects")
                        if target in seen:
                            raise TooManyRedirects(f"{url}: redirect loop at {target}")
                        seen.add(target)
                        current = target
                        continue
                    return await self._finish(url, current, resp, kind, started, redirects)
            except NewsIngestError:
                raise
            except (httpx.TimeoutException, aiohttp.ServerTimeoutError) as exc:
                raise FetchTimeout(f"{current}: {type(exc).__name__}") from exc
            except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
                blocked = _find_cause(exc, BlockedAddress)
                if blocked is not None:
                    raise blocked from exc
                raise FetchNetworkError(f"{current}: {type(exc).__name__}: {exc}") from exc

    def _stream(self, url: str, headers: dict[str, str]) -> contextlib.AbstractAsyncContextManager[_Response]:
        """One GET without redirects, through the httpx API or straight on aiohttp."""
        if self._raw is not None:
            return _RawStream(
                self._raw.get(
                    url, headers={**self._base_headers, **headers}, allow_redirects=False, timeout=self._raw_timeout
                )
            )
        return self._httpx_stream(url, headers)

    @contextlib.asynccontextmanager
    async def _httpx_stream(self, url: str, headers: dict[str, str]) -> AsyncIterator[_Response]:
        assert self._client is not None
        async with self._client.stream("GET", url, headers=headers) as resp:
            yield _Response(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.aiter_raw())

    async def _finish(  # noqa: PLR0917
        self, url: str, final: str, resp: _Response, kind: FetchKind, started: float, redirects: list[str]
    ) -> FetchResult:
        status = resp.status
        headers = resp.headers
        if status == 429 or status >= 500 or status == 408:
            raise ServerBusy(
                f"{final}: HTTP {status}", status=status, retry_after_s=parse_retry_after(headers.get("retry-after"))
            )
        if status >= 400 or (status >= 300 and status != 304):
            raise HttpStatusError(f"{final}: HTTP {status}", status=status)
        mime, charset = parse_content_type(headers.get("content-type"))
        body = b""
        if status != 304:
            _check_type(kind, mime)
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.cfg.max_bytes:
                raise FetchTooLarge(f"{final}: Content-Length {declared} exceeds {self.cfg.max_bytes}")
            decoder = _Decoder(headers.get("content-encoding", ""), self.cfg.max_decompressed_bytes)
            read = 0
            async for chunk in resp.chunks:
                read += len(chunk)
                if read > self.cfg.max_bytes:
                    raise FetchTooLarge(f"{final}: body exceeds {self.cfg.max_bytes} bytes")
                decoder.feed(chunk)
            body = decoder.result()
            if kind != "robots" and _looks_binary(body[:4096]):
                raise UnsupportedContent(f"{final}: binary body")
        return FetchResult(
            url=url,
            final_url=final,
            status=status,
            headers=headers,
            body=body,
            content_type=mime,
            charset=charset,
            fetched_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            elapsed_s=time.monotonic() - started,
            redirects=redirects,
        )


def _find_cause(exc: BaseException, kind: type[BlockedAddress]) -> BlockedAddress | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None
