"""The shared stage runtime: consume, handle, produce and commit exactly once.

For each batch the runtime takes from Kafka, every input partition's records are handled
and their outputs, dead letters and the partition's new offset go out in ONE Kafka
transaction.  aiokafka has no KIP-447 (consumer-group-aware fencing), so each input
partition gets its own transactional producer whose id is derived from the stage and the
partition: when a partition moves to another instance, the new owner's
``init_transactions`` fences the old owner's producer, and no zombie can commit.

This module is the only place that knows about transactions; handlers are pure.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from services.errors import NewsIngestError
from services.runtime import metrics
from services.runtime.config import Settings
from services.runtime.errors import BrokerUnavailable
from services.runtime.handler import Handler, Out, PreparingHandler, StatefulHandler
from services.runtime.health import BrokerWatch, HealthServer
from services.runtime.kafka import (
    broker_round_trip,
    decode_json,
    encode_json,
    ensure_topics,
    headers_dict,
    logical_name,
    make_consumer,
    make_producer,
    stage_headers,
    topic_name,
)
from services.runtime.logs import bind
from services.runtime.pool import EncodedOut, PreparePool, WorkerPool, encode_outs

__all__ = ["Offload", "StageRunner"]

log = logging.getLogger(__name__)

Offload = Literal["inline", "thread", "process", "prepare"]
_TXN_TIMEOUT_S = 60.0
_THREAD_CHUNK = 50
_OWN_CHANGES_MAX = 100_000
_Produced = tuple[ConsumerRecord, EncodedOut]  # (input, one of its outputs)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trace_id(rec: ConsumerRecord) -> bytes:
    """The input's trace id (its last ``trace-id`` header), else its key."""
    trace = None
    for name, value in rec.headers or ():
        if name == "trace-id":
            trace = value
    return trace or rec.key or b""


def _bind_item(rec: ConsumerRecord) -> AbstractContextManager[None]:
    """Log context of one input record (its logs name topic, partition, offset and item id)."""
    return bind(
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        item_id=(rec.key or b"").decode("utf-8", "replace"),
    )


def _reraise(exc: BaseException) -> NoReturn:
    raise exc


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: StageRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._runner._drop_producers(list(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._runner._add_producers(list(assigned))


class StageRunner:
    """Runs one handler as a Kafka consumer-group member, exactly once per input record.

    ``offload`` says where the handler runs: ``process`` (a :class:`WorkerPool` with a
    per-item time limit; needs ``factory``), ``thread`` (off the loop, GIL permitting), or
    ``inline``.  A stateful handler's changelog is replayed before the first batch and
    tailed while running; ``/readyz`` says so.
    """

    def __init__(
        self,
        handler: Handler,
        settings: Settings,
        *,
        input_topic: str,
        offload: Offload = "thread",
        factory: Callable[[], Handler] | None = None,
        group_id: str | None = None,
    ) -> None:
        self.handler, self.settings, self.offload = handler, settings, offload
        self.stage = handler.stage
        k = settings.kafka
        self.input_topic = input_topic
        self.group_id = group_id or f"{k.topic_prefix}newsingest-{self.stage}"
        self._producers: dict[TopicPartition, AIOKafkaProducer] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._pool = (
            WorkerPool(
                factory or type(handler),
                workers=settings.stage.workers,
                item_timeout_s=settings.stage.item_timeout_s,
                max_mem_mb=settings.stage.worker_max_rss_mb * 3,
            )
            if offload == "process"
            else None
        )
        self._prepare: PreparePool | None = None
        if offload == "prepare":
            if not isinstance(handler, PreparingHandler):
                raise TypeError(f"offload='prepare' needs a PreparingHandler, not {type(handler).__name__}")
            self._prepare = PreparePool(handler.prepare, workers=settings.stage.workers)
        self._factory: Callable[[], Handler] = factory or type(handler)
        self._state_lock = asyncio.Lock()
        self._producer_lock = asyncio.Lock()
        self._caught_up = not isinstance(handler, StatefulHandler)
        self._started = False
        self.health: HealthServer | None = None
        self._broker: BrokerWatch | None = None
        self._tail_task: asyncio.Task[None] | None = None
        self._metrics = metrics.StageMetrics(self.stage)
        # Changelog records this runner is committing, by key, in order; the tail skips them.
        self._own_changes: dict[bytes, deque[bytes | None]] = {}
        self._state_topic = handler.state_topic if isinstance(handler, StatefulHandler) else None
        self.processed = 0

    # ---------------------------------------------------------------- readiness
    def ready(self) -> tuple[bool, str]:
        """Connected, assigned (at least once) and, for stateful stages, caught up."""
        if not self._started:
            return False, "starting"
        if not self._caught_up:
            return False, "restoring state from changelog"
        if self._broker is not None and not (broker := self._broker.state())[0]:
            return broker
        return True, f"{len(self._producers)} partitions assigned"

    # ---------------------------------------------------------------- producers
    def _txn_id(self, tp: TopicPartition) -> str:
        return f"{self.group_id}-{tp.topic}-{tp.partition}"

    async def _add_producers(self, tps: list[TopicPartition]) -> None:
        for tp in tps:
            await self._producer_for(tp)
        log.info("partitions assigned", extra={"stage": self.stage, "partitions": sorted(p.partition for p in tps)})

    async def _producer_for(self, tp: TopicPartition) -> AIOKafkaProducer:
        """This partition's transactional producer, started once even when asked twice at once."""
        async with self._producer_lock:
            producer = self._producers.get(tp)
            if producer is None:
                producer = self._producers[tp] = await self._new_producer(tp)
            return producer

    async def _new_producer(self, tp: TopicPartition) -> AIOKafkaProducer:
        producer = make_producer(self.settings.kafka, transactional_id=self._txn_id(tp))
        await asyncio.wait_for(producer.start(), self.settings.kafka.request_timeout_s * 2)
        return producer

    async def _drop_producers(self, tps: list[TopicPartition]) -> None:
        metrics.forget_partitions(
            self.stage, [(logical_name(self.settings.kafka, tp.topic), tp.partition) for tp in tps]
        )
        for tp in tps:
            producer = self._producers.pop(tp, None)
            if producer is not None:
                await _stop_quietly(producer)

    # ---------------------------------------------------------------- state
    async def _restore(self) -> None:
        """Replay the changelog up to its end, then keep tailing it in the background."""
        assert isinstance(self.handler, StatefulHandler)
        k = self.settings.kafka
        consumer = make_consumer(k, group_id=None)
        await asyncio.wait_for(consumer.start(), k.request_timeout_s * 2)
        real = topic_name(k, self.handler.state_topic)
        # Subscribing without a group assigns every partition once metadata has arrived.
        consumer.subscribe([real])
        deadline = asyncio.get_running_loop().time() + k.request_timeout_s * 2
        while not consumer.assignment():
            if asyncio.get_running_loop().time() > deadline:
                await _stop_quietly(consumer)
                raise BrokerUnavailable(f"changelog topic {real} has no partitions")
            await consumer.getmany(timeout_ms=100)
        tps = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*tps)
        end = await asyncio.wait_for(consumer.end_offsets(tps), k.request_timeout_s)
        restored = 0
        started = time.monotonic()
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            restored += await self._apply_changelog(await consumer.getmany(timeout_ms=500, max_records=5000))
        self._caught_up = True
        log.info(
            "state restored",
            extra={"stage": self.stage, "records": restored, "seconds": round(time.monotonic() - started, 2)},
        )
        self._tail_task = asyncio.create_task(self._tail(consumer), name=f"{self.stage}-changelog-tail")

    async def _apply_changelog(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> int:
        assert isinstance(self.handler, StatefulHandler)
        n = 0
        own = self._own_changes
        async with self._state_lock:
            for records in batch.values():
                for rec in records:
                    key = rec.key or b""
                    pending = own.get(key)
                    if pending and pending[0] == rec.value:
                        # This runner wrote it and its state has it: restoring it again
                        # would decode it to change nothing (handlers' restore is idempotent).
                        pending.popleft()
                        if not pending:
                            del own[key]
                        continue
                    value = None if rec.value is None else decode_json(rec.value)
                    self.handler.restore(key, value)
                    n += 1
        return n

    def _remember_own(self, outs: list[_Produced]) -> None:
        """Note the changelog records of a transaction about to commit, for the tail to skip.

        Every path where that commit might not happen rebuilds the state, which forgets
        them; a record the tail never sees (compacted away first) stays until the cap.
        """
        if self._state_topic is None:
            return
        own = self._own_changes
        if len(own) > _OWN_CHANGES_MAX:
            own.clear()  # the tail restores them instead: slower, same state
        for _rec, (topic, key, value) in outs:
            if topic == self._state_topic:
                own.setdefault(key or b"", deque()).append(value)

    async def _tail(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                await self._apply_changelog(await consumer.getmany(timeout_ms=1000, max_records=5000))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("changelog tail failed", extra={"stage": self.stage})
            raise
        finally:
            await _stop_quietly(consumer)

    # ---------------------------------------------------------------- handling
    def _guarded(
        self, rec: ConsumerRecord, outcomes: Tally[str], fn: Callable[..., Sequence[Out]], *args: Any
    ) -> list[EncodedOut]:
        """Run one item's handler call; its outputs encoded, or its dead letter.

        Synchronous, so the same code runs on the loop (inline, prepare) and in a thread.
        Outputs are counted for the quality metrics while they are still dicts.
        """
        with _bind_item(rec):
            started = time.perf_counter()
            try:
                outs = fn(*args)
                metrics.observe_outputs(self.stage, [(o.topic, o.key, o.value) for o in outs])
                encoded = encode_outs(outs)
                outcome = "ok" if encoded else "dropped"
            except Exception as exc:  # a handler bug must not stop the stream; the record is kept with its reason
                if isinstance(exc, NewsIngestError) and exc.retriable:
                    raise
                encoded, outcome = self._dead_letter(rec, exc), "dead_letter"
            self._metrics.processing.observe(time.perf_counter() - started)
        outcomes[outcome] += 1
        return encoded

    def _handle_raw(self, raw: bytes | None) -> Sequence[Out]:
        return self.handler.handle(decode_json(raw))

    def _handle_prepared(self, raw: bytes | None, prepared: Any) -> Sequence[Out]:
        # Decoded again here: orjson is cheaper than pickling the dict back from the worker.
        return cast(PreparingHandler, self.handler).handle_prepared(decode_json(raw), prepared)

    def _handle_many(self, records: Sequence[ConsumerRecord], outcomes: Tally[str]) -> list[list[EncodedOut]]:
        return [self._guarded(rec, outcomes, self._handle_raw, rec.value) for rec in records]

    async def _prepared_one(
        self, rec: ConsumerRecord, get: Callable[[], Awaitable[tuple[bool, Any]]], outcomes: Tally[str]
    ) -> list[EncodedOut]:
        ok, result = await get()
        async with self._state_lock:
            # On the loop: the stateful half is ~0.2 ms an item and each item is its
            # own await, so nothing else waits longer than that.
            if not ok:
                return self._guarded(rec, outcomes, _reraise, result)
            return self._guarded(rec, outcomes, self._handle_prepared, rec.value, result)

    async def _in_pool(self, rec: ConsumerRecord, outcomes: Tally[str]) -> list[EncodedOut]:
        assert self._pool is not None
        with _bind_item(rec):
            started = time.perf_counter()
            try:
                encoded = await self._pool.handle(rec.value)
                metrics.observe_outputs(self.stage, encoded)
                outcome = "ok" if encoded else "dropped"
            except Exception as exc:  # as in _guarded
                if isinstance(exc, NewsIngestError) and exc.retriable:
                    raise
                encoded, outcome = self._dead_letter(rec, exc), "dead_letter"
            self._metrics.processing.observe(time.perf_counter() - started)
        outcomes[outcome] += 1
        return encoded

    def _dead_letter(self, rec: ConsumerRecord, exc: BaseException) -> list[EncodedOut]:
        error_class = type(exc).__name__
        if isinstance(exc, NewsIngestError):
            reason = exc.reason
            log.warning("dead-lettered", extra={"stage": self.stage, "error_class": error_class, "reason": reason})
        else:
            reason = f"{error_class}: {exc}"
            log.error("handler error, dead-lettered", exc_info=exc, extra={"stage": self.stage})
        value = {
            "schema_version": 1,
            "stage": self.stage,
            "error_class": error_class,
            "reason": reason[:2000],
            "source": {
                "topic": logical_name(self.settings.kafka, rec.topic),
                "partition": rec.partition,
                "offset": rec.offset,
                "key_b64": base64.b64encode(rec.key).decode() if rec.key is not None else None,
            },
            "original_b64": base64.b64encode(rec.value or b"").decode(),
            "original_headers": headers_dict(rec.headers),
            "item_id": rec.key.decode("utf-8", "replace") if rec.key else None,
            "failed_at": _now_iso(),
        }
        metrics.DEAD_LETTERS.labels(self.stage, error_class).inc()
        metrics.observe_outputs(self.stage, [("news.deadletter", rec.key, value)])
        return [("news.deadletter", rec.key, encode_json(value))]

    async def _handle_partition(
        self,
        records: Sequence[ConsumerRecord],
        getters: Sequence[Callable[[], Awaitable[tuple[bool, Any]]]] | None = None,
    ) -> list[_Produced]:
        """Each record's outputs (or its dead letter), paired with the record."""
        outcomes: Tally[str] = Tally()
        results: list[list[EncodedOut]] = []
        try:
            if self._pool is not None:  # items are independent: let every worker process busy
                results = await asyncio.gather(*(self._in_pool(r, outcomes) for r in records))
            elif getters is not None:
                for rec, get in zip(records, getters, strict=True):
                    results.append(await self._prepared_one(rec, get, outcomes))
            elif self.offload == "thread":
                # A chunk per thread hop (a hop per item cost more than dedupe's state half);
                # the changelog tail waits on the lock for at most one chunk.
                for i in range(0, len(records), _THREAD_CHUNK):
                    async with self._state_lock:
                        results += await asyncio.to_thread(self._handle_many, records[i : i + _THREAD_CHUNK], outcomes)
            else:
                async with self._state_lock:
                    results = self._handle_many(records, outcomes)
        finally:
            self._metrics.items(outcomes)
        return [(rec, out) for rec, outs in zip(records, results, strict=True) for out in outs]

    async def _commit(self, tp: TopicPartition, records: Sequence[ConsumerRecord], outs: list[_Produced]) -> None:
        producer = self._producers.get(tp)
        if producer is None:
            # The fetcher can hand out records before the assignment callback has started
            # this partition's producer; a partition no longer assigned is the new owner's.
            assert self._consumer is not None
            if tp not in self._consumer.assignment():
                raise _Revoked(tp)
            producer = await self._producer_for(tp)
        k = self.settings.kafka
        self._remember_own(outs)
        async with producer.transaction():
            # Each send only appends to the accumulator's batch for its partition (1 MiB,
            # see make_producer); the commit flushes them all and fails if any failed.
            last: ConsumerRecord | None = None
            trace_id = b""
            for rec, (topic, key, value) in outs:
                if rec is not last:
                    last, trace_id = rec, _trace_id(rec)
                headers = [*stage_headers(self.stage, topic), ("trace-id", trace_id)]
                await producer.send(topic_name(k, topic), value=value, key=key, headers=headers)
            await producer.send_offsets_to_transaction({tp: records[-1].offset + 1}, self.group_id)
        self._metrics.committed.inc()
        self._metrics.committed_outputs((topic, value) for _rec, (topic, _key, value) in outs)

    async def _process_batch(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self._consumer is not None
        # Every partition's prepare work goes to the workers at once, so they keep busy
        # while the stage handles and commits the partitions before it.
        getters = (
            {tp: self._prepare.submit([r.value for r in records]) for tp, records in batch.items() if records}
            if self._prepare is not None
            else {}
        )
        for tp, records in batch.items():
            if not records:
                continue  # empty batches open no transaction
            try:
                outs = await self._handle_partition(records, getters.get(tp))
                await asyncio.wait_for(self._commit(tp, records, outs), _TXN_TIMEOUT_S)
                self.processed += len(records)
            except _Revoked:
                log.info(
                    "partition revoked mid-batch; left to its new owner",
                    extra={"stage": self.stage, "partition": tp.partition},
                )
                await self._rebuild_state("partition revoked mid-batch")
            except (KafkaError, TimeoutError, NewsIngestError) as exc:
                self._metrics.aborted.inc()
                log.warning(
                    "batch aborted, recovering",
                    extra={"stage": self.stage, "partition": tp.partition, "error": repr(exc)},
                )
                await self._recover(tp, records[0].offset)
        self._metrics.batches.inc()

    async def _recover(self, tp: TopicPartition, batch_start: int) -> None:
        """After a failed transaction: fence, resume from what the group really committed.

        The outcome of a transaction whose commit timed out is unknown.  A new producer
        with the same transactional id finishes or aborts it during ``init_transactions``;
        only then is the group's committed offset the truth, and the batch is re-read from
        there (which is ``batch_start`` unless the commit in fact went through).
        """
        assert self._consumer is not None
        old = self._producers.pop(tp, None)
        if old is not None:
            await _stop_quietly(old)
        delay = 0.5
        while True:
            try:
                await self._producer_for(tp)
                committed = await asyncio.wait_for(self._consumer.committed(tp), self.settings.kafka.request_timeout_s)
                break
            except (KafkaError, TimeoutError) as exc:
                if tp not in self._consumer.assignment():
                    return  # revoked meanwhile: the new owner resumes it
                log.warning("recovery waiting for the broker", extra={"stage": self.stage, "error": repr(exc)})
                self._producers.pop(tp, None)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._consumer.seek(tp, committed if committed is not None else batch_start)
        await self._rebuild_state("transaction aborted")

    async def _rebuild_state(self, why: str) -> None:
        """Drop in-memory state changed by an uncommitted batch and replay the changelog.

        A stateful handler mutates its state while handling; when the batch's transaction
        does not commit, those changes must go too, or the retried batch would be judged
        against itself (and, in dedupe, dropped as a duplicate of itself).
        """
        if not isinstance(self.handler, StatefulHandler):
            return
        log.warning("rebuilding state from the changelog", extra={"stage": self.stage, "why": why})
        if self._tail_task is not None:
            self._tail_task.cancel()
            await asyncio.gather(self._tail_task, return_exceptions=True)
            self._tail_task = None
        self._caught_up = False
        self._own_changes.clear()  # the new state is built from the changelog alone
        async with self._state_lock:
            self.handler = self._factory()
        await self._restore()

    def _update_lag(self) -> None:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            hw = self._consumer.highwater(tp)
            if hw is None:
                continue
            try:
                pos = self._consumer._fetcher._subscriptions.subscription.assignment.state_value(tp).position
            except AttributeError:
                continue
            if pos is not None:
                metrics.CONSUMER_LAG.labels(
                    self.stage, logical_name(self.settings.kafka, tp.topic), str(tp.partition)
                ).set(max(0, hw - pos))

    # ---------------------------------------------------------------- lifecycle
    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; finish or abort the open batch, then close everything."""
        s = self.settings
        await ensure_topics(s.kafka)
        self.health = HealthServer(s.stage.http_host, s.stage.http_port, self.ready)
        await self.health.start()
        metrics.READY.labels(self.stage).set_function(lambda: 0.0)
        try:
            if self._pool is not None:
                await self._pool.warm_up()
            if self._prepare is not None:
                await self._prepare.warm_up()
            if isinstance(self.handler, StatefulHandler):
                await self._restore()
            self._consumer = make_consumer(s.kafka, group_id=self.group_id, max_poll_interval_ms=600_000)
            self._consumer.subscribe([topic_name(s.kafka, self.input_topic)], listener=_Listener(self))
            await asyncio.wait_for(self._consumer.start(), s.kafka.request_timeout_s * 2)
            self._started = True
            consumer = self._consumer
            self._broker = BrokerWatch(
                lambda: broker_round_trip(consumer),
                interval_s=s.stage.broker_check_s,
                timeout_s=s.kafka.request_timeout_s,
            )
            self._broker.start()
            metrics.READY.labels(self.stage).set_function(lambda: 1.0 if self.ready()[0] else 0.0)
            log.info("stage running", extra={"stage": self.stage, "input": self.input_topic, "group": self.group_id})
            while not stop.is_set():
                if self._tail_task is not None and self._tail_task.done():
                    self._tail_task.result()  # a failed changelog tail is fatal: state would go stale
                batch = await self._consumer.getmany(
                    timeout_ms=int(s.stage.poll_timeout_s * 1000), max_records=s.stage.batch_max
                )
                if batch and s.stage.batch_linger_s > 0:
                    await self._fill(batch)
                if batch:
                    await self._process_batch(batch)
                self._update_lag()
        finally:
            metrics.READY.labels(self.stage).set_function(lambda: 0.0)
            await self._close()

    async def _fill(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Keep fetching for ``batch_linger_s`` to fill ``batch`` (in place, order kept).

        A fetch returns what each partition had ready, often a handful of records; every
        partition's share costs a transaction of several broker round trips, so a short
        wait for more records buys throughput (bench.dedupe.stage) for a few ms of latency.
        """
        assert self._consumer is not None
        s = self.settings.stage
        loop = asyncio.get_running_loop()
        deadline = loop.time() + s.batch_linger_s
        total = sum(len(r) for r in batch.values())
        while total < s.batch_max and (left := deadline - loop.time()) > 0:
            more = await self._consumer.getmany(timeout_ms=max(1, int(left * 1000)), max_records=s.batch_max - total)
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
                total += len(records)

    async def _close(self) -> None:
        if self._broker is not None:
            await self._broker.close()
        if self._tail_task is not None:
            self._tail_task.cancel()
            await asyncio.gather(self._tail_task, return_exceptions=True)
        for tp in list(self._producers):
            await _stop_quietly(self._producers.pop(tp))
        if self._consumer is not None:
            await _stop_quietly(self._consumer)
            self._consumer = None
        if self._pool is not None:
            self._pool.close()
        if self._prepare is not None:
            self._prepare.close()
        if self.health is not None:
            await self.health.close()


class _Revoked(Exception):
    """The partition was revoked while its batch was being handled."""


async def _stop_quietly(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(client.stop(), 15)
    except Exception:  # closing is best effort; the broker times the session out anyway
        log.warning("client stop failed", exc_info=True)
