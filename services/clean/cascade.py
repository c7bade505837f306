"""trafilatura's extraction cascade, run on our pruned tree with cheaper gates.

trafilatura's ``bare_extraction`` copies the tree it is given, runs its own cascade
(main extractor -> readability/jusText comparison -> baseline rescue -> recall
escalation) and serialises the result.  This module runs the same stages from
trafilatura's own functions, for the settings the clean stage uses (no comments,
tables kept, balanced focus), so that:

- the tree is not copied once more on the way in (the caller does not reuse it);
- the XPaths with ``re:test`` callbacks into Python for every element (raw-tree
  prunes, the main extractor's, ``basic_cleaning``'s) run as marker tests
  (:mod:`services.clean.mainpass`; same result, a fraction of the time), the raw
  tree's only when some class or id on the page can match;
- the comparison with readability and jusText (the costliest stage, about a third of
  trafilatura's time) can be gated by a cheap test on the main extractor's result.

Every stage's inputs and acceptance rules are trafilatura's; ``trace`` records which
stage produced the text, for the benchmark's diagnostics.
"""

from __future__ import annotations

import re
from copy import copy
from typing import Any, Literal

from lxml.etree import XPath, _Element
from lxml.html import HtmlElement
from trafilatura.baseline import _BLOCK_ELEMS, _spaced_text, baseline
from trafilatura.core import (
    ESCALATION_ACCEPT_RATIO,
    ESCALATION_JUSTEXT_RATIO,
    ESCALATION_MAX_LENGTH,
    ESCALATION_PAGE_SHARE,
    _forum_thread_page,
)
from trafilatura.external import compare_extraction, try_justext
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import _COOKIE_CONSENT_RE, Extractor
from trafilatura.utils import trim
from trafilatura.xml import xmltotxt
from trafilatura.xpaths import _COMMENTS_CLASS, _COMMENTS_ID

from services.clean.mainpass import basic_cleaning, extract_content, mark_raw, prune_raw_tree

__all__ = ["COMPARE_SHARE", "CompareMode", "extract_main_text"]

CompareMode = Literal["always", "gated", "never"]

# Whitespace-folded text length, counted inside libxml2 (its folding leaves a no-break
# space as a character, so this is never below Python's ``" ".join(text.split())``).
_FOLDED_LEN = XPath("string-length(normalize-space())")
_CLASSES = XPath(".//@class", smart_strings=False)
_IDS = XPath(".//@id", smart_strings=False)
# What a class or id must match for trafilatura's raw-tree prunes to select anything
# (the re:test patterns of RAW_TREE_PRUNE_XPATH and REMOVE_COMMENTS_AND_LISTS_XPATH),
# and for basic_cleaning's cookie-banner test: most pages match none, and this test is
# cheaper than marking the raw tree (see _raw_prunes).
_RAW_PRUNE_ID = re.compile(r"mvp-post-add-(?:box|wrap)|infinite-?scroll")
_RAW_PRUNE_CLASS = re.compile(r"mvp-post-add-(?:box|wrap)|infinite-?scroll|elementor-share-buttons")
_COMMENTS_PRUNE_ID = re.compile(f"^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)")
_COMMENTS_PRUNE_CLASS = re.compile(_COMMENTS_CLASS)
_COOKIE = re.compile(_COOKIE_CONSENT_RE, re.IGNORECASE)
# The gated comparison runs when the main extractor's text is under this share of the
# page's text (see _doubtful).
COMPARE_SHARE = 0.2


# One Extractor, copied per page: building one reads the config and asks the clock for
# the local time zone (for date settings the text extraction never reads), about a
# millisecond a page.
_BASE_OPTIONS = Extractor(output_format="python", comments=False, tables=True)


def _options(url: str | None, *, fast: bool) -> Extractor:
    options = copy(_BASE_OPTIONS)
    options.fast = fast
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return options


def _raw_prunes(tree: HtmlElement, *, is_forum: bool) -> HtmlElement:
    """trafilatura's raw-tree prunes, run (as marker XPaths) only when some class or id can match.

    Testing the page's class and id values first settles most pages for less than
    marking the raw tree costs (a page full of comment items would mark each).
    """
    classes, ids = _CLASSES(tree), _IDS(tree)
    if (
        any(map(_RAW_PRUNE_CLASS.search, classes))
        or any(map(_RAW_PRUNE_ID.search, ids))
        or (
            not is_forum
            and (any(map(_COMMENTS_PRUNE_CLASS.search, classes)) or any(map(_COMMENTS_PRUNE_ID.search, ids)))
        )
    ):
        mark_raw(tree)
        tree = prune_raw_tree(tree, is_forum=is_forum)
    return tree


def _basic_cleaning(tree: HtmlElement) -> HtmlElement:
    """trafilatura's ``basic_cleaning``; its cookie-banner markers set only if some can match."""
    if any(map(_COOKIE.search, _CLASSES(tree))) or any(map(_COOKIE.search, _IDS(tree))):
        mark_raw(tree)
    return basic_cleaning(tree)


def extract_main_text(
    tree: HtmlElement,
    url: str | None = None,
    *,
    compare: CompareMode = "gated",
    trace: dict[str, Any] | None = None,
) -> str:
    """Main text of ``tree`` (modified in place), paragraphs separated by ``\\n``.

    ``compare`` says when the main extractor's text is compared with readability's and
    jusText's: ``"always"`` (trafilatura's default), ``"never"`` (its ``fast`` mode,
    which also drops jusText from the recall escalation) or ``"gated"``: only when
    :func:`_doubtful` finds the main extractor's text short, structurally odd or small
    next to the page's text, which is when the comparison can change anything.
    """
    trace = trace if trace is not None else {}
    options = _options(url, fast=compare == "never")
    try:
        return _cascade(tree, url, options, compare, trace)
    except (TypeError, ValueError):  # as in trafilatura: lxml refusing a control character
        trace["stage"] = "failed"
        return ""


class _PageText:
    """The raw page's whitespace-folded text length, computed once and only if asked."""

    def __init__(self, tree: HtmlElement) -> None:
        self.tree = tree
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            body = self.tree.find(".//body")
            self._len = int(_FOLDED_LEN(body if body is not None else self.tree))
        return self._len


def _doubtful(body: _Element, text: str, page: _PageText, options: Extractor) -> bool:
    """Whether readability or jusText could replace the main extractor's result.

    trafilatura takes readability's text when its own is empty, when readability's is
    over twice as long, or when its own has no paragraph text or more tables than
    paragraphs; it asks jusText when its own text is short.  Readability's text is part
    of the page's, so a text holding over half the page's cannot be halved; below that
    the comparison runs only under ``COMPARE_SHARE`` of the page.  Measured on all
    ``bench.extract`` pages against ``compare="always"``: cleaneval F1 0.8945 -> 0.881
    (trafilatura alone: 0.855), dragnet 0.8053 -> 0.8065, the other sets within
    0.0003; the comparison then runs on 12-23% of pages instead of all.
    """
    if len(text) < options.min_extracted_size:
        return True
    if not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(body.findall(".//p")):
        return True
    return len(text) < COMPARE_SHARE * len(page)


def _cascade(
    tree: HtmlElement, url: str | None, options: Extractor, compare: CompareMode, trace: dict[str, Any]
) -> str:
    tree = _raw_prunes(tree, is_forum=_forum_thread_page(tree))
    page = _PageText(tree)
    cleaned_tree = tree_cleaning(copy(tree), options)
    # jusText in the comparison reads the cleaned, not yet converted tree.
    backup = copy(cleaned_tree) if compare == "always" else None
    cleaned_tree = convert_tags(cleaned_tree, options, url)

    postbody, temp_text = extract_content(cleaned_tree, options)
    trace["own_len"] = len(temp_text)
    trace["stage"] = "own"
    if compare == "always" or (compare == "gated" and _doubtful(postbody, temp_text, page, options)):
        trace["compared"] = True
        if backup is None:
            backup = tree_cleaning(copy(tree), options)
        before = postbody
        postbody, temp_text = compare_extraction(backup, copy(tree), postbody, temp_text, options)
        if postbody is not before:
            trace["stage"] = "compare"

    if len(temp_text) < options.min_extracted_size:
        b_body, b_text, b_len = baseline(tree)
        if b_len > len(temp_text):
            postbody, temp_text = b_body, b_text
            trace["stage"] = "baseline"

    if 0 < len(temp_text) < ESCALATION_MAX_LENGTH and len(temp_text) < ESCALATION_PAGE_SHARE * _page_text_len(
        tree, temp_text, page
    ):
        postbody, temp_text = _escalate(tree, options, (postbody, temp_text), trace)

    if not temp_text:  # trafilatura's minimum output size
        return ""
    return xmltotxt(postbody, options.formatting)


def _page_text_len(tree: HtmlElement, temp_text: str, page: _PageText) -> float:
    """Length of trafilatura's page text (``html2txt``), or a bound when that decides.

    ``html2txt`` copies the tree, deletes asides, footers and cookie notices (a regex
    callback per element) and joins the text with a space at each block boundary.  Its
    length is at most the page's whitespace-folded text plus one space either side of
    each block element; when even that bound leaves the extraction above the share that
    triggers the escalation, the exact figure is not needed.
    """
    body = tree.find(".//body")
    blocks = sum(1 for _ in (body if body is not None else tree).iter(*_BLOCK_ELEMS))
    bound = len(page) + 2 * blocks
    if len(temp_text) >= ESCALATION_PAGE_SHARE * bound:
        return bound
    copied = copy(tree)
    body = copied.find(".//body")
    return len(_spaced_text(_basic_cleaning(body if body is not None else copied)))


def _justext(tree: HtmlElement, options: Extractor) -> tuple[_Element, str]:
    """trafilatura's ``justext_rescue`` with the cheaper cleaning."""
    body = try_justext(_basic_cleaning(tree), options.url, options.lang)
    return body, trim(" ".join(body.itertext()))


def _recall_retry(tree: HtmlElement, options: Extractor, url: str | None) -> tuple[_Element, str]:
    """trafilatura's ``_recall_retry`` (its stages 1-2 again, recall focus) with our main pass."""
    cleaned = tree_cleaning(copy(tree), options)
    backup = copy(cleaned)
    cleaned = convert_tags(cleaned, options, url)
    postbody, temp_text = extract_content(cleaned, options)
    if not options.fast:
        postbody, temp_text = compare_extraction(backup, copy(tree), postbody, temp_text, options)
    return postbody, temp_text


def _escalate(
    tree: HtmlElement, options: Extractor, found: tuple[_Element, str], trace: dict[str, Any]
) -> tuple[_Element, str]:
    """trafilatura's recall escalation for a short text covering little of the page."""
    postbody, temp_text = found
    r_options = copy(options)
    r_options.focus = "recall"
    # Like trafilatura, a failing candidate is just no candidate: the text found so far stands.
    r_text = j_text = ""
    try:
        r_body, r_text = _recall_retry(tree, r_options, options.url)
    except Exception:
        r_text = ""
    if not options.fast:
        try:
            j_body, j_text = _justext(copy(tree), options)
        except Exception:
            j_text = ""
    len_text, r_len, j_len = len(temp_text), len(r_text), len(j_text)
    if j_len > r_len and j_len > ESCALATION_JUSTEXT_RATIO * len_text:
        trace["stage"] = "escalation-justext"
        return j_body, j_text
    if r_len >= options.min_extracted_size and r_len > ESCALATION_ACCEPT_RATIO * len_text:
        trace["stage"] = "escalation-recall"
        return r_body, r_text
    return postbody, temp_text
