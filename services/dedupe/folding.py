"""Text folding for dedupe: one spelling per word, no punctuation, single spaces.

:func:`normalize_text` is the definition: Unicode NFKC, invisible marks removed,
Arabic spelling variants folded (:func:`services.text.arabic.normalize_arabic`),
case-folded, every run of non-word characters replaced by one space.

:func:`word_hashes` hashes the words of that text about ten times faster than
folding it as a string: every UTF-16 code unit is looked up in one table built from
the reference folding itself (its folded character's hash value, or "delete",
"separator", "context-dependent"), and words are hashed with numpy.  A per-character table is exact only where folding is context-free, so texts
containing a character whose result depends on its neighbours (combining marks that
NFKC composes, Hangul jamo, characters that fold to several characters, anything
outside the Basic Multilingual Plane) take the reference path instead.  The test suite
checks both paths agree on real Arabic and English articles.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np
import numpy.typing as npt

from services.text.arabic import normalize_arabic

__all__ = ["fold_codes", "normalize_text", "token_hashes", "word_hashes"]

Codes = npt.NDArray[np.uint32]

_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_NON_WORD = re.compile(r"[\W_]+")
_SPACE = 0x20
_DELETE = 0
_COMPLEX = 0xFFFFFFFF
# Arabic marks that NFKC composes with the preceding letter (madda, hamza above/below):
# alone they are deleted as diacritics, after some letters they make a distinct letter.
_COMPOSING_ARABIC = frozenset((0x0653, 0x0654, 0x0655))


def _fold_raw(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = normalize_arabic(text).casefold()
    return _NON_WORD.sub(" ", text)


def normalize_text(text: str) -> str:
    """Fold spelling, case, punctuation and whitespace so that copies compare equal.

    >>> normalize_text("«داعش» يُهاجم   الرقّة!") == normalize_text("داعش يهاجم الرقه")
    True
    """
    return " ".join(_fold_raw(text).split())


@cache
def _table() -> Codes:
    """Fold result of every BMP character: a code point, _DELETE, _SPACE or _COMPLEX."""
    table = np.full(0x10000, _COMPLEX, dtype=np.uint32)
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF or cp in _COMPOSING_ARABIC:
            continue
        ch = chr(cp)
        if 0x1100 <= cp <= 0x11FF or 0xA960 <= cp <= 0xA97F or 0xD7B0 <= cp <= 0xD7FF:
            continue
        out = _fold_raw(ch)
        if out == "":
            table[cp] = _DELETE
        elif unicodedata.category(ch).startswith("M"):
            continue
        elif out.strip() == "":
            table[cp] = _SPACE
        elif len(out) == 1:
            table[cp] = ord(out)
    return table


def fold_codes(text: str) -> Codes:
    """Code points of ``text`` folded character by character, before space collapsing.

    Deleted characters are gone; separators are runs of ``0x20``.  Falls back to the
    reference :func:`normalize_text` when a character's folding depends on context.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if codes.size == 0:
        return codes
    if int(codes.max()) > 0xFFFF:
        return _slow(text)
    mapped = _table()[codes]
    if int(mapped.max()) == _COMPLEX:
        return _slow(text)
    kept: Codes = mapped[mapped != _DELETE]
    return kept


def _slow(text: str) -> Codes:
    return np.frombuffer(normalize_text(text).encode("utf-32-le"), dtype=np.uint32)


_Q = 0x9E3779B97F4A7C15
_Q_INV = pow(_Q, -1, 2**64)


@cache
def _char_values() -> npt.NDArray[np.uint64]:
    """A fixed random 64-bit value per BMP code point (seeded: equal in every process)."""
    return np.random.Generator(np.random.PCG64(1437)).integers(0, 2**64 - 1, size=0x10000, dtype=np.uint64)


_powers: list[npt.NDArray[np.uint64]] = []


def _power_tables(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """``Q**i`` and ``Q**-i`` mod 2**64 for ``i <= n`` (grown on demand, kept)."""
    if not _powers or _powers[0].size < n + 1:
        size = max(4096, 1 << (n + 1).bit_length())
        pw = np.full(size, _Q, dtype=np.uint64)
        ipw = np.full(size, _Q_INV, dtype=np.uint64)
        pw[0] = ipw[0] = 1
        # Array products wrap mod 2**64 silently, which is the arithmetic we want.
        _powers[:] = [np.multiply.accumulate(pw), np.multiply.accumulate(ipw)]
    return _powers[0], _powers[1]


def _hash_words(vals: npt.NDArray[np.uint64], space: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
    """Word hashes of a folded text given each character's value and whether it separates.

    The caller passes a text that starts and ends with a separator, so every word edge
    is a flip of ``space`` between two real positions (no virtual edges to add).

    Vectorised polynomial hashing: with inclusive prefix sums ``H`` of ``v[c_i] * Q**i``
    a word spanning ``(s, e]`` (``s`` its preceding separator, ``e`` its last character)
    hashes to ``(H[e] - H[s]) * Q**-(s + 1)`` mod 2**64 (``Q`` is odd, so it has an
    inverse), which does not depend on where the word occurs.  Separators' values enter
    ``H`` but never a word's difference, so they need not be zeroed.
    """
    n = int(vals.size)
    pw, ipw = _power_tables(n)
    # Array products and sums wrap mod 2**64 silently, which is the arithmetic we want;
    # ``vals`` is the caller's fresh array, so it is overwritten in place.
    prefix = np.multiply(vals, pw[:n], out=vals).cumsum()
    edges = (space[1:] != space[:-1]).nonzero()[0]
    starts, ends = edges[0::2], edges[1::2]
    out: npt.NDArray[np.uint64] = (prefix.take(ends) - prefix.take(starts)) * ipw[1:].take(starts)
    return out


def token_hashes(codes: Codes) -> npt.NDArray[np.uint64]:
    """A stable 64-bit hash per word of folded ``codes`` (words split by runs of 0x20)."""
    if codes.size == 0:
        return _NO_WORDS
    codes = np.concatenate((_SEPARATOR, codes, _SEPARATOR))
    vals = _char_values()[codes & np.uint32(0xFFFF)]
    if int(codes.max()) > 0xFFFF:  # astral characters (reference path only)
        vals ^= (codes >> np.uint32(16)).astype(np.uint64) * _ASTRAL_MIX
    return _hash_words(vals, codes == _SPACE)


# Sentinels of the fused table; :func:`_fused_table` checks no character value equals one.
# The smallest values, so one minimum tells a plain text (only separators) from the rest.
_V_DELETE = np.uint64(0)
_V_COMPLEX = np.uint64(1)
_V_SPACE = np.uint64(2)
_ASTRAL_MIX = np.uint64(0xD6E8FEB86659FD93)
_NO_WORDS = np.zeros(0, dtype=np.uint64)
_SEPARATOR = np.array([_SPACE], dtype=np.uint32)


@cache
def _fused_table() -> npt.NDArray[np.uint64]:
    """Per UTF-16 code unit: the hash value of its folding, or a sentinel.

    :func:`_table` and :func:`_char_values` composed, so the fast path is one lookup per
    character; values are those :func:`token_hashes` gives the folded code points, so
    both paths hash words identically.
    """
    table = _table()
    special = (table == _DELETE) | (table == _SPACE) | (table == _COMPLEX)
    folded = table[~special]
    values = _char_values()[folded & np.uint32(0xFFFF)]
    values ^= (folded >> np.uint32(16)).astype(np.uint64) * _ASTRAL_MIX
    if np.isin(values, [_V_DELETE, _V_SPACE, _V_COMPLEX]).any():  # pragma: no cover - p ~ 2**-50
        raise RuntimeError("dedupe folding: a character value equals a sentinel")
    fused = np.full(0x10000, _V_COMPLEX, dtype=np.uint64)
    fused[~special] = values
    fused[table == _DELETE] = _V_DELETE
    fused[table == _SPACE] = _V_SPACE
    return fused


def word_hashes(text: str) -> npt.NDArray[np.uint64]:
    """Hashes of the words of ``normalize_text(text)``, computed on the fast path.

    UTF-16 code units index :func:`_fused_table` directly; surrogates (astral
    characters) and context-dependent characters are marked complex there and send the
    text to the reference path.

    >>> bool((word_hashes("Hello,  WORLD!") == word_hashes("hello world")).all())
    True
    """
    # A separator at both ends: every word then starts and ends at a flip of "is space".
    units = np.frombuffer((" " + text + " ").encode("utf-16-le"), dtype=np.uint16)
    vals = _fused_table().take(units)
    if vals.min() < _V_SPACE:
        if (vals == _V_COMPLEX).any():
            return token_hashes(_slow(text))
        vals = vals.compress(vals != _V_DELETE)  # diacritics, tatweel, invisible marks
    return _hash_words(vals, vals == _V_SPACE)
