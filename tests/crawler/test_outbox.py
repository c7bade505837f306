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


async def test_only_the_last_state_of_a_feed_in_a_transaction_is_sent() -> None:
    producer = FakeProducer()
    outbox = Outbox(producer, KafkaSettings(), 0.01, max_records=7, compacted=frozenset({"news.crawler.state"}))  # type: ignore[arg-type]

    def with_state(prefix: str, feed: str, n: int) -> list[Record]:
        return [*group(prefix, n), Record("news.crawler.state", feed, {"after": prefix})]

    futs = [
        outbox.put(with_state("a", "feed-1", 2)),
        outbox.put(with_state("b", "feed-2", 1)),
        outbox.put(with_state("c", "feed-1", 1)),  # same transaction as "a": supersedes its state
        outbox.put(with_state("d", "feed-1", 2)),  # next transaction: its own state goes out
    ]
    await outbox.flush()
    assert all(f.done() and f.exception() is None for f in futs)
    assert producer.txns == [["a0", "a1", "b0", "feed-2", "c0", "feed-1"], ["d0", "d1", "feed-1"]]
    assert outbox.superseded_records == 1
    assert outbox.committed_records == 9
