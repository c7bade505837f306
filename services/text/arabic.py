"""Arabic orthographic normalization shared by dedupe and tag.

News sites spell the same word several ways: hamza on or off the alef, ta marbuta
written as ha, alef maqsura as ya, optional diacritics and tatweel, Arabic-Indic digits.
Folding them lets exact hashes and gazetteer lookups see one form.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["fold_for_matching", "normalize_arabic", "to_original"]

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
# Characters dropped by the matching fold: Arabic marks, tatweel and invisible format marks
# (LRM/RLM and friends appear inside words in scraped and NER-corpus text).
_DELETE = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]"
)

# Everything else is folded one character to one character, so most offsets survive as is.
_MATCH_FOLD: dict[int, int | str | None] = {
    **_FOLD,
    # Latin letters with diacritics seen in transliterations (Ḥamā, Deir ez-Zōr, Şanlıurfa).
    **{ord(c): "a" for c in "āáàâäãåą"},
    **{ord(c): "e" for c in "ēéèêëę"},
    **{ord(c): "i" for c in "īíìîïı"},
    **{ord(c): "o" for c in "ōóòôöõø"},
    **{ord(c): "u" for c in "ūúùûü"},
    **{ord(c): "c" for c in "çć"},
    **{ord(c): "s" for c in "şșṣšś"},
    **{ord(c): "h" for c in "ḥḫ"},
    **{ord(c): "t" for c in "ṭț"},
    **{ord(c): "z" for c in "ẓž"},
    **{ord(c): "d" for c in "ḍ"},
    **{ord(c): "g" for c in "ğ"},
    **{ord(c): "n" for c in "ñ"},
    ord("İ"): "i",
    # Hyphens, dashes and apostrophes separate the parts of transliterated names
    # (ar-Raqqa, Ma'arrat): fold them to a space so "ar raqqa" and "ar-raqqa" meet.
    **{ord(c): " " for c in "-‐‑‒–—_'’‘`ʼʻʿʾ´\u00a0\t\r\n"},
    **{ord(c): '"' for c in "«»“”"},
}
for _m in range(0x0610, 0x061B):
    _MATCH_FOLD[_m] = None
for _m in [
    *range(0x064B, 0x0660),
    0x0670,
    *range(0x06D6, 0x06EE),
    0x0640,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0xFEFF,
    0x00AD,
]:
    _MATCH_FOLD[_m] = None


def fold_for_matching(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` for gazetteer matching and return ``(folded, keys)``.

    The fold lower-cases, applies :func:`normalize_arabic`'s letter folds, strips Latin
    diacritics and turns hyphens/apostrophes into spaces, all one character for one
    character; only Arabic marks, tatweel and invisible format marks are deleted.  ``keys``
    records the deletions so :func:`to_original` can map any folded offset back to the
    original string, which is what lets evidence spans point into the text as published.

    >>> folded, keys = fold_for_matching("بالرَّقّة")
    >>> folded
    'بالرقه'
    >>> to_original(keys, 6, end=True)
    9
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters lower-case to two characters (İ)
        lowered = "".join(c if len(lc := c.lower()) != 1 else lc for c in text)
    keys: list[int] = []
    if _DELETE.search(text):
        # key = the folded index the deleted character sits before.
        keys = [m.start() - i for i, m in enumerate(_DELETE.finditer(text))]
    return lowered.translate(_MATCH_FOLD), keys


def to_original(keys: list[int], index: int, *, end: bool = False) -> int:
    """Map a folded offset back to the original string.

    Start offsets skip the marks deleted before them; end offsets (exclusive) also take
    the marks that directly follow the last letter (a shadda or tanween belongs to it).
    """
    if not keys:
        return index
    return index + bisect_right(keys, index)
