"""SASL/SCRAM over TLS against the real broker: the pipeline runs, bad credentials fail fast.

The broker (see ``conftest.py``) listens with SASL_SSL and SCRAM-SHA-512; its certificate
is signed by a CA made in the test.  Every client the services build (crawler producer
and consumers, stage consumers and transactional producers, admin) takes its security
settings from ``services.runtime.kafka.security_kwargs``, so running the whole pipeline
through that listener checks all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.crawler.registry import FeedSpec
from services.runtime.broker import free_port
from services.runtime.config import KafkaSettings, Settings, StageSettings
from services.runtime.errors import BrokerUnavailable, KafkaAuthError
from services.runtime.kafka import ensure_topics
from services.runtime.stage import StageRunner
from services.tag.handler import TagHandler
from tests.crawler.conftest import Site, read_topic, values
from tests.security.conftest import PASSWORD, SecureBroker
from tests.security.pki import make_pki
from tests.support.pages import parse_seed, seed_article_html
from tests.support.pipeline import in_process_pipeline
from tests.support.site import serve_site

pytestmark = pytest.mark.kafka

# A wrong login must end well inside this; a hang would hit it and fail the test.
_FAIL_FAST_S = 30


@pytest.fixture
async def news_site() -> AsyncIterator[Site]:
    async with serve_site() as s:
        yield s


async def test_pipeline_runs_through_sasl_ssl(secure_broker: SecureBroker, news_site: Site) -> None:
    """Crawler → clean → dedupe → tag with every client on SASL_SSL: the seed article reaches news.syria."""
    news_site.static("/ar/seed.html", seed_article_html("portal", "utf-8"), "text/html; charset=utf-8")
    news_site.static(
        "/ar/feed.xml",
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
            "<link>http://127.0.0.1/</link><description>d</description>"
            f"<item><title>a</title><guid>seed-1</guid><link>{news_site.url('/ar/seed.html')}</link></item>"
            "</channel></rss>"
        ),
        "application/rss+xml",
    )
    kafka = secure_broker.settings()
    settings = Settings(kafka=kafka, stage=StageSettings(poll_timeout_s=0.2))
    feeds = [FeedSpec(id="ar", url=news_site.url("/ar/feed.xml"), language="ar")]

    async with in_process_pipeline(settings, feeds, clean_offload="thread"):
        syria = values(await read_topic(kafka, "news.syria", want=1, timeout_s=90))

    assert len(syria) == 1
    assert syria[0]["title"] == parse_seed().headline
    assert syria[0]["tags"]["syria"]["grade"] >= 1


async def test_wrong_password_is_a_clear_auth_error(secure_broker: SecureBroker) -> None:
    """A refused SCRAM login is KafkaAuthError (not retriable) naming the user and the settings to check."""
    settings = secure_broker.settings(password="not-" + PASSWORD)
    async with asyncio.timeout(_FAIL_FAST_S):
        with pytest.raises(KafkaAuthError) as caught:
            await ensure_topics(settings, ["news.raw"])
    message = str(caught.value)
    assert not caught.value.retriable
    assert "refused" in message
    assert "'alice'" in message
    assert "NEWSINGEST_KAFKA__SASL_PASSWORD" in message
    assert "not-" + PASSWORD not in message  # the secret never reaches a log line


async def test_stage_with_wrong_password_stops_with_auth_error(secure_broker: SecureBroker) -> None:
    """A service started with bad credentials ends with KafkaAuthError instead of retrying forever."""
    settings = Settings(kafka=secure_broker.settings(password="wrong"), stage=StageSettings(poll_timeout_s=0.2))
    runner = StageRunner(TagHandler(), settings, input_topic="news.unique", offload="thread")
    async with asyncio.timeout(_FAIL_FAST_S):
        with pytest.raises(KafkaAuthError):
            await runner.run(asyncio.Event())


async def test_untrusted_broker_certificate_is_a_clear_tls_error(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """Trusting another CA than the one that signed the broker fails as a TLS error, not a network outage."""
    other_ca = make_pki(tmp_path / "other").ca_cert
    async with asyncio.timeout(_FAIL_FAST_S):
        with pytest.raises(KafkaAuthError) as caught:
            await ensure_topics(secure_broker.settings(cafile=other_ca), ["news.raw"])
    assert "TLS handshake" in str(caught.value)
    assert "NEWSINGEST_KAFKA__SSL_CAFILE" in str(caught.value)


async def test_unreachable_broker_stays_retriable() -> None:
    """Nothing listening (a closed port) stays BrokerUnavailable: retriable, since the broker may come back."""
    settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", request_timeout_s=5)
    async with asyncio.timeout(_FAIL_FAST_S):
        with pytest.raises(BrokerUnavailable) as caught:
            await ensure_topics(settings, ["news.raw"], timeout_s=10)
    assert caught.value.retriable
