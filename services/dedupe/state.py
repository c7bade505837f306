"""Changelog records of the dedupe index (topic ``news.dedupe.state``, compacted).

One record per indexed article id, keyed ``b"u:" + id`` so compaction keeps exactly the
latest state of each article; a tombstone (value ``None``) forgets an article when it
leaves the retention window.  Values carry no article text::

    {"v": 2, "text_hash": "<32 hex>", "signature": "<base64 of 128 x uint8>",
     "shingles": 412, "revision": 2, "seen_at": 1437465600.0, "url": "https://..."}

Version 1 records (k-permutation MinHash signatures, no shingle count) are still read:
their text hash, URL, revision and time are valid, but their signature is not
comparable with version 2 signatures (one-permutation MinHash), so such an article is
indexed without one: it still catches exact and same-URL copies, not near ones.
"""

from __future__ import annotations

from typing import Any

from services.dedupe.fingerprint import decode_signature, encode_signature
from services.dedupe.index import Entry

__all__ = ["KEY_PREFIX", "decode_entry", "encode_entry", "hash64", "state_key"]

KEY_PREFIX = b"u:"
_VERSION = 2
_V1 = 1  # signatures from another MinHash scheme: dropped on restore


def hash64(text_hash: str) -> int:
    """The first 64 bits of a hex text hash: what the index keeps in memory."""
    return int(text_hash[:16], 16)


def state_key(article_id: str) -> bytes:
    """Changelog key of one article."""
    return KEY_PREFIX + article_id.encode("utf-8")


def encode_entry(entry: Entry, text_hash: str) -> dict[str, Any]:
    """Changelog value for ``entry`` (``text_hash`` is the full hex digest)."""
    return {
        "v": _VERSION,
        "text_hash": text_hash,
        "signature": encode_signature(entry.signature),
        "shingles": entry.shingles,
        "revision": entry.revision,
        "seen_at": entry.seen_at,
        "url": entry.url,
    }


def decode_entry(key: bytes, value: dict[str, Any]) -> Entry | None:
    """Entry from one changelog record; ``None`` for keys or versions this code does not know."""
    version = value.get("v")
    if not key.startswith(KEY_PREFIX) or version not in (_VERSION, _V1):
        return None
    # A version-1 signature came from the old MinHash scheme: comparing it with new ones
    # would be noise, so such an entry keeps its exact and same-URL roles only.
    current = version == _VERSION
    return Entry(
        id=key[len(KEY_PREFIX) :].decode("utf-8"),
        url=value.get("url"),
        hash64=hash64(str(value["text_hash"])),
        revision=int(value["revision"]),
        seen_at=float(value["seen_at"]),
        signature=decode_signature(str(value.get("signature") or "") if current else ""),
        shingles=int(value.get("shingles") or 0) if current else 0,
    )
