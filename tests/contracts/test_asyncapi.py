"""CI check: ``schemas/asyncapi.yaml`` is valid AsyncAPI 3 and says what the code does.

Validity: the document is checked against the official AsyncAPI 3.0.0 JSON Schema
(vendored, see ``vendor/README.md``), which also checks the Kafka bindings.

Agreement with the code:
- one channel per topic of ``services.runtime.topics.TOPICS``, with the partitions and
  topic configuration that ``ensure_topics`` creates;
- payloads are the schema files the topics declare; state topics are tagged internal;
- header names and values are the ones the producers write, taken by running the stage
  runtime's commit against a recording producer and from the crawler's outbox;
- keys match the ids the code makes; consumer group ids match the services';
- the delivery promise (exactly-once, read_committed) matches the client settings.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aiokafka import ConsumerRecord, TopicPartition

from services.crawler.config import CrawlerSettings
from services.crawler.outbox import Record
from services.crawler.outbox import record_headers as crawler_headers
from services.runtime.config import KafkaSettings, Settings
from services.runtime.kafka import make_consumer, make_producer
from services.runtime.stage import StageRunner
from services.runtime.topics import TOPICS
from services.urls import article_id

REPO = Path(__file__).resolve().parents[2]
DOC_PATH = REPO / "schemas" / "asyncapi.yaml"
META_SCHEMA = Path(__file__).resolve().parent / "vendor" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load(DOC_PATH.read_text())


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/a/b``) until a plain node."""
    while isinstance(node, dict) and "$ref" in node and str(node["$ref"]).startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def channels_by_topic(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ch["address"]: ch for ch in doc["channels"].values()}


def messages_of(doc: dict[str, Any], channel: dict[str, Any]) -> list[dict[str, Any]]:
    return [resolve(doc, m) for m in channel["messages"].values()]


def header_schema(doc: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """A message's headers schema, its traits' headers merged in (as AsyncAPI applies traits)."""
    merged: dict[str, Any] = {}
    for trait in message.get("traits", []):
        merged.update(resolve(doc, trait).get("headers", {}))
    merged.update(message.get("headers", {}))
    return merged


def test_document_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    meta = json.loads(META_SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(meta).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors] == []
    assert doc["asyncapi"].startswith("3.")


def test_validator_rejects_a_broken_document(doc: dict[str, Any]) -> None:
    """The meta-schema is strict enough to catch a wrong action and a wrong binding."""
    meta = jsonschema.Draft7Validator(json.loads(META_SCHEMA.read_text()))
    broken = json.loads(json.dumps(doc))
    broken["operations"]["tagSendsSyria"]["action"] = "publish"  # AsyncAPI 2 wording
    assert not meta.is_valid(broken)
    broken = json.loads(json.dumps(doc))
    broken["channels"]["syria"]["bindings"]["kafka"]["partitions"] = "six"
    assert not meta.is_valid(broken)


def test_one_channel_per_declared_topic(doc: dict[str, Any]) -> None:
    by_topic = channels_by_topic(doc)
    assert sorted(by_topic) == sorted(TOPICS)
    assert len(by_topic) == len(doc["channels"])  # no two channels for one topic


def test_channel_bindings_match_the_topics_the_code_creates(doc: dict[str, Any]) -> None:
    default_partitions = KafkaSettings().partitions
    for topic, channel in channels_by_topic(doc).items():
        spec, binding = TOPICS[topic], channel["bindings"]["kafka"]
        assert binding["topic"] == topic
        assert binding["partitions"] == (spec.partitions or default_partitions), topic
        if spec.partitions is None:
            assert binding.get("x-partitions-setting") == "NEWSINGEST_KAFKA__PARTITIONS", topic
        created = spec.topic_config()
        documented = binding["topicConfiguration"]
        assert documented["cleanup.policy"] == [created["cleanup.policy"]], topic
        for key in ("retention.ms", "delete.retention.ms", "max.message.bytes"):
            assert documented.get(key) == (int(created[key]) if key in created else None), (topic, key)


def test_payloads_are_the_declared_schema_files(doc: dict[str, Any]) -> None:
    for topic, channel in channels_by_topic(doc).items():
        spec = TOPICS[topic]
        tags = {t["name"] for t in channel.get("tags", [])}
        for message in messages_of(doc, channel):
            if spec.schema is None:
                assert tags == {"internal"}, topic
                continue
            assert tags == {"public"}, topic
            payload = message["payload"]
            assert payload["schemaFormat"] == "application/schema+json;version=draft-2020-12"
            ref = payload["schema"]["$ref"]
            assert ref == f"./{spec.schema}.schema.json", topic
            schema = json.loads((DOC_PATH.parent / ref).read_text())
            assert message["name"] == spec.schema
            assert schema["$id"].endswith(f"/{spec.schema}.schema.json")


class _RecordingProducer:
    """Stands in for a transactional producer; remembers what the stage runtime sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> None:
        self.sent.append({"topic": topic, "key": key, "headers": dict(headers)})

    async def send_offsets_to_transaction(self, offsets: Any, group_id: str) -> None:
        return None


class _Handler:
    stage = "tag"

    def handle(self, value: dict[str, Any]) -> list[Any]:
        return []


async def _headers_the_stage_writes(topic: str) -> dict[str, bytes]:
    runner = StageRunner(_Handler(), Settings(), input_topic="news.unique", offload="inline")  # type: ignore[arg-type]
    tp = TopicPartition("news.unique", 0)
    producer = _RecordingProducer()
    runner._producers[tp] = producer  # type: ignore[assignment]
    key = article_id("https://example.org/a").encode()
    rec = ConsumerRecord("news.unique", 0, 7, 0, 0, key, b"{}", None, 2, 2, [("trace-id", b"t-1")])
    await runner._commit(tp, [rec], [(rec, (topic, key, b"{}"))])
    (sent,) = producer.sent
    assert sent["headers"]["trace-id"] == b"t-1"  # carried from the input
    return sent["headers"]


@pytest.mark.parametrize("topic", ["news.clean", "news.unique", "news.articles", "news.syria", "news.duplicates"])
async def test_stage_output_headers_match_the_document(doc: dict[str, Any], topic: str) -> None:
    written = await _headers_the_stage_writes(topic)
    (message,) = messages_of(doc, channels_by_topic(doc)[topic])
    documented = header_schema(doc, message)
    assert set(documented["required"]) == set(written)
    props = documented["properties"]
    for name, value in written.items():
        text = value.decode()
        assert jsonschema.Draft7Validator(props[name]).is_valid(text), (name, text)
    assert written["newsingest.schema"].decode() == f"{TOPICS[topic].schema}/1"


async def test_dead_letter_headers_cover_both_writers(doc: dict[str, Any]) -> None:
    (message,) = messages_of(doc, channels_by_topic(doc)["news.deadletter"])
    props = header_schema(doc, message)["properties"]
    crawler = dict(crawler_headers(Record("news.deadletter", article_id("https://example.org/a"), {})))
    for written in (await _headers_the_stage_writes("news.deadletter"), crawler):
        assert set(written) == set(header_schema(doc, message)["required"])
        for name, value in written.items():
            assert name in props, name
            assert jsonschema.Draft7Validator(props[name]).is_valid(value.decode()), (name, value)


def test_crawler_headers_match_the_document(doc: dict[str, Any]) -> None:
    (message,) = messages_of(doc, channels_by_topic(doc)["news.raw"])
    documented = header_schema(doc, message)
    key = article_id("https://example.org/a")
    written = dict(crawler_headers(Record("news.raw", key, {})))
    assert set(documented["required"]) == set(written)
    for name, value in written.items():
        assert jsonschema.Draft7Validator(documented["properties"][name]).is_valid(value.decode()), (name, value)
    # The same names and values the stage runtime writes, so one reader handles every topic.
    stage_names = set(header_schema(doc, messages_of(doc, channels_by_topic(doc)["news.clean"])[0])["properties"])
    assert set(written) == stage_names
    assert written["newsingest.stage"] == b"crawler"
    assert written["newsingest.schema"] == f"{TOPICS['news.raw'].schema}/1".encode()
    assert written["trace-id"] == key.encode()  # the article's trace starts at the crawler


def test_keys_are_article_ids(doc: dict[str, Any]) -> None:
    key = article_id("https://www.example.org/news/2026/11/26/story.html?utm_source=x")
    for topic in ("news.raw", "news.clean", "news.unique", "news.articles", "news.syria", "news.duplicates"):
        (message,) = messages_of(doc, channels_by_topic(doc)[topic])
        assert re.fullmatch(message["bindings"]["kafka"]["key"]["pattern"], key), topic


def test_group_ids_are_the_services(doc: dict[str, Any]) -> None:
    groups = {
        resolve(doc, op["channel"])["address"]: op["bindings"]["kafka"]["groupId"]["const"]
        for op in doc["operations"].values()
        if op["action"] == "receive"
    }
    expected_stage = {"news.raw": "clean", "news.clean": "dedupe", "news.unique": "tag"}
    for topic, stage in expected_stage.items():
        runner_group = StageRunner(type("H", (_Handler,), {"stage": stage})(), Settings(), input_topic=topic).group_id  # type: ignore[arg-type]
        assert groups[topic] == runner_group
    assert groups["news.feeds"] == CrawlerSettings().group_id


async def test_delivery_promise_matches_the_clients(doc: dict[str, Any]) -> None:
    delivery = doc["components"]["x-delivery"]
    assert delivery["guarantee"] == "exactly-once"
    assert delivery["consumerIsolationLevel"] == "read_committed"
    assert "read_committed" in doc["info"]["description"]
    public_sends = [
        op
        for op in doc["operations"].values()
        if op["action"] == "send" and resolve(doc, op["channel"])["tags"] == [{"name": "public"}]
    ]
    assert {resolve(doc, op["channel"])["address"] for op in public_sends} == {t for t, s in TOPICS.items() if s.schema}
    assert all(op["x-delivery"] == {"$ref": "#/components/x-delivery"} for op in public_sends)
    # What the promise rests on: the clients the one Kafka module builds.
    kafka = KafkaSettings()
    consumer = make_consumer(kafka, "news.syria", group_id="g")
    producer = make_producer(kafka, transactional_id="t")
    assert consumer._isolation_level == "read_committed"
    assert consumer._enable_auto_commit is False
    assert producer._txn_manager is not None  # transactional, hence idempotent with acks=all


def test_operation_channels_and_messages_resolve(doc: dict[str, Any]) -> None:
    for name, op in doc["operations"].items():
        channel = resolve(doc, op["channel"])
        assert channel in doc["channels"].values(), name
        for ref in op.get("messages", []):
            assert resolve(doc, ref) in [resolve(doc, m) for m in channel["messages"].values()], name
