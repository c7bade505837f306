"""Arabic orthographic normalization shared by dedupe and tag.

News sites spell the same word several ways: hamza on or off the alef, ta marbuta
written as ha, alef maqsura as ya, optional diacritics and tatweel, Arabic-Indic digits.
Folding them lets exact hashes and gazetteer lookups see one form.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

__all__ = [
    "MONTHS_GREGORIAN",
    "MONTHS_LEVANT",
    "fold_for_matching",
    "normalize_arabic",
    "to_arabic_indic",
    "to_original",
]

# Month names as Arabic papers print them: Egypt and the Gulf transliterate the Latin
# names; Syria, Lebanon, Jordan and Iraq use the Syriac ones.
MONTHS_GREGORIAN = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")  # fmt: skip
MONTHS_LEVANT = ("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول")  # fmt: skip
_TO_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def to_arabic_indic(text: str) -> str:
    """Western digits written as Arabic-Indic ones (٠١٢٣٤٥٦٧٨٩), as many Arabic sites print dates."""
    return text.translate(_TO_ARABIC_INDIC)


# Harakat, tanween, shadda, sukun, superscript alef, Quranic marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "گ": "ك",
        "ک": "ك",
        "ی": "ي",
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Eastern (Persian) digits
    }
)


def normalize_arabic(text: str) -> str:
    """Fold Arabic spelling variants; leaves other scripts untouched.

    >>> normalize_arabic("الرَّقّة") == normalize_arabic("الرقه")
    True
    """
    text = _DIACRITICS.sub("", text).replace(_TATWEEL, "")
    return text.translate(_FOLD)


# --- Matching fold (offset-preserving) -------------------------------------------------
# Arabic marks, tatweel and invisible format marks (LRM/RLM appear inside words in scraped
# and NER-corpus text) are deleted; everything else folds one character to one
# character, so most offsets survive as is.  ASCII text, the common English case, folds with
# one str.translate (CPython has a fast path for ASCII input and tables); other text with
# chained str.replace calls (C loops: translate with a dict is a per-character lookup on
# non-ASCII text, ~100 times slower), and what is left (rare letters, deletions) in one regex
# pass with a callback, which most text never reaches.
_ARABIC_FOLDS = (("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"), ("ة", "ه"), ("ى", "ي"), ("ؤ", "و"), ("ئ", "ي"))
# Hyphens, dashes, apostrophes and whitespace become spaces ("ar-Raqqa" meets "ar raqqa",
# "Ma'arrat" splits alike).
_TO_SPACE = "-\u2010\u2011\u2012\u2013\u2014\u2015_'\u2018\u2019`\u02bc\u02bb\u02bf\u02be\u00b4\u00a0\t\r\n\f\v"
_ASCII_TO_SPACE = str.maketrans({c: " " for c in _TO_SPACE if c.isascii()})
_RARE_MAP: dict[str, str] = {
    # Latin letters with diacritics seen in transliterations (Ḥamā, Deir ez-Zōr, Şanlıurfa).
    **dict.fromkeys("āáàâäãåą", "a"),
    **dict.fromkeys("ēéèêëę", "e"),
    **dict.fromkeys("īíìîïıİ", "i"),
    **dict.fromkeys("ōóòôöõø", "o"),
    **dict.fromkeys("ūúùûü", "u"),
    **dict.fromkeys("çć", "c"),
    **dict.fromkeys("şșṣšś", "s"),
    **dict.fromkeys("ḥḫ", "h"),
    **dict.fromkeys("ṭț", "t"),
    **dict.fromkeys("ẓž", "z"),
    "ḍ": "d",
    "ğ": "g",
    "ñ": "n",
    **{chr(k): v for k, v in _FOLD.items() if isinstance(v, str) and chr(k) not in "أإآٱةىؤئ"},
}
# Arabic presentation forms (older sites and PDFs emit them): their one-letter NFKC form.
for _cp in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFEFD)]:
    _nf = unicodedata.normalize("NFKC", chr(_cp))
    if len(_nf) == 1 and _nf != chr(_cp):
        _RARE_MAP[chr(_cp)] = _nf.translate(_FOLD)
_DELETE = [chr(c) for c in (*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640,
                            *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF, 0x00AD)]  # fmt: skip
_SPECIAL_MAP: dict[str, str] = {**_RARE_MAP, **dict.fromkeys(_DELETE, "")}
_SPECIAL = re.compile("[" + "".join(re.escape(c) for c in sorted(_SPECIAL_MAP)) + "]")


def fold_for_matching(text: str) -> tuple[str, list[int]]:
    r"""Fold ``text`` for gazetteer matching and return ``(folded, keys)``.

    The fold lower-cases, applies :func:`normalize_arabic`'s letter folds, strips Latin
    diacritics and turns hyphens, apostrophes and whitespace into spaces, all one character
    for one character; only Arabic marks, tatweel and invisible format marks are deleted.  ``keys`` records the deletions so :func:`to_original` can
    map any folded offset back to the original string, which is what lets evidence spans
    point into the text as published.

    >>> folded, keys = fold_for_matching("بالرَّقّة")
    >>> folded
    'بالرقه'
    >>> to_original(keys, 6, end=True)
    9
    >>> fold_for_matching("ar-Raqqa’s")[0]
    'ar raqqa s'
    """
    keys: list[int] = []
    if text.isascii():
        folded = text.lower().translate(_ASCII_TO_SPACE)
    else:
        folded = text.lower()
        if len(folded) != len(text):  # a few letters lower-case to two characters (İ)
            folded = "".join(c if len(lc := c.lower()) != 1 else lc for c in text)
        for c in _TO_SPACE:
            if c in folded:
                folded = folded.replace(c, " ")
        for a, b in _ARABIC_FOLDS:
            folded = folded.replace(a, b)
        if _SPECIAL.search(folded):

            def special(m: re.Match[str]) -> str:
                out = _SPECIAL_MAP[m.group()]
                if not out:
                    # key = the folded index the deleted character sits before.
                    keys.append(m.start() - len(keys))
                return out

            folded = _SPECIAL.sub(special, folded)
    return folded, keys


def to_original(keys: list[int], index: int, *, end: bool = False) -> int:
    """Map a folded offset back to the original string.

    Start offsets skip the marks deleted before them; end offsets (exclusive) also take
    the marks that directly follow the last letter (a shadda or tanween belongs to it).
    """
    if not keys:
        return index
    return index + bisect_right(keys, index)
