"""``newsingest status`` and ``newsingest deadletter`` against the real pipeline and broker.

The pipeline runs in-process (see ``pipeline.py``); a page with no main text becomes a
clean-stage dead letter.  The status snapshot must show the stages with no lag once
caught up, the feed's health, the dead letter with its reason and the Syria item; the
replay must put the original record back on ``news.raw`` marked as a replay, where the
clean stage fails it again and a second dead letter says it was a replay.
"""

from __future__ import annotations

import asyncio
import base64

import pytest
from prometheus_client import REGISTRY
from rich.console import Console

from services.crawler.registry import FeedSpec, add_feed
from services.runtime.config import KafkaSettings, Settings
from services.runtime.deadletters import (
    REPLAY_HEADER,
    DeadLetter,
    DeadLetterFilter,
    read_dead_letters,
    reason_pattern,
    replay,
    top_reasons,
)
from services.runtime.status import collect_status, render_status
from tests.crawler.conftest import read_topic
from tests.monitoring.pipeline import feed_xml, news_site, run_pipeline

pytestmark = pytest.mark.kafka


async def _wait_dead(kafka: KafkaSettings, want: int, timeout_s: float = 60) -> list[DeadLetter]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found, bad = await read_dead_letters(kafka)
        assert bad == 0
        if len(found) >= want or loop.time() > deadline:
            return found
        await asyncio.sleep(0.5)


async def _wait_caught_up(settings: Settings, services: dict[str, str], timeout_s: float = 30):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        st = await collect_status(settings, services)
        if all(sum(lag.values()) == 0 for lag in st.lag.values()) or loop.time() > deadline:
            return st
        await asyncio.sleep(0.5)


async def test_status_and_dead_letter_replay(kafka_settings: KafkaSettings) -> None:
    settings = Settings(kafka=kafka_settings)
    async with news_site() as site:
        site.static(
            "/feed.xml",
            feed_xml([("seed", site.url("/ar/seed.html")), ("gallery", site.url("/gallery.html"))]),
            "application/rss+xml",
        )
        feed = FeedSpec(id="gazette", url=site.url("/feed.xml"), language="ar")
        await add_feed(settings, feed)  # registered, so status lists it with its health
        # Counters are per process and other tests ran stages in this one: compare with before.
        dead_before = (
            REGISTRY.get_sample_value("newsingest_stage_items_total", {"stage": "clean", "outcome": "dead_letter"})
            or 0.0
        )
        async with run_pipeline(settings, [feed]) as pipe:
            syria = await read_topic(kafka_settings, "news.syria", want=1, timeout_s=90)
            assert len(syria) == 1
            dead = await _wait_dead(kafka_settings, 1)
            assert [(d.stage, d.error_class, d.source_topic) for d in dead] == [("clean", "EmptyText", "news.raw")]
            first = dead[0]
            assert first.replayable
            assert first.replay_of is None
            assert b'"body_b64"' in first.original  # the raw page, byte for byte

            services = {name: pipe.url(name, "") for name in pipe.ports}
            st = await _wait_caught_up(settings, services)
            assert st.lag == {"clean": {0: 0, 1: 0}, "dedupe": {0: 0, 1: 0}, "tag": {0: 0, 1: 0}}
            assert [f.spec.id for f in st.feeds] == ["gazette"]
            assert st.feeds[0].state is not None
            assert st.feeds[0].state.error_streak == 0
            assert [d.ref for d in st.dead] == [first.ref]
            assert st.syria[0]["tags"]["syria"]["grade"] == 2
            assert all(s.ready.startswith("ready") for s in st.services.values()), st.services
            assert st.services["clean"].total("newsingest_stage_items_total", stage="clean", outcome="dead_letter") == (
                dead_before + 1
            )

            console = Console(record=True, width=160, color_system=None)
            console.print(render_status(st))
            screen = console.export_text()
            for expected in ("Stages", "clean", "news.raw", "gazette", "EmptyText", "Last Syria items", "ready"):
                assert expected in screen, expected
            assert "127.0.0.1" in screen  # the Syria item's source

            # Replay only what the filter selects: a filter that matches nothing replays nothing.
            none, _ = await read_dead_letters(kafka_settings, DeadLetterFilter(stage="tag"))
            assert (await replay(kafka_settings, none)).replayed == {}
            dry = await replay(kafka_settings, dead, dry_run=True)
            assert dry.replayed == {"news.raw": 1}
            report = await replay(kafka_settings, dead)
            assert report.replayed == {"news.raw": 1}
            assert report.skipped_not_replayable == 0

            again = await _wait_dead(kafka_settings, 2)
            assert len(again) == 2
            second = again[1]
            assert second.replay_of == f"news.deadletter/{first.ref}"
            assert second.original == first.original
            assert second.key == first.key
            raw = await read_topic(kafka_settings, "news.raw", want=3, timeout_s=10)
            replayed = [r for r in raw if REPLAY_HEADER in dict(r.headers or ())]
            assert len(replayed) == 1
            assert replayed[0].key == first.key

    # Grouped reasons blank URLs and numbers, so one broken source is one line.
    assert top_reasons(again)[0][3] == 2
    assert "http" not in reason_pattern("no main text found on http://127.0.0.1:8080/x 12 times")


def test_dead_letter_decoding_rejects_bad_values() -> None:
    value = {
        "schema_version": 1,
        "stage": "clean",
        "error_class": "EmptyText",
        "reason": "r",
        "source": {"topic": "news.raw", "partition": 1, "offset": 7, "key_b64": base64.b64encode(b"k").decode()},
        "original_b64": base64.b64encode(b"{}").decode(),
        "original_headers": {REPLAY_HEADER: "news.deadletter/0:3"},
        "failed_at": "2026-11-26T00:00:00Z",
    }
    dl = DeadLetter.from_value(2, 5, 0, value)
    assert (dl.ref, dl.key, dl.replayable, dl.replay_of) == ("2:5", b"k", True, "news.deadletter/0:3")
    crawler = {**value, "stage": "crawler", "source": {"topic": "news.feeds", "partition": -1, "offset": -1}}
    assert not DeadLetter.from_value(0, 0, 0, crawler).replayable
    from services.runtime.errors import BadMessage

    with pytest.raises(BadMessage):
        DeadLetter.from_value(0, 0, 0, {**value, "original_b64": "not base64!"})
    with pytest.raises(BadMessage):
        DeadLetter.from_value(0, 0, 0, {"stage": "clean"})
