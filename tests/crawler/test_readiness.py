"""The crawler's ``/readyz`` follows its broker too: 503 while the broker is gone, 200 after."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.crawler.metrics import observe_crawler
from services.crawler.service import Crawler
from services.runtime.broker import LocalBroker
from services.runtime.config import KafkaSettings, Settings, StageSettings
from tests.crawler.conftest import crawler_cfg
from tests.runtime.test_readiness import ready_gauge, until_status

pytestmark = pytest.mark.kafka


async def test_crawler_readyz_fails_while_the_broker_is_down(tmp_path: Path) -> None:
    broker = LocalBroker.create(tmp_path / "kafka")
    broker.start()
    try:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, topic_prefix=f"c{uuid.uuid4().hex[:8]}.", request_timeout_s=5
        )
        settings = Settings(kafka=kafka, stage=StageSettings(broker_check_s=0.3))
        cfg = crawler_cfg()
        async with Crawler(settings, cfg) as crawler, observe_crawler(settings, cfg, crawler) as health:
            url = f"http://127.0.0.1:{health.port}/readyz"
            assert "feeds owned" in await until_status(url, 200, 30)
            assert ready_gauge("crawler") == 1.0

            broker.stop()
            assert "broker unreachable" in await until_status(url, 503, 30)
            assert ready_gauge("crawler") == 0.0

            broker.start()
            assert "feeds owned" in await until_status(url, 200, 60)
    finally:
        broker.stop()
