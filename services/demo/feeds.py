"""Feed documents of the demo site: RSS 2.0, Atom 1.0, JSON Feed 1.1 and a Google News sitemap.

All builders take the same :class:`Channel` and :class:`FeedItem` values and return bytes
(UTF-8), so the site can serve any outlet in any format.  Links are absolute and already
percent-encoded; the builders only escape them for XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

import orjson

__all__ = ["Channel", "FeedItem", "atom", "json_feed", "news_sitemap", "rss"]


@dataclass(frozen=True, slots=True)
class Channel:
    """What a feed says about itself."""

    title: str
    home_url: str
    self_url: str
    language: str
    description: str
    publisher: str


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry, as every format needs it."""

    id: str
    url: str
    title: str
    published: datetime
    author: str
    summary: str
    tags: tuple[str, ...] = ()
    html: str = ""


def _updated(items: Sequence[FeedItem]) -> datetime:
    # An empty feed still needs a stable date so its ETag does not change between polls.
    return max((i.published for i in items), default=datetime(2026, 1, 1, tzinfo=UTC))


def rss(channel: Channel, items: Sequence[FeedItem]) -> bytes:
    """RSS 2.0 with Atom self link, Dublin Core creator and ``content:encoded``."""
    entries = []
    for i in items:
        cats = "".join(f"<category>{escape(t)}</category>" for t in i.tags)
        content = f"<content:encoded><![CDATA[{_cdata(i.html)}]]></content:encoded>" if i.html else ""
        entries.append(
            f"""<item>
<title>{escape(i.title)}</title>
<link>{escape(i.url)}</link>
<guid isPermaLink="false">{escape(i.id)}</guid>
<pubDate>{format_datetime(i.published)}</pubDate>
<dc:creator>{escape(i.author)}</dc:creator>
<description>{escape(i.summary)}</description>{cats}{content}
</item>"""
        )
    body = "\n".join(entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>{escape(channel.title)}</title>
<link>{escape(channel.home_url)}</link>
<atom:link href={quoteattr(channel.self_url)} rel="self" type="application/rss+xml"/>
<description>{escape(channel.description)}</description>
{f"<language>{escape(channel.language)}</language>" if channel.language else ""}
<lastBuildDate>{format_datetime(_updated(items))}</lastBuildDate>
<ttl>5</ttl>
{body}
</channel>
</rss>
""".encode()


def atom(channel: Channel, items: Sequence[FeedItem]) -> bytes:
    """Atom 1.0 (RFC 4287) with ``xml:lang`` and ``rel="self"``."""
    entries = []
    for i in items:
        cats = "".join(f"<category term={quoteattr(t)}/>" for t in i.tags)
        content = f'<content type="html">{escape(i.html)}</content>' if i.html else ""
        entries.append(
            f"""<entry>
<title>{escape(i.title)}</title>
<link rel="alternate" type="text/html" href={quoteattr(i.url)}/>
<id>{escape(i.id)}</id>
<published>{i.published.isoformat()}</published>
<updated>{i.published.isoformat()}</updated>
<author><name>{escape(i.author)}</name></author>
<summary>{escape(i.summary)}</summary>{cats}{content}
</entry>"""
        )
    body = "\n".join(entries)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{escape(channel.language)}">
<title>{escape(channel.title)}</title>
<subtitle>{escape(channel.description)}</subtitle>
<link rel="alternate" type="text/html" href={quoteattr(channel.home_url)}/>
<link rel="self" type="application/atom+xml" href={quoteattr(channel.self_url)}/>
<id>{escape(channel.self_url)}</id>
<updated>{_updated(items).isoformat()}</updated>
<author><name>{escape(channel.publisher)}</name></author>
{body}
</feed>
""".encode()


def json_feed(channel: Channel, items: Sequence[FeedItem]) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title,
        "home_page_url": channel.home_url,
        "feed_url": channel.self_url,
        "description": channel.description,
        "language": channel.language,
        "authors": [{"name": channel.publisher}],
        "items": [
            {
                "id": i.id,
                "url": i.url,
                "title": i.title,
                "summary": i.summary,
                "date_published": i.published.isoformat(),
                "authors": [{"name": i.author}],
                "tags": list(i.tags),
                "language": channel.language,
                **({"content_html": i.html} if i.html else {"content_text": i.summary}),
            }
            for i in items
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def news_sitemap(items: Sequence[tuple[FeedItem, str, str]]) -> bytes:
    """Google News sitemap; each item comes with its publication name and language."""
    urls = "\n".join(
        f"""<url><loc>{escape(i.url)}</loc>
<news:news><news:publication><news:name>{escape(name)}</news:name><news:language>{escape(lang)}</news:language>\
</news:publication>
<news:publication_date>{i.published.isoformat()}</news:publication_date>
<news:title>{escape(i.title)}</news:title></news:news></url>"""
        for i, name, lang in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>
""".encode()


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")
