"""The walking skeleton end to end: local news site → crawler → Kafka → clean → dedupe → tag.

Real parts only: the real Kafka broker (session fixture), a real HTTP server on
127.0.0.1, and the real handlers run by the shared stage runtime (clean in its worker
process pool).  The Arabic page is built from ``../shared/seed/article-ar.txt`` (read in
place) and served twice: as UTF-8 and, under another URL, as windows-1256.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.crawler.registry import FeedSpec
from services.runtime.config import KafkaSettings, Settings, StageSettings
from tests.crawler.conftest import Site, read_topic, values
from tests.support.pages import parse_seed, seed_article_html
from tests.support.pipeline import in_process_pipeline
from tests.support.site import serve_site

pytestmark = pytest.mark.kafka

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

# An English story written for this test: local news with no tie to Syria.
ENGLISH_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Riverside library reopens after two-year refit | The Dale Courier</title>
<meta property="og:title" content="Riverside library reopens after two-year refit">
<meta name="author" content="Hannah Pike"><meta property="article:published_time" content="2026-11-20T08:00:00Z">
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav></header>
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a> › Riverside library reopens</div>
<main><article>
<h1>Riverside library reopens after two-year refit</h1>
<p class="byline">By Hannah Pike · 20 November 2026</p>
<p>The Riverside public library reopened its doors on Thursday after a two-year refit that added a children's
reading room, a small recording studio and forty new study desks, the town council said.</p>
<p>Visitors queued before the doors opened at nine, and staff said more than six hundred people had come through
by lunchtime, many of them families returning for the first time since the building closed for repairs to its roof.</p>
<p>The council paid for most of the work from its capital budget, with a grant from a regional arts fund covering the
studio. Librarians said the studio would be free to book for local bands and podcasters on weekday evenings.</p>
<p>Opening hours have been extended to eight in the evening on Tuesdays and Thursdays, and the mobile library van
that served outlying villages during the closure will keep running its current routes until the spring.</p>
</article></main>
<aside class="related"><h3>Related</h3><ul><li><a href="/news/1">Bridge repairs finish early</a></li>
<li><a href="/news/2">Market square gets new lighting</a></li></ul></aside>
<footer><p>© 2026 The Dale Courier</p><a href="/about">About us</a> <a href="/privacy">Privacy</a></footer>
</body></html>"""


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><guid isPermaLink='false'>{guid}</guid><link>{link}</link>"
        "<pubDate>Sun, 06 Aug 2017 08:00:00 GMT</pubDate></item>"
        for guid, link, title in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{body}</channel></rss>"
    ).encode()


@pytest.fixture
async def news_site() -> AsyncIterator[Site]:
    async with serve_site() as s:
        yield s


def _names(items: list[dict[str, Any]]) -> set[str]:
    return {i["name"] for i in items}


def _validate(topic_values: list[dict[str, Any]], schema: str) -> None:
    spec = json.loads((SCHEMAS / f"{schema}.schema.json").read_text())
    for v in topic_values:
        jsonschema.validate(v, spec)


async def test_seed_article_flows_to_news_syria_once(news_site: Site, kafka_settings: KafkaSettings) -> None:
    seed = parse_seed()
    news_site.static("/ar/2017/08/06/tansiq.html", seed_article_html("portal", "utf-8"), "text/html; charset=utf-8")
    news_site.static(
        "/mirror/article-1256.html", seed_article_html("legacy", "windows-1256"), "text/html; charset=windows-1256"
    )
    news_site.static("/en/library.html", ENGLISH_PAGE, "text/html; charset=utf-8")
    news_site.static(
        "/ar/feed.xml",
        _rss(
            [
                ("ar-1", news_site.url("/ar/2017/08/06/tansiq.html"), "a"),
                ("ar-2", news_site.url("/mirror/article-1256.html"), "b"),
            ]
        ),
        "application/rss+xml",
    )
    news_site.static("/en/feed.xml", _rss([("en-1", news_site.url("/en/library.html"), "c")]), "application/rss+xml")
    feeds = [
        FeedSpec(id="ar", url=news_site.url("/ar/feed.xml"), language="ar"),
        FeedSpec(id="en", url=news_site.url("/en/feed.xml"), language="en"),
    ]
    settings = Settings(kafka=kafka_settings, stage=StageSettings(poll_timeout_s=0.2, workers=1))

    async with in_process_pipeline(settings, feeds):
        articles = values(await read_topic(kafka_settings, "news.articles", want=2, timeout_s=90))
        duplicates = values(await read_topic(kafka_settings, "news.duplicates", want=1, timeout_s=30))
        syria = values(await read_topic(kafka_settings, "news.syria", want=2, timeout_s=5))
        raw = values(await read_topic(kafka_settings, "news.raw", want=3, timeout_s=5))
        dead = values(await read_topic(kafka_settings, "news.deadletter", want=1, timeout_s=1))

    assert dead == []
    assert len(raw) == 3
    _validate(raw, "raw_page")
    _validate(articles, "article")
    _validate(syria, "article")
    _validate(duplicates, "duplicate")

    assert len(syria) == 1, [a["url"] for a in syria]
    item = syria[0]
    assert item["title"] == seed.headline
    assert item["title"] == "تنسيق أميركي ــ روسي حول «خفض التصعيد»"
    assert item["text"].startswith("عواصم-وكالات-")
    for crumb in seed.breadcrumb:
        assert crumb not in item["text"].replace(seed.headline, "")
    assert "الصفحة الرئيسية" not in item["text"]
    assert seed.headline not in item["text"]  # no second copy of the headline
    assert not item["text"].rstrip().endswith("الصفحات")
    assert item["tags"]["syria"]["grade"] == 2
    places, actors = _names(item["tags"]["places"]), _names(item["tags"]["actors"])
    assert "Raqqa" in places
    assert {"Syrian Democratic Forces", "Islamic State"} <= actors, actors

    # The second URL is the same article: reported as a duplicate of the first, not a second item.
    assert len(duplicates) == 1
    dup = duplicates[0]
    assert dup["duplicate_of"] == item["id"]
    assert {dup["url"], item["url"]} == {
        news_site.url("/ar/2017/08/06/tansiq.html"),
        news_site.url("/mirror/article-1256.html"),
    }

    # The English story is a clean article, not a Syria item.
    english = [a for a in articles if a["url"].endswith("/en/library.html")]
    assert len(english) == 1
    assert english[0]["title"] == "Riverside library reopens after two-year refit"
    assert english[0]["language"] == "en"
    assert english[0]["tags"]["syria"]["grade"] == 0
    assert {a["id"] for a in articles} == {item["id"], english[0]["id"]}
