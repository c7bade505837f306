"""``offload="prepare"``: dedupe's fingerprints in a worker process, its index in the stage.

Against the real broker: the decisions equal the handler's own, bad input is
dead-lettered with the handler's error class, and a killed worker costs a retry, not
an item.
"""

from __future__ import annotations

import os
import random
import signal
from typing import Any

import orjson
import pytest

from services.dedupe.handler import DedupeHandler
from services.runtime.config import KafkaSettings, Settings, StageSettings
from services.runtime.kafka import encode_json
from services.runtime.stage import StageRunner
from tests.runtime.test_stage import produce, read_all, running, settings_for

pytestmark = pytest.mark.kafka


def _articles(n: int) -> list[dict[str, Any]]:
    """``n`` unrelated articles of made-up words, then exact copies of every third one."""
    syllables = ["ka", "ri", "mo", "sa", "tel", "nu", "ba", "dor", "fi", "lan", "qu", "zem", "ho", "vi", "ral", "pe"]
    arts = []
    for i in range(n):
        rnd = random.Random(i)
        body = " ".join("".join(rnd.choice(syllables) for _ in range(3)) for _ in range(80))
        arts.append({"id": f"a{i:04d}", "url": f"https://site{i % 3}.example/n/{i}", "title": f"t{i}", "text": body})
    copies = [{**a, "id": f"c{a['id']}", "url": a["url"].replace("/n/", "/copy/")} for a in arts[::3]]
    return arts + copies


async def test_prepare_mode_decides_like_the_handler(kafka_settings: KafkaSettings) -> None:
    arts = _articles(60)
    originals, copies = arts[:60], arts[60:]
    reference = DedupeHandler()  # one handler for the whole sequence, as the stage has
    expected = {o.key: o.topic for a in arts for o in reference.handle(a) if o.topic != "news.dedupe.state"}
    assert sum(t == "news.duplicates" for t in expected.values()) == len(copies) == 20
    settings = Settings(kafka=kafka_settings, stage=StageSettings(poll_timeout_s=0.2, batch_max=50, workers=1))
    runner = StageRunner(DedupeHandler(), settings, input_topic="news.clean", offload="prepare")
    async with running(runner):
        # Originals first and seen through, so partitions cannot reorder a copy before them.
        await produce(kafka_settings, "news.clean", [encode_json(a) for a in originals])
        unique = await read_all(kafka_settings, "news.unique", expect=60)
        await produce(kafka_settings, "news.clean", [encode_json(a) for a in copies])
        await produce(kafka_settings, "news.clean", [b"not json", encode_json({"id": "x"})])
        dups = await read_all(kafka_settings, "news.duplicates", expect=20)
        dead = await read_all(kafka_settings, "news.deadletter", expect=2)
    got = {r.key: "news.unique" for r in unique} | {r.key: "news.duplicates" for r in dups}
    assert got == expected
    classes = sorted(orjson.loads(r.value)["error_class"] for r in dead)
    assert classes == ["BadMessage", "InvalidArticle"]


async def test_killed_prepare_worker_costs_a_retry_not_an_item(kafka_settings: KafkaSettings) -> None:
    arts = _articles(30)
    settings = settings_for(kafka_settings)
    runner = StageRunner(DedupeHandler(), settings, input_topic="news.clean", offload="prepare")
    async with running(runner):
        await produce(kafka_settings, "news.clean", [encode_json(a) for a in arts[:30]])
        first = await read_all(kafka_settings, "news.unique", expect=30)
        assert runner._prepare is not None
        pool = runner._prepare._get()
        for pid in list(pool._processes):  # the worker dies between batches
            os.kill(pid, signal.SIGKILL)
        await produce(kafka_settings, "news.clean", [encode_json(a) for a in arts[30:]])
        dups = await read_all(kafka_settings, "news.duplicates", expect=10)
    assert len({r.key for r in first}) == 30
    assert len(dups) == 10
    assert {r.key for r in dups} == {f"c{a['id']}".encode() for a in arts[:30:3]}
