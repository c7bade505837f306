"""HTTP validators and compression for the demo site: ETag, Last-Modified, 304 and gzip.

Crawlers poll feeds every few seconds; answering ``304 Not Modified`` when nothing changed
is what real news sites do, and what the crawler's conditional GET must be tested against.
Handlers just return a complete ``web.Response`` (optionally with ``Last-Modified``); this
middleware derives a strong ETag from the body, answers conditional requests, and gzips
when the client asks.  The gzip variant gets its own ETag (RFC 9110 §8.8.3: validators
differ per representation).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

__all__ = ["accepts_gzip", "conditional_gzip_middleware", "http_date", "is_not_modified"]

_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml", "application/json")
_COMPRESSIBLE_SUFFIX = ("+json", "+xml")
_MIN_GZIP_BYTES = 256

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def http_date(when: datetime) -> str:
    """An IMF-fixdate for ``Last-Modified`` (``Tue, 24 Nov 2026 19:10:00 GMT``)."""
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip;q=0`` does not)."""
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in {"gzip", "x-gzip", "*"}:
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def is_not_modified(headers: Mapping[str, str], etag: str, last_modified: str | None) -> bool:
    """RFC 9110 §13.2.2: ``If-None-Match`` wins; ``If-Modified-Since`` only without it."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = headers.get("If-Modified-Since")
    if ims and last_modified:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def _compressible(content_type: str) -> bool:
    return content_type.startswith(_COMPRESSIBLE) or content_type.endswith(_COMPRESSIBLE_SUFFIX)


@web.middleware
async def conditional_gzip_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add ETag/Vary, answer 304 when the client's copy is current, gzip on request."""
    resp = await handler(request)
    if request.method not in {"GET", "HEAD"} or resp.status != 200 or not isinstance(resp, web.Response):
        return resp
    body = resp.body
    if not isinstance(body, bytes):
        return resp
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    gz = accepts_gzip(request.headers.get("Accept-Encoding", "")) and len(body) >= _MIN_GZIP_BYTES
    gz = gz and _compressible(resp.content_type)
    etag = f'"{digest}-gz"' if gz else f'"{digest}"'
    last_modified = resp.headers.get("Last-Modified")
    if is_not_modified(request.headers, etag, last_modified):
        headers = {"ETag": etag, "Vary": "Accept-Encoding", "Cache-Control": resp.headers.get("Cache-Control", "")}
        if last_modified:
            headers["Last-Modified"] = last_modified
        return web.Response(status=304, headers={k: v for k, v in headers.items() if v})
    resp.headers["ETag"] = etag
    resp.headers["Vary"] = "Accept-Encoding"
    if gz:
        # mtime=0 keeps the compressed bytes, and so the ETag's meaning, stable.
        resp.body = gzip.compress(body, compresslevel=6, mtime=0)
        resp.headers["Content-Encoding"] = "gzip"
    return resp
