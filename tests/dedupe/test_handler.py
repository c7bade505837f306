"""DedupeHandler on real SaudiNewsNet articles: exact groups, revisions, restore, retention."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from services.dedupe.errors import InvalidArticle
from services.dedupe.fingerprint import MIN_NEAR_TOKENS, fingerprint, similarity
from services.dedupe.handler import DedupeHandler, dedupe_records, fingerprint_article
from services.errors import RejectedInput
from services.runtime.handler import Out, StatefulHandler


def _clean(art: dict[str, Any], fetched_at: str = "2015-07-21T10:00:00Z") -> dict[str, Any]:
    """A CleanArticle built from a SaudiNewsNet record."""
    url = art["url"]
    return {
        "schema_version": 1,
        "id": hashlib.blake2b(url.encode(), digest_size=16).hexdigest(),
        "url": url,
        "canonical_url": url,
        "source": art["source"],
        "title": art["title"],
        "text": art["content"],
        "language": "ar",
        "published": None,
        "authors": [],
        "fetched_at": fetched_at,
        "cleaned_at": fetched_at,
    }


def _long(arts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in arts if len(a["content"].split()) >= 3 * MIN_NEAR_TOKENS]


def test_implements_stateful_handler() -> None:
    h = DedupeHandler()
    assert isinstance(h, StatefulHandler)
    assert (h.stage, h.state_topic) == ("dedupe", "news.dedupe.state")


def test_every_exact_group_is_found(saudi_days: list[dict[str, Any]]) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(saudi_days):
        if len(a["content"].split()) >= MIN_NEAR_TOKENS:
            groups[a["content"]].append(i)
    multi = [g for g in groups.values() if len(g) > 1]
    assert len(multi) > 100
    verdicts = list(
        dedupe_records(
            {"id": str(i), "url": a["url"], "title": a["title"], "text": a["content"]} for i, a in enumerate(saudi_days)
        )
    )
    for g in multi:
        # Every copy after the first is held back; when the first copy is the original,
        # the others are exact duplicates of it (else they may match its original by MinHash).
        for i in g[1:]:
            assert verdicts[i]["duplicate_of"] is not None, saudi_days[i]["url"]
            if verdicts[g[0]]["duplicate_of"] is None:
                assert (verdicts[i]["kind"], verdicts[i]["duplicate_of"]) == ("exact", str(g[0]))


def test_new_then_exact_url_then_text_duplicate(saudi_days: list[dict[str, Any]]) -> None:
    h = DedupeHandler(clock=lambda: 1_437_472_800.0)
    art = _clean(_long(saudi_days)[0])
    first = h.handle(art)
    assert [o.topic for o in first] == ["news.unique", "news.dedupe.state"]
    assert first[0].value is not None
    assert first[0].value["revision"] == 0
    assert first[0].key == art["id"].encode()
    state = first[1].value
    assert state is not None
    assert "text" not in state
    assert len(str(state)) < 500 + len(art["canonical_url"])

    again = h.handle(dict(art))
    assert [o.topic for o in again] == ["news.duplicates"]
    assert again[0].value is not None
    assert (again[0].value["kind"], again[0].value["basis"]) == ("exact", "url")

    copy = _clean({**_long(saudi_days)[0], "url": "http://other.example/x", "source": "other"})
    copy["text"] = "  " + copy["text"].replace("،", ",") + "\n"
    dup = h.handle(copy)
    assert dup[0].value is not None
    assert (dup[0].value["kind"], dup[0].value["basis"], dup[0].value["duplicate_of"]) == ("exact", "text", art["id"])


def test_changed_text_is_a_revision(saudi_days: list[dict[str, Any]]) -> None:
    long = _long(saudi_days)
    h = DedupeHandler()
    art = _clean(long[0])
    h.handle(art)
    updated = {**art, "text": long[1]["content"], "fetched_at": "2015-07-21T12:00:00Z"}
    outs = h.handle(updated)
    assert outs[0].topic == "news.unique"
    assert outs[0].value is not None
    assert (outs[0].value["id"], outs[0].value["revision"]) == (art["id"], 1)
    assert outs[1].topic == "news.dedupe.state"
    # A tiny change (one trailing word) is a re-fetch, not a revision.
    noise = {**updated, "text": updated["text"] + " شارك"}
    assert h.handle(noise)[0].topic == "news.duplicates"


def test_invalid_input_is_rejected() -> None:
    h = DedupeHandler()
    with pytest.raises(InvalidArticle) as exc:
        h.handle({"id": "x", "url": "u"})
    assert isinstance(exc.value, RejectedInput)
    assert "text" in exc.value.reason
    with pytest.raises(InvalidArticle):
        h.handle({"text": "abc"})


def _run(h: DedupeHandler, arts: list[dict[str, Any]]) -> tuple[list[tuple[str, str | None]], list[Out]]:
    decisions: list[tuple[str, str | None]] = []
    log: list[Out] = []
    for a in arts:
        outs = h.handle(a)
        first = outs[0]
        assert first.value is not None
        decisions.append((first.topic, first.value.get("duplicate_of")))
        log.extend(o for o in outs if o.topic == h.state_topic)
    return decisions, log


def test_restore_reproduces_decisions(saudi_days: list[dict[str, Any]]) -> None:
    arts = [_clean(a) for a in saudi_days[:3000]]
    first_half, second_half = arts[:1500], arts[1500:]
    reference = DedupeHandler()
    _, log = _run(reference, first_half)
    expected, _ = _run(reference, second_half)

    restored = DedupeHandler()
    # Replay twice and shuffled by key order: restore must be idempotent and order-tolerant.
    for rec in sorted(log, key=lambda o: o.key or b"") + log:
        assert rec.key is not None
        restored.restore(rec.key, rec.value)
    got, _ = _run(restored, second_half)
    assert got == expected
    assert any(t == "news.duplicates" for t, _ in got)


def test_stale_revision_in_changelog_is_ignored(saudi_days: list[dict[str, Any]]) -> None:
    long = _long(saudi_days)
    h = DedupeHandler()
    art = _clean(long[0])
    v0 = h.handle(art)[1]
    v1 = h.handle({**art, "text": long[1]["content"]})[1]
    fresh = DedupeHandler()
    for rec in (v1, v0):  # newer record arrives first
        assert rec.key is not None
        fresh.restore(rec.key, rec.value)
    entry = fresh.index.get(art["id"])
    assert entry is not None
    assert entry.revision == 1


def test_retention_emits_tombstones_and_forgets(saudi_days: list[dict[str, Any]]) -> None:
    long = _long(saudi_days)
    h = DedupeHandler(retention_s=86400.0)
    old = _clean(long[0], fetched_at="2015-07-01T00:00:00Z")
    h.handle(old)
    later = _clean(long[1], fetched_at="2015-07-03T00:00:00Z")
    outs = h.handle(later)
    tombstones = [o for o in outs if o.topic == "news.dedupe.state" and o.value is None]
    assert [o.key for o in tombstones] == [b"u:" + old["id"].encode()]
    assert h.index.get(old["id"]) is None
    # After the window the old text is new again.
    assert h.handle({**old, "fetched_at": "2015-07-03T01:00:00Z"})[0].topic == "news.unique"

    # A tombstone replayed after the id was re-indexed must not erase the fresh entry.
    assert h.index.get(old["id"]) is not None
    h.restore(tombstones[0].key or b"", None)
    assert h.index.get(old["id"]) is not None


def _schema(name: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "schemas" / name
    return json.loads(path.read_text(encoding="utf-8"))


def test_outputs_match_the_message_schemas(saudi_days: list[dict[str, Any]]) -> None:
    h = DedupeHandler(wall_clock=lambda: 1_437_472_800.0)
    art = _clean(_long(saudi_days)[0])
    unique = h.handle(art)[0].value
    dup = h.handle(dict(art))[0].value
    jsonschema.validate(unique, _schema("unique_article.schema.json"))
    jsonschema.validate(dup, _schema("duplicate.schema.json"))
    assert dup is not None
    assert dup["detected_at"] == "2015-07-21T10:00:00Z"


def test_dedupe_records_cli_contract(saudi_days: list[dict[str, Any]]) -> None:
    a, b = _long(saudi_days)[:2]
    recs = [
        {"id": "r1", "url": "https://X.sa/news/1?utm_source=tw", "title": a["title"], "text": a["content"]},
        {"id": "r2", "url": "https://x.sa/news/1#comments", "title": a["title"], "text": a["content"]},
        {"id": "r3", "url": "https://y.sa/copy", "title": "other", "text": a["content"] + " المصدر: واس"},
        {"id": "r4", "url": "https://y.sa/2", "title": b["title"], "text": b["content"]},
        {"id": "r5", "url": "https://y.sa/3", "title": "no text"},
    ]
    got = list(dedupe_records(recs))
    assert "text" in got.pop()["error"]
    assert got == [
        {"id": "r1", "duplicate_of": None, "kind": None},
        {"id": "r2", "duplicate_of": "r1", "kind": "exact"},
        {"id": "r3", "duplicate_of": "r1", "kind": "near"},
        {"id": "r4", "duplicate_of": None, "kind": None},
    ]


def test_fingerprints_from_a_process_pool_give_the_same_decisions(saudi_days: list[dict[str, Any]]) -> None:
    arts = [_clean(a) for a in saudi_days[:400]]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        fps = list(pool.map(fingerprint_article, arts, chunksize=50))
    direct, pooled = DedupeHandler(), DedupeHandler()
    for art, fp in zip(arts, fps, strict=True):
        a, b = direct.handle(art), pooled.handle_fingerprinted(art, fp)
        assert [(o.topic, o.key) for o in a] == [(o.topic, o.key) for o in b]
    with pytest.raises(InvalidArticle):
        fingerprint_article({"id": "x"})


def test_version_1_changelog_record_keeps_exact_and_url_dedupe_only(saudi_days: list[dict[str, Any]]) -> None:
    long = _long(saudi_days)
    art = _clean(long[0])
    current = DedupeHandler().handle(art)[1]
    assert current.key is not None
    assert current.value is not None
    assert current.value["v"] == 2
    # What the previous release wrote: another MinHash scheme, no shingle count.
    old = {k: v for k, v in current.value.items() if k != "shingles"} | {"v": 1}
    fresh = DedupeHandler()
    fresh.restore(current.key, old)
    entry = fresh.index.get(art["id"])
    assert entry is not None
    assert entry.signature.size == 0  # not compared with signatures of this scheme
    copy = {**art, "id": "b" * 32, "url": "https://copy.example/1", "canonical_url": "https://copy.example/1"}
    assert fresh.handle(copy)[0].value["kind"] == "exact"  # type: ignore[index]
    edited = {**copy, "id": "c" * 32, "text": art["text"] + " " + long[1]["title"]}
    assert fresh.handle(edited)[0].topic == "news.unique"
    # The version-2 record of the same revision then brings the signature back.
    fresh.restore(current.key, current.value)
    entry = fresh.index.get(art["id"])
    assert entry is not None
    assert entry.signature.size > 0


def test_copy_cut_short_and_padded_with_another_text_is_a_near_duplicate(saudi_days: list[dict[str, Any]]) -> None:
    long = [a for a in _long(saudi_days) if len(a["content"].split()) >= 200]
    source, padding = long[0], long[1]["content"]
    words = source["content"].split()
    pad = " ".join(padding.split()[: len(words) * 6 // 10])
    h = DedupeHandler()
    h.handle(_clean(source))
    copy = {**_clean(source), "id": "d" * 32, "url": "https://copy.example/2", "canonical_url": None}
    # The ending cut, another outlet's text appended: Jaccard about 0.7 / 1.6 = 0.44.
    copy["text"] = " ".join(words[: len(words) * 7 // 10]) + "\n" + pad
    out = h.handle(copy)[0]
    assert out.topic == "news.duplicates"
    assert out.value is not None
    assert out.value["kind"] == "near"
    assert out.value["similarity"] < h.near_threshold  # found by containment, not by Jaccard
    # The record says why: about 0.7 of the shorter text is shared, though Jaccard is low.
    assert h.containment_threshold <= out.value["containment"] <= 0.85
    jsonschema.validate(out.value, _schema("duplicate.schema.json"))
    off = DedupeHandler(containment_threshold=2.0)
    off.handle(_clean(source))
    assert off.handle(copy)[0].topic == "news.unique"


def test_short_item_inside_a_long_roundup_is_not_a_duplicate(saudi_days: list[dict[str, Any]]) -> None:
    short = next(a for a in _long(saudi_days) if 80 <= len(a["content"].split()) <= 150)
    others = [a["content"] for a in _long(saudi_days)[:20] if a is not short][:4]
    h = DedupeHandler()
    h.handle(_clean(short))
    roundup = {**_clean(short), "id": "e" * 32, "url": "https://roundup.example/1", "canonical_url": None}
    roundup["text"] = "\n".join([others[0], short["content"], *others[1:]])
    assert h.handle(roundup)[0].topic == "news.unique"
    # It is the length ratio that keeps it out: the short item is contained in full.
    a, b = fingerprint(short["content"]), fingerprint(roundup["text"])
    jaccard, sizes = np.array([similarity(a.signature, b.signature)]), np.array([a.shingles])
    assert not h.is_near(jaccard, b.shingles, sizes)[0]
    assert DedupeHandler(min_length_ratio=0.0, containment_floor=0.0).is_near(jaccard, b.shingles, sizes)[0]
