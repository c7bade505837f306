"""Feed documents to entries: RSS 0.9x/1.0/2.0, Atom, JSON Feed, sitemaps, HTML autodiscovery.

Pure and picklable (module-level :func:`parse_document` on bytes), so a process pool can
run it.  The document kind is sniffed from the bytes, not trusted from the Content-Type:
feeds are served as ``text/html``, ``text/plain`` and ``application/octet-stream`` in the
wild.
"""

from __future__ import annotations

import calendar
import email.utils
import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser
from lxml import etree
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from services.crawler.errors import FeedParseError

__all__ = ["Entry", "ParsedFeed", "discover_feeds", "parse_document"]

DocKind = Literal["feed", "json", "sitemap", "sitemapindex", "html"]

_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_SUMMARY_MAX = 4000


@dataclass(slots=True)
class Entry:
    """One item of a feed or sitemap, as much as the document says about it."""

    id: str | None
    link: str | None
    title: str | None = None
    published: str | None = None
    summary: str | None = None
    authors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The ``entry`` object of a RawPage."""
        return {
            "id": self.id,
            "title": self.title,
            "link": self.link,
            "published": self.published,
            "summary": self.summary,
            "authors": list(self.authors),
        }


@dataclass(slots=True)
class ParsedFeed:
    """What one document yields: entries, or child sitemaps, or feed links found in HTML."""

    kind: DocKind
    entries: list[Entry] = field(default_factory=list)
    title: str | None = None
    hub: str | None = None
    self_url: str | None = None
    children: list[str] = field(default_factory=list)  # sitemap index members
    alternates: list[str] = field(default_factory=list)  # autodiscovered feeds
    warning: str | None = None  # parsed, but the document is ill-formed


def _iso(struct: Any) -> str | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, TypeError):
        return None


def _sniff(body: bytes) -> DocKind:
    head = body[:4096].replace(b"\x00", b"").lower()
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        return "json"
    if b"<urlset" in head:
        return "sitemap"
    if b"<sitemapindex" in head:
        return "sitemapindex"
    is_html = b"<html" in head or b"<!doctype html" in head
    if is_html and not any(t in head for t in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")):
        return "html"
    return "feed"


def discover_feeds(body: bytes, base_url: str) -> list[str]:
    """Feed URLs an HTML page advertises with ``<link rel="alternate" type="...">``."""
    tree = HTMLParser(body)
    found: list[str] = []
    for node in tree.css("link[rel][href]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").lower().split(";")[0].strip()
        href = (node.attributes.get("href") or "").strip()
        if "alternate" in rels and kind in _FEED_TYPES and href:
            url = urljoin(base_url, href)
            if url not in found:
                found.append(url)
    return found


def _text(el: Any, tag: str) -> str | None:
    child = el.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _parse_sitemap(body: bytes, url: str, kind: DocKind) -> ParsedFeed:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedParseError(f"sitemap is not XML: {exc}") from exc
    if root is None:
        raise FeedParseError("sitemap is empty")
    out = ParsedFeed(kind=kind)
    for el in root.iter("{*}url", "{*}sitemap"):
        loc = _text(el, f"{_SITEMAP_NS}loc") or _text(el, "loc")
        if not loc:
            continue
        loc = urljoin(url, loc)
        if kind == "sitemapindex":
            out.children.append(loc)
            continue
        news = el.find(f"{_NEWS_NS}news")
        title = published = None
        if news is not None:
            title = _text(news, f"{_NEWS_NS}title")
            published = _text(news, f"{_NEWS_NS}publication_date")
        published = published or _text(el, f"{_SITEMAP_NS}lastmod") or _text(el, "lastmod")
        out.entries.append(Entry(id=loc, link=loc, title=title, published=published))
    return out


_ATOM = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_FAST_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)


def _all_text(el: Any) -> str | None:
    if el is None:
        return None
    # Most feed fields are one text node: skip the itertext walk for them.
    text = (el.text or "") if len(el) == 0 else "".join(el.itertext())
    return text.strip() or None


def _children(el: Any) -> dict[str, Any]:
    """First child element per tag, in one pass (cheaper than a find() per field)."""
    out: dict[str, Any] = {}
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag not in out:  # comments and PIs have no str tag
            out[tag] = child
    return out


@functools.lru_cache(maxsize=8192)  # feeds list the same entries poll after poll
def _resolve(base: str, link: str) -> str:
    return urljoin(base, link)


@functools.lru_cache(maxsize=8192)
def _rfc822(value: str | None) -> str | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=8192)
def _iso8601(value: str | None) -> str | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fast_parse(body: bytes, url: str) -> ParsedFeed | None:
    """lxml fast path for clean RSS 2.0 and Atom 1.0 (most real feeds); ``None`` means
    "use feedparser": anything ill-formed, with xml:base, or in another dialect."""
    if b"xml:base" in body:
        return None
    try:
        root = etree.fromstring(body, parser=_FAST_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    if root.tag == "rss" and root.get("version") in ("2.0", "0.91", "0.92"):
        return _fast_rss(root, url)
    if root.tag == f"{_ATOM}feed":
        return _fast_atom(root, url)
    return None


def _fast_rss(root: Any, url: str) -> ParsedFeed | None:
    channel = root.find("channel")
    if channel is None:
        return None
    out = ParsedFeed(kind="feed", title=_all_text(channel.find("title")))
    for link in channel.findall(f"{_ATOM}link"):
        rel, href = link.get("rel"), (link.get("href") or "").strip()
        if rel == "hub" and href and not out.hub:
            out.hub = href
        elif rel == "self" and href and not out.self_url:
            out.self_url = href
    for item in channel.iter("item"):
        f = _children(item)
        guid_el = f.get("guid")
        guid = _all_text(guid_el)
        link = _all_text(f.get("link"))
        if not link and guid and guid_el is not None and (guid_el.get("isPermaLink") or "true").lower() != "false":
            link = guid
        authors = [a for a in (_all_text(f.get("author")), _all_text(f.get(f"{_DC}creator"))) if a]
        summary = _all_text(f.get("description")) or _all_text(f.get(f"{_CONTENT}encoded"))
        date = _all_text(f.get("pubDate")) or _all_text(f.get(f"{_DC}date"))
        out.entries.append(
            Entry(
                id=guid,
                link=_resolve(url, link) if link else None,
                title=_all_text(f.get("title")),
                published=_rfc822(date) or _iso8601(date) or date,
                summary=summary[:_SUMMARY_MAX] if summary else None,
                authors=authors[:1],
            )
        )
    return out


def _fast_atom(root: Any, url: str) -> ParsedFeed | None:
    out = ParsedFeed(kind="feed", title=_all_text(root.find(f"{_ATOM}title")))
    for link in root.findall(f"{_ATOM}link"):
        rel, href = link.get("rel"), (link.get("href") or "").strip()
        if rel == "hub" and href and not out.hub:
            out.hub = href
        elif rel == "self" and href and not out.self_url:
            out.self_url = href
    for entry in root.iter(f"{_ATOM}entry"):
        link = None
        for el in entry.findall(f"{_ATOM}link"):
            if el.get("rel", "alternate") == "alternate" and el.get("href"):
                link = el.get("href").strip()
                if (el.get("type") or "text/html") == "text/html":
                    break
        entry_id = _all_text(entry.find(f"{_ATOM}id"))
        if link is None and entry_id and entry_id.lower().startswith(("http://", "https://")):
            link = entry_id  # as feedparser does: a URL id is the entry's address
        date = _all_text(entry.find(f"{_ATOM}published")) or _all_text(entry.find(f"{_ATOM}updated"))
        summary = _all_text(entry.find(f"{_ATOM}summary")) or _all_text(entry.find(f"{_ATOM}content"))
        authors = [a for a in (_all_text(x.find(f"{_ATOM}name")) for x in entry.findall(f"{_ATOM}author")) if a]
        out.entries.append(
            Entry(
                id=entry_id,
                link=_resolve(url, link) if link else None,
                title=_all_text(entry.find(f"{_ATOM}title")),
                published=_iso8601(date) or date,
                summary=summary[:_SUMMARY_MAX] if summary else None,
                authors=authors,
            )
        )
    return out


def _parse_feed(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    d = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    version = d.get("version") or ""
    feed = d.get("feed") or {}
    if not d.entries and not version:
        reason = d.get("bozo_exception")
        raise FeedParseError(f"not a feed: {reason or 'no feed element'}")
    out = ParsedFeed(kind="feed", title=feed.get("title"))
    if d.get("bozo"):
        out.warning = f"{type(d.get('bozo_exception')).__name__}: {d.get('bozo_exception')}"[:300]
    for link in feed.get("links", []) or []:
        rel = link.get("rel")
        if rel == "hub" and not out.hub:
            out.hub = link.get("href")
        elif rel == "self" and not out.self_url:
            out.self_url = link.get("href")
    for e in d.entries:
        link = e.get("link")
        if not link:
            for alt in e.get("links", []) or []:
                if alt.get("href") and alt.get("rel", "alternate") == "alternate":
                    link = alt["href"]
                    break
        if link:
            link = urljoin(url, link.strip())
        summary = e.get("summary")
        authors = [a.get("name") for a in e.get("authors", []) or [] if isinstance(a, dict) and a.get("name")]
        if not authors and isinstance(e.get("author"), str):
            authors = [e["author"]]
        out.entries.append(
            Entry(
                id=(e.get("id") or None),
                link=link or None,
                title=e.get("title"),
                published=_iso(e.get("published_parsed") or e.get("updated_parsed")) or e.get("published"),
                summary=summary[:_SUMMARY_MAX] if isinstance(summary, str) else None,
                authors=[str(a) for a in authors],
            )
        )
    return out


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1); feedparser 6 does not read it."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedParseError(f"JSON feed is not valid JSON: {exc}"[:300]) from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedParseError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    out = ParsedFeed(kind="feed", title=_str(doc.get("title")), self_url=_str(doc.get("feed_url")))
    for hub in doc.get("hubs") or []:
        if isinstance(hub, dict) and str(hub.get("type", "")).lower() == "websub" and _str(hub.get("url")):
            out.hub = _str(hub.get("url"))
            break
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError("JSON Feed without an items list")
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _str(item.get("url")) or _str(item.get("external_url"))
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        summary = _str(item.get("summary")) or _str(item.get("content_text"))
        out.entries.append(
            Entry(
                id=_str(item.get("id")) if item.get("id") is not None else None,
                link=urljoin(url, link) if link else None,
                title=_str(item.get("title")),
                published=_str(item.get("date_published")) or _str(item.get("date_modified")),
                summary=summary[:_SUMMARY_MAX] if summary else None,
                authors=[str(a["name"]) for a in authors if isinstance(a, dict) and a.get("name")],
            )
        )
    return out


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def parse_document(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse one fetched document (feed, sitemap, sitemap index or HTML page).

    Raises :class:`FeedParseError` with a reason when nothing usable is found.

    >>> parse_document(b'<rss version="2.0"><channel><item><link>/a</link></item></channel></rss>',
    ...                "http://x.test/feed").entries[0].link
    'http://x.test/a'
    """
    if not body.strip():
        raise FeedParseError("empty document")
    kind = _sniff(body)
    if kind in ("sitemap", "sitemapindex"):
        return _parse_sitemap(body, url, kind)
    if kind == "json":
        return _parse_json_feed(body, url)
    if kind == "html":
        alternates = discover_feeds(body, url)
        if not alternates:
            raise FeedParseError("HTML page without a feed link")
        return ParsedFeed(kind="html", alternates=alternates)
    fast = _fast_parse(body, url)
    if fast is not None:
        return fast
    try:
        return _parse_feed(body, url, content_type)
    except FeedParseError:
        raise
    except Exception as exc:  # feedparser on hostile bytes: any failure is this document's fault
        raise FeedParseError(f"feed parser failed: {type(exc).__name__}: {exc}"[:300]) from exc
