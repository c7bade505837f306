"""Security settings come from the environment and reach every Kafka client (no broker needed)."""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.runtime.config import Settings
from services.runtime.kafka import make_consumer, make_producer, security_kwargs
from tests.security.pki import make_pki

REPO = Path(__file__).resolve().parents[2]
_CLIENT_CLASSES = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "AIOKafkaClient"}


@pytest.fixture
def sasl_ssl_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    ca = make_pki(tmp_path / "pki").ca_cert
    for name, value in {
        "NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS": "kafka-1.example:9093,kafka-2.example:9093",
        "NEWSINGEST_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSINGEST_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "NEWSINGEST_KAFKA__SASL_USERNAME": "newsingest",
        "NEWSINGEST_KAFKA__SASL_PASSWORD": "s3cret-from-a-k8s-secret",
        "NEWSINGEST_KAFKA__SSL_CAFILE": str(ca),
    }.items():
        monkeypatch.setenv(name, value)
    return ca


def test_sasl_ssl_settings_from_env_reach_the_client_kwargs(sasl_ssl_env: Path) -> None:
    """The env variables the deployment sets become TLS (verifying host names) and SCRAM arguments."""
    settings = Settings()
    kw = security_kwargs(settings.kafka)
    assert kw["bootstrap_servers"] == "kafka-1.example:9093,kafka-2.example:9093"
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kw["sasl_plain_username"] == "newsingest"
    assert kw["sasl_plain_password"] == "s3cret-from-a-k8s-secret"
    ctx = kw["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert "s3cret" not in repr(settings)  # SecretStr: never in logs or tracebacks


async def test_producers_and_consumers_carry_the_security_settings(sasl_ssl_env: Path) -> None:
    """Clients built by the one Kafka module are configured for SASL_SSL (checked without connecting)."""
    kafka = Settings().kafka
    for client in (make_producer(kafka), make_consumer(kafka, "news.syria", group_id="g")):
        inner = client.client if isinstance(client, AIOKafkaProducer) else client._client
        assert inner._security_protocol == "SASL_SSL"
        assert inner._sasl_mechanism == "SCRAM-SHA-512"
        assert inner._sasl_plain_username == "newsingest"
        assert inner._ssl_context is not None


def _passes_security_kwargs(call: ast.Call) -> bool:
    return any(
        kw.arg is None
        and isinstance(kw.value, ast.Call)
        and getattr(kw.value.func, "id", getattr(kw.value.func, "attr", "")) == "security_kwargs"
        for kw in call.keywords
    )


def test_every_client_is_built_with_the_security_settings() -> None:
    """Clients come from services/runtime/kafka.py, or are given ``**security_kwargs(...)`` where built."""
    offenders = []
    for path in sorted((REPO / "services").rglob("*.py")):
        if path == REPO / "services" / "runtime" / "kafka.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                if name in _CLIENT_CLASSES and not _passes_security_kwargs(node):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {name}(...)")
    assert offenders == []
