"""The shipped demo content and its templates, without a server."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape

import pytest

from services.demo.content import load_articles, load_expectations, load_outlets, parse_article
from services.demo.errors import ContentError
from services.demo.templates import Link, format_date, render_article


def test_content_mix_matches_the_demo_brief() -> None:
    articles = load_articles()
    outlets = load_outlets()
    labels = load_expectations()
    assert {f"{a.outlet}/{a.id}" for a in articles} == set(labels)
    by_lang = {lang: [a for a in articles if outlets[a.outlet].language == lang] for lang in ("ar", "en")}
    assert len(by_lang["ar"]) >= 9
    assert len(by_lang["en"]) >= 7
    syria = [k for k, v in labels.items() if v["syria"]]
    assert 10 <= len(syria) < len(articles)
    assert any("hard_negative" in v for v in labels.values())
    assert all(a.published.tzinfo is not None for a in articles)
    assert [a.published for a in articles] == sorted(a.published for a in articles)


def test_near_duplicate_pair_is_the_same_story_on_two_outlets() -> None:
    by_key = {f"{a.outlet}/{a.id}": a for a in load_articles()}
    pairs = [(k, v["near_duplicate_of"]) for k, v in load_expectations().items() if "near_duplicate_of" in v]
    assert pairs
    for copy_key, original_key in pairs:
        copy, original = by_key[copy_key], by_key[original_key]
        assert copy.outlet != original.outlet
        assert copy.title != original.title
        words = lambda a: set(" ".join(a.paragraphs).split())  # noqa: E731
        overlap = len(words(copy) & words(original)) / len(words(copy) | words(original))
        assert 0.4 < overlap < 0.95, overlap  # edited, not identical


def test_dates_are_printed_the_way_each_outlet_does() -> None:
    outlets = load_outlets()
    when = datetime(2026, 11, 22, 8, 40, tzinfo=UTC)
    assert format_date(outlets["ar-daily"], when) == "الأحد 22 تشرين الثاني 2026 - 11:40"
    assert format_date(outlets["ofoq"], when) == "22 نوفمبر 2026 | 10:40 ص"
    assert format_date(outlets["wire"], when) == "November 22, 2026 8:40 AM UTC"


@pytest.mark.parametrize("outlet_id", ["ar-daily", "ofoq", "wire"])
def test_article_template_has_one_headline_byline_and_chrome(outlet_id: str) -> None:
    outlet = load_outlets()[outlet_id]
    article = next(a for a in load_articles() if a.outlet == outlet_id)
    page = render_article(
        outlet, article, url="http://x.test/a", alternates=[], related=[Link("Other story", "http://x.test/b")]
    )
    assert len(re.findall(r"<h1\b", page)) == 1
    assert article.author in page
    assert format_date(outlet, article.published) in page
    assert f'lang="{outlet.language}" dir="{outlet.direction}"' in page
    assert "Other story" in page  # related widget
    assert "facebook.com/sharer" in page  # share bar
    assert re.search(r"cookie", page, re.IGNORECASE)
    assert all(escape(p, quote=False) in page for p in article.paragraphs)


@pytest.mark.parametrize(
    "text",
    [
        "no front matter",
        "---\nid: 1\nsection: x\ntitle: t\nauthor: a\npublished: 2026-11-20T10:00:00\n---\nbody",  # no offset
        "---\nid: 1\nsection: x\ntitle: t\npublished: 2026-11-20T10:00:00Z\n---\nbody",  # no author
        "---\nid: 1\nsection: x\ntitle: t\nauthor: a\npublished: 2026-11-20T10:00:00Z\n---\n\n",  # no body
    ],
)
def test_malformed_article_files_are_rejected(text: str) -> None:
    with pytest.raises(ContentError):
        parse_article(text, "wire")
