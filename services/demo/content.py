"""The demo site's own content: fictional outlets and the original articles they publish.

Outlets are described in ``content/outlets.json``; each article is a Markdown-like file
under ``content/articles/<outlet id>/`` with a small ``key: value`` front matter block
and paragraphs separated by blank lines.  Loading is strict: a malformed file raises
:class:`~services.demo.errors.ContentError` at start-up rather than serving a broken page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from services.demo.errors import ContentError

__all__ = [
    "CONTENT_DIR",
    "FEED_FILES",
    "Article",
    "Outlet",
    "article_path",
    "load_articles",
    "load_expectations",
    "load_outlets",
    "outlet_tz",
    "parse_article",
]

CONTENT_DIR = Path(__file__).resolve().parent / "content"

#: Default file name of each feed format under an outlet's prefix.
FEED_FILES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}

_REQUIRED = ("id", "section", "title", "author", "published")


@dataclass(frozen=True, slots=True)
class Outlet:
    """A fictional news outlet, served under ``/<id>/`` with its own template and feed."""

    id: str
    name: str
    tagline: str
    language: str
    direction: str
    charset: str
    style: str
    feed: str
    month_names: str
    utc_offset: str
    article_path: str
    sections: tuple[tuple[str, str], ...] = ()
    pages: tuple[tuple[str, str], ...] = ()
    feed_file: str = ""
    footer_note: str = ""  # replaces the "everything here is invented" notice

    @property
    def prefix(self) -> str:
        """Path prefix of every URL of this outlet, with both slashes."""
        return f"/{self.id}/"

    @property
    def feed_path(self) -> str:
        """Path of the outlet's main feed (the one the crawler polls)."""
        return self.prefix + (self.feed_file or FEED_FILES[self.feed])

    def section_label(self, slug: str) -> str:
        """Human label of a section, or the slug itself when unknown."""
        return dict(self.sections).get(slug, slug)


@dataclass(frozen=True, slots=True)
class Article:
    """One article as written in the content folder (or built from a real record)."""

    id: str
    outlet: str
    section: str
    title: str
    author: str
    published: datetime
    paragraphs: tuple[str, ...]
    slug: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """The first sentence-ish of the lead paragraph, for feeds and listings."""
        lead = self.paragraphs[0] if self.paragraphs else ""
        return lead if len(lead) <= 220 else lead[:217].rsplit(" ", 1)[0] + "…"


def load_outlets(root: Path = CONTENT_DIR) -> dict[str, Outlet]:
    """Read ``outlets.json``; keys are outlet ids, in file order."""
    try:
        raw = json.loads((root / "outlets.json").read_text(encoding="utf-8"))
        outlets = {}
        for entry in raw["outlets"]:
            fields = dict(entry)
            fields["sections"] = tuple(tuple(s) for s in fields.get("sections", ()))
            fields["pages"] = tuple(tuple(p) for p in fields.get("pages", ()))
            outlet = Outlet(**fields)
            outlets[outlet.id] = outlet
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ContentError(f"bad outlets.json in {root}: {exc}") from exc
    return outlets


def parse_article(text: str, outlet: str, source: str = "<text>") -> Article:
    """Parse one article file: ``---`` front matter, then blank-line separated paragraphs."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ContentError(f"{source}: missing front matter")
    try:
        end = lines.index("---", 1)
    except ValueError as exc:
        raise ContentError(f"{source}: unterminated front matter") from exc
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if not sep:
            raise ContentError(f"{source}: bad front matter line {line!r}")
        meta[key.strip()] = value.strip()
    missing = [k for k in _REQUIRED if not meta.get(k)]
    if missing:
        raise ContentError(f"{source}: missing {', '.join(missing)}")
    try:
        published = datetime.fromisoformat(meta["published"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise ContentError(f"{source}: bad published date {meta['published']!r}") from exc
    if published.tzinfo is None:
        raise ContentError(f"{source}: published date needs a UTC offset")
    body = "\n".join(lines[end + 1 :])
    paragraphs = tuple(" ".join(p.split()) for p in body.split("\n\n") if p.strip())
    if not paragraphs:
        raise ContentError(f"{source}: empty body")
    return Article(
        id=meta["id"],
        outlet=outlet,
        section=meta["section"],
        title=meta["title"],
        author=meta["author"],
        published=published,
        paragraphs=paragraphs,
        slug=meta.get("slug", ""),
        tags=tuple(t.strip() for t in meta.get("tags", "").split(",") if t.strip()),
    )


def load_articles(root: Path = CONTENT_DIR, outlets: dict[str, Outlet] | None = None) -> list[Article]:
    """Every article of every known outlet, oldest first (the drip releases them in this order)."""
    outlets = outlets if outlets is not None else load_outlets(root)
    articles = []
    for outlet_id in outlets:
        for path in sorted((root / "articles" / outlet_id).glob("*.md")):
            articles.append(parse_article(path.read_text(encoding="utf-8"), outlet_id, str(path)))
    ids = [(a.outlet, a.id) for a in articles]
    if len(set(ids)) != len(ids):
        raise ContentError("duplicate article ids in content")
    articles.sort(key=lambda a: (a.published, a.outlet, a.id))
    return articles


def load_expectations(root: Path = CONTENT_DIR) -> dict[str, dict[str, Any]]:
    """Labels of the demo articles, keyed ``"<outlet>/<id>"``, for end-to-end checks.

    Each value has ``syria`` (bool) and optionally ``near_duplicate_of`` (another key) and
    ``hard_negative`` (why a Syria mention must not make it a Syria story).
    """
    try:
        raw = json.loads((root / "expectations.json").read_text(encoding="utf-8"))
        labels: dict[str, dict[str, Any]] = raw["articles"]
    except (OSError, ValueError, KeyError) as exc:
        raise ContentError(f"bad expectations.json in {root}: {exc}") from exc
    return labels


def article_path(outlet: Outlet, article: Article, *, quoted: bool = False) -> str:
    """The article's URL path from the outlet's pattern.

    ``quoted=True`` percent-encodes non-ASCII slugs (what goes into feeds and links);
    the unquoted form is what the server sees after decoding the request path.
    """
    local = article.published.astimezone(outlet_tz(outlet))
    tail = outlet.article_path.format(
        section=article.section,
        yyyy=f"{local.year:04d}",
        mm=f"{local.month:02d}",
        dd=f"{local.day:02d}",
        id=article.id,
        slug=article.slug or article.id,
    )
    path = outlet.prefix + tail
    return quote(path, safe="/-._~") if quoted else path


def outlet_tz(outlet: Outlet) -> tzinfo:
    """The fixed UTC offset the outlet displays its dates in."""
    tz = datetime.fromisoformat(f"2000-01-01T00:00:00{outlet.utc_offset}").tzinfo
    if tz is None:
        raise ContentError(f"outlet {outlet.id}: bad utc_offset {outlet.utc_offset!r}")
    return tz
