"""Registry functions behind ``newsingest feeds add|remove|list|import`` (real broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.crawler.registry import (
    FeedSpec,
    add_feed,
    import_feeds,
    list_feeds,
    load_feed_file,
    read_table,
    remove_feed,
)
from services.runtime.config import Settings

REPO = Path(__file__).resolve().parents[2]


def test_curated_list_loads() -> None:
    specs = load_feed_file(REPO / "deploy" / "feeds" / "syria-news.csv")
    assert len(specs) >= 20
    assert {s.language for s in specs} == {"ar", "en"}
    assert len({s.id for s in specs}) == len(specs)
    assert all(s.url.startswith("https://") for s in specs)


def test_file_formats(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("# comment\nhttp://a.test/rss\n\nhttp://b.test/atom extra\n")
    (tmp_path / "f.jsonl").write_text('{"url": "http://c.test/", "language": "ar", "min_interval_s": 60}\n')
    txt = load_feed_file(tmp_path / "f.txt")
    assert [s.url for s in txt] == ["http://a.test/rss", "http://b.test/atom"]
    assert txt[0].id == FeedSpec.from_url("http://A.test/rss#x").id  # id from the canonical URL
    (jl,) = load_feed_file(tmp_path / "f.jsonl")
    assert (jl.language, jl.min_interval_s) == ("ar", 60.0)


@pytest.mark.kafka
async def test_add_import_remove_list(settings: Settings, tmp_path: Path) -> None:
    await add_feed(settings, FeedSpec(id="one", url="http://one.test/rss", language="en"))
    path = tmp_path / "feeds.csv"
    path.write_text("id,language,url\ntwo,ar,http://two.test/rss\nthree,ar,http://three.test/rss\n")
    assert await import_feeds(settings, path) == 2
    await add_feed(settings, FeedSpec(id="one", url="http://one.test/rss", language="en", enabled=False))
    await remove_feed(settings, "three")
    listed = {s.spec.id: s for s in await list_feeds(settings)}
    assert set(listed) == {"one", "two"}
    assert listed["one"].spec.enabled is False  # the newest record wins
    assert listed["two"].spec.language == "ar"
    assert listed["two"].state is None
    assert listed["two"].as_row()["error_streak"] == 0
    table = await read_table(settings.kafka, "news.feeds")
    assert table["three"] is None  # a tombstone
