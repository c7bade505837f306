"""Arabic orthographic normalization shared by dedupe and tag.

News sites spell the same word several ways: hamza on or off the alef, ta marbuta
written as ha, alef maqsura as ya, optional diacritics and tatweel, Arabic-Indic digits.
Folding them lets exact hashes and gazetteer lookups see one form.
"""

from __future__ import annotations

import re

__all__ = ["normalize_arabic"]

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
