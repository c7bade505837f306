"""Text fingerprints: the normalized-text hash and the MinHash signature.

Everything here is a module-level pure function of its arguments, so a process pool can
compute fingerprints off the event loop and two instances (or a restarted one) always
compute the same values: no ``hash()`` (salted per process), no global state but
constants derived from a fixed seed.

The exact hash is over the folded text (:mod:`.folding`): what outlets change when they
copy a wire story without editing it (Arabic spelling variants, Unicode compatibility
forms, case, invisible marks, punctuation and whitespace) does not change it.

The near-duplicate signature is a b-bit one-permutation MinHash (Li & König; Li, Owen
& Zhang): ``N_PERM`` bins of one permutation, 8 bits kept per value, over 3-word
shingles of the folded text.  Two different minima
agree on 8 bits with probability 1/256, which :func:`similarity` corrects for; in
exchange a signature is 128 bytes, a quarter of uint32 values, which is what keeps a
million-article index under a gigabyte.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.dedupe.folding import normalize_text, word_hashes

__all__ = [
    "MIN_NEAR_TOKENS",
    "N_PERM",
    "SHINGLE_WORDS",
    "Fingerprint",
    "decode_signature",
    "distinct_count",
    "encode_signature",
    "fingerprint",
    "jaccard_from_matches",
    "minhash",
    "normalize_text",
    "shingle_hashes",
    "similarity",
    "text_hash",
]

#: MinHash permutations; 128 gives a Jaccard estimate with standard error <= 0.05.
N_PERM = 128
#: Words per shingle.  Three words tolerate single-word edits (each touches 3 shingles)
#: while two unrelated stories on one topic share few 3-word runs.
SHINGLE_WORDS = 3
#: Below this many words a text is too short for a meaningful Jaccard estimate (captions,
#: cartoons, photo galleries): such articles are deduplicated by exact hash only.
MIN_NEAR_TOKENS = 25

Signature = npt.NDArray[np.uint8]

_CHANCE = 1.0 / 256  # two different minima share their low 8 bits

_rng = np.random.Generator(np.random.PCG64(20150721))
# x -> a*x mod 2**32 with odd a is a bijection of the 32-bit shingle hashes; its high
# bits depend on every bit of x, so they pick the bin and the order within it.
_OPH_MUL = np.uint32(int(_rng.integers(0, 2**31)) * 2 + 1)
_BIN_SHIFT = np.uint32(32 - (N_PERM.bit_length() - 1))
_BIN_IDS = np.arange(N_PERM, dtype=np.uint32)
_BIN_STARTS = _BIN_IDS << _BIN_SHIFT
_DENSIFY_RIGHT = _rng.integers(0, 2, size=N_PERM).astype(np.intp)
_DENSIFY_SALT = _rng.integers(0, 256, size=2 * N_PERM, dtype=np.uint32)
_DENSIFY_SALT[[0, N_PERM]] = 0  # a filled bin keeps its own minimum
_HIGH_HALF = 1 if sys.byteorder == "little" else 0  # index of a uint64's high uint32
_SHINGLE_MUL = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_EMPTY_SIGNATURE: Signature = np.zeros(0, dtype=np.uint8)
_BIN_POS = np.arange(N_PERM, dtype=np.intp)
_DENSIFY_RIGHT_BOOL = _DENSIFY_RIGHT.astype(bool)
# The salt of bin i borrowing from bin src is _DENSIFY_SALT[(src - i) % N_PERM + right * N_PERM];
# tabulated by src - i + N_PERM (plus 2 * N_PERM to the right), one gather finds it.
_OFFSETS = np.arange(-N_PERM, N_PERM)
_SALT_BY_OFFSET = np.concatenate([_DENSIFY_SALT[_OFFSETS % N_PERM], _DENSIFY_SALT[_OFFSETS % N_PERM + N_PERM]])
_SALT_BASE = N_PERM - _BIN_POS + _DENSIFY_RIGHT * (2 * N_PERM)


def text_hash(words: npt.NDArray[np.uint64], title_words: npt.NDArray[np.uint64] | None = None) -> str:
    """Hex blake2b-128 of a folded text's word hashes: the exact-duplicate key.

    Hashing the word sequence is hashing the folded text (up to 64-bit word collisions)
    without building it as a string.
    """
    h = hashlib.blake2b(words.astype("<u8", copy=False).tobytes(), digest_size=16)
    if title_words is not None:
        h.update(b"|title|")
        h.update(title_words.astype("<u8", copy=False).tobytes())
    return h.hexdigest()


def shingle_hashes(words: npt.NDArray[np.uint64], k: int = SHINGLE_WORDS) -> npt.NDArray[np.uint32]:
    """32-bit hashes of the ``k``-word shingles of a text's word hashes (may repeat).

    A shingle is a sum of its word hashes times a different odd constant per position,
    so word order matters.  32 bits suffice: a text has a few thousand
    shingles at most, so collisions inside one set are negligible.
    """
    if words.size == 0:
        return np.zeros(0, dtype=np.uint32)
    k = min(k, int(words.size))
    n = int(words.size) - k + 1
    mul = _SHINGLE_MUL if k == len(_SHINGLE_MUL) else _SHINGLE_MUL[np.arange(k) % len(_SHINGLE_MUL)]
    # Row i of this view is words[i : i + k] (no copy); the product with ``mul`` sums
    # each row's weighted words in one pass, wrapping mod 2**64 as the hash wants.
    windows = np.ndarray((n, k), dtype=np.uint64, buffer=np.ascontiguousarray(words, dtype=np.uint64), strides=(8, 8))
    # Repeated shingles are kept: they do not change a minimum, and sorting costs more.
    # The high 32 bits of each sum, read in place as every other uint32.
    out: npt.NDArray[np.uint32] = (windows @ mul).view(np.uint32)[_HIGH_HALF::2]
    return out


def minhash(shingles: npt.NDArray[np.uint32]) -> Signature:
    """b-bit one-permutation MinHash (``N_PERM`` x uint8) of a set of 32-bit shingle hashes.

    One permutation (an odd multiplier, a bijection of 32-bit values) split into
    ``N_PERM`` bins by its top 7 bits; each bin keeps its minimum, found with one sort
    and one binary search, instead of ``N_PERM`` products per shingle (Li, Owen & Zhang,
    "One Permutation Hashing").  A bin no shingle falls into (short texts) borrows the
    nearest filled bin in a fixed random direction, salted by the distance
    (Shrivastava & Li, "Improved densification"), so two texts agree on an empty bin
    about as often as they would on a permutation's minimum.
    """
    return _one_permutation(shingles)[0]


def _one_permutation(shingles: npt.NDArray[np.uint32]) -> tuple[Signature, int]:
    """:func:`minhash` and the number of distinct shingles (one sort serves both)."""
    if shingles.size == 0:
        return _EMPTY_SIGNATURE, 0
    y = shingles * _OPH_MUL
    y.sort()
    # ``take(mode="clip")``: a bin after the largest value reads the largest value, which
    # lies in an earlier bin, so the test below marks it empty.
    mins = y.take(y.searchsorted(_BIN_STARTS), mode="clip")
    # A bin is filled iff the first value at or after its start lies in it.
    filled = (mins >> _BIN_SHIFT) == _BIN_IDS
    if not filled.all():
        # For every bin at once: the next filled bin at or after it and the last at or
        # before it (wrapping around).  A filled bin is its own source at distance 0,
        # whose salt is 0, so it keeps its minimum without a separate selection.
        full = filled.nonzero()[0]
        after = full.take(full.searchsorted(_BIN_POS), mode="wrap")
        before = full.take(full.searchsorted(_BIN_POS, side="right") - 1, mode="wrap")
        src = np.where(_DENSIFY_RIGHT_BOOL, after, before)
        mins = mins.take(src) + _SALT_BY_OFFSET.take(src + _SALT_BASE)
    # The low 8 bits of the minimum stand for the minimising shingle (b-bit MinHash); the
    # cast to uint8 keeps exactly those.
    distinct = 1 + int(np.count_nonzero(y[1:] != y[:-1]))
    return mins.astype(np.uint8), distinct


def distinct_count(shingles: npt.NDArray[np.uint32]) -> int:
    """Number of distinct shingle hashes (for containment estimates)."""
    if shingles.size == 0:
        return 0
    y = np.sort(shingles)
    return 1 + int(np.count_nonzero(y[1:] != y[:-1]))


def jaccard_from_matches(matches: npt.NDArray[np.integer] | int) -> npt.NDArray[np.float64]:
    """Jaccard estimate from the number of equal signature values (b-bit correction)."""
    # matches <= N_PERM, so the estimate is at most 1; only the lower bound needs a clamp.
    est = (np.asarray(matches, dtype=np.float64) - N_PERM * _CHANCE) * (1.0 / (N_PERM * (1.0 - _CHANCE)))
    return np.maximum(est, 0.0)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    if a.size == 0 or b.size == 0:
        return 0.0
    return float(jaccard_from_matches(int(np.count_nonzero(a == b))))


def encode_signature(sig: Signature) -> str:
    """Base64 of the signature bytes, for the changelog."""
    return base64.b64encode(sig.tobytes()).decode("ascii")


def decode_signature(data: str) -> Signature:
    """Inverse of :func:`encode_signature`; an empty string gives an empty signature."""
    return np.frombuffer(base64.b64decode(data), dtype=np.uint8).copy()


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What dedupe needs to know about one text; small and picklable."""

    text_hash: str
    n_tokens: int
    #: Empty when the text is shorter than :data:`MIN_NEAR_TOKENS` words.
    signature: Signature
    #: Distinct shingles behind ``signature`` (0 without one): with two texts' Jaccard
    #: it gives their overlap, so a copy padded with boilerplate or cut short is still
    #: recognised as containing most of the other.
    shingles: int = 0


def fingerprint(text: str, title: str | None = None) -> Fingerprint:
    """Compute the exact hash and the MinHash signature of an article text.

    Short texts (captions, cartoons) get no signature, and their exact hash also covers
    the title: two cartoons with an empty body are not the same article.

    >>> fp = fingerprint("word " * 40)
    >>> len(fp.signature), fp.n_tokens, fp.shingles
    (128, 40, 1)
    """
    words = word_hashes(text)
    if words.size < MIN_NEAR_TOKENS:
        return Fingerprint(text_hash(words, word_hashes(title or "")), int(words.size), _EMPTY_SIGNATURE)
    sig, distinct = _one_permutation(shingle_hashes(words))
    return Fingerprint(text_hash(words), int(words.size), sig, distinct)
