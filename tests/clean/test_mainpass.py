"""services.clean.mainpass must give trafilatura's own ``extract_content``, character for character.

The pages are real (every evaluation set, read in place); each is pruned and cleaned as
the cascade does, then both implementations run on copies of the same tree.  The marker
XPaths are also checked one by one against trafilatura's ``re:test`` XPaths.
"""

from __future__ import annotations

import itertools
from copy import copy, deepcopy
from typing import Any

import pytest
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.main_extractor import extract_content as trafilatura_extract_content
from trafilatura.settings import BASIC_CLEAN_XPATH
from trafilatura.xml import xmltotxt
from trafilatura.xpaths import (
    BODY_XPATH,
    DISCARD_IMAGE_ELEMENTS,
    OVERALL_DISCARD_XPATH,
    RAW_TREE_PRUNE_XPATH,
    REMOVE_COMMENTS_AND_LISTS_XPATH,
    TEASER_DISCARD_XPATH,
)

from bench.extract.datasets import cleaneval, dragnet, fundus, l3s_gn1, trafilatura_eval
from services.clean import mainpass
from services.clean.cascade import _options
from services.clean.decode import decode_html
from services.clean.extract import _drop_head, parse_html
from services.clean.prune import prune_boilerplate, unwrap_layout_tables

PAGES = [
    *itertools.islice(trafilatura_eval(), 10),
    *itertools.islice(l3s_gn1(), 10),
    *itertools.islice(cleaneval(), 10),
    *itertools.islice(dragnet(), 10),
    *itertools.islice(fundus(), 5),
]


def _cleaned(doc: Any, focus: str, *, fast: bool = False) -> tuple[HtmlElement, Any]:
    tree = parse_html(decode_html(doc.body, None)[0])
    _drop_head(tree)
    unwrap_layout_tables(tree)
    prune_boilerplate(tree)
    options = _options(doc.url, fast=fast)
    options.focus = focus
    return convert_tags(tree_cleaning(copy(tree), options), options, doc.url), options


@pytest.mark.parametrize("focus", ["balanced", "recall", "precision"])
@pytest.mark.parametrize("doc", PAGES, ids=[d.id for d in PAGES])
def test_extract_content_is_trafilaturas(doc: Any, focus: str) -> None:
    tree, options = _cleaned(doc, focus, fast=focus == "recall")
    expected_body, expected_text = trafilatura_extract_content(deepcopy(tree), options)
    body, text = mainpass.extract_content(tree, options)
    assert text == expected_text
    assert xmltotxt(body, False) == xmltotxt(expected_body, False)


@pytest.mark.parametrize("doc", PAGES, ids=[d.id for d in PAGES])
def test_marker_xpaths_select_what_the_regex_xpaths_select(doc: Any) -> None:
    tree = parse_html(decode_html(doc.body, None)[0])
    mainpass.mark(tree)
    mainpass.mark_raw(tree)
    # trafilatura reads only the first element a BODY_XPATH selects (see _Markers.rewrite)
    for original, ours in zip(BODY_XPATH, mainpass._BODY_XPATH, strict=True):
        assert ours(tree)[:1] == original(tree)[:1]
    pairs = [*zip(OVERALL_DISCARD_XPATH, mainpass._OVERALL_DISCARD_XPATH, strict=True)]
    pairs += [*zip(TEASER_DISCARD_XPATH, mainpass._TEASER_DISCARD_XPATH, strict=True)]
    pairs += [*zip(DISCARD_IMAGE_ELEMENTS, mainpass._DISCARD_IMAGE_ELEMENTS, strict=True)]
    pairs += [*zip(RAW_TREE_PRUNE_XPATH, mainpass._RAW_TREE_PRUNE_XPATH, strict=True)]
    pairs += [*zip(REMOVE_COMMENTS_AND_LISTS_XPATH, mainpass._REMOVE_COMMENTS_AND_LISTS_XPATH, strict=True)]
    pairs += [(BASIC_CLEAN_XPATH, mainpass._BASIC_CLEAN_XPATH)]
    assert any("re:test" in original.path and "re:test" not in ours.path for original, ours in pairs)
    for original, ours in pairs:
        assert ours(tree) == original(tree)


def test_re_test_reads_the_first_of_two_attributes_in_source_order() -> None:
    # re:test(@id|@class, 'cookie') tests only the attribute written first.
    html = (
        '<html><body><div id="x1" class="cookie-box">a</div><div class="cookie-box" id="x2">b</div>'
        '<div id="cookie-note">c</div><span class="no-match">d</span></body></html>'
    )
    tree = parse_html(html)
    mainpass.mark(tree)
    overall = OVERALL_DISCARD_XPATH[0]
    ours = mainpass._OVERALL_DISCARD_XPATH[0]
    selected = [el.text for el in ours(tree)]
    assert selected == [el.text for el in overall(tree)]
    assert selected == ["b", "c"]
