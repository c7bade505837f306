"""The one module that builds Kafka clients.

Everything Kafka-specific the services need (security settings, topic names with the
configured prefix, JSON encoding, producers, consumers, topic creation) is here, so
swapping the client library is a change to this file and ``stage.py`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context

from services.runtime.config import KafkaSettings
from services.runtime.errors import BadMessage, BrokerUnavailable, KafkaAuthError
from services.runtime.topics import TOPICS

__all__ = [
    "broker_round_trip",
    "decode_json",
    "encode_json",
    "ensure_topics",
    "explain_connection_failure",
    "headers_dict",
    "make_consumer",
    "make_producer",
    "output_headers",
    "security_kwargs",
    "stage_headers",
    "topic_name",
]

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


def topic_name(settings: KafkaSettings, logical: str) -> str:
    """The real topic name of a logical one (``news.raw`` → ``<prefix>news.raw``)."""
    return settings.topic_prefix + logical


def logical_name(settings: KafkaSettings, real: str) -> str:
    """Inverse of :func:`topic_name`."""
    return real.removeprefix(settings.topic_prefix)


def encode_json(value: Mapping[str, Any]) -> bytes:
    """orjson on the wire: UTF-8, no ASCII escaping of Arabic."""
    return orjson.dumps(value)


def decode_json(data: bytes | None) -> dict[str, Any]:
    """Decode one message value; a value that is not a JSON object is a :class:`BadMessage`."""
    if data is None:
        raise BadMessage("empty message value")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"value is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadMessage(f"value is JSON {type(value).__name__}, expected an object")
    return value


def output_headers(stage: str, logical_topic: str, trace_id: bytes) -> Headers:
    """The headers of every record a service writes (``stageHeaders`` in schemas/asyncapi.yaml).

    ``newsingest.schema`` is the topic's schema name and major version (``state/1`` on
    internal topics); ``trace-id`` follows one item through every topic: a stage carries
    its input's, the crawler starts it with the article id.

    >>> output_headers("crawler", "news.raw", b"0f3c")[1:3]
    [('newsingest.stage', b'crawler'), ('newsingest.schema', b'raw_page/1')]
    """
    return [*stage_headers(stage, logical_topic), ("trace-id", trace_id)]


@functools.lru_cache(maxsize=256)
def stage_headers(stage: str, logical_topic: str) -> tuple[tuple[str, bytes], ...]:
    """The headers of :func:`output_headers` that do not change from record to record."""
    return (
        ("content-type", b"application/json"),
        ("newsingest.stage", stage.encode()),
        ("newsingest.schema", f"{TOPICS[logical_topic].schema or 'state'}/1".encode()),
    )


def headers_dict(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka headers as text (undecodable bytes replaced), for logs and dead letters."""
    return {k: v.decode("utf-8", "replace") if v is not None else "" for k, v in headers or ()}


def security_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for TLS and SASL, shared by every client."""
    kw: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": int(settings.request_timeout_s * 1000),
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        kw["ssl_context"] = create_ssl_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
            certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
            keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        )
    if settings.security_protocol.startswith("SASL"):
        kw["sasl_mechanism"] = settings.sasl_mechanism or "SCRAM-SHA-512"
        kw["sasl_plain_username"] = settings.sasl_username
        kw["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return kw


_AUTH_ERRORS = (
    SaslAuthenticationFailed,
    AuthenticationFailedError,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
)


async def explain_connection_failure(
    settings: KafkaSettings, timeout_s: float = 10.0
) -> KafkaAuthError | BrokerUnavailable:
    """Why clients cannot bootstrap: a typed error a person can act on.

    aiokafka's bootstrap only logs a refused login or a failed TLS handshake and then
    reports "Unable to bootstrap", which reads like a network outage and would be retried
    forever.  This opens one connection per bootstrap server the way the clients do and
    returns :class:`KafkaAuthError` (not retriable) for credential and TLS failures, or
    :class:`BrokerUnavailable` when nothing answers.
    """
    kw = security_kwargs(settings)
    kw.pop("bootstrap_servers")
    reasons: list[str] = []
    for server in (s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        try:
            conn = await asyncio.wait_for(create_conn(host.strip("[]"), int(port), **kw), timeout_s)
        except _AUTH_ERRORS as exc:
            return KafkaAuthError(
                f"Kafka at {server} refused the {settings.sasl_mechanism or 'SCRAM-SHA-512'} login of user "
                f"{settings.sasl_username!r}: {exc}. Check NEWSINGEST_KAFKA__SASL_USERNAME, "
                "NEWSINGEST_KAFKA__SASL_PASSWORD and NEWSINGEST_KAFKA__SASL_MECHANISM."
            )
        except ssl.SSLError as exc:
            return KafkaAuthError(
                f"TLS handshake with Kafka at {server} failed: {exc}. Check NEWSINGEST_KAFKA__SECURITY_PROTOCOL "
                "and that NEWSINGEST_KAFKA__SSL_CAFILE is the CA that signed the broker's certificate."
            )
        except (OSError, TimeoutError, KafkaError, ValueError) as exc:
            reasons.append(f"{server}: {type(exc).__name__}: {exc}")
            continue
        conn.close()
        reasons.append(f"{server}: connects and logs in now (the failure was transient)")
    return BrokerUnavailable(
        f"cannot reach Kafka at {settings.bootstrap_servers} ({settings.security_protocol}): " + "; ".join(reasons)
    )


async def broker_round_trip(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    """One metadata request over a started client's connections; raises when no broker answers.

    A client that lost its broker retries quietly, so this is how readiness checks ask.
    """
    await client.client.fetch_all_metadata() if isinstance(client, AIOKafkaProducer) else await client.topics()


def make_producer(settings: KafkaSettings, *, transactional_id: str | None = None, **kw: Any) -> AIOKafkaProducer:
    """An idempotent producer with ``acks=all`` and a few ms of linger (not started)."""
    opts: dict[str, Any] = {
        **security_kwargs(settings),
        "client_id": f"{settings.client_id}-producer",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        # At aiokafka's 16 KiB default a few articles fill a partition's batch and the next
        # send waits for it to be drained (a round trip); a transaction's share fits in 1 MiB.
        "max_batch_size": 1024 * 1024,
        "max_request_size": 16 * 1024 * 1024,
        # aiokafka's gzip and lz4 both run at level 9 (lz4 as LZ4-HC): a third of a stage's
        # CPU in bench.dedupe.stage; zstd runs at level 3 (through cramjam), smaller and
        # ten times faster on articles, and every Kafka client since 2.1 reads it.
        "compression_type": None if settings.compression == "none" else settings.compression,
    }
    if transactional_id is not None:
        opts["transactional_id"] = transactional_id
        opts["transaction_timeout_ms"] = 60_000
    opts.update(kw)
    return AIOKafkaProducer(**opts)


def make_consumer(settings: KafkaSettings, *logical_topics: str, group_id: str | None, **kw: Any) -> AIOKafkaConsumer:
    """A consumer with explicit offsets, ``earliest`` reset and ``read_committed`` (not started).

    With no topics, the caller assigns or subscribes later.
    """
    opts: dict[str, Any] = {
        **security_kwargs(settings),
        "client_id": f"{settings.client_id}-consumer",
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        "max_poll_interval_ms": 300_000,
    }
    opts.update(kw)
    return AIOKafkaConsumer(*(topic_name(settings, t) for t in logical_topics), **opts)


async def _topics_without_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> set[str]:
    """Topics whose metadata is missing or has a partition with no leader yet."""
    described = await asyncio.wait_for(admin.describe_topics(names), timeout_s)
    ready = {
        t["topic"]
        for t in described
        if t.get("error_code", 0) == 0
        and t.get("partitions")
        and all(p.get("leader", -1) >= 0 for p in t["partitions"])
    }
    return set(names) - ready


async def ensure_topics(
    settings: KafkaSettings, logical: Iterable[str] | None = None, timeout_s: float = 60.0
) -> list[str]:
    """Create the declared topics that do not exist yet; return the real names.

    Idempotent, and waits until the broker reports metadata for every topic, so a
    producer that starts right after does not race topic creation.
    """
    names = list(logical) if logical is not None else list(TOPICS)
    admin = AIOKafkaAdminClient(**security_kwargs(settings), client_id=f"{settings.client_id}-admin")
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except KafkaConnectionError as exc:
        await admin.close()
        raise await explain_connection_failure(settings, timeout_s=min(timeout_s, settings.request_timeout_s)) from exc
    except TimeoutError as exc:
        raise BrokerUnavailable(f"no answer from Kafka at {settings.bootstrap_servers} in {timeout_s:.0f}s") from exc
    except KafkaError as exc:
        if "auth" in type(exc).__name__.lower() or "sasl" in str(exc).lower():
            raise KafkaAuthError(f"Kafka refused the credentials: {exc}") from exc
        raise
    try:
        existing = set(await asyncio.wait_for(admin.list_topics(), timeout_s))
        wanted = {topic_name(settings, n): TOPICS[n] for n in names}
        new = [
            NewTopic(
                name=real,
                num_partitions=spec.partitions or settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=spec.topic_config(),
            )
            for real, spec in wanted.items()
            if real not in existing
        ]
        if new:
            # Another process may create them between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await asyncio.wait_for(admin.create_topics(new), timeout_s)
            log.info("created topics", extra={"topics": [t.name for t in new]})
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            not_ready = await _topics_without_leaders(admin, list(wanted), timeout_s)
            if not not_ready:
                return list(wanted)
            if asyncio.get_running_loop().time() > deadline:
                raise BrokerUnavailable(f"topics have no leader after {timeout_s:.0f}s: {sorted(not_ready)}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
