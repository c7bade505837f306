"""Language of the extracted text, by lingua's n-gram models.

The detector is built once per process and restricted to the languages a news feed
about the Middle East plausibly carries (plus the European languages of our test
sets): fewer candidates is both faster and more accurate on short texts.  Only a
prefix of the text is read; a few hundred characters decide the language of an
article, and the cost of lingua grows with the input.  Low-accuracy mode (trigram
models only) is lingua's recommendation for texts this long; its models are
preloaded (about 40 MB, one second) so no page pays for lazy loading.
"""

from __future__ import annotations

import functools
import re

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

__all__ = ["LANGUAGES", "detect_language", "warm_up"]

LANGUAGES = (
    Language.ARABIC, Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH,
    Language.ITALIAN, Language.PORTUGUESE, Language.DUTCH, Language.POLISH, Language.RUSSIAN,
    Language.UKRAINIAN, Language.TURKISH, Language.PERSIAN, Language.URDU, Language.HEBREW,
    Language.CHINESE, Language.JAPANESE, Language.KOREAN, Language.GREEK, Language.SWEDISH,
    Language.DANISH, Language.CZECH, Language.ROMANIAN, Language.HUNGARIAN, Language.FINNISH,
)  # fmt: skip

_PREFIX_CHARS = 300
_MIN_LETTERS = 20
_LETTERS = re.compile(r"[^\W\d_]")


@functools.cache
def _detector() -> LanguageDetector:
    # Low-accuracy mode halves the time per page; on the 3,731 non-empty texts of
    # bench.extract it agreed with the full models on all but one.
    builder = LanguageDetectorBuilder.from_languages(*LANGUAGES).with_minimum_relative_distance(0.05)
    return builder.with_low_accuracy_mode().build()


def warm_up() -> None:
    """Load the models now (for process-pool initialisers), not on the first page."""
    _detector().detect_language_of("warm up the models / préchauffage / تسخين النماذج")


def _hint(html_lang: str | None) -> str | None:
    if not html_lang:
        return None
    code = html_lang.strip().lower().replace("_", "-").split("-")[0]
    return code if len(code) == 2 and code.isalpha() else None


def detect_language(text: str, html_lang: str | None = None) -> str | None:
    """ISO 639-1 code of ``text``; the page's declared ``lang`` only when text is too short.

    >>> detect_language("أعلنت وزارة الكهرباء إعادة تشغيل محطة التوليد بعد أشهر من أعمال الصيانة")
    'ar'
    """
    sample = text[:_PREFIX_CHARS]
    if len(_LETTERS.findall(sample)) < _MIN_LETTERS:
        return _hint(html_lang)
    found = _detector().detect_language_of(sample)
    if found is None:
        return _hint(html_lang)
    return found.iso_code_639_1.name.lower()
