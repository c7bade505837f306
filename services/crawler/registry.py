"""The feed registry on ``news.feeds`` (compacted, keyed by feed id) and its CLI functions.

``newsingest feeds add|remove|list|import FILE`` call :func:`add_feed`,
:func:`remove_feed`, :func:`list_feeds` and :func:`import_feeds`.  A removal is a
tombstone, so compaction forgets the feed; its crawl state stays on
``news.crawler.state`` until that is compacted too.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from services.crawler.state import FeedState
from services.errors import RejectedInput
from services.runtime.config import KafkaSettings, Settings
from services.runtime.kafka import decode_json, encode_json, make_consumer, make_producer, topic_name
from services.urls import canonical_url, short_hash

__all__ = [
    "FeedSpec",
    "FeedStatus",
    "add_feed",
    "import_feeds",
    "list_feeds",
    "load_feed_file",
    "partition_counts",
    "read_table",
    "remove_feed",
]

REGISTRY_TOPIC = "news.feeds"
STATE_TOPIC = "news.crawler.state"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed's configuration as operators register it."""

    id: str
    url: str
    language: str | None = None  # hint passed on to news.raw (e.g. "ar", "en")
    enabled: bool = True
    min_interval_s: float | None = None  # None: the crawler's configured bounds
    max_interval_s: float | None = None
    name: str | None = None
    # Set by add/import: a new revision re-enables a feed the crawler disabled by policy.
    revision: float | None = None

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> FeedSpec:
        """A spec whose id is a short hash of the canonical URL (stable across imports)."""
        return cls(id=kw.pop("id", None) or short_hash(canonical_url(url)), url=url.strip(), **kw)

    def to_dict(self) -> dict[str, Any]:
        """JSON value for the registry topic."""
        return {"schema_version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> FeedSpec:
        """Inverse of :meth:`to_dict`; raises :class:`RejectedInput` without id and url."""
        if not isinstance(value.get("id"), str) or not isinstance(value.get("url"), str):
            raise RejectedInput(f"feed registry record lacks id/url: {value!r}"[:300])
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in value.items() if k in names})


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A registered feed with its health, as ``newsingest feeds list`` shows it."""

    spec: FeedSpec
    state: FeedState | None

    @property
    def last_success_at(self) -> float | None:
        """Epoch seconds of the last good poll."""
        return self.state.last_success_at if self.state else None

    @property
    def error_streak(self) -> int:
        """Failed polls in a row."""
        return self.state.error_streak if self.state else 0

    @property
    def items_per_day(self) -> float | None:
        """Observed publishing rate."""
        return self.state.items_per_day if self.state else None

    def as_row(self) -> dict[str, Any]:
        """A flat dict for tables and JSON output."""
        st = self.state
        return {
            "id": self.spec.id,
            "url": self.spec.url,
            "language": self.spec.language,
            "enabled": self.spec.enabled,
            "last_success": _iso(st.last_success_at) if st else None,
            "error_streak": self.error_streak,
            "last_error": st.last_error if st else None,
            "items_per_day": round(st.items_per_day, 2) if st and st.items_per_day is not None else None,
            "items_total": st.items_total if st else 0,
            "next_poll": _iso(st.next_poll_at) if st and st.next_poll_at else None,
            "disabled_reason": st.disabled_reason if st else None,
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


async def read_table(
    kafka: KafkaSettings,
    logical: str,
    partitions: list[int] | None = None,
    timeout_s: float = 60.0,
) -> dict[str, dict[str, Any] | None]:
    """Read a compacted topic from the beginning to its current end: key -> latest value.

    Tombstones appear as ``None``.  Uses no consumer group (nothing committed).
    """
    topic = topic_name(kafka, logical)
    consumer = make_consumer(kafka, group_id=None)
    await asyncio.wait_for(consumer.start(), timeout_s)
    table: dict[str, dict[str, Any] | None] = {}
    try:
        parts = partitions
        if parts is None:
            found = consumer.partitions_for_topic(topic)
            if not found:
                await asyncio.wait_for(consumer._client.force_metadata_update(), timeout_s)
                found = consumer.partitions_for_topic(topic) or set()
            parts = sorted(found)
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return table
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            pending = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
            if not pending:
                return table
            if loop.time() > deadline:
                raise TimeoutError(f"{topic} not read to its end in {timeout_s:g}s")
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    if rec.key is None:
                        continue
                    key = rec.key.decode("utf-8", "replace")
                    try:
                        table[key] = None if rec.value is None else decode_json(rec.value)
                    except RejectedInput:
                        continue
    finally:
        await asyncio.wait_for(consumer.stop(), timeout_s)


async def partition_counts(kafka: KafkaSettings, *logical: str, timeout_s: float = 30.0) -> dict[str, int]:
    """Partition count of each logical topic (0 if it does not exist)."""
    consumer = make_consumer(kafka, group_id=None)
    await asyncio.wait_for(consumer.start(), timeout_s)
    try:
        await asyncio.wait_for(consumer._client.force_metadata_update(), timeout_s)
        return {t: len(consumer.partitions_for_topic(topic_name(kafka, t)) or ()) for t in logical}
    finally:
        await asyncio.wait_for(consumer.stop(), timeout_s)


async def _publish(settings: Settings, records: list[tuple[str, dict[str, Any] | None]]) -> None:
    producer = make_producer(settings.kafka)
    timeout = settings.kafka.request_timeout_s
    await asyncio.wait_for(producer.start(), timeout)
    try:
        topic = topic_name(settings.kafka, REGISTRY_TOPIC)
        futures = [
            await producer.send(topic, None if value is None else encode_json(value), key=key.encode("utf-8"))
            for key, value in records
        ]
        await asyncio.wait_for(producer.flush(), timeout)
        for fut in futures:
            await asyncio.wait_for(fut, timeout)
    finally:
        await asyncio.wait_for(producer.stop(), timeout)


def _revised(spec: FeedSpec) -> FeedSpec:
    return spec if spec.revision is not None else replace(spec, revision=time.time())


async def add_feed(settings: Settings, spec: FeedSpec) -> None:
    """Register or update one feed (the newest record for an id wins).

    Re-adding a feed the crawler disabled (gone, failing) enables it again.
    """
    await _publish(settings, [(spec.id, _revised(spec).to_dict())])


async def remove_feed(settings: Settings, feed_id: str) -> None:
    """Unregister a feed: a tombstone on the registry; crawlers stop polling it."""
    await _publish(settings, [(feed_id, None)])


async def import_feeds(settings: Settings, path: str | Path) -> int:
    """Register every feed of a file (see :func:`load_feed_file`); returns how many."""
    specs = load_feed_file(path)
    await _publish(settings, [(s.id, _revised(s).to_dict()) for s in specs])
    return len(specs)


async def list_feeds(settings: Settings) -> list[FeedStatus]:
    """Registered feeds with their health from the state topic, sorted by id."""
    registry, states = await asyncio.gather(
        read_table(settings.kafka, REGISTRY_TOPIC), read_table(settings.kafka, STATE_TOPIC)
    )
    out = []
    for key, value in sorted(registry.items()):
        if value is None:
            continue
        try:
            spec = FeedSpec.from_dict(value)
        except RejectedInput:
            continue
        raw_state = states.get(key)
        out.append(FeedStatus(spec, FeedState.from_dict(raw_state) if raw_state else None))
    return out


def _opt_float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def load_feed_file(path: str | Path) -> list[FeedSpec]:
    """Feeds from a file: CSV with a header (``url`` required; ``id``, ``language``, ``name``,
    ``enabled``, ``min_interval_s``, ``max_interval_s`` optional), JSON/JSONL of such
    objects, or plain text with one URL per line (``#`` comments).
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    rows: list[dict[str, Any]]
    if p.suffix == ".csv":
        rows = [dict(r) for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))]
    elif p.suffix == ".json":
        rows = json.loads(text)
    elif p.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        rows = [{"url": line.split()[0]} for line in text.splitlines() if line.strip() and not line.startswith("#")]
    specs = []
    for row in rows:
        url = (row.get("url") or "").strip()
        if not url:
            continue
        enabled = str(row.get("enabled", "true")).strip().lower() not in ("0", "false", "no")
        specs.append(
            FeedSpec.from_url(
                url,
                id=(row.get("id") or "").strip() or None,
                language=(row.get("language") or "").strip() or None,
                name=(row.get("name") or "").strip() or None,
                enabled=enabled,
                min_interval_s=_opt_float(row.get("min_interval_s")),
                max_interval_s=_opt_float(row.get("max_interval_s")),
            )
        )
    return specs
