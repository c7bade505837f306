"""Transactional output of the crawler: raw pages, dead letters and feed state together.

Feed polls hand their records to the :class:`Outbox` as groups; a committer task puts
everything pending into one Kafka transaction every ``commit_interval_s``.  A group is
never split across transactions, so a page and the state that marks its entry as seen
become visible together (readers use ``read_committed``) or not at all: a crash can
neither republish nor lose an entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from services.runtime.config import KafkaSettings
from services.runtime.kafka import encode_json, output_headers, topic_name

__all__ = ["STAGE", "Outbox", "Record", "record_headers"]

log = logging.getLogger(__name__)

STAGE = "crawler"  # the newsingest.stage header of everything the crawler writes


@dataclass(frozen=True, slots=True)
class Record:
    """One output: logical topic, key, JSON value (``None`` is a tombstone)."""

    topic: str
    key: str
    value: dict[str, Any] | None


def record_headers(record: Record) -> list[tuple[str, bytes]]:
    """Kafka headers of one output, named as the stage runtime names them; the trace of
    an article starts here, so its trace-id is the record's key (the article id)."""
    return output_headers(STAGE, record.topic, record.key.encode("utf-8"))


class Outbox:
    """Batches record groups into transactions; ``flush`` commits what is pending now."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        kafka: KafkaSettings,
        interval_s: float,
        max_records: int = 500,
        compacted: frozenset[str] = frozenset(),
    ) -> None:
        self._producer = producer
        # Topics where a key's last value in a transaction supersedes its earlier ones
        # (feed state): only that one is sent.  A feed's state is ~20 KB (its seen keys)
        # and a slow poll puts one with every group of pages.
        self._compacted = compacted
        self._kafka = kafka
        self._interval = interval_s
        self._max_records = max_records
        self._pending: list[tuple[list[Record], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.committed_records = 0
        self.superseded_records = 0  # not sent: a later value of the key was in the transaction

    def start(self) -> None:
        """Start the committer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="crawler-outbox")

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The committer; it ends only by failing (a broken producer) or by :meth:`close`."""
        return self._task

    def put(self, records: list[Record]) -> asyncio.Future[None]:
        """Queue one group; the future resolves when its transaction is committed."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not records:
            fut.set_result(None)
            return fut
        self._pending.append((records, fut))
        self._wake.set()
        return fut

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            if not self._closing:
                await asyncio.sleep(self._interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Commit every group queued so far (raises if a transaction fails).

        Groups go out in transactions of at most ``max_records`` records (whole groups),
        so one transaction stays short even when a backlog built up behind a slow one.
        """
        async with self._lock:
            batch, self._pending = self._pending, []
            while batch:
                take, size = 0, 0
                while take < len(batch) and (take == 0 or size + len(batch[take][0]) <= self._max_records):
                    size += len(batch[take][0])
                    take += 1
                await self._commit(batch[:take])
                batch = batch[take:]

    async def _commit(self, batch: list[tuple[list[Record], asyncio.Future[None]]]) -> None:
        timeout = self._kafka.request_timeout_s * 2
        try:
            async with asyncio.timeout(timeout):
                await self._producer.begin_transaction()
                try:
                    sends = []
                    last = {
                        (r.topic, r.key): (i, j)
                        for i, (records, _) in enumerate(batch)
                        for j, r in enumerate(records)
                        if r.topic in self._compacted
                    }
                    for i, (records, _) in enumerate(batch):
                        for j, r in enumerate(records):
                            if r.topic in self._compacted and last[r.topic, r.key] != (i, j):
                                self.superseded_records += 1
                                continue
                            sends.append(
                                await self._producer.send(
                                    topic_name(self._kafka, r.topic),
                                    None if r.value is None else encode_json(r.value),
                                    key=r.key.encode("utf-8"),
                                    headers=record_headers(r),
                                )
                            )
                    await asyncio.gather(*sends)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self._producer.abort_transaction())
                    raise
                await self._producer.commit_transaction()
        except BaseException as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                    fut.exception()  # retrieved here: the committer's failure is reported by its task
            raise
        self.committed_records += len(sends)
        for _, fut in batch:
            if not fut.done():
                fut.set_result(None)

    async def close(self) -> None:
        """Commit what is pending and stop the committer; idempotent."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            await task  # finishes the transaction in progress, never cut in half
        await self.flush()
