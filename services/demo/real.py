"""Real pages for the demo site, read in place from the shared data folder.

Two sources, both research data that must never be copied into the repository:

- ``saudinewsnet/saudinewsnet-dev.tar.xz``: daily JSON arrays of Arabic articles
  (``source, url, date_extracted, title, author, content``); we wrap the first records of
  the first day in one of our outlet templates.
- ``trafilatura-eval/html.tar.xz``: raw HTML pages in their original encodings; we serve
  the first members byte for byte.

Loading decompresses only the archive members it needs, once, on the first request to
``/real/`` (see :class:`RealLoader`); the result stays in memory.
"""

from __future__ import annotations

import asyncio
import codecs
import html
import json
import logging
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

from services.demo.content import Article, Outlet
from services.demo.errors import DemoError

__all__ = [
    "REAL_OUTLET",
    "SAUDINEWSNET_ARCHIVE",
    "TRAFILATURA_ARCHIVE",
    "RawPage",
    "RealLoader",
    "RealPages",
    "check_real_dir",
    "load_real_pages",
    "sniff_charset",
]

log = logging.getLogger(__name__)

SAUDINEWSNET_ARCHIVE = PurePosixPath("saudinewsnet/saudinewsnet-dev.tar.xz")
TRAFILATURA_ARCHIVE = PurePosixPath("trafilatura-eval/html.tar.xz")

#: The pseudo-outlet whose template wraps SaudiNewsNet records (the ofoq layout, UTF-8).
REAL_OUTLET = Outlet(
    id="real",
    name="أرشيف صحف 2015",
    tagline="صفحات حقيقية من بيانات SaudiNewsNet للاختبار",
    language="ar",
    direction="rtl",
    charset="utf-8",
    style="ofoq",
    feed="rss",
    month_names="gregorian",
    utc_offset="+03:00",
    article_path="saudinewsnet/{id}.html",
    pages=(("about", "عن الأرشيف"), ("privacy", "الخصوصية")),
    feed_file="feed.xml",
    footer_note="صفحة حقيقية من مجموعة بيانات SaudiNewsNet (2015) تُعرض محلياً لأغراض الاختبار فقط.",
)

_RIYADH = timezone(timedelta(hours=3))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class RawPage:
    """A page served exactly as stored in the archive."""

    name: str
    title: str
    body: bytes
    charset: str | None
    published: datetime


@dataclass(frozen=True, slots=True)
class RealPages:
    """What ``/real/`` serves: wrapped SaudiNewsNet articles and raw trafilatura-eval pages."""

    articles: tuple[Article, ...]
    sources: tuple[str, ...]  # the original URL of each article, same order
    raw: tuple[RawPage, ...]

    def article(self, number: str) -> tuple[Article, str] | None:
        """The article whose id is ``number`` with its original URL, if loaded."""
        for a, src in zip(self.articles, self.sources, strict=True):
            if a.id == number:
                return a, src
        return None

    def raw_page(self, name: str) -> RawPage | None:
        """The raw page stored under ``name`` (its file name in the archive), if loaded."""
        return next((p for p in self.raw if p.name == name), None)


def sniff_charset(head: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` near its start, if Python knows it."""
    m = _META_CHARSET.search(head[:4096])
    if not m:
        return None
    name = m.group(1).decode("ascii", "ignore").lower()
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def _saudinewsnet(archive: Path, count: int) -> tuple[list[Article], list[str]]:
    articles: list[Article] = []
    sources: list[str] = []
    if count <= 0:
        return articles, sources
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".json")):
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            for rec in json.load(fh):
                title, content = (rec.get("title") or "").strip(), (rec.get("content") or "").strip()
                if not title or not content:
                    continue
                try:
                    when = datetime.fromisoformat(rec["date_extracted"]).replace(tzinfo=_RIYADH)
                except (KeyError, ValueError):
                    when = datetime(2015, 7, 1, tzinfo=_RIYADH)
                paragraphs = tuple(" ".join(p.split()) for p in content.split("\n") if p.strip())
                articles.append(
                    Article(
                        id=str(len(articles) + 1),
                        outlet=REAL_OUTLET.id,
                        section="",
                        title=" ".join(title.split()),
                        author=(rec.get("author") or rec.get("source") or "").strip(),
                        published=when,
                        paragraphs=paragraphs,
                    )
                )
                sources.append(rec.get("url") or "")
                if len(articles) >= count:
                    return articles, sources
    return articles, sources


def _trafilatura(archive: Path, count: int) -> list[RawPage]:
    pages: list[RawPage] = []
    if count <= 0:
        return pages
    fallback = datetime.fromtimestamp(archive.stat().st_mtime, UTC)
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            body = fh.read()
            charset = sniff_charset(body)
            text = body[:200_000].decode(charset or "utf-8", "replace")
            m = _TITLE.search(text)
            name = PurePosixPath(member.name).name
            title = " ".join(html.unescape(m.group(1)).split())[:200] if m else ""
            published = datetime.fromtimestamp(member.mtime, UTC) if member.mtime > 0 else fallback
            pages.append(RawPage(name=name, title=title or name, body=body, charset=charset, published=published))
            if len(pages) >= count:
                break
    return pages


def load_real_pages(data_dir: Path, limit: int) -> RealPages:
    """Read up to ``limit`` pages: half (rounded up) SaudiNewsNet, the rest trafilatura-eval.

    Blocking (xz decompression, ~0.5 s); call it from a thread.  A missing archive only
    shrinks the set, with a warning; :func:`check_real_dir` rejects a folder with neither.
    """
    snn_count = (limit + 1) // 2
    snn_path, raw_path = data_dir / SAUDINEWSNET_ARCHIVE, data_dir / TRAFILATURA_ARCHIVE
    articles: list[Article] = []
    sources: list[str] = []
    raw: list[RawPage] = []
    if snn_path.is_file():
        articles, sources = _saudinewsnet(snn_path, snn_count)
    else:
        log.warning("real pages: archive missing", extra={"path": str(snn_path)})
    if raw_path.is_file():
        raw = _trafilatura(raw_path, limit - len(articles))
    else:
        log.warning("real pages: archive missing", extra={"path": str(raw_path)})
    log.info("real pages loaded", extra={"articles": len(articles), "raw_pages": len(raw)})
    return RealPages(articles=tuple(articles), sources=tuple(sources), raw=tuple(raw))


def check_real_dir(data_dir: Path) -> None:
    """Fail fast at start-up when ``--real-dir`` holds neither archive."""
    if not any((data_dir / p).is_file() for p in (SAUDINEWSNET_ARCHIVE, TRAFILATURA_ARCHIVE)):
        raise DemoError(f"--real-dir {data_dir}: found neither {SAUDINEWSNET_ARCHIVE} nor {TRAFILATURA_ARCHIVE}")


class RealLoader:
    """Loads :class:`RealPages` once, off the event loop, on first use."""

    def __init__(self, data_dir: Path, limit: int) -> None:
        self._data_dir = data_dir
        self._limit = limit
        self._pages: RealPages | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> RealPages:
        """The loaded pages; concurrent first callers share one load."""
        if self._pages is None:
            async with self._lock:
                if self._pages is None:
                    self._pages = await asyncio.to_thread(load_real_pages, self._data_dir, self._limit)
        return self._pages
