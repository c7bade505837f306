"""Shared fixtures: one real Kafka broker per test session, unique topics per test.

The broker is the real Apache Kafka (KRaft, single node) started from jars Maven fetched
(see ``services.runtime.broker``).  Set ``NEWSINGEST_TEST_BOOTSTRAP`` to use a broker
that is already running instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.config import KafkaSettings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSINGEST_SHARED_DIR", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (read in place, never copied)."""
    if not SHARED.is_dir():
        pytest.fail(f"shared folder missing: {SHARED} (set NEWSINGEST_SHARED_DIR)")
    return SHARED


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of the session's real broker."""
    external = os.environ.get("NEWSINGEST_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    from services.runtime.broker import LocalBroker

    broker = LocalBroker.create(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
async def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Settings with a topic prefix unique to this test, all topics created."""
    from services.runtime.kafka import ensure_topics

    settings = KafkaSettings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.", partitions=2, request_timeout_s=15
    )
    await ensure_topics(settings)
    return settings
