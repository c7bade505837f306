"""Raw page bytes to the article a reader sees: the clean stage's extractor.

Pipeline: byte cap -> :func:`~services.clean.decode.decode_html` -> one lxml parse ->
our metadata pass on the full tree -> a pre-pruning pass that drops unmistakable
chrome (scripts, navigation, asides, footers, share bars, cookie notices, breadcrumbs,
related-article widgets) -> trafilatura's main-text extraction in fast mode on the
smaller tree -> line-level clean-up (headline copies, breadcrumbs) -> language by
lingua on a prefix of the text.

Everything here is module-level and takes picklable arguments so a process pool can
run :func:`extract_page` (trafilatura can hang on pathological pages; the runner
enforces the time limit by killing the worker).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import trafilatura
from lxml.etree import ParserError
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from services.clean.decode import decode_html
from services.clean.errors import DecodeError, ExtractionFailed, ExtractionTooLarge
from services.clean.language import detect_language
from services.clean.metadata import extract_metadata
from services.clean.prune import prune_boilerplate, unwrap_layout_tables

__all__ = ["DEFAULT_MAX_BYTES", "EXTRACTOR", "Extraction", "extract_page", "extract_text"]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
EXTRACTOR = f"newsingest-clean/1 (trafilatura {trafilatura.__version__})"

_WS = re.compile(r"[ \t\u00a0\u200b]+")
_CRUMB_SEPARATORS = re.compile(r"\s(?:/|»|›|>|«|‹|<|\\|::)\s")
_PUNCT = re.compile(r"[\W_]+")
_MENU_SEPARATORS = re.compile(r"\s*[|•·]\s*")
_MENU_ITEM_WORDS = 4


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


def _key(text: str) -> str:
    return _PUNCT.sub("", text).lower()


def _clean_lines(text: str, title: str | None) -> str:
    """Drop copies of the headline and breadcrumb lines; normalise spaces per line."""
    title_key = _key(title) if title else ""
    lines: list[str] = []
    for raw in text.split("\n"):
        line = _WS.sub(" ", raw).strip()
        if not line:
            continue
        key = _key(line)
        if title_key and key == title_key:
            continue
        # A breadcrumb: short separator-joined segments ending in the headline.
        if title_key and key.endswith(title_key) and len(_CRUMB_SEPARATORS.findall(line)) >= 1:
            continue
        if _is_menu(line):
            continue
        lines.append(line)
    return "\n".join(lines)


def _is_menu(line: str) -> bool:
    """A row of short links joined by bars or bullets ("طباعة | إرسال لصديق")."""
    if line.startswith("|"):  # a table row as trafilatura renders it: content
        return False
    parts = [p for p in _MENU_SEPARATORS.split(line) if p.strip()]
    if not _MENU_SEPARATORS.search(line) or not parts:
        return False
    return all(len(p.split()) <= _MENU_ITEM_WORDS for p in parts) and not line.rstrip().endswith((".", "؟", "!"))


def extract_text(tree: HtmlElement, url: str | None = None) -> str:
    """Main text of an already parsed (and pruned) page; paragraphs separated by ``\\n``."""
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=True,
        include_comments=False,
        include_tables=True,
        with_metadata=False,
        output_format="python",
    )
    if doc is None:
        return ""
    return str(getattr(doc, "text", None) or "")


def extract_page(
    body: bytes,
    url: str,
    http_charset: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Extraction:
    """Extract the article from raw page bytes.

    Raises :class:`ExtractionTooLarge` before parsing when ``body`` exceeds
    ``max_bytes``, :class:`DecodeError` when the bytes are not a parseable page.
    An empty ``text`` is returned as is; the handler decides whether that rejects.
    """
    if len(body) > max_bytes:
        raise ExtractionTooLarge(f"body is {len(body)} bytes, over the {max_bytes}-byte cap")
    if not body.strip():
        raise DecodeError("empty body")
    text, encoding = decode_html(body, http_charset)
    try:
        tree = load_html(text)
    except (ParserError, ValueError, TypeError) as exc:
        raise DecodeError(f"not parseable as HTML: {exc}") from exc
    if tree is None:
        raise DecodeError("not parseable as HTML")
    try:
        meta = extract_metadata(tree, url)
        unwrap_layout_tables(tree)
        prune_boilerplate(tree)
        main = _clean_lines(extract_text(tree, url), meta.title)
    except RecursionError as exc:  # lxml on absurdly deep trees
        raise ExtractionFailed("page too deeply nested") from exc
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
