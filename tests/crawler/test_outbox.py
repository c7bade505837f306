"""Outbox transactions: whole groups, bounded size, failures surface (fake producer)."""

from __future__ import annotations

import asyncio

import pytest

from services.crawler.outbox import Outbox, Record
from services.runtime.config import KafkaSettings


class FakeProducer:
    def __init__(self, fail_on_commit: bool = False) -> None:
        self.txns: list[list[str]] = []
        self.fail_on_commit = fail_on_commit
        self.aborted = 0

    async def begin_transaction(self) -> None:
        self.txns.append([])

    async def send(self, topic: str, value: bytes | None, key: bytes, headers: object = None) -> asyncio.Future[None]:
        self.txns[-1].append(key.decode())
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def commit_transaction(self) -> None:
        if self.fail_on_commit:
            raise RuntimeError("broker said no")

    async def abort_transaction(self) -> None:
        self.aborted += 1


def group(prefix: str, n: int) -> list[Record]:
    return [Record("news.raw", f"{prefix}{i}", {"i": i}) for i in range(n)]


async def test_groups_are_never_split_and_transactions_are_bounded() -> None:
    producer = FakeProducer()
    outbox = Outbox(producer, KafkaSettings(), 0.01, max_records=500)  # type: ignore[arg-type]
    futs = [outbox.put(group(f"g{j}-", 100)) for j in range(10)] + [outbox.put(group("big-", 700))]
    await outbox.flush()
    assert all(f.done() and f.exception() is None for f in futs)
    assert [len(t) for t in producer.txns] == [500, 500, 700]
    assert outbox.committed_records == 1700


async def test_failed_commit_fails_the_groups_and_the_committer() -> None:
    producer = FakeProducer(fail_on_commit=True)
    outbox = Outbox(producer, KafkaSettings(), 0.01)  # type: ignore[arg-type]
    outbox.start()
    fut = outbox.put(group("x", 3))
    assert outbox.task is not None
    with pytest.raises(RuntimeError, match="broker said no"):
        await asyncio.wait_for(outbox.task, 5)
    assert isinstance(fut.exception(), RuntimeError)
