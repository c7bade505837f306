"""``newsingest deadletter list|show|replay``: inspect dead letters and re-inject them after a fix.

A dead letter (``schemas/dead_letter.schema.json``) carries the original record's bytes,
key and headers and where it came from (``source.topic/partition/offset``).  Replay
produces those bytes again, unchanged, to the source topic with the original key (so the
item stays in its partition) and two extra headers, ``newsingest.replay-of`` (where the
dead letter sits) and ``newsingest.replayed-at``; the stage then handles it like any
new record.

Replay is **at-least-once**: the producer is idempotent and every send is confirmed, but
running the same replay twice, or re-running one that was interrupted, re-injects the
records again.  Downstream that is harmless (dedupe reports an exact duplicate, a second
failure makes a second dead letter); check ``list --replayed`` before replaying again.
Crawler dead letters (entries whose page could never be fetched; ``source.partition``
is -1) have no Kafka record to re-inject and are listed but never replayed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from services.runtime.config import KafkaSettings
from services.runtime.errors import BadMessage
from services.runtime.kafka import decode_json, make_consumer, make_producer, topic_name

__all__ = [
    "DEAD_LETTER_TOPIC",
    "REPLAY_HEADER",
    "DeadLetter",
    "DeadLetterFilter",
    "ReplayReport",
    "command",
    "read_dead_letters",
    "reason_pattern",
    "replay",
    "top_reasons",
]

DEAD_LETTER_TOPIC = "news.deadletter"
REPLAY_HEADER = "newsingest.replay-of"
_REPLAYABLE = frozenset({"news.raw", "news.clean", "news.unique"})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of ``news.deadletter``, decoded."""

    partition: int
    offset: int
    timestamp_ms: int
    stage: str
    error_class: str
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    original: bytes
    original_headers: dict[str, str]
    item_id: str | None
    failed_at: str
    replay_of: str | None = None  # set when the failed record was itself a replay

    @property
    def ref(self) -> str:
        """``partition:offset`` on the dead-letter topic: the handle ``show`` and ``replay`` take."""
        return f"{self.partition}:{self.offset}"

    @property
    def replayable(self) -> bool:
        """A stage's input record that can be produced again (not a crawler entry)."""
        return self.source_partition >= 0 and self.source_topic in _REPLAYABLE

    @classmethod
    def from_value(cls, partition: int, offset: int, timestamp_ms: int, value: dict[str, Any]) -> DeadLetter:
        """Decode a dead-letter value; raise :class:`BadMessage` when it does not follow the schema."""
        try:
            source = value["source"]
            key_b64 = source.get("key_b64")
            original = base64.b64decode(value.get("original_b64") or "", validate=True)
            key = base64.b64decode(key_b64, validate=True) if key_b64 else None
            headers = {str(k): str(v) for k, v in (value.get("original_headers") or {}).items()}
            return cls(
                partition=partition,
                offset=offset,
                timestamp_ms=timestamp_ms,
                stage=str(value["stage"]),
                error_class=str(value["error_class"]),
                reason=str(value["reason"]),
                source_topic=str(source["topic"]),
                source_partition=int(source["partition"]),
                source_offset=int(source["offset"]),
                key=key,
                original=original,
                original_headers=headers,
                item_id=value.get("item_id"),
                failed_at=str(value["failed_at"]),
                replay_of=headers.get(REPLAY_HEADER),
            )
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
            raise BadMessage(f"dead letter {partition}:{offset} does not follow the schema: {exc!r}") from exc

    def summary(self) -> dict[str, Any]:
        """A flat dict for tables and JSON lines (no original bytes)."""
        return {
            "ref": self.ref,
            "failed_at": self.failed_at,
            "stage": self.stage,
            "error_class": self.error_class,
            "reason": self.reason,
            "source": f"{self.source_topic}/{self.source_partition}/{self.source_offset}",
            "item_id": self.item_id,
            "replayable": self.replayable,
            "replay_of": self.replay_of,
        }

    def detail(self) -> dict[str, Any]:
        """Everything, the original decoded as JSON when it is JSON (for ``show``)."""
        try:
            original: Any = decode_json(self.original)
        except BadMessage:
            original = self.original.decode("utf-8", "replace")
        return {
            **self.summary(),
            "key": (self.key or b"").decode("utf-8", "replace"),
            "headers": self.original_headers,
            "original": original,
        }


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters a command works on; every field set must match."""

    stage: str | None = None
    error_class: str | None = None
    source_topic: str | None = None
    partition: int | None = None  # of the dead-letter topic
    from_offset: int | None = None  # inclusive, on the dead-letter topic
    to_offset: int | None = None  # inclusive
    refs: frozenset[str] = field(default_factory=frozenset)  # "partition:offset"

    def matches(self, dl: DeadLetter) -> bool:
        """True when ``dl`` passes every condition set."""
        return (
            (self.stage is None or dl.stage == self.stage)
            and (self.error_class is None or dl.error_class == self.error_class)
            and (self.source_topic is None or dl.source_topic == self.source_topic)
            and (self.partition is None or dl.partition == self.partition)
            and (self.from_offset is None or dl.offset >= self.from_offset)
            and (self.to_offset is None or dl.offset <= self.to_offset)
            and (not self.refs or dl.ref in self.refs)
        )


async def read_dead_letters(
    kafka: KafkaSettings,
    flt: DeadLetterFilter | None = None,
    *,
    last_per_partition: int | None = None,
    timeout_s: float = 30.0,
) -> tuple[list[DeadLetter], int]:
    """Dead letters (committed ones) up to the topic's current end, oldest first.

    ``last_per_partition`` reads only the newest N of each partition (the status view).
    Returns the matching dead letters and how many records could not be decoded.
    """
    flt = flt or DeadLetterFilter()
    real = topic_name(kafka, DEAD_LETTER_TOPIC)
    consumer = make_consumer(kafka, group_id=None)
    await asyncio.wait_for(consumer.start(), timeout_s)
    out: list[DeadLetter] = []
    bad = 0
    try:
        parts = consumer.partitions_for_topic(real)
        if not parts:
            await asyncio.wait_for(consumer._client.force_metadata_update(), timeout_s)
            parts = consumer.partitions_for_topic(real) or set()
        tps = [TopicPartition(real, p) for p in sorted(parts) if flt.partition is None or p == flt.partition]
        if not tps:
            return out, bad
        consumer.assign(tps)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout_s)
        starts = await asyncio.wait_for(consumer.beginning_offsets(tps), timeout_s)
        for tp in tps:
            first = starts[tp]
            if last_per_partition is not None:
                first = max(first, ends[tp] - last_per_partition)
            if flt.from_offset is not None:
                first = max(first, flt.from_offset)
            consumer.seek(tp, min(first, ends[tp]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            pending = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
            if not pending:
                break
            if loop.time() > deadline:
                raise TimeoutError(f"{real} not read to its end in {timeout_s:g}s")
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= ends[tp]:
                        continue
                    try:
                        dl = DeadLetter.from_value(tp.partition, rec.offset, rec.timestamp, decode_json(rec.value))
                    except BadMessage:
                        bad += 1
                        continue
                    if flt.matches(dl):
                        out.append(dl)
    finally:
        await asyncio.wait_for(consumer.stop(), timeout_s)
    out.sort(key=lambda d: (d.timestamp_ms, d.partition, d.offset))
    return out, bad


_VARIABLE = re.compile(r"https?://\S+|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\b[0-9a-f]{12,}\b|\d+(?:\.\d+)?")


def reason_pattern(reason: str) -> str:
    """A reason with URLs, ids and numbers blanked, so equal failures group together."""
    return _VARIABLE.sub("…", reason)[:160]


def top_reasons(dead: Iterable[DeadLetter], n: int = 5) -> list[tuple[str, str, str, int]]:
    """The ``n`` most frequent (stage, error class, reason pattern) with their counts."""
    counts = Counter((d.stage, d.error_class, reason_pattern(d.reason)) for d in dead)
    return [(s, e, r, c) for (s, e, r), c in counts.most_common(n)]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay did: records re-injected per topic, and those it left alone."""

    replayed: dict[str, int]
    skipped_not_replayable: int
    dry_run: bool


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def replay(
    kafka: KafkaSettings, dead: Iterable[DeadLetter], *, dry_run: bool = False, timeout_s: float = 30.0
) -> ReplayReport:
    """Produce each replayable dead letter's original record again to its source topic.

    At-least-once (see the module docstring).  ``dry_run`` only counts.
    """
    dead = list(dead)
    todo = [d for d in dead if d.replayable]
    skipped = len(dead) - len(todo)
    counts: Counter[str] = Counter(d.source_topic for d in todo)
    if dry_run or not todo:
        return ReplayReport(dict(counts), skipped, dry_run)
    producer = make_producer(kafka)
    await asyncio.wait_for(producer.start(), timeout_s)
    try:
        at = _now_iso().encode()
        futures = []
        for d in todo:
            headers = [(k, v.encode()) for k, v in d.original_headers.items() if not k.startswith("newsingest.replay")]
            headers += [(REPLAY_HEADER, f"{DEAD_LETTER_TOPIC}/{d.ref}".encode()), ("newsingest.replayed-at", at)]
            futures.append(
                await producer.send(topic_name(kafka, d.source_topic), value=d.original, key=d.key, headers=headers)
            )
        await asyncio.wait_for(producer.flush(), timeout_s)
        for fut in futures:
            await asyncio.wait_for(fut, timeout_s)
    finally:
        await asyncio.wait_for(producer.stop(), timeout_s)
    return ReplayReport(dict(counts), skipped, dry_run)


# ---------------------------------------------------------------- the command
def _filter(a: Any) -> DeadLetterFilter:
    return DeadLetterFilter(
        stage=a.stage,
        error_class=a.error_class,
        source_topic=a.source_topic,
        partition=a.partition,
        from_offset=a.from_offset,
        to_offset=a.to_offset,
        refs=frozenset(getattr(a, "refs", None) or ()),
    )


def command(a: Any) -> int:
    """``newsingest deadletter list|show|replay`` (``a`` is the parsed argparse namespace)."""
    import orjson
    from rich.console import Console
    from rich.table import Table

    from services.runtime.config import get_settings

    kafka = get_settings().kafka
    console = Console()
    if a.action == "show":
        part, _, off = a.ref.partition(":")
        flt = DeadLetterFilter(partition=int(part), from_offset=int(off), to_offset=int(off))
        found, _bad = asyncio.run(read_dead_letters(kafka, flt))
        if not found:
            console.print(f"[red]no dead letter at {a.ref}[/]")
            return 1
        print(orjson.dumps(found[0].detail(), option=orjson.OPT_INDENT_2).decode())
        return 0
    flt = _filter(a)
    if a.action == "replay" and flt == DeadLetterFilter() and not a.all:
        console.print("[red]replay needs a filter (--stage, --error-class, refs…) or --all[/]")
        return 2
    found, bad = asyncio.run(read_dead_letters(kafka, flt))
    if a.action == "list":
        shown = found[-a.limit :] if a.limit else found
        if a.json:
            for d in shown:
                print(orjson.dumps(d.summary()).decode())
            return 0
        table = Table(
            title=f"{len(found)} dead letters"
            + (f" (showing the newest {len(shown)})" if len(shown) < len(found) else "")
        )
        for col in ("ref", "failed at", "stage", "error class", "source", "item", "reason"):
            table.add_column(col, overflow="fold")
        for d in shown:
            s = d.summary()
            mark = " (replay)" if d.replay_of else ""
            table.add_row(
                s["ref"],
                s["failed_at"],
                s["stage"],
                s["error_class"] + mark,
                s["source"],
                s["item_id"] or "-",
                d.reason[:120],
            )
        console.print(table)
        if bad:
            console.print(f"[yellow]{bad} records on news.deadletter could not be decoded[/]")
        console.print("[dim]top reasons:[/]")
        for stage, err, reason, n in top_reasons(found):
            console.print(f"  {n:5d}  {stage}/{err}: {reason}")
        return 0
    report = asyncio.run(replay(kafka, found, dry_run=a.dry_run))
    verb = "would replay" if report.dry_run else "replayed"
    per_topic = ", ".join(f"{n} to {t}" for t, n in sorted(report.replayed.items())) or "nothing"
    console.print(f"{verb} {per_topic}; {report.skipped_not_replayable} not replayable (crawler entries)")
    return 0
