"""Folding, hashing and MinHash on real Arabic text."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest

from services.dedupe.fingerprint import (
    MIN_NEAR_TOKENS,
    N_PERM,
    decode_signature,
    encode_signature,
    fingerprint,
    minhash,
    shingle_hashes,
    similarity,
)
from services.dedupe.folding import normalize_text, token_hashes, word_hashes
from services.urls import canonical_url


def _reference_words(text: str) -> np.ndarray:
    return token_hashes(np.frombuffer(normalize_text(text).encode("utf-32-le"), dtype=np.uint32))


def test_fast_folding_equals_reference(saudi_days: list[dict[str, Any]]) -> None:
    texts = [a["content"] for a in saudi_days[:1500]] + [a["title"] for a in saudi_days[:300]]
    texts += ["Café — NAÏVE résumé", "e\u0301te\u0301 ﷺ 𝔸rabic 😀 ﻻ", "ß straße", "\u200fنص\u200e مع علامات"]
    for text in texts:
        assert np.array_equal(word_hashes(text), _reference_words(text)), text[:80]


def test_folding_merges_spelling_variants() -> None:
    a = fingerprint("أعلنت وزارةُ الداخلية، اليوم، إحباط عملية تهريب ١٢ كجم " * 5)
    b = fingerprint("اعلنت وزاره الداخليه اليوم احباط عمليه تهريب 12 كجم " * 5)
    assert a.text_hash == b.text_hash
    c = fingerprint("اعلنت وزاره الخارجيه اليوم احباط عمليه تهريب 12 كجم " * 5)
    assert c.text_hash != a.text_hash


def test_short_text_has_no_signature_and_hash_covers_title() -> None:
    a = fingerprint("", "كاريكاتير الأحد")
    b = fingerprint("", "كاريكاتير الاثنين")
    assert a.signature.size == 0
    assert a.text_hash != b.text_hash
    assert a.n_tokens < MIN_NEAR_TOKENS


def test_signature_roundtrip_and_estimate(saudi_days: list[dict[str, Any]]) -> None:
    text = next(a["content"] for a in saudi_days if len(a["content"].split()) > 300)
    fp = fingerprint(text)
    assert fp.signature.shape == (N_PERM,)
    assert np.array_equal(decode_signature(encode_signature(fp.signature)), fp.signature)
    words = text.split()
    half = fingerprint(" ".join(words[: len(words) // 2]))
    exact = _jaccard(text, " ".join(words[: len(words) // 2]))
    assert similarity(fp.signature, half.signature) == pytest.approx(exact, abs=0.15)
    assert similarity(fp.signature, fp.signature) == 1.0


def _jaccard(a: str, b: str) -> float:
    sa = set(shingle_hashes(word_hashes(a)).tolist())
    sb = set(shingle_hashes(word_hashes(b)).tolist())
    return len(sa & sb) / len(sa | sb)


def test_minhash_is_deterministic() -> None:
    sh = shingle_hashes(word_hashes("one two three four five six seven"))
    assert np.array_equal(minhash(sh), minhash(sh.copy()))


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM:443/a?utm_source=x&id=2#top", "https://example.com/a?id=2"),
        ("http://x.sa:80/%D8%B3%D9%88%D8%B1%D9%8A%D8%A7?fbclid=1", "http://x.sa/سوريا"),
        ("http://x.sa/سوريا?ref=rss&amp=1", "http://x.sa/سوريا"),
        ("http://x.sa/a%2Fb%25?x=%D8%B3", "http://x.sa/a/b%25?x=%D8%B3"),
        ("http://x.sa:8080/a b?b=2&a=1", "http://x.sa:8080/a%20b?a=1&b=2"),
        ("http://x.sa", "http://x.sa/"),
    ],
)
def test_canonical_url_as_dedupe_uses_it(url: str, canonical: str) -> None:
    assert canonical_url(url, readable=True) == canonical
    # The readable form is the id form with its non-ASCII path characters decoded.
    assert unquote(canonical_url(url)) == unquote(canonical)
