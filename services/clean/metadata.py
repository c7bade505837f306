"""Article metadata from the parsed page: title, authors, date, canonical URL, lead image.

Read straight from the lxml tree (meta tags, JSON-LD, ``<h1>``, ``<time>``, bylines)
instead of trafilatura's metadata pass, which runs htmldate's broad search and costs
more than the text extraction itself.  Publication dates also come from visible text
with Arabic month names (Levantine and Egyptian/Gulf forms) and Arabic-Indic digits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin

from lxml.etree import XPath
from lxml.html import HtmlElement

__all__ = ["Metadata", "extract_metadata", "parse_date"]

_WS = re.compile(r"\s+")
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•»«/]\s+|\s+::\s+")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

_MONTHS = {
    # Egyptian/Gulf (transliterated) names.
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "ابريل": 4, "إبريل": 4, "مايو": 5, "يونيو": 6,
    "يونيه": 6, "يوليو": 7, "يوليه": 7, "أغسطس": 8, "اغسطس": 8, "سبتمبر": 9, "أكتوبر": 10,
    "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    # Levantine/Iraqi (Syriac) names.
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "اذار": 3, "نيسان": 4, "أيار": 5, "ايار": 5,
    "حزيران": 6, "تموز": 7, "آب": 8, "اب": 8, "أيلول": 9, "ايلول": 9, "تشرين الأول": 10,
    "تشرين الاول": 10, "تشرين الثاني": 11, "كانون الأول": 12, "كانون الاول": 12,
    # Maghreb names.
    "جانفي": 1, "فيفري": 2, "أفريل": 4, "افريل": 4, "ماي": 5, "جوان": 6, "جويلية": 7, "أوت": 8,
    "اوت": 8,
    # English.
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_TEXT_DATE = re.compile(rf"(?<!\w)(\d{{1,2}})\s*(?:من\s+)?({_MONTH_ALT})\.?,?\s*(\d{{4}})(?!\d)", re.IGNORECASE)
_TEXT_DATE_MDY = re.compile(rf"(?<!\w)({_MONTH_ALT})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})(?!\d)", re.IGNORECASE)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DMY_DATE = re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?!\d)")

_DATE_META = (
    "article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate",
    "publish-date", "publish_date", "date", "dc.date", "dc.date.issued", "dcterms.created",
    "dcterms.date", "sailthru.date", "parsely-pub-date", "article.published", "published_time",
    "citation_publication_date", "originalpublicationdate", "og:article:published_time",
)  # fmt: skip
_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author", "byl")
_SITE_META = ("og:site_name", "application-name", "twitter:site", "publisher")
_BYLINE_PREFIX = re.compile(
    r"^\s*(?:by|von|par|por|بقلم|كتب|كتبت|كتبه|إعداد|اعداد|تحرير|حوار|تقرير|متابعة)\s*[:：]?\s*", re.IGNORECASE
)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|،|;|&|\band\b|\bund\b|\bet\b)\s*")
# Only consulted when meta tags and JSON-LD say nothing.  Selecting the attributes and
# then their elements tests only elements that have the attribute: the same elements,
# in document order, as a test on every element (``//*[contains(@class, ...)]``), in a
# third of the time.
_BYLINE_XPATH = XPath(
    "(.//@class[contains(., 'author') or contains(., 'byline') or contains(., 'writer')]"
    " | .//@rel[. = 'author'] | .//@itemprop[. = 'author'])/parent::*[not(self::body) and not(self::html)]"
)
_DATE_XPATH = XPath(
    "(.//@class[contains(., 'date') or contains(., 'time')] | .//@id[contains(., 'date')])"
    "/parent::*[not(self::body) and not(self::html)]"
)
_MAX_SCANNED = 10


@dataclass
class Metadata:
    """What the page says about its article."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    site_name: str | None = None
    html_lang: str | None = None


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def _meta(tree: HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in tree.iterfind(".//meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = _clean(el.get("content"))
        if key and content and key not in found:
            found[key] = content
    return found


def _json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` members flattened."""
    objects: list[dict[str, Any]] = []
    for el in tree.xpath(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(el.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
    return objects


def _is_article(obj: dict[str, Any]) -> bool:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and ("Article" in k or k in ("BlogPosting", "Report")) for k in kinds)


def parse_date(text: str | None) -> str | None:
    """An ISO date (``YYYY-MM-DD``, or date-time if given) from a machine or visible date.

    >>> parse_date("نشر بتاريخ: ٦ أغسطس ٢٠١٧"), parse_date("2017-08-06T09:30:00+03:00")
    ('2017-08-06', '2017-08-06T09:30:00+03:00')
    """
    if not text:
        return None
    text = _clean(text).translate(_DIGITS)
    iso = re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$", text)
    if iso:
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return text
    candidates: list[tuple[int, int, int]] = []
    m = _ISO_DATE.search(text)
    if m:
        candidates.append((int(m[1]), int(m[2]), int(m[3])))
    m = _TEXT_DATE.search(text)
    if m:
        candidates.append((int(m[3]), _MONTHS[m[2].lower()], int(m[1])))
    m = _TEXT_DATE_MDY.search(text)
    if m:
        candidates.append((int(m[3]), _MONTHS[m[1].lower()], int(m[2])))
    m = _DMY_DATE.search(text)
    if m:
        candidates.append((int(m[3]), int(m[2]), int(m[1])))
    for year, month, day in candidates:
        if 1990 <= year <= 2100:
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                continue
    return None


def _site_name(meta: dict[str, str], ld: list[dict[str, Any]]) -> str | None:
    for key in _SITE_META:
        if meta.get(key) and not meta[key].startswith("@"):
            return meta[key]
    for obj in ld:
        pub = obj.get("publisher")
        if isinstance(pub, dict) and isinstance(pub.get("name"), str):
            return _clean(pub["name"])
    return None


def _strip_site(title: str, site: str | None, guess: bool = True) -> str:
    """Drop a site-name prefix or suffix from a ``<title>``-like string.

    Without a known site name, ``guess`` keeps the longest separator-delimited part.
    """
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) < 2:
        return title
    if site:
        kept = [p for p in parts if _clean(p).lower() != site.lower()]
        if len(kept) < len(parts):
            return _clean(" - ".join(kept)) if kept else title
    # Without a known site name the longest part is the headline.
    return _clean(max(parts, key=len)) if guess else title


def _title(tree: HtmlElement, meta: dict[str, str], ld: list[dict[str, Any]], site: str | None) -> str | None:
    h1s = [_clean(h.text_content()) for h in tree.iterfind(".//h1")]
    h1s = [h for h in h1s if h and (not site or h.lower() != site.lower())]
    raw_title = _clean(tree.findtext(".//title"))
    raw_declared = meta.get("og:title") or meta.get("twitter:title")
    if not raw_declared:
        raw_declared = next(
            (_clean(o["headline"]) for o in ld if _is_article(o) and isinstance(o.get("headline"), str)), None
        )
    declared = _strip_site(raw_declared, site, guess=False) if raw_declared else None
    page_title = _strip_site(raw_title, site) if raw_title else None
    # An <h1> that the page's declared title also names is the headline; comparing with
    # the titles stripped of the site name rejects the logo-in-<h1> pattern.
    for h1 in h1s:
        if len(h1) >= 8 and any(h1 in t or t in h1 for t in (declared, page_title) if t):
            return h1
    return declared or page_title or (h1s[0] if h1s else None)


def _authors(tree: HtmlElement, meta: dict[str, str], ld: list[dict[str, Any]], site: str | None) -> list[str]:
    raw: list[str] = []
    for obj in ld:
        if not _is_article(obj):
            continue
        author = obj.get("author")
        for a in author if isinstance(author, list) else [author]:
            if isinstance(a, dict) and isinstance(a.get("name"), str):
                raw.append(a["name"])
            elif isinstance(a, str):
                raw.append(a)
    if not raw:
        raw = [meta[k] for k in _AUTHOR_META if meta.get(k) and not meta[k].startswith("http")][:1]
    if not raw:
        for el in _BYLINE_XPATH(tree)[:3]:
            text = _clean(el.text_content())
            if 2 < len(text) <= 60:
                raw.append(text)
                break
    names: list[str] = []
    for item in raw:
        for part in _AUTHOR_SPLIT.split(_BYLINE_PREFIX.sub("", _clean(item))):
            name = part.strip(" :-|")
            if 2 <= len(name) <= 60 and name not in names and (not site or name.lower() != site.lower()):
                names.append(name)
    return names


def _published(tree: HtmlElement, meta: dict[str, str], ld: list[dict[str, Any]]) -> str | None:
    for obj in ld:
        if _is_article(obj):
            found = parse_date(obj.get("datePublished") if isinstance(obj.get("datePublished"), str) else None)
            if found:
                return found
    for key in _DATE_META:
        found = parse_date(meta.get(key))
        if found:
            return found
    for el in tree.iterfind(".//time"):
        found = parse_date(el.get("datetime")) or parse_date(el.text_content())
        if found:
            return found
    for el in _DATE_XPATH(tree)[:_MAX_SCANNED]:
        text = _clean(el.text_content())
        if len(text) <= 80:
            found = parse_date(text)
            if found:
                return found
    return None


def _first_url(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return _first_url(value[0])
    if isinstance(value, dict):
        return _first_url(value.get("url"))
    return None


def extract_metadata(tree: HtmlElement, url: str) -> Metadata:
    """Collect title, authors, date, canonical URL and lead image from the page."""
    meta = _meta(tree)
    ld = _json_ld(tree)
    site = _site_name(meta, ld)
    canonical = None
    for link in tree.xpath(".//link[@rel='canonical']/@href")[:1]:
        canonical = urljoin(url, _clean(link)) if link.strip() else None
    canonical = canonical or (urljoin(url, meta["og:url"]) if meta.get("og:url") else None)
    image = meta.get("og:image") or meta.get("twitter:image") or meta.get("twitter:image:src")
    if not image:
        image = next((_first_url(o.get("image")) for o in ld if _is_article(o) and o.get("image")), None)
    root = tree.getroottree().getroot()
    return Metadata(
        title=_title(tree, meta, ld, site),
        authors=_authors(tree, meta, ld, site),
        published=_published(tree, meta, ld),
        canonical_url=canonical,
        image=urljoin(url, image) if image else None,
        site_name=site,
        html_lang=(root.get("lang") or root.get("xml:lang") or meta.get("content-language") or None),
    )
