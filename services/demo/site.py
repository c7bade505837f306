"""The local demo news site that ``make run`` starts and the crawler tests poll.

One aiohttp application on one port serves three fictional outlets under path prefixes
(``/ar-daily/`` Arabic daily in windows-1256 with RSS, ``/ofoq/`` Arabic portal with JSON
Feed, ``/wire/`` English wire with Atom), Google News sitemaps, ``/robots.txt``,
``/feeds.json`` (what the crawler should poll) and, with ``real_dir``, a ``/real/`` section
of real pages read in place from the shared data folder.

Drip mode releases the shipped articles one by one (oldest first) so a running pipeline
shows items arriving: the feeds first list at least :data:`INITIAL_ITEMS` articles (more
if needed so that no outlet's feed starts empty) and one more every ``drip_seconds`` of
the injected ``clock``.  Unreleased article pages answer 404.

Start it with ``python -m services.demo --port 8800`` (:mod:`services.demo.command`) or, in code::

    async with serve(port=0) as site:
        print(site.base_url, feed_urls(site.base_url))
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from services.demo import feeds
from services.demo.caching import conditional_gzip_middleware, http_date
from services.demo.content import Article, Outlet, article_path, load_articles, load_outlets
from services.demo.errors import DemoError
from services.demo.real import REAL_OUTLET, RealLoader, check_real_dir
from services.demo.release import INITIAL_ITEMS, RELEASE, Release
from services.demo.templates import Alternate, Link, render_article, render_listing, render_static

__all__ = ["INITIAL_ITEMS", "RELEASE", "Release", "RunningSite", "build_app", "feed_urls", "serve"]

log = logging.getLogger(__name__)

_MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # Last-Modified of pages that never change
_CSS = "body{font-family:sans-serif;margin:0 auto;max-width:70em}.cookie-banner,#cookie-bar{position:fixed;bottom:0}"


def feed_urls(base_url: str, *, real: bool = False, formats: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The feeds a crawler should poll on a demo site at ``base_url``, one per outlet.

    Each descriptor is ``{"id", "url", "language", "format"}``; ``language`` is ``None``
    for the real-pages feed, which mixes Arabic articles with mostly German/English pages.
    ``formats`` (e.g. ``{"rss", "atom"}``) limits the formats a client can read: an outlet
    whose main feed is in another format is listed with its RSS feed instead.

    >>> [d["url"] for d in feed_urls("http://127.0.0.1:8800")][:1]
    ['http://127.0.0.1:8800/ar-daily/rss.xml']
    """
    base = base_url.rstrip("/")
    out: list[dict[str, Any]] = []
    for o in load_outlets().values():
        if formats is None or o.feed in formats:
            out.append({"id": o.id, "url": base + o.feed_path, "language": o.language, "format": o.feed})
        else:
            out.append({"id": o.id, "url": f"{base}{o.prefix}rss.xml", "language": o.language, "format": "rss"})
    if real:
        out.append({"id": REAL_OUTLET.id, "url": base + REAL_OUTLET.feed_path, "language": None, "format": "rss"})
    return out


@dataclass(frozen=True, slots=True)
class RunningSite:
    """A started demo site: where it listens and the application it runs."""

    base_url: str
    host: str
    port: int
    app: web.Application


class _Site:
    """Request handlers over the loaded content; one instance per application."""

    def __init__(self, base_url: str, release: Release, outlets: dict[str, Outlet], real: RealLoader | None):
        self.base = base_url.rstrip("/")
        self.release = release
        self.outlets = outlets
        self.real = real
        self.by_path: dict[str, Article] = {}
        for a in release.articles:
            self.by_path[article_path(outlets[a.outlet], a)] = a

    # --- helpers ---------------------------------------------------------------------

    def url(self, outlet: Outlet, a: Article) -> str:
        return self.base + article_path(outlet, a, quoted=True)

    def alternates(self, o: Outlet) -> list[Alternate]:
        alts = [Alternate(_MIME[o.feed], o.name, self.base + o.feed_path)]
        if o.feed != "rss":
            alts.append(Alternate("application/rss+xml", f"{o.name} (RSS)", f"{self.base}{o.prefix}rss.xml"))
        return alts

    def released(self, o: Outlet) -> list[Article]:
        return [a for a in reversed(self.release.released()) if a.outlet == o.id]

    def outlet(self, request: web.Request) -> Outlet:
        return self.outlets[request.match_info["outlet"]]

    def items(self, o: Outlet, articles: Sequence[Article]) -> list[feeds.FeedItem]:
        return [
            feeds.FeedItem(
                id=f"urn:newsingest-demo:{o.id}:{a.id}",
                url=self.url(o, a),
                title=a.title,
                published=a.published,
                author=a.author,
                summary=a.summary,
                tags=a.tags,
            )
            for a in articles
        ]

    def channel(self, o: Outlet, path: str) -> feeds.Channel:
        return feeds.Channel(o.name, self.base + o.prefix, self.base + path, o.language, o.tagline, o.name)

    # --- outlet handlers -------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        o = self.outlet(request)
        items = [(a, self.url(o, a)) for a in self.released(o)]
        home = Link("الرئيسية" if o.language == "ar" else "Home", o.prefix)
        page = render_listing(
            o,
            heading=o.name,
            url=self.base + o.prefix,
            items=items,
            alternates=self.alternates(o),
            crumbs=[home],
        )
        return _html(o, page, _latest(a.published for a, _ in items))

    async def section(self, request: web.Request) -> web.Response:
        o = self.outlet(request)
        slug = request.match_info["section"]
        if slug not in dict(o.sections):
            raise web.HTTPNotFound()
        items = [(a, self.url(o, a)) for a in self.released(o) if a.section == slug]
        url = f"{self.base}{o.prefix}section/{slug}/"
        crumbs = [Link("الرئيسية" if o.language == "ar" else "Home", o.prefix), Link(o.section_label(slug), url)]
        page = render_listing(
            o, heading=o.section_label(slug), url=url, items=items, alternates=self.alternates(o), crumbs=crumbs
        )
        return _html(o, page, _latest(a.published for a, _ in items))

    async def static_page(self, request: web.Request) -> web.Response:
        o = self.outlet(request)
        label = dict(o.pages).get(request.match_info["page"])
        if label is None:
            raise web.HTTPNotFound()
        url = f"{self.base}{o.prefix}page/{request.match_info['page']}.html"
        return _html(o, render_static(o, label=label, url=url, alternates=self.alternates(o)), _EPOCH)

    async def css(self, request: web.Request) -> web.Response:
        o = self.outlets.get(request.match_info.get("outlet", ""), REAL_OUTLET)
        body = _CSS + ("body{direction:rtl}" if o.direction == "rtl" else "")
        return _bytes(body.encode(), "text/css; charset=utf-8", _EPOCH)

    async def feed(self, request: web.Request) -> web.Response:
        o = self.outlet(request)
        kind = {"rss.xml": "rss", "atom.xml": "atom", "feed.json": "json"}[request.match_info["file"]]
        if kind not in {o.feed, "rss"}:
            raise web.HTTPNotFound()
        articles = self.released(o)
        build = {"rss": feeds.rss, "atom": feeds.atom, "json": feeds.json_feed}[kind]
        body = build(self.channel(o, request.path), self.items(o, articles))
        return _bytes(body, f"{_MIME[kind]}; charset=utf-8", _latest(a.published for a in articles))

    async def sitemap(self, request: web.Request) -> web.Response:
        only = request.match_info.get("outlet")
        rows = []
        for a in reversed(self.release.released()):
            o = self.outlets[a.outlet]
            if only in (None, o.id):
                rows.append((self.items(o, [a])[0], o.name, o.language))
        return _bytes(
            feeds.news_sitemap(rows), "application/xml; charset=utf-8", _latest(i.published for i, *_ in rows)
        )

    async def article(self, request: web.Request) -> web.Response:
        o = self.outlet(request)
        a = self.by_path.get(request.path)
        released = self.release.released()
        if a is None or a not in released:
            raise web.HTTPNotFound()
        related = [Link(r.title, self.url(o, r)) for r in self.released(o) if r is not a][:4]
        page = render_article(o, a, url=self.url(o, a), alternates=self.alternates(o), related=related)
        return _html(o, page, a.published)

    # --- site-wide -------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        descs = feed_urls(self.base, real=self.real is not None)
        out = self.release.count()
        rows = "\n".join(
            f'<li><a href="{o.prefix}">{escape(o.name)}</a> ({o.language}, {o.charset}) — '
            f'<a href="{o.feed_path}">{o.feed} feed</a>, <a href="{o.prefix}sitemap-news.xml">news sitemap</a></li>'
            for o in self.outlets.values()
        )
        if self.real is not None:
            rows += f'\n<li><a href="/real/">Real pages</a> — <a href="{REAL_OUTLET.feed_path}">RSS</a></li>'
        feeds_list = "\n".join(f"<li><code>{escape(d['url'])}</code></li>" for d in descs)
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>newsingest demo news site</title>
<link rel="alternate" type="application/rss+xml" title="Al-Wadi" href="{self.base}/ar-daily/rss.xml"></head>
<body><h1>newsingest demo news site</h1>
<p>Fictional outlets written for testing the pipeline. {out} of {len(self.by_path)} articles released.</p>
<h2>Outlets</h2><ul>{rows}</ul>
<h2>Feeds to poll</h2><ul>{feeds_list}</ul>
<p><a href="/feeds.json">/feeds.json</a> · <a href="/sitemap-news.xml">/sitemap-news.xml</a> ·
<a href="/robots.txt">/robots.txt</a></p></body></html>
"""
        return _bytes(page.encode(), "text/html; charset=utf-8", None)

    async def feeds_json(self, request: web.Request) -> web.Response:
        """``/feeds.json``; ``?formats=rss,atom`` as in :func:`feed_urls`."""
        wanted = request.query.get("formats")
        formats = {f.strip() for f in wanted.split(",") if f.strip()} if wanted else None
        body = orjson.dumps(
            feed_urls(self.base, real=self.real is not None, formats=formats), option=orjson.OPT_INDENT_2
        )
        return _bytes(body, "application/json", _EPOCH)

    async def robots(self, request: web.Request) -> web.Response:
        maps = [f"{self.base}/sitemap-news.xml"] + [
            f"{self.base}{o.prefix}sitemap-news.xml" for o in self.outlets.values()
        ]
        text = "User-agent: *\nDisallow: /ofoq/search\nAllow: /\n\n" + "".join(f"Sitemap: {m}\n" for m in maps)
        return _bytes(text.encode(), "text/plain; charset=utf-8", _EPOCH)

    # --- real pages ------------------------------------------------------------------

    async def real_index(self, request: web.Request) -> web.Response:
        pages = await self._real().get()
        rows = [
            f'<li><a href="{self.base}/real/saudinewsnet/{a.id}.html">{escape(a.title)}</a></li>'
            for a in pages.articles
        ]
        rows += [
            f'<li><a href="{self.base}/real/trafilatura-eval/{p.name}">{escape(p.title)}</a></li>' for p in pages.raw
        ]
        page = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{escape(REAL_OUTLET.name)}</title>
<link rel="alternate" type="application/rss+xml" href="{self.base}{REAL_OUTLET.feed_path}"></head>
<body><h1>{escape(REAL_OUTLET.name)}</h1><ul>{"".join(rows)}</ul></body></html>
"""
        return _bytes(page.encode(), "text/html; charset=utf-8", None)

    async def real_feed(self, request: web.Request) -> web.Response:
        pages = await self._real().get()
        items = self.items(REAL_OUTLET, pages.articles)
        items += [
            feeds.FeedItem(
                id=f"urn:newsingest-demo:real:{p.name}",
                url=f"{self.base}/real/trafilatura-eval/{p.name}",
                title=p.title,
                published=p.published,
                author="",
                summary=p.title,
            )
            for p in pages.raw
        ]
        channel = feeds.Channel(
            REAL_OUTLET.name,
            f"{self.base}/real/",
            self.base + REAL_OUTLET.feed_path,
            "",
            REAL_OUTLET.tagline,
            "newsingest",
        )
        return _bytes(
            feeds.rss(channel, items), "application/rss+xml; charset=utf-8", _latest(i.published for i in items)
        )

    async def real_article(self, request: web.Request) -> web.Response:
        found = (await self._real().get()).article(request.match_info["number"])
        if found is None:
            raise web.HTTPNotFound()
        a, _source = found
        pages = await self._real().get()
        related = [Link(r.title, self.url(REAL_OUTLET, r)) for r in pages.articles if r is not a][:4]
        page = render_article(
            REAL_OUTLET, a, url=self.url(REAL_OUTLET, a), alternates=self.alternates(REAL_OUTLET), related=related
        )
        return _html(REAL_OUTLET, page, a.published)

    async def real_raw(self, request: web.Request) -> web.Response:
        p = (await self._real().get()).raw_page(request.match_info["name"])
        if p is None:
            raise web.HTTPNotFound()
        ctype = f"text/html; charset={p.charset}" if p.charset else "text/html"
        return _bytes(p.body, ctype, p.published)

    async def real_static(self, request: web.Request) -> web.Response:
        label = dict(REAL_OUTLET.pages).get(request.match_info["page"])
        if label is None:
            raise web.HTTPNotFound()
        url = f"{self.base}/real/page/{request.match_info['page']}.html"
        page = render_static(REAL_OUTLET, label=label, url=url, alternates=self.alternates(REAL_OUTLET))
        return _html(REAL_OUTLET, page, _EPOCH)

    def _real(self) -> RealLoader:
        if self.real is None:  # routes exist only in real mode; this guards the type
            raise web.HTTPNotFound()
        return self.real


def _latest(dates: Iterable[datetime]) -> datetime:
    return max(dates, default=_EPOCH)


def _bytes(body: bytes, content_type: str, last_modified: datetime | None) -> web.Response:
    headers = {"Content-Type": content_type, "Cache-Control": "public, max-age=0, must-revalidate"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    return web.Response(body=body, headers=headers)


def _html(outlet: Outlet, page: str, last_modified: datetime) -> web.Response:
    # xmlcharrefreplace: a character windows-1256 lacks becomes &#NNNN; and stays readable.
    body = page.encode(outlet.charset, "xmlcharrefreplace")
    return _bytes(body, f"text/html; charset={outlet.charset}", last_modified)


@web.middleware
async def _request_log(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    try:
        resp: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        log.debug("request", extra={"method": request.method, "path": request.path, "status": exc.status})
        raise
    log.debug("request", extra={"method": request.method, "path": request.path, "status": resp.status})
    return resp


def _url_host(host: str) -> str:
    if host in {"", "0.0.0.0", "::"}:  # a wildcard bind is reached through loopback
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def build_app(
    base_url: str,
    *,
    drip_seconds: float = 0,
    real_dir: Path | None = None,
    real_limit: int = 50,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The demo site as an aiohttp application whose absolute links start with ``base_url``.

    ``drip_seconds > 0`` releases articles gradually (see :class:`Release`); ``real_dir``
    (a folder laid out like ``../shared/data``) adds ``/real/`` with up to ``real_limit``
    real pages, loaded lazily on first request.
    """
    outlets = load_outlets()
    release = Release(load_articles(outlets=outlets), drip_seconds, clock)
    loader = None
    if real_dir is not None:
        check_real_dir(real_dir)
        loader = RealLoader(real_dir, real_limit)
    site = _Site(base_url, release, outlets, loader)
    app = web.Application(middlewares=[web.normalize_path_middleware(), _request_log, conditional_gzip_middleware])
    ids = "|".join(re.escape(o) for o in outlets)
    r = app.router
    r.add_get("/", site.index)
    r.add_get("/feeds.json", site.feeds_json)
    r.add_get("/robots.txt", site.robots)
    r.add_get("/sitemap-news.xml", site.sitemap)
    if loader is not None:
        r.add_get("/real/", site.real_index)
        r.add_get("/real/feed.xml", site.real_feed)
        r.add_get("/real/saudinewsnet/{number:\\d+}.html", site.real_article)
        r.add_get("/real/trafilatura-eval/{name}", site.real_raw)
        r.add_get("/real/page/{page}.html", site.real_static)
        r.add_get("/real/static/site.css", site.css)
    r.add_get(f"/{{outlet:{ids}}}/", site.home)
    r.add_get(f"/{{outlet:{ids}}}/{{file:rss\\.xml|atom\\.xml|feed\\.json}}", site.feed)
    r.add_get(f"/{{outlet:{ids}}}/sitemap-news.xml", site.sitemap)
    r.add_get(f"/{{outlet:{ids}}}/section/{{section}}/", site.section)
    r.add_get(f"/{{outlet:{ids}}}/page/{{page}}.html", site.static_page)
    r.add_get(f"/{{outlet:{ids}}}/static/site.css", site.css)
    r.add_get(f"/{{outlet:{ids}}}/{{tail:.+}}", site.article)
    app[RELEASE] = release
    return app


@asynccontextmanager
async def serve(
    host: str = "127.0.0.1", port: int = 8800, *, base_url: str | None = None, **kw: Any
) -> AsyncIterator[RunningSite]:
    """Run the demo site until the block exits; ``port=0`` picks a free port.

    The socket is bound before the app is built so the absolute links in feeds carry the
    real port.  ``kw`` goes to :func:`build_app` (``drip_seconds``, ``real_dir``, ...).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        actual = sock.getsockname()[1]
        base = (base_url or f"http://{_url_host(host)}:{actual}").rstrip("/")
        app = build_app(base, **kw)
    except OSError as exc:
        sock.close()
        raise DemoError(f"cannot listen on {host}:{port}: {exc}") from exc
    except BaseException:
        sock.close()
        raise
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        log.info("demo site listening", extra={"base_url": base})
        yield RunningSite(base_url=base, host=host, port=actual, app=app)
    finally:
        await runner.cleanup()
        sock.close()
