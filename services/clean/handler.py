"""The clean stage's pure handler: one RawPage in, one CleanArticle out (or a rejection).

The same code serves the Kafka stage (``news.raw`` -> ``news.clean``, run in a process
pool by the runtime), the offline CLI (``newsingest extract --jsonl``, through
:func:`extract_record`) and the tests.  The output record also carries the figures the
runtime needs for per-source extraction-quality metrics (``text_chars``, ``has_date``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.clean.errors import DecodeError, EmptyText, NotAnArticle
from services.clean.extract import DEFAULT_MAX_BYTES, EXTRACTOR, Extraction, extract_page
from services.runtime.handler import Out

__all__ = ["CleanHandler", "extract_record", "source_of"]

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
# Servers label downloads text/html often enough that the bytes are sniffed as well.
_BINARY_MAGIC = (b"%PDF-", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"ID3")


def source_of(url: str) -> str:
    """The publisher's host name, without ``www.``.

    >>> source_of("https://www.Example.com:443/a?b")
    'example.com'
    """
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _body(value: dict[str, Any]) -> bytes:
    try:
        body = base64.b64decode(value["body_b64"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise DecodeError(f"body_b64 missing or not base64: {exc}") from exc
    if body.startswith(_BINARY_MAGIC):
        raise NotAnArticle(f"body is a binary file ({body[:4]!r}), not HTML")
    return body


def _check_response(value: dict[str, Any]) -> None:
    status = value.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        raise NotAnArticle(f"HTTP status {status}")
    content_type = (value.get("content_type") or value.get("headers", {}).get("content-type") or "").lower()
    mime = content_type.split(";")[0].strip()
    if mime and mime not in _HTML_TYPES:
        raise NotAnArticle(f"content type {mime!r} is not HTML")


class CleanHandler:
    """``news.raw`` -> ``news.clean``.  Stateless and picklable; build one per worker."""

    stage = "clean"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def extract(self, value: dict[str, Any]) -> Extraction:
        """Check the response, decode and extract; raise ``RejectedInput`` subclasses."""
        _check_response(value)
        url = value.get("final_url") or value["url"]
        result = extract_page(_body(value), url, value.get("charset"), max_bytes=self.max_bytes)
        if not result.text.strip():
            raise EmptyText(f"no main text found on {source_of(url) or url}")
        return result

    def handle(self, value: dict[str, Any]) -> list[Out]:
        """One RawPage (``schemas/raw_page.schema.json``) -> one CleanArticle on ``news.clean``."""
        result = self.extract(value)
        final_url = value.get("final_url") or value["url"]
        feed = value.get("feed") or {}
        article = {
            "schema_version": 1,
            "id": value["id"],
            "url": value["url"],
            "canonical_url": value.get("canonical_url") or result.canonical_url or final_url,
            "source": source_of(final_url),
            "title": result.title,
            "text": result.text,
            "language": result.language,
            "published": result.published,
            "authors": result.authors,
            "image": result.image,
            "encoding": result.encoding,
            "fetched_at": value["fetched_at"],
            "cleaned_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "feed_id": feed.get("id") if isinstance(feed, dict) else None,
            "extractor": EXTRACTOR,
            # Quality figures for per-source monitoring (text length, empty rate, date fill).
            "text_chars": len(result.text),
            "has_date": result.published is not None,
        }
        return [Out("news.clean", key=value["id"].encode(), value=article)]


def extract_record(rec: dict[str, Any]) -> dict[str, Any]:
    """CLI form: ``{"id","url","path"|"html"}`` -> ``{"id","title","text","language","published","authors"}``."""
    if "html" in rec:
        html = rec["html"]
        body = html.encode("utf-8") if isinstance(html, str) else bytes(html)
        charset = "utf-8" if isinstance(html, str) else None
    elif "path" in rec:
        try:
            body = Path(rec["path"]).read_bytes()
        except OSError as exc:
            raise DecodeError(f"cannot read {rec['path']}: {exc.strerror}") from exc
        charset = rec.get("charset")
    else:
        raise DecodeError('record has neither "path" nor "html"')
    result = extract_page(body, rec.get("url") or "", charset)
    if not result.text.strip():
        raise EmptyText("no main text found")
    return {
        "id": rec.get("id"),
        "title": result.title,
        "text": result.text,
        "language": result.language,
        "published": result.published,
        "authors": result.authors,
    }
