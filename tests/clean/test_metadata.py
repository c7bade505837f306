"""Metadata: dates in Arabic and Latin forms, titles without the site name, bylines, language."""

from __future__ import annotations

import pytest

from services.clean.errors import (
    CleanError,
    DecodeError,
    EmptyText,
    ExtractionFailed,
    ExtractionMemory,
    ExtractionTimeout,
    ExtractionTooLarge,
    NotAnArticle,
)
from services.clean.extract import extract_page
from services.clean.language import detect_language
from services.clean.metadata import parse_date
from services.errors import RejectedInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("نشر بتاريخ: ٦ أغسطس ٢٠١٧", "2017-08-06"),
        ("الأحد 6 آب 2017", "2017-08-06"),
        ("١٥ تشرين الثاني ٢٠١٥ - ١٠:٣٠", "2015-11-15"),
        ("3 جوان 2019", "2019-06-03"),
        ("۱۲ مارس ۲۰۲۰", "2020-03-12"),
        ("2017-08-06T09:30:00+03:00", "2017-08-06T09:30:00+03:00"),
        ("Published August 6, 2017", "2017-08-06"),
        ("06/08/2017", "2017-08-06"),
        ("2017/08/06 10:00", "2017-08-06"),
        ("لا تاريخ هنا", None),
        ("31 فبراير 2017", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def _page(head: str, body: str) -> bytes:
    return f'<html lang="ar" dir="rtl"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'.encode()


PARAGRAPHS = "".join(
    f"<p>{p}</p>"
    for p in (
        "أعلنت بلدية المدينة افتتاح المكتبة العامة بعد عامين من أعمال الترميم وإضافة قاعة للأطفال.",
        "وقال مدير المكتبة إن مئات الزوار توافدوا منذ الصباح وإن ساعات العمل ستمتد حتى المساء.",
        "وأشار إلى أن منحة من صندوق ثقافي إقليمي غطت كلفة استوديو التسجيل الجديد في الطابق الأول.",
    )
)


def test_title_drops_site_name_and_logo_h1() -> None:
    page = _page(
        "<title>معركة الرقة تدخل مرحلة جديدة - جريدة الأفق</title>",
        f"<h1>جريدة الأفق</h1><div class='story'>{PARAGRAPHS}</div>",
    )
    assert extract_page(page, "https://x.example/a").title == "معركة الرقة تدخل مرحلة جديدة"


def test_title_prefers_h1_named_by_og_title() -> None:
    page = _page(
        '<meta property="og:site_name" content="الأفق"><meta property="og:title" content="معركة الرقة | الأفق">',
        f"<h1>معركة الرقة</h1>{PARAGRAPHS}",
    )
    result = extract_page(page, "https://x.example/a")
    assert result.title == "معركة الرقة"


def test_visible_arabic_date_and_byline_without_meta_tags() -> None:
    page = _page(
        "<title>خبر</title>",
        "<div class='post-meta'><span class='author'>بقلم: سامر الحلبي</span>"
        f"<span class='date'>١٢ تموز ٢٠١٧</span></div><div class='content'>{PARAGRAPHS}</div>",
    )
    result = extract_page(page, "https://x.example/a")
    assert result.published == "2017-07-12"
    assert result.authors == ["سامر الحلبي"]
    assert "سامر الحلبي" not in result.text
    assert result.text.startswith("أعلنت بلدية المدينة")


def test_canonical_and_image_are_absolute() -> None:
    page = _page(
        '<link rel="canonical" href="/news/1"><meta property="og:image" content="/img/lead.jpg">',
        PARAGRAPHS,
    )
    result = extract_page(page, "https://www.x.example/news/1?utm_source=rss")
    assert result.canonical_url == "https://www.x.example/news/1"
    assert result.image == "https://www.x.example/img/lead.jpg"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The coalition said on Friday that fighters had retaken nearly half of the city of Raqqa.", "en"),
        ("La coalition a indiqué vendredi que les combattants avaient repris près de la moitié de Raqqa.", "fr"),
        ("Die Koalition teilte am Freitag mit, dass die Kämpfer fast die Hälfte der Stadt zurückerobert haben.", "de"),
        ("قالت قوات التحالف يوم الجمعة إن المقاتلين استعادوا نحو نصف مدينة الرقة السورية.", "ar"),
        ("ائتلاف روز جمعه اعلام کرد که نیروها نزدیک به نیمی از شهر رقه را پس گرفته‌اند.", "fa"),
    ],
)
def test_language_is_detected_from_text(text: str, code: str) -> None:
    assert detect_language(text, html_lang="ar" if code != "ar" else "en") == code


def test_language_hint_only_for_tiny_texts() -> None:
    assert detect_language("OK", "ar-SY") == "ar"
    assert detect_language("", None) is None


@pytest.mark.parametrize(
    "error",
    [NotAnArticle, DecodeError, ExtractionTooLarge, ExtractionTimeout, ExtractionMemory, ExtractionFailed, EmptyText],
)
def test_errors_go_to_the_dead_letter_topic(error: type[CleanError]) -> None:
    assert issubclass(error, RejectedInput)
    exc = error("why")
    assert exc.to_dead_letter
    assert not exc.retriable
    assert exc.reason == "why"
