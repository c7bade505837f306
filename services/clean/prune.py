"""A cheap first pass that removes unmistakable page chrome before main-text extraction.

Dropping navigation, asides, footers, share bars, cookie notices, breadcrumbs and
related-article widgets up front shrinks the tree trafilatura has to clean and score
(its cost grows with the tree) and keeps their text out of the candidates it scores.
The pass is deliberately conservative: it never removes the root, ``<body>``,
``<main>`` or ``<article>``, nor an element holding most of the page's text (a
wrapper whose class happens to say ``has-sidebar``).
"""

from __future__ import annotations

import re

from lxml.etree import _Element
from lxml.html import HtmlElement

__all__ = ["prune_boilerplate", "unwrap_layout_tables"]

_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "nav", "aside", "footer",
                        "button", "select", "textarea", "input", "dialog", "menu"})  # fmt: skip
_KEEP_TAGS = frozenset({"html", "body", "main", "article", "h1"})
# Words (or word stems) in class/id tokens that mark chrome on news and blog sites.
_CHROME = re.compile(
    r"(?:^|[-_\s])(?:breadcrumbs?|share|sharing|sharedaddy|social|socials|related|relatedposts|"
    r"cookies?|consent|gdpr|newsletter|subscribe|subscription|sidebar|navbar|navigation|nav|menu|"
    r"footer|colophon|comments?|disqus|advert|advertisement|ads|ad|banner|promo|popup|modal|"
    r"most-?read|mostread|popular|trending|read-?also|read-?more|tags|tag-?list|print|"
    r"pagination|pager|skip-?link|breaking|ticker|masthead|topbar|site-?header|tools|toolbar|actions)(?:$|[-_\s])",
    re.IGNORECASE,
)
_MAX_SHARE = 0.4
_SMALL_CHARS = 300
# Bylines and date lines: metadata is read before pruning, so they only clutter the text.
_BYLINE = re.compile(r"date|time|author|byline|writer|posted|published|meta", re.IGNORECASE)
_BYLINE_MAX_CHARS = 120


def _text_len(el: _Element) -> int:
    return sum(len(t) for t in el.itertext())


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


def _is_chrome(el: _Element) -> bool:
    tag = el.tag
    if not isinstance(tag, str) or tag in _KEEP_TAGS:
        return False
    if tag in _DROP_TAGS:
        return True
    if tag == "header":
        return el.find(".//h1") is None
    marks = f"{el.get('class') or ''} {el.get('id') or ''}".strip()
    if not marks:
        return False
    if el.find(".//h1") is not None:
        return False
    if _CHROME.search(marks) is not None:
        return True
    return _BYLINE.search(marks) is not None and _text_len(el) <= _BYLINE_MAX_CHARS


def prune_boilerplate(tree: HtmlElement) -> int:
    """Remove page chrome from ``tree`` in place; return how many elements went."""
    body = tree.find(".//body")
    scope = body if body is not None else tree
    total = _text_len(scope) or 1
    doomed: list[_Element] = []
    skip: set[_Element] = set()
    for el in scope.iter():
        if el in skip:
            continue
        if _is_chrome(el) and (
            el.tag in ("script", "style", "noscript", "template", "svg")
            or _text_len(el) < max(_MAX_SHARE * total, _SMALL_CHARS)
        ):
            doomed.append(el)
            skip.update(el.iterdescendants())
    for el in doomed:
        _remove(el)
    return len(doomed)


_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "article", "section")
_LAYOUT_CELL_CHARS = 300


def _is_layout_table(table: _Element) -> bool:
    """A table used for page layout rather than for tabular data."""
    if table.find(".//table") is not None:
        return True
    for cell in table.iter("td", "th"):
        if any(cell.find(f".//{tag}") is not None for tag in _BLOCKS) or (
            cell.find(".//br") is not None and _text_len(cell) > _LAYOUT_CELL_CHARS
        ):
            return True
    return False


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
            for attr in ("width", "height", "align", "valign", "cellpadding", "cellspacing", "border", "colspan"):
                el.attrib.pop(attr, None)
    return converted
