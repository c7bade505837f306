"""The whole pipeline in-process for the monitoring tests, each service on its own health port.

Like ``tests/e2e/test_pipeline.py``: a local aiohttp news site, the crawler and the clean,
dedupe and tag stage runners against the real broker.  Every service serves ``/livez``,
``/readyz`` and ``/metrics`` on a port of its own, as separate processes would.  Pages:
the seed article (Arabic, Syria-relevant; read in place from ../shared), an English page
with no tie to Syria, and a page with no main text (the clean stage dead-letters it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from services.clean.handler import CleanHandler
from services.crawler.registry import FeedSpec
from services.crawler.service import run_crawler
from services.dedupe.handler import DedupeHandler
from services.runtime.broker import free_port
from services.runtime.config import Settings, StageSettings
from services.runtime.stage import StageRunner
from services.tag.handler import TagHandler
from tests.crawler.conftest import Site, crawler_cfg
from tests.support.pages import seed_article_html
from tests.support.site import serve_site

__all__ = ["EMPTY_PAGE", "ENGLISH_PAGE", "Pipeline", "feed_xml", "news_site", "run_pipeline"]

ENGLISH_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour ferry timetable changes for winter | The Coast Gazette</title>
<meta name="author" content="Owen Marsh"><meta property="article:published_time" content="2026-11-20T08:00:00Z">
</head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav><main><article>
<h1>Harbour ferry timetable changes for winter</h1>
<p>The harbour ferry will run every forty minutes instead of every half hour from the first of December, the
operator said on Monday, citing lower passenger numbers in the colder months and the need to service both boats.</p>
<p>The last crossing on weekdays moves to half past nine in the evening. Season tickets bought before the change
will be honoured, and the operator promised to restore the summer timetable at Easter if numbers recover.</p>
<p>Commuters said the longer wait would make connections with the morning train harder, and a residents' group
asked the town council to press the operator for an extra early crossing on weekdays.</p>
</article></main><footer>© 2026 The Coast Gazette</footer></body></html>"""

# Navigation and nothing else: no main text to extract.
EMPTY_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Gallery</title></head>
<body><nav><a href="/">Home</a> <a href="/gallery">Gallery</a></nav><div class="gallery"></div></body></html>"""


def feed_xml(items: list[tuple[str, str]]) -> bytes:
    """An RSS 2.0 document of ``(guid, link)`` items."""
    body = "".join(
        f"<item><title>{guid}</title><guid isPermaLink='false'>{guid}</guid><link>{link}</link>"
        "<pubDate>Thu, 26 Nov 2026 00:00:00 GMT</pubDate></item>"
        for guid, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{body}</channel></rss>"
    ).encode()


@contextlib.asynccontextmanager
async def news_site() -> AsyncIterator[Site]:
    """A local news site on 127.0.0.1 with the three pages and an empty feed at ``/feed.xml``."""
    async with serve_site() as site:
        site.static("/ar/seed.html", seed_article_html("portal", "utf-8"), "text/html; charset=utf-8")
        site.static("/en/ferry.html", ENGLISH_PAGE, "text/html; charset=utf-8")
        site.static("/gallery.html", EMPTY_PAGE, "text/html; charset=utf-8")
        site.static("/feed.xml", feed_xml([]), "application/rss+xml")
        yield site


@dataclass
class Pipeline:
    """Ports of the running services' health servers, by service name."""

    ports: dict[str, int] = field(default_factory=dict)

    def url(self, service: str, path: str = "/metrics") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"


def _with_port(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"stage": settings.stage.model_copy(update={"http_port": port})})


@contextlib.asynccontextmanager
async def run_pipeline(settings: Settings, feeds: list[FeedSpec]) -> AsyncIterator[Pipeline]:
    """Crawler, clean, dedupe and tag until the block ends; each on its own health port."""
    settings = settings.model_copy(update={"stage": StageSettings(poll_timeout_s=0.2, workers=1)})
    pipe = Pipeline({name: free_port() for name in ("crawler", "clean", "dedupe", "tag")})
    stop = asyncio.Event()
    stages = (
        ("clean", CleanHandler(), "news.raw", "process"),
        ("dedupe", DedupeHandler(), "news.clean", "prepare"),
        ("tag", TagHandler(), "news.unique", "thread"),
    )
    tasks = [
        asyncio.create_task(
            run_crawler(_with_port(settings, pipe.ports["crawler"]), crawler_cfg(), feeds=feeds, stop=stop)
        ),
        *(
            asyncio.create_task(
                StageRunner(handler, _with_port(settings, pipe.ports[name]), input_topic=topic, offload=off).run(stop)  # type: ignore[arg-type]
            )
            for name, handler, topic, off in stages
        ),
    ]
    try:
        yield pipe
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 90)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, f"a service failed: {errors!r}"
