"""trafilatura's cascade as :mod:`services.clean.cascade` runs it, on real pages.

``compare="always"`` must give trafilatura's own ``bare_extraction`` text: the
cheaper gates (raw-prune pre-test, page-text bound, no input copy) may not change a
character.  ``gated`` must agree with ``always`` wherever the main extractor's text
is not doubtful, and run the comparison where it is.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
import trafilatura
from lxml.html import HtmlElement

from bench.extract.datasets import dragnet, fundus, trafilatura_eval
from services.clean.cascade import extract_main_text
from services.clean.decode import decode_html
from services.clean.extract import _drop_head, extract_page, parse_html
from services.clean.prune import prune_boilerplate, unwrap_layout_tables

PAGES = [*itertools.islice(trafilatura_eval(), 12), *itertools.islice(dragnet(), 12), *itertools.islice(fundus(), 6)]


def _pruned(body: bytes) -> HtmlElement:
    tree = parse_html(decode_html(body, None)[0])
    _drop_head(tree)
    unwrap_layout_tables(tree)
    prune_boilerplate(tree)
    return tree


def _bare(tree: HtmlElement, url: str) -> str:
    doc = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, include_tables=True, with_metadata=False, output_format="python"
    )
    return str(getattr(doc, "text", None) or "") if doc is not None else ""


@pytest.mark.parametrize("doc", PAGES, ids=[d.id for d in PAGES])
def test_always_is_trafilaturas_cascade(doc: Any) -> None:
    tree = _pruned(doc.body)
    expected = _bare(copy.deepcopy(tree), doc.url)
    assert extract_main_text(tree, doc.url, compare="always") == expected


@pytest.mark.parametrize("doc", PAGES, ids=[d.id for d in PAGES])
def test_gated_compares_only_doubtful_texts(doc: Any) -> None:
    tree = _pruned(doc.body)
    always = extract_main_text(copy.deepcopy(tree), doc.url, compare="always")
    trace: dict[str, Any] = {}
    gated = extract_main_text(tree, doc.url, compare="gated", trace=trace)
    if trace.get("compared"):
        assert gated == always
    else:
        # Without the comparison the result is the main extractor's (or a later stage's).
        assert trace["stage"] != "compare"
        assert trace["own_len"] >= 250  # trafilatura's MIN_EXTRACTED_SIZE: short texts are always compared
        assert gated.strip()


def test_never_skips_the_comparison() -> None:
    trace: dict[str, Any] = {}
    text = extract_main_text(_pruned(PAGES[0].body), PAGES[0].url, compare="never", trace=trace)
    assert text.strip()
    assert "compared" not in trace


def test_script_rendered_page_falls_back_to_json_ld_article_body() -> None:
    # A page whose markup is an empty app shell: the article exists only as JSON-LD,
    # which trafilatura's baseline stage reads once the markup yields too little text.
    body = (
        "The river authority opened the new footbridge on Monday after two years of work. "
        "Cyclists and walkers can now cross without the long detour through the industrial estate, "
        "and the old ferry landing will become a small park next spring."
    )
    ld = json.dumps(
        {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Footbridge opens", "articleBody": body}
    )
    page = (
        f'<html><head><title>Footbridge opens</title><script type="application/ld+json">{ld}</script></head>'
        '<body><div id="app"></div><script>render()</script></body></html>'
    ).encode()
    assert extract_page(page, "https://news.example/footbridge").text == body
