"""Structured JSON logs: one object per line, record context bound, and never a secret.

The unit tests push secrets through every way a log line can carry one (message text,
extras, nested extras, reprs, exceptions, URLs, headers).  The service test runs a real
stage process (``newsingest serve dedupe``) with Kafka credentials in its environment,
feeds it a record it must dead-letter, and reads every line it wrote.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from services.runtime.config import KafkaSettings, Settings
from services.runtime.kafka import make_producer, topic_name
from services.runtime.logs import bind, setup_logging
from tests.crawler.conftest import read_topic

SECRET = "hunter2-Zq8v"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    setup_logging("DEBUG", stream=stream)
    yield stream
    for h in list(root.handlers):
        if getattr(h, "_newsingest", False):
            root.removeHandler(h)
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_is_json_with_the_record_context(captured: io.StringIO) -> None:
    log = logging.getLogger("newsingest.test")
    with bind(topic="t.news.raw", partition=3, offset=41, item_id="a1b2"):
        log.warning("dead-lettered", extra={"stage": "clean", "error_class": "EmptyText"})
    log.info("outside")
    first, second = _lines(captured)
    assert first["msg"] == "dead-lettered"
    assert (first["topic"], first["partition"], first["offset"], first["item_id"]) == ("t.news.raw", 3, 41, "a1b2")
    assert (first["level"], first["stage"], first["error_class"]) == ("warning", "clean", "EmptyText")
    assert "topic" not in second  # context ends with the block
    assert str(first["ts"]).endswith("Z")


def test_no_secret_in_any_line(captured: io.StringIO) -> None:
    log = logging.getLogger("newsingest.test")
    settings = Settings(
        kafka=KafkaSettings(security_protocol="SASL_SSL", sasl_username="bob", sasl_password=SecretStr(SECRET))
    )
    log.info("settings %s", settings)
    log.info("settings", extra={"settings": settings.model_dump()})
    log.info("kafka", extra={"kafka": {"sasl_password": SECRET, "nested": [{"token": SECRET}]}})
    log.info("connecting with password=%s", SECRET)
    log.info("config", extra={"cfg": f"sasl_plain_password='{SECRET}', api_key: {SECRET}"})
    log.info("fetching https://bob:%s@feeds.example/rss", SECRET)
    log.info("headers", extra={"headers": {"Authorization": f"Bearer {SECRET}", "Cookie": f"s={SECRET}"}})
    log.info("request", extra={"request": f"GET / Authorization: Basic {SECRET}"})
    log.info("password", extra={"password": SECRET, "api-key": SECRET, "client_secret": SECRET})
    try:
        raise ConnectionError(f"SASL authentication failed for bob with password: {SECRET}")
    except ConnectionError:
        log.exception("broker refused")
    text = captured.getvalue()
    assert len(text.splitlines()) == 10
    assert SECRET not in text
    assert "***" in text
    for line in _lines(captured):
        assert isinstance(line["msg"], str)
    assert "bob" in text  # user names are not secrets; only the password is masked


def test_plain_values_are_left_alone(captured: io.StringIO) -> None:
    logging.getLogger("t").info("polled https://feeds.example/rss?page=2", extra={"count": 3, "ok": True})
    (line,) = _lines(captured)
    assert line["msg"] == "polled https://feeds.example/rss?page=2"
    assert (line["count"], line["ok"]) == (3, True)


@pytest.mark.kafka
async def test_stage_process_logs_json_without_secrets(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "NEWSINGEST_KAFKA__TOPIC_PREFIX": kafka_settings.topic_prefix,
        "NEWSINGEST_KAFKA__PARTITIONS": "2",
        # Configured but unused on a PLAINTEXT listener: it must still never be printed.
        "NEWSINGEST_KAFKA__SASL_USERNAME": "bob",
        "NEWSINGEST_KAFKA__SASL_PASSWORD": SECRET,
        "NEWSINGEST_STAGE__POLL_TIMEOUT_S": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "dedupe.log"
    with log_path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "serve", "dedupe", cwd=REPO, env=env, stdout=out, stderr=out
        )
        try:
            producer = make_producer(kafka_settings)
            await producer.start()
            try:
                # Not a CleanArticle: the dedupe stage must dead-letter it, logging where it came from.
                await producer.send_and_wait(
                    topic_name(kafka_settings, "news.clean"), b'{"password": "%s"}' % SECRET.encode(), key=b"item-1"
                )
            finally:
                await producer.stop()
            dead = await read_topic(kafka_settings, "news.deadletter", want=1, timeout_s=60)
            assert len(dead) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0
    raw = log_path.read_text()
    assert SECRET not in raw
    lines = [orjson.loads(line) for line in raw.splitlines()]  # every line is JSON
    assert any(line["msg"] == "stage running" for line in lines)
    (dl,) = [line for line in lines if "dead-lettered" in str(line["msg"])]
    assert dl["topic"] == topic_name(kafka_settings, "news.clean")
    assert dl["item_id"] == "item-1"
    assert isinstance(dl["partition"], int)
    assert isinstance(dl["offset"], int)
