"""deploy/examples/consume_syria.py, run as another team would run it, against the real broker.

It must print the committed article and never the one from an aborted transaction, which
is what ``isolation_level="read_committed"`` promises (the AsyncAPI document's delivery
guarantee).  The example imports nothing from newsingest: it is the consumer's side.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.runtime.config import KafkaSettings
from services.runtime.kafka import encode_json, make_producer, topic_name

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "examples" / "consume_syria.py"


def _article(title: str) -> dict[str, Any]:
    now = "2026-11-26T01:00:00.000Z"
    return {
        "schema_version": 1,
        "id": uuid.uuid4().hex,
        "url": "https://news.example/a",
        "canonical_url": "https://news.example/a",
        "source": "news.example",
        "title": title,
        "text": "Text.",
        "language": "en",
        "published": None,
        "authors": [],
        "fetched_at": now,
        "cleaned_at": now,
        "revision": 0,
        "tags": {
            "syria": {"relevant": True, "grade": 2, "score": 0.9},
            "places": [{"name": "Aleppo"}],
            "actors": [],
            "topics": [],
            "tagger_version": "test",
        },
        "tagged_at": now,
    }


def test_example_is_short_and_independent_of_newsingest() -> None:
    tree = ast.parse(EXAMPLE.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"asyncio", "os", "orjson", "aiokafka"}
    assert "read_committed" in EXAMPLE.read_text()


@pytest.mark.kafka
async def test_example_prints_committed_articles_only(kafka_settings: KafkaSettings) -> None:
    schema = json.loads((REPO / "schemas" / "article.schema.json").read_text())
    aborted, committed = _article("rolled back"), _article("Aleppo water station repaired")
    for value in (aborted, committed):
        jsonschema.validate(value, schema)

    topic = topic_name(kafka_settings, "news.syria")
    producer = make_producer(kafka_settings, transactional_id=f"example-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, encode_json(aborted), key=aborted["id"].encode())
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, encode_json(committed), key=committed["id"].encode())
    finally:
        await producer.stop()

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA", "TOPIC", "GROUP"))},
        "KAFKA": kafka_settings.bootstrap_servers,
        "TOPIC": topic,
        "GROUP": f"example-{uuid.uuid4().hex[:8]}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    finally:
        proc.terminate()
        await proc.wait()
    assert line == f"{committed['id']} 2 Aleppo water station repaired"
