"""The shared stage runtime against the real broker: outputs, dead letters, offsets, restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from services.errors import RejectedInput
from services.runtime.config import KafkaSettings, Settings, StageSettings
from services.runtime.handler import Out
from services.runtime.kafka import decode_json, encode_json, make_consumer, make_producer, topic_name
from services.runtime.stage import StageRunner

pytestmark = pytest.mark.kafka


class Upper:
    """A pure handler for the tests: upper-cases "text", rejects records without it."""

    stage = "upper"

    def handle(self, value: dict[str, Any]) -> Sequence[Out]:
        if not isinstance(value.get("text"), str):
            raise RejectedInput("no text field")
        if value["text"] == "drop":
            return []
        return [Out("news.clean", value["id"].encode(), {**value, "text": value["text"].upper()})]


async def produce(settings: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        futures = [
            await producer.send(topic_name(settings, topic), v, key=str(i).encode()) for i, v in enumerate(values)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_all(settings: KafkaSettings, topic: str, expect: int, timeout_s: float = 30) -> list[Any]:
    consumer = make_consumer(settings, topic, group_id=None)
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=300)).values():
                out.extend(recs)
        # a little longer, to catch extra (duplicate) records
        for recs in (await consumer.getmany(timeout_ms=1000)).values():
            out.extend(recs)
    finally:
        await consumer.stop()
    return out


@contextlib.asynccontextmanager
async def running(runner: StageRunner) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


def settings_for(kafka: KafkaSettings) -> Settings:
    return Settings(kafka=kafka, stage=StageSettings(poll_timeout_s=0.2, batch_max=50))


async def test_outputs_dead_letters_and_drops(kafka_settings: KafkaSettings) -> None:
    values = [encode_json({"id": f"a{i}", "text": f"x{i}"}) for i in range(30)]
    values += [b"not json", encode_json({"id": "b"}), encode_json({"id": "c", "text": "drop"})]
    await produce(kafka_settings, "news.raw", values)
    runner = StageRunner(Upper(), settings_for(kafka_settings), input_topic="news.raw", offload="inline")
    async with running(runner):
        out = await read_all(kafka_settings, "news.clean", 30)
        dead = await read_all(kafka_settings, "news.deadletter", 2)
    texts = sorted(decode_json(r.value)["text"] for r in out)
    assert texts == sorted(f"X{i}" for i in range(30))
    reasons = sorted(decode_json(r.value)["reason"] for r in dead)
    assert len(reasons) == 2
    assert any("not JSON" in r for r in reasons)
    assert "no text field" in reasons
    headers = dict(dead[0].headers)
    assert headers["newsingest.stage"] == b"upper"
    assert runner.processed == 33


async def test_restart_resumes_from_committed_offsets(kafka_settings: KafkaSettings) -> None:
    s = settings_for(kafka_settings)
    await produce(kafka_settings, "news.raw", [encode_json({"id": f"a{i}", "text": "y"}) for i in range(10)])
    async with running(StageRunner(Upper(), s, input_topic="news.raw", offload="inline")):
        await read_all(kafka_settings, "news.clean", 10)
    await produce(kafka_settings, "news.raw", [encode_json({"id": f"b{i}", "text": "z"}) for i in range(5)])
    second = StageRunner(Upper(), s, input_topic="news.raw", offload="inline")
    async with running(second):
        out = await read_all(kafka_settings, "news.clean", 15)
    ids = [decode_json(r.value)["id"] for r in out]
    assert sorted(ids) == sorted([f"a{i}" for i in range(10)] + [f"b{i}" for i in range(5)])  # each exactly once
    assert second.processed == 5
