"""Prometheus metrics shared by every service (one prefix: ``newsingest_``).

Labels are bounded: stage, logical topic, partition, outcome, error class, status class,
feed id, source host (the publishers we registered), grade; never a URL or an item id.
Units are base units (seconds, bytes, characters); ``_total`` only on counters.

Besides the runtime's own figures, :func:`observe_outputs` derives pipeline-quality
metrics from the records a stage produces (extraction quality per source from the clean
stage, dedupe decisions, tag grades), so the pure handlers stay free of metrics code.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCHES",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "DEDUPE_DECISIONS",
    "E2E_LATENCY",
    "EXTRACT_PAGES",
    "EXTRACT_TEXT_CHARS",
    "EXTRACT_UNDATED",
    "ITEMS",
    "LAST_OUTPUT",
    "OUTPUTS",
    "PROCESSING_SECONDS",
    "READY",
    "TAGGED",
    "TRANSACTIONS",
    "StageMetrics",
    "forget_partitions",
    "observe_latency",
    "observe_outputs",
    "set_lag",
]

# ---------------------------------------------------------------- stage runtime
ITEMS = Counter(
    "newsingest_stage_items_total",
    "Input records a stage finished, by outcome (ok, dropped, dead_letter); their sum is items in.",
    ["stage", "outcome"],
)
OUTPUTS = Counter("newsingest_stage_outputs_total", "Records a stage produced, by logical topic.", ["stage", "topic"])
DEAD_LETTERS = Counter(
    "newsingest_stage_dead_letters_total",
    "Inputs sent to the dead-letter topic, by error class.",
    ["stage", "error_class"],
)
PROCESSING_SECONDS = Histogram(
    "newsingest_stage_processing_seconds",
    "Handler time per input record.",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCHES = Counter(
    "newsingest_stage_batches_total", "Batches processed (one transaction per partition each).", ["stage"]
)
TRANSACTIONS = Counter(
    "newsingest_stage_transactions_total", "Kafka transactions by result (committed, aborted).", ["stage", "result"]
)
CONSUMER_LAG = Gauge(
    "newsingest_consumer_lag_records",
    "Records of an assigned input partition not yet processed: high watermark minus consumer position "
    "(the position is the committed offset once the batch's transaction has committed).",
    ["stage", "topic", "partition"],
)
READY = Gauge("newsingest_ready", "1 when the service is connected, assigned and caught up.", ["stage"])
LAST_OUTPUT = Gauge(
    "newsingest_stage_last_output_timestamp_seconds",
    "Unix time a stage last committed a record to a topic (0 before the first).",
    ["stage", "topic"],
)
E2E_LATENCY = Histogram(
    "newsingest_end_to_end_latency_seconds",
    "From the page fetch to the article committed on a topic (news.clean, news.unique, news.articles, news.syria).",
    ["topic"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)

# ---------------------------------------------------------------- pipeline quality
EXTRACT_PAGES = Counter(
    "newsingest_extract_pages_total",
    "Pages the clean stage finished, per source host and result (text, empty_text, failed).",
    ["source", "result"],
)
EXTRACT_TEXT_CHARS = Histogram(
    "newsingest_extract_text_chars",
    "Characters of main text extracted per article, per source host.",
    ["source"],
    buckets=(100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000),
)
EXTRACT_UNDATED = Counter(
    "newsingest_extract_undated_total", "Extracted articles with no publication date, per source host.", ["source"]
)
DEDUPE_DECISIONS = Counter(
    "newsingest_dedupe_decisions_total",
    "Dedupe decisions: unique, revision, or duplicate by basis (url, text, minhash).",
    ["decision", "basis"],
)
TAGGED = Counter("newsingest_tag_articles_total", "Articles tagged, by Syria relevance grade (0, 1, 2).", ["grade"])

_LATENCY_TOPICS = frozenset({"news.clean", "news.unique", "news.articles", "news.syria"})
_NO_SOURCE = "unknown"


def _source_of(url: Any) -> str:
    """Host of a URL, lower-case without ``www.``: bounded by the registered publishers."""
    if not isinstance(url, str):
        return _NO_SOURCE
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return host or _NO_SOURCE


def _loads(value: bytes | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def _dead_letter_source(dead: Mapping[str, Any]) -> str:
    """Publisher host of the raw page a clean dead letter carries."""
    try:
        original = base64.b64decode(dead.get("original_b64") or "", validate=True)
    except (binascii.Error, ValueError):
        return _NO_SOURCE
    raw = _loads(original) or {}
    return _source_of(raw.get("final_url") or raw.get("url"))


_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per label set (their values are bounded)."""
    child = _CHILDREN.get((metric, labels))
    if child is None:
        child = _CHILDREN[(metric, labels)] = metric.labels(*labels)
    return child


def observe_outputs(stage: str, outputs: Iterable[tuple[str, bytes | None, bytes | Mapping[str, Any] | None]]) -> None:
    """Count what one input became, for the quality metrics of the stage that made it.

    ``outputs`` are ``(logical topic, key, value)`` with the value as JSON bytes or,
    where the runtime still has it, as the handler's dict (then nothing is decoded: a
    dedupe output carries the whole article text).  Dead letters included.  Cheap for
    stages it does not concern.
    """
    if stage not in ("clean", "dedupe", "tag"):
        return
    for topic, _key, value in outputs:
        if stage == "clean" and topic == "news.clean":
            doc = _loads(value) or {}
            source = str(doc.get("source") or _source_of(doc.get("url")))
            text = doc.get("text") or ""
            _child(EXTRACT_PAGES, source, "text" if text.strip() else "empty_text").inc()
            _child(EXTRACT_TEXT_CHARS, source).observe(len(text))
            if not doc.get("published"):
                _child(EXTRACT_UNDATED, source).inc()
        elif stage == "clean" and topic == "news.deadletter":
            doc = _loads(value) or {}
            result = "empty_text" if doc.get("error_class") == "EmptyText" else "failed"
            _child(EXTRACT_PAGES, _dead_letter_source(doc), result).inc()
        elif stage == "dedupe" and topic == "news.unique":
            doc = _loads(value) or {}
            _child(DEDUPE_DECISIONS, "revision" if doc.get("revision") else "unique", "none").inc()
        elif stage == "dedupe" and topic == "news.duplicates":
            doc = _loads(value) or {}
            _child(DEDUPE_DECISIONS, "duplicate", str(doc.get("basis") or "unknown")).inc()
        elif stage == "tag" and topic == "news.articles":
            doc = _loads(value) or {}
            grade = ((doc.get("tags") or {}).get("syria") or {}).get("grade")
            _child(TAGGED, str(grade) if grade in (0, 1, 2) else "unknown").inc()


def observe_latency(stage: str, topic: str, value: bytes | None, now: float | None = None) -> None:
    """Record a committed output: the stage's last-output time and, for articles, fetch-to-topic latency."""
    now = time.time() if now is None else now
    LAST_OUTPUT.labels(stage, topic).set(now)
    if value is None or topic not in _LATENCY_TOPICS:
        return
    fetched = _fetched_at(value)
    if fetched is not None:
        E2E_LATENCY.labels(topic).observe(max(0.0, now - fetched))


def _fetched_at(value: bytes) -> float | None:
    """``fetched_at`` of an encoded article as a Unix time, or ``None``.

    A byte scan: the value was just encoded, decoding it whole again is waste.  A JSON
    string cannot contain the bytes ``"fetched_at":"`` (its quotes would be escaped).
    """
    i = value.find(b'"fetched_at":"')
    if i < 0:
        return None
    raw = value[i + 14 : i + 14 + 40].split(b'"', 1)[0].decode("ascii", "replace")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def set_lag(stage: str, topic: str, partition: int, lag: int) -> None:
    """Publish one assigned partition's lag."""
    CONSUMER_LAG.labels(stage, topic, str(partition)).set(max(0, lag))


def forget_partitions(stage: str, partitions: Iterable[tuple[str, int]]) -> None:
    """Drop the lag series of partitions this process no longer owns (their new owner reports them)."""
    for topic, partition in partitions:
        with contextlib.suppress(KeyError):
            CONSUMER_LAG.remove(stage, topic, str(partition))


class StageMetrics:
    """One stage's labelled metric children, looked up once.

    ``Counter.labels()`` costs more than the increment it guards (a lock, a tuple, a
    dict lookup); the runtime counts per batch and observes per item through these.
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.processing = PROCESSING_SECONDS.labels(stage)
        self.batches = BATCHES.labels(stage)
        self.committed = TRANSACTIONS.labels(stage, "committed")
        self.aborted = TRANSACTIONS.labels(stage, "aborted")
        self._items = {outcome: ITEMS.labels(stage, outcome) for outcome in ("ok", "dropped", "dead_letter")}
        self._outputs: dict[str, Any] = {}
        self._last_output: dict[str, Any] = {}
        self._latency: dict[str, Any] = {}

    def items(self, outcomes: Tally[str]) -> None:
        """Count a batch's finished inputs by outcome."""
        for outcome, n in outcomes.items():
            child = self._items.get(outcome)
            if child is None:
                child = self._items[outcome] = ITEMS.labels(self.stage, outcome)
            child.inc(n)

    def committed_outputs(self, outputs: Iterable[tuple[str, bytes | None]], now: float | None = None) -> None:
        """Record a committed transaction's ``(logical topic, value)`` outputs.

        Output counts and last-output times per topic once per batch; fetch-to-topic
        latency per article (see :func:`observe_latency`).
        """
        now = time.time() if now is None else now
        counts: Tally[str] = Tally()
        for topic, value in outputs:
            counts[topic] += 1
            if value is not None and topic in _LATENCY_TOPICS:
                fetched = _fetched_at(value)
                if fetched is not None:
                    child = self._latency.get(topic)
                    if child is None:
                        child = self._latency[topic] = E2E_LATENCY.labels(topic)
                    child.observe(max(0.0, now - fetched))
        for topic, n in counts.items():
            if topic not in self._outputs:
                self._outputs[topic] = OUTPUTS.labels(self.stage, topic)
                self._last_output[topic] = LAST_OUTPUT.labels(self.stage, topic)
            self._outputs[topic].inc(n)
            self._last_output[topic].set(now)
