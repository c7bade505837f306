"""Prometheus metrics shared by every service (one prefix: ``newsingest_``).

Labels are bounded: stage, topic, partition, outcome, status class, feed id, source
host; never a URL or an item id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCHES",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "E2E_LATENCY",
    "ITEMS",
    "OUTPUTS",
    "PROCESSING_SECONDS",
    "READY",
    "TRANSACTIONS",
]

ITEMS = Counter("newsingest_stage_items_total", "Input records a stage finished, by outcome.", ["stage", "outcome"])
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
TRANSACTIONS = Counter("newsingest_stage_transactions_total", "Kafka transactions by result.", ["stage", "result"])
CONSUMER_LAG = Gauge(
    "newsingest_consumer_lag_records", "High watermark minus committed position.", ["stage", "topic", "partition"]
)
READY = Gauge("newsingest_ready", "1 when the service is connected, assigned and caught up.", ["stage"])
E2E_LATENCY = Histogram(
    "newsingest_end_to_end_latency_seconds",
    "From fetch to the article leaving a stage.",
    ["stage"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
