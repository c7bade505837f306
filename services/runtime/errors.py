"""Errors raised by the shared runtime (Kafka, broker, messages)."""

from __future__ import annotations

from services.errors import ConfigError, NewsIngestError, RejectedInput, RetriableError

__all__ = [
    "BadMessage",
    "BrokerStartError",
    "BrokerUnavailable",
    "ConfigError",
    "KafkaAuthError",
]


class BadMessage(RejectedInput):
    """The input record is not valid JSON or lacks what the stage needs."""


class BrokerUnavailable(RetriableError):
    """The Kafka cluster did not answer in time."""


class KafkaAuthError(NewsIngestError):
    """The broker refused our credentials or TLS settings: retrying will not help."""


class BrokerStartError(NewsIngestError):
    """The local Kafka broker could not be fetched, formatted or started."""
