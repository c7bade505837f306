"""A stateful stage's changelog tail: other writers' records are applied, its own are skipped.

The runner's state already holds what it committed, so its tail does not restore those
records again; a record written by anyone else is restored, and a state rebuilt from
the changelog replays everything, own records included.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from services.runtime.config import KafkaSettings
from services.runtime.handler import Out
from services.runtime.kafka import encode_json, make_producer, topic_name
from services.runtime.stage import StageRunner
from tests.runtime.test_stage import produce, running, settings_for

pytestmark = pytest.mark.kafka

STATE = "news.dedupe.state"


class Tally:
    """Counts inputs per key ``k``; the count is its state, one changelog record per change."""

    stage = "tally"
    state_topic = STATE

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.restored = 0

    def handle(self, value: dict[str, Any]) -> Sequence[Out]:
        k = str(value["k"])
        self.counts[k] += 1
        n = self.counts[k]
        return [Out("news.clean", k.encode(), {"k": k, "n": n}), Out(STATE, b"c:" + k.encode(), {"n": n})]

    def restore(self, key: bytes, value: dict[str, Any] | None) -> None:
        self.restored += 1
        if value is not None:
            k = key.removeprefix(b"c:").decode()
            self.counts[k] = max(self.counts[k], int(value["n"]))


async def until(check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def test_tail_skips_own_records_and_applies_others(kafka_settings: KafkaSettings) -> None:
    runner = StageRunner(Tally(), settings_for(kafka_settings), input_topic="news.raw", offload="inline")
    async with running(runner):
        await until(lambda: runner.ready()[0], "stage never ready")
        await produce(kafka_settings, "news.raw", [encode_json({"k": f"k{i % 4}"}) for i in range(20)])
        await until(lambda: runner.processed == 20, "inputs not processed")
        await until(lambda: not runner._own_changes, "own changelog records never came back through the tail")
        tally = runner.handler
        assert isinstance(tally, Tally)
        assert tally.counts == {"k0": 5, "k1": 5, "k2": 5, "k3": 5}
        assert tally.restored == 0  # its 20 own records were skipped

        other = make_producer(kafka_settings)
        await other.start()
        try:
            await other.send_and_wait(topic_name(kafka_settings, STATE), encode_json({"n": 7}), key=b"c:k9")
        finally:
            await other.stop()
        await until(lambda: tally.counts["k9"] == 7, "another writer's record was not applied")
        assert tally.restored == 1

        await runner._rebuild_state("test: replay everything")
        rebuilt = runner.handler
        assert rebuilt is not tally
        assert isinstance(rebuilt, Tally)
        assert rebuilt.restored == 21  # a rebuilt state replays its own records too
        assert rebuilt.counts == tally.counts
