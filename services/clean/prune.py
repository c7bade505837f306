"""Cheap passes over the parsed page before main-text extraction.

- :func:`unwrap_layout_tables` turns page-layout tables into ``<div>``s, so the
  extractor scores their cells as blocks instead of keeping every cell as data.
- :func:`prune_boilerplate` drops unmistakable chrome: scripts (in ``<body>``; the
  JSON-LD kept in ``<head>`` stays) and form controls, and
  elements whose class/id says share bar, cookie notice, breadcrumb, related-article
  widget, navigation bar, comments, or byline/date line (metadata is read before this
  pass).  It is deliberately conservative: it never removes the root, ``<body>``,
  ``<main>``, ``<article>``, anything holding the ``<h1>``, nor an element holding much
  of the page's text.  ``nav``/``header``/``aside``/``footer`` tags are left to
  trafilatura, which judges them in context; pruning them here cost recall.
- :func:`main_container` finds the element the page itself names as the article.

All three scan attribute values as plain strings returned by one XPath call: that
keeps the walk over the tree in C, and only the few hits become Python elements.
"""

from __future__ import annotations

import re
from bisect import bisect_right

import ahocorasick
from lxml.etree import XPath, _Element, strip_elements
from lxml.html import HtmlElement

__all__ = ["main_container", "prune_boilerplate", "unwrap_layout_tables"]

# Never text.  <nav> and <header> are left to trafilatura: stripping them up front
# cost recall on trafilatura's evaluation set (some sites put article parts in them).
# <noscript> stays: pages rendered by script put their article there for crawlers, and
# trafilatura's fallback stages find it (bench.extract, all pages: F1 up on every set,
# trafilatura-eval 0.9242 -> 0.9254).
_DROP_TAGS = ("script", "style", "template", "iframe", "svg", "button", "select", "textarea", "input", "dialog")
_KEEP_TAGS = frozenset({"html", "body", "main", "article", "h1"})
# Class/id words that mark chrome.  Kept to unambiguous ones: "sidebar", "menu",
# "footer", "tags", "print" also name layout wrappers around the article
# ("sidebar-and-content-body", "hide-for-print"), which cost recall when pruned.
_CHROME_WORDS = ("breadcrumb", "breadcrumbs", "share", "sharing", "sharedaddy", "social", "socials", "related",
                 "relatedposts", "cookie", "cookies", "consent", "gdpr", "newsletter", "subscribe", "navbar",
                 "navigation", "nav", "comments", "disqus", "skip-link")  # fmt: skip
# Bylines and date lines, removed only when short.
_BYLINE_WORDS = ("date", "dateline", "time", "timestamp", "author", "authors", "byline", "writer", "posted-on",
                 "published", "entry-meta", "post-meta", "article-meta", "meta")  # fmt: skip
_CONTAINER_WORDS = ("article-body", "article-content", "article-text", "story-body", "story-content",
                    "story-text", "entry-content", "post-content", "post-body", "post-entry", "news-text",
                    "news-body", "body-text", "articletext", "single-content", "content-body", "main-text",
                    "td-post-content", "field-body", "text-content")  # fmt: skip


def _variants(stem: str) -> list[str]:
    """``article-body`` -> article-body, article_body, articlebody, article__body."""
    if "-" not in stem:
        return [stem]
    return [stem, stem.replace("-", "_"), stem.replace("-", ""), stem.replace("-", "__")]


def _word_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(sorted({v for w in words for v in _variants(w)}, key=len, reverse=True))
    return re.compile(rf"(?:^|[-_\s])(?:{alternatives})(?:$|[-_\s])", re.IGNORECASE)


_CHROME = _word_regex(_CHROME_WORDS)
_BYLINE = _word_regex(_BYLINE_WORDS)
# A class that also says "content" or "article" is a wrapper of the article itself.
_CONTENT = re.compile(r"content|article|entry|post|story|body|text|main", re.IGNORECASE)
_ATTRS = XPath(".//@class | .//@id")
_STRING = XPath("string()")
_MAX_SHARE = 0.4
_SMALL_CHARS = 300
_BYLINE_MAX_CHARS = 120
_MIN_CONTAINER_CHARS = 400
_MIN_CONTAINER_SHARE = 0.15
_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "article", "section")
_LAYOUT_ATTRS = ("width", "height", "align", "valign", "cellpadding", "cellspacing", "border", "colspan")


def _automaton(words: dict[str, tuple[str, ...]]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for kind, stems in words.items():
        for stem in stems:
            for variant in _variants(stem):
                kinds = automaton.get(variant, (len(variant), set()))[1]
                kinds.add(kind)
                automaton.add_word(variant, (len(variant), kinds))
    automaton.make_automaton()
    return automaton


_WORDS = _automaton({"chrome": _CHROME_WORDS, "byline": _BYLINE_WORDS, "container": _CONTAINER_WORDS})
_SEPARATORS = frozenset("-_ \t\n")


def _marked(scope: _Element, *wanted: str) -> list[_Element]:
    """Elements whose class or id holds a word of the ``wanted`` kinds, in document order.

    The attribute values are joined into one lower-cased string and scanned once by an
    Aho-Corasick automaton; a hit counts only as a whole word between separators.
    """
    values = _ATTRS(scope)
    if not values:
        return []
    starts: list[int] = []
    pos = 0
    for value in values:
        starts.append(pos)
        pos += len(value) + 1
    joined = "\n".join(values).lower()
    size = len(joined)
    hits: set[int] = set()
    for end, (length, kinds) in _WORDS.iter(joined):
        if kinds.isdisjoint(wanted):
            continue
        begin = end - length + 1
        if (begin == 0 or joined[begin - 1] in _SEPARATORS) and (end + 1 == size or joined[end + 1] in _SEPARATORS):
            hits.add(bisect_right(starts, begin) - 1)
    found: list[_Element] = []
    for i in sorted(hits):
        el = values[i].getparent()
        if el is not None and (not found or found[-1] is not el):
            found.append(el)
    return found


def _text_len(el: _Element) -> int:
    return len(str(_STRING(el)))


def _scope(tree: HtmlElement) -> _Element:
    body = tree.find(".//body")
    return body if body is not None else tree


def _remove(el: _Element) -> None:
    """Remove an element but keep its tail text, which belongs to the parent."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _marks(el: _Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def _is_chrome(el: _Element, limit: float) -> bool:
    if not isinstance(el.tag, str) or el.tag in _KEEP_TAGS or el.find(".//h1") is not None:
        return False
    marks = _marks(el)
    if _CHROME.search(marks) is not None:
        return _CONTENT.search(marks) is None and _text_len(el) < limit
    return _BYLINE.search(marks) is not None and _text_len(el) <= _BYLINE_MAX_CHARS


def prune_boilerplate(tree: HtmlElement) -> int:
    """Remove page chrome from ``tree`` in place; return how many elements went."""
    scope = _scope(tree)
    # In <body> only: <head> keeps the page's JSON-LD for trafilatura's baseline stage.
    strip_elements(scope, *_DROP_TAGS, with_tail=False)
    limit = max(_MAX_SHARE * _text_len(scope), _SMALL_CHARS)
    hits = _marked(scope, "chrome", "byline")
    removed: set[_Element] = set()
    for el in hits:
        if el in removed or any(a in removed for a in el.iterancestors()):
            continue
        if _is_chrome(el, limit):
            removed.add(el)
            _remove(el)
    return len(removed)


def _is_layout_table(table: _Element) -> bool:
    """A table that lays out a news page: it holds the headline and other tables or blocks.

    Only tables around the ``<h1>`` are unwrapped: on the CleanEval pages, unwrapping
    every table with block content cost recall (their tables hold the content itself).
    """
    if table.find(".//h1") is None:
        return False
    if table.find(".//table") is not None:
        return True
    return any(cell.find(f".//{tag}") is not None for cell in table.iter("td", "th") for tag in _BLOCKS)


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Turn layout tables into ``<div>``s so the extractor scores their cells as blocks.

    Older Arabic portals still lay pages out with nested tables; an extractor that
    treats every table as data keeps the menu, the side boxes and the footer cells
    with the article.  Returns how many tables were converted.
    """
    converted = 0
    for table in list(tree.iter("table")):
        if table.tag != "table" or not _is_layout_table(table):
            continue
        converted += 1
        for el in list(table.iter("table", "tbody", "thead", "tfoot", "tr", "td", "th")):
            el.tag = "div"
            for attr in _LAYOUT_ATTRS:
                el.attrib.pop(attr, None)
    return converted


def main_container(tree: HtmlElement) -> _Element | None:
    """The element that holds the article, when the page names it, else ``None``.

    Pages mark it with ``itemprop="articleBody"``, an ``<article>`` element or a
    class such as ``article-body``/``entry-content``.  The candidate with the most
    text wins; it must hold a fair share of the page's text, so a teaser ``<article>``
    on a listing page is not mistaken for the story.
    """
    scope = _scope(tree)
    candidates = [
        *scope.iterfind(".//*[@itemprop='articleBody']"),
        *scope.iter("article"),
        *_marked(scope, "container"),
    ]
    if not candidates:
        return None
    sizes = {el: _text_len(el) for el in candidates}
    best = max(sizes, key=lambda el: sizes[el])
    if sizes[best] < _MIN_CONTAINER_CHARS or sizes[best] < _MIN_CONTAINER_SHARE * _text_len(scope):
        return None
    return best
