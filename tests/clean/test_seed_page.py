"""The seed article, rendered in our Arabic news templates, comes out clean."""

from __future__ import annotations

import pytest

from services.clean.extract import extract_page
from tests.support.pages import SEED_TITLE, TEMPLATES, parse_seed, seed_article_html


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1256"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_seed_page_extracts_clean_article(template: str, encoding: str) -> None:
    seed = parse_seed()
    result = extract_page(seed_article_html(template, encoding), "https://news.example/a/1")

    assert result.title == SEED_TITLE()
    assert result.encoding == encoding
    assert result.language == "ar"
    assert result.text.startswith("عواصم-وكالات-")
    assert SEED_TITLE() not in result.text  # no second copy of the headline
    assert seed.breadcrumb[0] not in result.text
    assert not result.text.rstrip().endswith(seed.footer_heading)
    assert seed.footer_heading not in result.text.splitlines()
    # Body complete: every paragraph of the seed, one per line, in order.
    assert result.text.split("\n") == list(seed.paragraphs)


def test_seed_title_is_parsed_not_hard_coded() -> None:
    seed = parse_seed()
    assert SEED_TITLE() == seed.headline == seed.breadcrumb[-1]
    assert len(seed.paragraphs) >= 10


@pytest.mark.parametrize("template", TEMPLATES)
def test_seed_page_metadata(template: str) -> None:
    result = extract_page(seed_article_html(template), "https://news.example/a/1")
    assert result.published is not None
    assert result.published.startswith("2017-08-06")
    assert result.authors == ["المحرر السياسي"]
    assert result.canonical_url is not None
    assert result.canonical_url.endswith("/news/2017/08/06/123456")
