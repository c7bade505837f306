"""Text fingerprints: the normalized-text hash and the MinHash signature.

Everything here is a module-level pure function of its arguments, so a process pool can
compute fingerprints off the event loop and two instances (or a restarted one) always
compute the same values: no ``hash()`` (salted per process), no global state but
constants derived from a fixed seed.

Normalization for the exact hash folds what outlets change when they copy a wire story
without editing it: Arabic spelling variants (:func:`services.text.arabic.normalize_arabic`),
Unicode compatibility forms, case, invisible marks, punctuation and whitespace.

The near-duplicate signature is a b-bit MinHash (``N_PERM`` permutations, 16 bits kept
per value) over word shingles of that normalized text.  Keeping 16 bits halves memory
against uint32 and changes the Jaccard estimate by at most 1/65536 per value.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.text.arabic import normalize_arabic

__all__ = [
    "MIN_NEAR_TOKENS",
    "N_PERM",
    "SHINGLE_WORDS",
    "Fingerprint",
    "decode_signature",
    "encode_signature",
    "fingerprint",
    "minhash",
    "normalize_text",
    "shingle_hashes",
    "similarity",
    "text_hash",
]

#: MinHash permutations; 128 gives a Jaccard estimate with standard error <= 0.045.
N_PERM = 128
#: Words per shingle.  Three words tolerate single-word edits (each touches 3 shingles)
#: while two unrelated stories on one topic share few 3-word runs.
SHINGLE_WORDS = 3
#: Below this many words a text is too short for a meaningful Jaccard estimate (captions,
#: cartoons, photo galleries): such articles are deduplicated by exact hash only.
MIN_NEAR_TOKENS = 25

Signature = npt.NDArray[np.uint16]

_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_NON_WORD = re.compile(r"[\W_]+")

_rng = np.random.Generator(np.random.PCG64(20150721))
# Odd multipliers make x -> a*x + b a bijection mod 2**64; the minimum is then taken over
# what are effectively independent random permutations of the shingle hashes.
_PERM_A = _rng.integers(1, 2**63, size=N_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_PERM_B = _rng.integers(0, 2**63, size=N_PERM, dtype=np.uint64)
_SHINGLE_MUL = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_EMPTY_SIGNATURE: Signature = np.zeros(0, dtype=np.uint16)


def normalize_text(text: str) -> str:
    """Fold spelling, case, punctuation and whitespace so that copies compare equal.

    >>> normalize_text("«داعش» يُهاجم   الرقّة!") == normalize_text("داعش يهاجم الرقه")
    True
    """
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = normalize_arabic(text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def text_hash(normalized: str) -> str:
    """Hex blake2b-128 of normalized text: the exact-duplicate key."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def shingle_hashes(tokens: list[str], k: int = SHINGLE_WORDS) -> npt.NDArray[np.uint64]:
    """64-bit hashes of the distinct ``k``-word shingles of ``tokens``.

    Token hashes are CRC32 (stable across processes, fast in C); the ``k`` token hashes of
    a shingle are mixed with odd constants so that word order matters.
    """
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    words = np.fromiter((zlib.crc32(t.encode("utf-8")) for t in tokens), dtype=np.uint64, count=len(tokens))
    k = min(k, len(tokens))
    n = len(tokens) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        acc ^= words[j : j + n] * _SHINGLE_MUL[j % len(_SHINGLE_MUL)]
        acc = (acc << np.uint64(13)) | (acc >> np.uint64(51))
    return np.unique(acc)


def minhash(shingles: npt.NDArray[np.uint64]) -> Signature:
    """b-bit MinHash signature (``N_PERM`` x uint16) of a set of shingle hashes."""
    if shingles.size == 0:
        return _EMPTY_SIGNATURE
    mins = np.full(N_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    # Chunk so the (chunk, N_PERM) temporary stays cache-sized on long texts.
    for start in range(0, shingles.size, 512):
        block = shingles[start : start + 512, None] * _PERM_A + _PERM_B
        np.minimum(mins, block.min(axis=0), out=mins)
    # The minimum's top bits are mostly zero; bits 24..39 are still uniformly random.
    return ((mins >> np.uint64(24)) & np.uint64(0xFFFF)).astype(np.uint16)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of two signatures (fraction of equal values)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    return float(np.count_nonzero(a == b)) / a.size


def encode_signature(sig: Signature) -> str:
    """Base64 of the little-endian uint16 array, for the changelog."""
    return base64.b64encode(sig.astype("<u2").tobytes()).decode("ascii")


def decode_signature(data: str) -> Signature:
    """Inverse of :func:`encode_signature`; an empty string gives an empty signature."""
    raw = base64.b64decode(data)
    return np.frombuffer(raw, dtype="<u2").astype(np.uint16)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What dedupe needs to know about one text; small and picklable."""

    text_hash: str
    n_tokens: int
    #: Empty when the text is shorter than :data:`MIN_NEAR_TOKENS` words.
    signature: Signature


def fingerprint(text: str, title: str | None = None) -> Fingerprint:
    """Compute the exact hash and the MinHash signature of an article text.

    Short texts (captions, cartoons) get no signature, and their exact hash also covers
    the title: two cartoons with an empty body are not the same article.

    >>> fp = fingerprint("word " * 40)
    >>> len(fp.signature), fp.n_tokens
    (128, 40)
    """
    normalized = normalize_text(text)
    tokens = normalized.split()
    if len(tokens) < MIN_NEAR_TOKENS:
        keyed = normalize_text(title or "") + "\n" + normalized
        return Fingerprint(text_hash(keyed), len(tokens), _EMPTY_SIGNATURE)
    return Fingerprint(text_hash(normalized), len(tokens), minhash(shingle_hashes(tokens)))
