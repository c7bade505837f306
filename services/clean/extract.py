"""Raw page bytes to the article a reader sees: the clean stage's extractor.

Pipeline: byte cap -> :func:`~services.clean.decode.decode_html` -> one lxml parse ->
our metadata pass on the full tree -> a pre-pruning pass that drops unmistakable
chrome (scripts, navigation, asides, footers, share bars, cookie notices, breadcrumbs,
related-article widgets) -> trafilatura's main-text cascade on the smaller tree, its
readability/jusText comparison only where the main text is doubtful
(:mod:`services.clean.cascade`) -> line-level clean-up (headline copies, breadcrumbs)
-> language by lingua on a prefix of the text.

Everything here is module-level and takes picklable arguments so a process pool can
run :func:`extract_page` (trafilatura can hang on pathological pages; the runner
enforces the time limit by killing the worker).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import lxml.html
import trafilatura
from lxml import etree
from lxml.etree import ParserError, XPath
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from services.clean.cascade import CompareMode, extract_main_text
from services.clean.decode import decode_html
from services.clean.errors import DecodeError, ExtractionFailed, ExtractionTooLarge
from services.clean.language import detect_language
from services.clean.metadata import extract_metadata, parse_date
from services.clean.prune import prune_boilerplate, unwrap_layout_tables

__all__ = ["DEFAULT_MAX_BYTES", "EXTRACTOR", "Extraction", "extract_page", "extract_text"]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
EXTRACTOR = f"newsingest-clean/1 (trafilatura {trafilatura.__version__})"

_PARSER = etree.HTMLParser(
    encoding="utf-8", collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)
# lxml.html's parser picks each element's class in a Python callback, which runs for
# every element proxy trafilatura's many tree walks create (about 5% of our time on
# bench.extract).  One C-level default class gives the same HtmlElement API (text_content
# and the rest); only the form-specific subclasses, which nothing here uses, are lost.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    )
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WS = re.compile(r"[ \t\u00a0\u200b]+")
_CRUMB_SEPARATORS = re.compile(r"\s(?:/|»|›|>|«|‹|<|\\|::)\s")
_PUNCT = re.compile(r"[\W_]+")
_MENU_SEPARATORS = re.compile(r"\s*[|•·]\s*")
_MENU_ITEM_WORDS = 4
_MENU_CHARS = re.compile(r"[|•·]")
_EDGE_LINES = 3
_META_LINE_WORDS = 8


@dataclass
class Extraction:
    """The article extracted from one page; ``text`` has one paragraph per line."""

    title: str | None
    text: str
    language: str | None
    published: str | None
    authors: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    image: str | None = None
    encoding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return asdict(self)


def parse_html(text: str) -> HtmlElement:
    """Parse decoded page text with the parser settings trafilatura uses.

    lxml parses UTF-8 bytes faster than a Python string, so the text is re-encoded.
    """
    data = _XML_DECLARATION.sub("", text, count=1).encode("utf-8", errors="replace")
    try:
        tree = lxml.html.document_fromstring(data, parser=_PARSER)
    except (ParserError, ValueError) as exc:
        raise DecodeError(f"not parseable as HTML: {exc}") from exc
    if tree is None or len(tree) == 0:
        raise DecodeError("not parseable as HTML")
    return tree


_JSON_LD = XPath(".//script[@type='application/ld+json']")


def _drop_head(tree: HtmlElement) -> None:
    """Empty ``<head>`` once metadata is read: trafilatura copies the tree several times.

    JSON-LD scripts, wherever they are, go into the emptied ``<head>``: trafilatura's
    baseline stage takes an ``articleBody`` from them when the page's markup holds too
    little text (pages rendered by script), and there they add nothing to the body text
    the pruning and the cascade measure.
    """
    scripts = _JSON_LD(tree)
    head = tree.find("head")
    if head is None:
        head = etree.Element("head")
        tree.insert(0, head)
    for child in list(head):
        head.remove(child)
    for script in scripts:
        parent = script.getparent()
        if parent is not None and parent is not head:
            _remove_keeping_tail(script)
        head.append(script)


def _remove_keeping_tail(el: Any) -> None:
    parent = el.getparent()
    if el.tail and el.tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    el.tail = None
    parent.remove(el)


def _needs_ws_fold(line: str) -> bool:
    return "  " in line or "\t" in line or "\u00a0" in line or "\u200b" in line


def _key(text: str) -> str:
    return _PUNCT.sub("", text).lower()


def _clean_lines(text: str, title: str | None, authors: list[str] | None = None) -> str:
    """Drop headline copies, breadcrumbs, link rows and edge date/byline lines."""
    title_key = _key(title) if title else ""
    shortest = 0.7 * len(title) if title else 0.0
    longest = 3 * len(title) + 80 if title else 0
    lines: list[str] = []
    for raw in text.split("\n"):
        # The regex only changes a line with a tab, no-break or zero-width space or a
        # double space; substring tests for those are far cheaper than running it.
        line = (_WS.sub(" ", raw) if _needs_ws_fold(raw) else raw).strip()
        if not line:
            continue
        # Only lines about as long as the headline can be a copy of it or a breadcrumb.
        if title_key and shortest <= len(line) <= longest:
            key = _key(line)
            if key == title_key or (key.endswith(title_key) and _CRUMB_SEPARATORS.search(line)):
                continue
        if _MENU_CHARS.search(line) and _is_menu(line):
            continue
        lines.append(line)
    names = [a for a in authors or [] if a]
    for _ in range(_EDGE_LINES):
        if lines and _is_meta_line(lines[0], names):
            lines.pop(0)
        if lines and _is_meta_line(lines[-1], names):
            lines.pop()
    return "\n".join(lines)


def _is_meta_line(line: str, authors: list[str]) -> bool:
    """A short line that is only a date or a byline, as left at the edges of the text."""
    if len(line.split()) > _META_LINE_WORDS or line.endswith((".", "؟", "?", "!")):
        return False
    if any(a in line for a in authors):
        return True
    return parse_date(line) is not None


def _is_menu(line: str) -> bool:
    """A row of short links joined by bars or bullets ("طباعة | إرسال لصديق")."""
    if line.startswith("|"):  # a table row as trafilatura renders it: content
        return False
    parts = [p for p in _MENU_SEPARATORS.split(line) if p.strip()]
    if not _MENU_SEPARATORS.search(line) or not parts:
        return False
    return all(len(p.split()) <= _MENU_ITEM_WORDS for p in parts) and not line.rstrip().endswith((".", "؟", "!"))


def extract_text(tree: HtmlElement, url: str | None = None, *, compare: CompareMode = "gated") -> str:
    """Main text of an already parsed (and pruned) page; paragraphs separated by ``\\n``.

    trafilatura's cascade runs on the whole pruned page (see
    :mod:`services.clean.cascade`; ``compare`` chooses when readability and jusText
    are consulted).  Measured on ``bench.extract`` (all pages): fast mode, and
    narrowing to the element the page names as its article (``articleBody``,
    ``entry-content``...), each cost recall (intro paragraphs, lists and footnotes
    outside the container) on some sets.
    """
    return extract_main_text(tree, url, compare=compare)


# A link label longer than this is a headline link, which can also be an article's line.
_LABEL_WORDS = 4


def _link_labels(tree: Any) -> set[str]:
    """Short link labels of the page (menu items, section names), whitespace-folded."""
    labels = set()
    for a in tree.iter("a"):
        label = " ".join(a.text_content().split())
        if label and len(label.split()) <= _LABEL_WORDS:
            labels.add(label)
    return labels


def _strip_link_edges(main: str, labels: set[str]) -> str:
    """Drop lines at either end of the text that are just a link label.

    On short pages trafilatura keeps a menu item ("Home") next to the article; a whole
    text of link labels is a menu rescued from a page with no article, so it empties.
    """
    lines = [line for line in main.splitlines() if line.strip()]
    while lines and " ".join(lines[0].split()) in labels:
        lines.pop(0)
    while lines and " ".join(lines[-1].split()) in labels:
        lines.pop()
    return "\n".join(lines)


def extract_page(
    body: bytes,
    url: str,
    http_charset: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    compare: CompareMode = "gated",
) -> Extraction:
    """Extract the article from raw page bytes.

    Raises :class:`ExtractionTooLarge` before parsing when ``body`` exceeds
    ``max_bytes``, :class:`DecodeError` when the bytes are not a parseable page.
    An empty ``text`` is returned as is; the handler decides whether that rejects.
    ``compare`` is for the benchmark's trade-off curve (see :func:`extract_main_text`).
    """
    if len(body) > max_bytes:
        raise ExtractionTooLarge(f"body is {len(body)} bytes, over the {max_bytes}-byte cap")
    if not body.strip():
        raise DecodeError("empty body")
    text, encoding = decode_html(body, http_charset)
    tree = parse_html(text)
    try:
        meta = extract_metadata(tree, url)
        labels = _link_labels(tree)
        _drop_head(tree)
        unwrap_layout_tables(tree)
        prune_boilerplate(tree)
        main = _clean_lines(extract_text(tree, url, compare=compare), meta.title, meta.authors)
    except RecursionError as exc:  # lxml on absurdly deep trees
        raise ExtractionFailed("page too deeply nested") from exc
    main = _strip_link_edges(main, labels)
    return Extraction(
        title=meta.title,
        text=main,
        language=detect_language(main, meta.html_lang),
        published=meta.published,
        authors=meta.authors,
        canonical_url=meta.canonical_url or url,
        image=meta.image,
        encoding=encoding,
    )
