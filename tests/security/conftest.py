"""A real Kafka broker with a SASL_SSL listener, for the security tests of this folder.

The session broker of ``tests/conftest.py`` speaks PLAINTEXT only; this module's broker
adds ``SASL_SSL://127.0.0.1:<port>`` (SCRAM-SHA-512 over TLS, certificate from a CA made
in the test) while the controller and inter-broker traffic stay on PLAINTEXT, as the
operations guide describes for a customer cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.runtime.config import KafkaSettings
from tests.security.pki import TestPKI, make_pki

USER, PASSWORD = "alice", "alice-secret"


@dataclass(frozen=True)
class SecureBroker:
    """Where the SASL_SSL listener is and what a client needs to trust and log in."""

    bootstrap_servers: str
    plaintext_bootstrap: str
    pki: TestPKI

    def settings(self, *, password: str = PASSWORD, user: str = USER, cafile: Path | None = None) -> KafkaSettings:
        """Client settings for this listener with a topic prefix unique to the call."""
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=user,
            sasl_password=SecretStr(password),
            ssl_cafile=cafile or self.pki.ca_cert,
            topic_prefix=f"s{uuid.uuid4().hex[:10]}.",
            partitions=2,
            request_timeout_s=15,
        )


def sasl_ssl_broker_config(pki: TestPKI) -> dict[str, str]:
    """Broker properties of a SASL_SSL listener named ``SASL_SSL`` (SCRAM-SHA-512, PKCS#12 keystore)."""
    prefix = "listener.name.sasl_ssl."
    return {
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        f"{prefix}scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        f"{prefix}ssl.keystore.type": "PKCS12",
        f"{prefix}ssl.keystore.location": str(pki.keystore),
        f"{prefix}ssl.keystore.password": pki.keystore_password,
        f"{prefix}ssl.key.password": pki.keystore_password,
    }


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """A broker of its own with PLAINTEXT (inter-broker) and SASL_SSL (clients) listeners."""
    from services.runtime.broker import LocalBroker, free_port

    work = tmp_path_factory.mktemp("kafka-sasl")
    pki = make_pki(work / "pki")
    port = free_port()
    broker = LocalBroker.create(
        work / "broker",
        extra_listeners=[("SASL_SSL", port, "SASL_SSL")],
        scram_users=[f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"],
        extra_config=sasl_ssl_broker_config(pki),
    )
    broker.start()
    try:
        yield SecureBroker(f"127.0.0.1:{port}", broker.bootstrap_servers, pki)
    finally:
        broker.stop()
