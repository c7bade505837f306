"""Arabic test set: real Arabic articles (SaudiNewsNet) wrapped in our page templates,
and the Arabic page of trafilatura's evaluation set.

How the pages are built: :mod:`tests.support.pages` takes each article's real title,
paragraphs, author and date and renders them in three site templates (modern portal,
legacy windows-1256 table layout, WordPress-style blog) full of chrome - menu,
breadcrumb ending in the headline, the headline again as ``<h2>``/``og:title``/in the
related widget, share bar, related and most-read lists, cookie notice, footer with
«الصفحات».  The extractor must give back exactly the article: title exact, every
paragraph in order, none of the chrome.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bench.extract.datasets import trafilatura_eval
from services.clean.extract import extract_page
from tests.support.pages import TEMPLATES, saudinewsnet_articles, wrap_article

ARTICLES = saudinewsnet_articles(12, per_source=2)  # 12 articles, 6+ outlets
CHROME = (
    "الصفحة الرئيسية",
    "اقرأ أيضاً",
    "مقالات ذات صلة",
    "الأكثر قراءة",
    "مجلس الأمن يناقش الوضع الإنساني",
    "ملفات تعريف الارتباط",
    "ملفات الكوكيز",
    "جميع الحقوق محفوظة",
    "سياسة الخصوصية",
    "الصفحات",
    "فيسبوك",
    "واتساب",
    "طباعة",
    "كاريكاتير",
    "القائمة البريدية",
)
_WS = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _page(article: dict[str, Any], template: str, encoding: str) -> bytes:
    return wrap_article(
        _norm(article["title"]),
        [_norm(p) for p in article["paragraphs"]],
        template=template,
        encoding=encoding,
        published=article["date_extracted"][:10],
        author=_norm(article["author"]) or None,
    )


def test_articles_come_from_several_outlets() -> None:
    assert len(ARTICLES) == 12
    assert len({a["source"] for a in ARTICLES}) >= 6


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1256"])
@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("index", range(len(ARTICLES)))
def test_wrapped_saudinewsnet_article(index: int, template: str, encoding: str) -> None:
    article = ARTICLES[index]
    title = _norm(article["title"])
    paragraphs = [_norm(p) for p in article["paragraphs"]]
    result = extract_page(_page(article, template, encoding), "https://news.example/a")

    assert result.title == title
    assert result.language == "ar"
    assert result.encoding == encoding
    assert result.published is not None
    assert result.published.startswith(article["date_extracted"][:10])
    lines = result.text.split("\n")
    assert lines == [p for p in paragraphs if _norm(p) != title]
    own_words = " ".join(paragraphs)
    for chrome in CHROME:
        if chrome not in own_words:  # a real article may well mention «فيسبوك»
            assert chrome not in result.text, chrome


def test_arabic_page_of_trafilatura_eval() -> None:
    doc = next(d for d in trafilatura_eval() if d.id == "assabah.com.tn.article.html")
    result = extract_page(doc.body, doc.url)
    assert result.language == "ar"
    assert result.title is not None
    assert result.title.startswith("الناشط الحقوقي السوداني خالد عبد الكريم ماسا")
    for snippet in doc.with_:
        assert snippet in result.text
    for snippet in doc.without:
        assert snippet not in result.text
    assert "؟" in result.text  # Arabic punctuation preserved
