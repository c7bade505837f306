"""The real Prometheus server scrapes the running pipeline and sees the key series move.

Prometheus (Debian's package) runs on 127.0.0.1 with a 1 s scrape interval against the
four services' ``/metrics``, with the project's alert rules loaded.  News arrives in two
waves; after each, the test asks Prometheus's HTTP API for the series an operator's
dashboard and alerts rely on and checks they exist and grew.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from services.crawler.registry import FeedSpec
from services.runtime.broker import free_port
from services.runtime.config import KafkaSettings, Settings
from tests.crawler.conftest import Site
from tests.monitoring.conftest import DEPLOY
from tests.monitoring.pipeline import Pipeline, feed_xml, news_site, run_pipeline

pytestmark = pytest.mark.kafka


@contextlib.contextmanager
def prometheus(binary: str, workdir: Path, targets: dict[str, int]) -> Iterator[str]:
    """A Prometheus server scraping ``targets`` (service -> port) every second; yields its URL."""
    port = free_port()
    (workdir / "alerts.yml").write_text((DEPLOY / "prometheus" / "alerts.yml").read_text())
    jobs = "\n".join(
        f"      - targets: ['127.0.0.1:{p}']\n        labels: {{service: {name}}}" for name, p in targets.items()
    )
    (workdir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files: [alerts.yml]\n"
        f"scrape_configs:\n  - job_name: newsingest\n    static_configs:\n{jobs}\n"
    )
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _sample(name: str, **labels: str) -> float:
    """Current in-process value of a counter (0 when it has no such series yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def query(client: httpx.AsyncClient, base: str, expr: str) -> list[dict[str, object]]:
    """Result vector of an instant query."""
    resp = await client.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5)
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def scalar(client: httpx.AsyncClient, base: str, expr: str) -> float:
    """First value of an instant query (0 when the result is empty)."""
    res = await query(client, base, expr)
    return float(res[0]["value"][1]) if res else 0.0  # type: ignore[index]


async def wait_for(client: httpx.AsyncClient, base: str, expr: str, at_least: float, timeout_s: float = 60) -> float:
    """Poll Prometheus until ``expr`` reaches ``at_least``; return its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    value = 0.0
    while loop.time() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            value = await scalar(client, base, expr)
            if value >= at_least:
                return value
        await asyncio.sleep(0.5)
    raise AssertionError(f"{expr} = {value}, wanted >= {at_least} within {timeout_s}s")


@contextlib.asynccontextmanager
async def _site() -> AsyncIterator[Site]:
    async with news_site() as site:
        yield site


async def test_prometheus_scrapes_the_pipeline(
    kafka_settings: KafkaSettings, prometheus_bin: str, promtool: str, tmp_path: Path
) -> None:
    async with _site() as site:
        site.static("/feed.xml", feed_xml([("seed", site.url("/ar/seed.html"))]), "application/rss+xml")
        feeds = [FeedSpec(id="gazette", url=site.url("/feed.xml"), language="ar")]
        # The stages of this test share the process's registry with stages other tests ran
        # earlier in the session: counters are compared with their values before it starts.
        syria_0 = _sample("newsingest_stage_outputs_total", stage="tag", topic="news.syria")
        empty_0 = _sample("newsingest_extract_pages_total", source="127.0.0.1", result="empty_text")
        async with (
            run_pipeline(Settings(kafka=kafka_settings), feeds) as pipe,
            httpx.AsyncClient() as client,
        ):
            await _check_health_endpoints(client, pipe)
            with prometheus(prometheus_bin, tmp_path, pipe.ports) as prom:
                # Every service is a healthy target.
                assert await wait_for(client, prom, 'count(up{job="newsingest"} == 1)', 4) == 4
                # Wave 1: the seed article reaches news.syria.
                syria = 'max(newsingest_stage_outputs_total{service="tag",stage="tag",topic="news.syria"})'
                assert await wait_for(client, prom, syria, syria_0 + 1) == syria_0 + 1
                tagged_1 = await scalar(client, prom, 'max(newsingest_stage_items_total{service="tag",stage="tag"})')
                fetched_1 = await scalar(
                    client, prom, 'sum(newsingest_crawler_requests_total{service="crawler",kind="page"})'
                )

                # Wave 2: an English page and a page with no text appear in the feed.
                site.static(
                    "/feed.xml",
                    feed_xml(
                        [
                            ("seed", site.url("/ar/seed.html")),
                            ("ferry", site.url("/en/ferry.html")),
                            ("gallery", site.url("/gallery.html")),
                        ]
                    ),
                    "application/rss+xml",
                )
                empty = 'max(newsingest_extract_pages_total{service="clean",source="127.0.0.1",result="empty_text"})'
                assert await wait_for(client, prom, empty, empty_0 + 1) == empty_0 + 1
                tagged = 'max(newsingest_stage_items_total{service="tag",stage="tag"})'
                assert await wait_for(client, prom, tagged, tagged_1 + 1) == tagged_1 + 1
                pages = 'sum(newsingest_crawler_requests_total{service="crawler",kind="page"})'
                assert await wait_for(client, prom, pages, fetched_1 + 2) == fetched_1 + 2
                await _check_key_series(client, prom)
            await _lint_exposition(client, pipe, promtool)


async def _check_health_endpoints(client: httpx.AsyncClient, pipe: Pipeline) -> None:
    loop = asyncio.get_running_loop()
    for name in pipe.ports:
        deadline = loop.time() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                live = await client.get(pipe.url(name, "/livez"), timeout=2)
                ready = await client.get(pipe.url(name, "/readyz"), timeout=2)
                if live.status_code == 200 and ready.status_code == 200:
                    break
            assert loop.time() < deadline, f"{name} never became ready"
            await asyncio.sleep(0.3)
        metrics = await client.get(pipe.url(name, "/metrics"), timeout=5)
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "newsingest_" in metrics.text


async def _check_key_series(client: httpx.AsyncClient, prom: str) -> None:
    svc = {name: f'service="{name}"' for name in ("crawler", "clean", "dedupe", "tag")}
    expect_positive = [
        f'sum(newsingest_stage_items_total{{{svc["clean"]},stage="clean",outcome="ok"}})',
        f'sum(newsingest_stage_dead_letters_total{{{svc["clean"]},stage="clean",error_class="EmptyText"}})',
        f'sum(newsingest_stage_transactions_total{{{svc["tag"]},result="committed"}})',
        f"sum(newsingest_stage_batches_total{{{svc['tag']}}})",
        f'sum(newsingest_stage_processing_seconds_count{{{svc["clean"]},stage="clean"}})',
        f'sum(newsingest_end_to_end_latency_seconds_count{{{svc["tag"]},topic="news.syria"}})',
        f'sum(newsingest_crawler_fetched_bytes_total{{{svc["crawler"]},kind="page"}})',
        f'sum(newsingest_crawler_requests_total{{{svc["crawler"]},status_class="2xx"}})',
        f'max(newsingest_crawler_feed_last_success_timestamp_seconds{{{svc["crawler"]},feed="gazette"}})',
        f'max(newsingest_crawler_feed_items_total{{{svc["crawler"]},feed="gazette"}})',
        f'sum(newsingest_tag_articles_total{{{svc["tag"]},grade="2"}})',
        f'sum(newsingest_tag_articles_total{{{svc["tag"]},grade="0"}})',
        f'sum(newsingest_dedupe_decisions_total{{{svc["dedupe"]},decision="unique"}})',
        f'sum(newsingest_extract_text_chars_count{{{svc["clean"]},source="127.0.0.1"}})',
        # The stage label too: every service here serves the one process registry, where
        # stages of earlier tests in this process have left their gauge at 0.
        'min(newsingest_ready{service="tag",stage="tag"})',
    ]
    for expr in expect_positive:
        assert await scalar(client, prom, expr) > 0, expr
    # Lag per stage and partition is exported (0 once caught up).
    lag = await query(client, prom, 'newsingest_consumer_lag_records{service="clean",stage="clean"}')
    assert {r["metric"]["topic"] for r in lag} == {"news.raw"}  # type: ignore[index]
    assert len(lag) == 2  # the test topics have two partitions, both assigned here
    # Error streak 0 for a healthy feed; the rules loaded and evaluated.
    assert await scalar(client, prom, 'max(newsingest_crawler_feed_error_streak{feed="gazette"})') == 0
    rules = (await client.get(f"{prom}/api/v1/rules", timeout=5)).json()
    assert sum(len(g["rules"]) for g in rules["data"]["groups"]) == 12


async def _lint_exposition(client: httpx.AsyncClient, pipe: Pipeline, promtool: str) -> None:
    """``promtool check metrics``: naming conventions (units, _total on counters only) on the live output."""
    for name in pipe.ports:
        text = (await client.get(pipe.url(name, "/metrics"), timeout=5)).content
        proc = await asyncio.create_subprocess_exec(
            promtool, "check", "metrics", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(text), 30)
        assert proc.returncode == 0, f"{name}: {out.decode()}"
        assert out.decode().strip() == "", f"{name}: {out.decode()}"
