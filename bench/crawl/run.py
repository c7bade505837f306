"""Benchmark: crawler throughput with politeness on, entry->news.raw latency, memory.

Run ``.venv/bin/python -m bench.crawl.run [--seconds 60] [--hosts 200] [--rate 2.5]``
(``--bootstrap HOST:PORT`` to use a running broker; otherwise a local one is started).

A loopback server process simulates ``--hosts`` news hosts (virtual hosts resolved to
127.0.0.1 through the crawler's ``resolve`` map, so the SSRF guard still runs), each
publishing ``--rate`` entries per second.  For each transport (aiohttp, plain httpx)
the real crawler (:class:`services.crawler.service.Crawler`, static mode, robots.txt
obeyed, per-host concurrency and minimum delay on, Kafka transactions) runs for
``--seconds``; then news.raw is read back.

Printed per transport: fetches/s (feeds + pages + robots, after a warm-up), records/s
committed, p50/p99 seconds from an entry appearing on its host to its page's record on
news.raw (producer timestamp, at most one commit interval before the commit; only
entries that appeared after the warm-up, so the cold-start backlog is not counted),
resident memory
over the run, and, as the named baseline measured in the same run, bare GET loops of
each transport on the same pages (no politeness, no Kafka, 64 in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.crawl.sim import Sim, appear_time, host_name
from services.crawler.config import CrawlerSettings
from services.crawler.http import HttpClient
from services.crawler.registry import FeedSpec
from services.crawler.service import Crawler
from services.runtime.broker import LocalBroker, free_port
from services.runtime.config import KafkaSettings, Settings
from services.runtime.kafka import make_consumer

WARMUP_S = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def baseline(port: int, hosts: int, transport: str, seconds: float = 4.0) -> float:
    """Bare GETs per second through our HttpClient's transport without politeness or Kafka."""
    cfg = CrawlerSettings(
        allow_networks=("127.0.0.0/8",),
        resolve={host_name(i): "127.0.0.1" for i in range(hosts)},
        max_connections=64,
    )
    n = 0
    deadline = time.monotonic() + seconds
    async with HttpClient(cfg, transport=transport) as http:  # type: ignore[arg-type]

        async def worker(w: int) -> None:
            nonlocal n
            i = w
            while time.monotonic() < deadline:
                await http.get(f"http://{host_name(i % hosts)}:{port}/a/{i}")
                n += 1
                i += 64

        await asyncio.gather(*(worker(w) for w in range(64)))
    return n / seconds


async def bare_httpx(port: int, seconds: float = 4.0) -> float:
    """httpx.AsyncClient defaults on loopback IPs: the library's own figure for reference."""
    n = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64), trust_env=False) as client:

        async def worker(w: int) -> None:
            nonlocal n
            i = w
            while time.monotonic() < deadline:
                (await client.get(f"http://127.0.0.1:{port}/a/{i}")).raise_for_status()
                n += 1
                i += 64

        await asyncio.gather(*(worker(w) for w in range(64)))
    return n / seconds


async def crawl_phase(bootstrap: str, port: int, args: argparse.Namespace, transport: str, t0: float) -> dict[str, Any]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:6]}.", partitions=6)
    settings = Settings(kafka=kafka)
    cfg = CrawlerSettings(
        instance_id=f"bench-{uuid.uuid4().hex[:6]}",
        transport=transport,
        allow_networks=("127.0.0.0/8",),
        resolve={host_name(i): "127.0.0.1" for i in range(args.hosts)},
        per_host_concurrency=2,
        per_host_min_delay_s=args.min_delay,
        poll_min_interval_s=args.poll_min,
        poll_max_interval_s=args.poll_min * 3,
        max_connections=512,
        max_inflight_fetches=512,
        commit_interval_s=0.1,
        parse_workers=args.parse_workers,
    )
    feeds = [
        FeedSpec(id=f"h{i:03d}", url=f"http://{host_name(i)}:{port}/feed.xml", language="ar") for i in range(args.hosts)
    ]
    stop = asyncio.Event()
    samples: list[tuple[float, float]] = []
    phase_start = time.time()
    async with Crawler(settings, cfg) as crawler:
        task = asyncio.create_task(crawler.run_static(feeds, stop))
        start = time.monotonic()
        await asyncio.sleep(WARMUP_S)
        f0, p0, m0 = crawler.fetcher.fetches, crawler.outbox.committed_records, time.monotonic()
        while time.monotonic() - start < WARMUP_S + args.seconds:
            await asyncio.sleep(5)
            samples.append((time.monotonic() - start, rss_mb()))
        f1, p1, m1 = crawler.fetcher.fetches, crawler.outbox.committed_records, time.monotonic()
        stop.set()
        await task
    # Read news.raw back: latency from appearance to the record's producer timestamp.
    consumer = make_consumer(kafka, "news.raw", group_id=None)
    await consumer.start()
    lat: list[float] = []
    pages = 0
    try:
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if not batch:
                idle += 1
                continue
            idle = 0
            for records in batch.values():
                for r in records:
                    appeared, latency = _latency(r, t0, args)
                    # Entries that appeared before the warm-up ended wait for the first polls
                    # (the backlog of a cold start), not for the pipeline: not counted.
                    if appeared >= phase_start + WARMUP_S:
                        lat.append(latency)
                    pages += 1
    finally:
        await consumer.stop()
    window = m1 - m0
    return {
        "transport": transport,
        "fetches_per_s": (f1 - f0) / window,
        "records_per_s": (p1 - p0) / window,
        "pages": pages,
        "measured": len(lat),
        "p50": pct(lat, 0.5),
        "p99": pct(lat, 0.99),
        "rss": samples,
    }


def _latency(record: Any, t0: float, args: argparse.Namespace) -> tuple[float, float]:
    """(when the entry appeared, seconds from then to its record on news.raw)."""
    value = orjson.loads(record.value)
    host, k = (int(x) for x in value["entry"]["id"].split("-"))
    appeared = appear_time(t0, args.rate, args.hosts, host, k)
    return appeared, record.timestamp / 1000 - appeared


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    t0 = time.time()
    broker: LocalBroker | None = None
    bootstrap = args.bootstrap or os.environ.get("NEWSINGEST_TEST_BOOTSTRAP")
    tmp = tempfile.TemporaryDirectory(prefix="bench-crawl-")
    if not bootstrap:
        broker = LocalBroker.create(Path(tmp.name) / "kafka")
        broker.start()
        bootstrap = broker.bootstrap_servers
    try:
        with Sim(port, t0, args.rate, args.hosts, args.feed_len):
            await asyncio.sleep(1.5)
            load1, load5, _ = os.getloadavg()
            print(f"machine: {os.cpu_count()} cores, load average {load1:.1f} (1 min) {load5:.1f} (5 min) at start")
            print(
                f"setup: {args.hosts} hosts x {args.rate} entries/s (offered {args.hosts * args.rate:.0f} pages/s), "
                f"feeds of {args.feed_len}, per-host concurrency 2, min delay {args.min_delay}s, robots.txt on, "
                f"poll interval {args.poll_min}-{args.poll_min * 3}s, {args.seconds:.0f}s per transport after "
                f"{WARMUP_S:.0f}s warm-up, 2 cores shared with the server process and the broker"
            )
            print("baseline (same run, bare GET loop, 64 in flight, no politeness, no Kafka):")
            print(f"  httpx.AsyncClient defaults      {await bare_httpx(port):8.0f} req/s")
            for tr in ("httpx", "aiohttp", "aiohttp-raw"):
                print(f"  HttpClient transport={tr:11s} {await baseline(port, args.hosts, tr):8.0f} req/s")
            for tr in args.transports.split(","):
                r = await crawl_phase(bootstrap, port, args, tr, t0)
                rss = ", ".join(f"{t:.0f}s:{m:.0f}" for t, m in r["rss"][:: max(1, len(r["rss"]) // 8)])
                load1, _, _ = os.getloadavg()
                print(
                    f"crawler transport={tr} (load {load1:.1f}): {r['fetches_per_s']:.0f} fetches/s, {r['records_per_s']:.0f} "
                    f"records/s committed, {r['pages']} pages on news.raw; entry->news.raw over the {r['measured']} "
                    f"entries that appeared after the warm-up: p50 {r['p50']:.2f}s "
                    f"p99 {r['p99']:.2f}s; RSS MB {rss} (median {statistics.median(m for _, m in r['rss']):.0f})"
                )
    finally:
        if broker is not None:
            broker.stop()
        tmp.cleanup()


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--hosts", type=int, default=200)
    p.add_argument("--rate", type=float, default=2.5, help="entries per second per host")
    p.add_argument("--feed-len", type=int, default=20)
    p.add_argument("--min-delay", type=float, default=0.2, help="per-host minimum delay between requests")
    p.add_argument("--poll-min", type=float, default=2.0)
    p.add_argument("--parse-workers", type=int, default=0)
    p.add_argument("--transports", default="aiohttp-raw,aiohttp,httpx")
    p.add_argument("--bootstrap", default=None)
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
