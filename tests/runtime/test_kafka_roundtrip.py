"""The project's Kafka module against the real broker."""

from __future__ import annotations

import asyncio

import pytest

from services.runtime.config import KafkaSettings
from services.runtime.errors import BadMessage
from services.runtime.kafka import decode_json, encode_json, make_consumer, make_producer, topic_name

pytestmark = pytest.mark.kafka


async def test_json_roundtrip_through_real_broker(kafka_settings: KafkaSettings) -> None:
    value = {"id": "x", "title": "تنسيق أميركي", "n": 3}
    producer = make_producer(kafka_settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(kafka_settings, "news.raw"), encode_json(value), key=b"k")
    finally:
        await producer.stop()
    consumer = make_consumer(kafka_settings, "news.raw", group_id="g-roundtrip")
    await consumer.start()
    try:
        batch: dict = {}
        for _ in range(20):
            batch = await consumer.getmany(timeout_ms=500)
            if batch:
                break
        records = [r for rs in batch.values() for r in rs]
        assert len(records) == 1
        assert records[0].key == b"k"
        assert decode_json(records[0].value) == value
    finally:
        await asyncio.wait_for(consumer.stop(), 10)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", None])
def test_decode_rejects_non_objects(raw: bytes | None) -> None:
    with pytest.raises(BadMessage):
        decode_json(raw)
