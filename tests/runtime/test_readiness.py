"""``/readyz`` of a running stage follows its broker: 503 while the broker is gone, 200 after.

The stage runs against a broker of its own (the session's broker must stay up), which
the test stops and starts again under the running stage.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from services.runtime.broker import LocalBroker
from services.runtime.config import KafkaSettings, Settings, StageSettings
from services.runtime.health import BrokerWatch
from services.runtime.kafka import ensure_topics
from services.runtime.metrics import READY
from services.runtime.stage import StageRunner
from tests.runtime.test_stage import Upper, running

pytestmark = pytest.mark.kafka


def ready_gauge(stage: str) -> float:
    """The exported ``newsingest_ready`` value of one stage."""
    values = [s.value for s in READY.collect()[0].samples if s.labels == {"stage": stage}]
    assert len(values) == 1, values
    return values[0]


async def until_status(url: str, status: int, timeout_s: float) -> str:
    """Poll ``url`` until it answers ``status``; its body then."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    seen = "no answer"
    async with httpx.AsyncClient(timeout=5) as client:
        while asyncio.get_running_loop().time() < deadline:
            resp = await client.get(url)
            seen = f"{resp.status_code} {resp.text.strip()}"
            if resp.status_code == status:
                return resp.text
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never answered {status}; last: {seen}")


async def test_readyz_fails_while_the_broker_is_down(tmp_path: Path) -> None:
    broker = LocalBroker.create(tmp_path / "kafka")
    broker.start()
    try:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            topic_prefix=f"r{uuid.uuid4().hex[:8]}.",
            partitions=1,
            request_timeout_s=5,
        )
        await ensure_topics(kafka)
        settings = Settings(kafka=kafka, stage=StageSettings(poll_timeout_s=0.2, broker_check_s=0.3))
        runner = StageRunner(Upper(), settings, input_topic="news.raw", offload="inline")
        async with running(runner):
            deadline = asyncio.get_running_loop().time() + 60
            while runner.health is None or runner.health.port is None or not runner.ready()[0]:
                assert asyncio.get_running_loop().time() < deadline, runner.ready()
                await asyncio.sleep(0.1)
            url = f"http://127.0.0.1:{runner.health.port}/readyz"
            assert (await until_status(url, 200, 10)).startswith("ready")
            assert ready_gauge("upper") == 1.0

            broker.stop()
            body = await until_status(url, 503, 30)
            assert "broker unreachable" in body
            assert ready_gauge("upper") == 0.0

            broker.start()
            assert (await until_status(url, 200, 60)).startswith("ready")
    finally:
        broker.stop()


async def test_watch_reports_since_when_and_recovers() -> None:
    answers: list[BaseException | None] = [OSError("refused"), OSError("refused"), None]

    async def probe() -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    watch = BrokerWatch(probe, interval_s=60, timeout_s=1)
    assert watch.state() == (True, "broker reachable")
    assert not await watch.check()
    assert not await watch.check()
    ok, detail = watch.state()
    assert not ok
    assert "broker unreachable for" in detail
    assert "OSError" in detail
    assert await watch.check()
    assert watch.state()[0]


async def test_watch_times_out_a_probe_that_hangs() -> None:
    async def probe() -> None:
        await asyncio.sleep(30)

    watch = BrokerWatch(probe, interval_s=60, timeout_s=0.2)
    assert not await watch.check()
    assert "TimeoutError" in watch.state()[1]
