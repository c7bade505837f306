"""Benchmark: crawler throughput with politeness on, entry->news.raw latency, memory.

Run ``.venv/bin/python -m bench.crawl.run [--seconds 60] [--hosts 200] [--rate 3.5]
[--instances 1|2] [--transports aiohttp-raw]`` (``--bootstrap HOST:PORT`` to use a running
broker; otherwise a local one is started; ``--profile FILE`` writes a CPU-time cProfile of
the measured window of a single instance).

A loopback server process simulates ``--hosts`` news hosts (virtual hosts resolved to
127.0.0.1 through the crawler's ``resolve`` map, so the SSRF guard still runs), each
publishing ``--rate`` entries per second (3.5 x 200 offers 700 pages/s, more than the
500/s target, so the figure is not capped by the offer).  For each transport the real
crawler (:class:`services.crawler.service.Crawler`, robots.txt obeyed, per-host
concurrency and minimum delay on, Kafka transactions) runs for ``--seconds`` after a
warm-up: one instance in this process (static mode), or ``--instances N`` child processes
forming one consumer group on the feed registry (registry mode, as deployed).

Printed per transport: fetches/s (feeds + pages + robots), records/s committed, the
crawler's CPU (share of a core, milliseconds per fetch: the figure least disturbed by
other load on the machine), p50/p99 seconds from an entry appearing on its host to its
page's record on news.raw (producer timestamp; entries that appeared in the window),
entries missed (fell off their feed before a poll saw them), resident memory over the
run, and the CPU of the server process and broker; and, as the named baseline measured in
the same run, bare GET loops of each transport on the same pages (no politeness, no
Kafka, 64 in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import math
import multiprocessing
import os
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
from services.runtime.kafka import encode_json, ensure_topics, make_consumer, make_producer, topic_name

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


async def baseline(port: int, hosts: int, transport: str, seconds: float = 4.0) -> tuple[float, float]:
    """Bare GETs per second through our HttpClient's transport without politeness or Kafka,
    and this process's CPU milliseconds per GET (to set against the crawler's per fetch)."""
    cfg = CrawlerSettings(
        allow_networks=("127.0.0.0/8",),
        resolve={host_name(i): "127.0.0.1" for i in range(hosts)},
        max_connections=64,
    )
    n = 0
    deadline = time.monotonic() + seconds
    cpu = time.process_time()
    async with HttpClient(cfg, transport=transport) as http:  # type: ignore[arg-type]

        async def worker(w: int) -> None:
            nonlocal n
            i = w
            while time.monotonic() < deadline:
                await http.get(f"http://{host_name(i % hosts)}:{port}/a/{i}")
                n += 1
                i += 64

        await asyncio.gather(*(worker(w) for w in range(64)))
    return n / seconds, 1000 * (time.process_time() - cpu) / max(1, n)


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


def crawler_settings(args: argparse.Namespace, transport: str, name: str, group: str) -> CrawlerSettings:
    """The crawler's settings in the bench: politeness on, loopback allowed for the sim.

    ``name`` is the instance's own (its transactional id); ``group`` is shared by the
    instances of one run, so they split the feeds instead of each polling them all.
    """
    return CrawlerSettings(
        instance_id=name,
        group_id=group,
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
        compression=args.compression,
        seen_max=args.seen_max,
    )


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def instance_main(  # noqa: PLR0917 - a process entry point
    bootstrap: str, prefix: str, args: argparse.Namespace, transport: str, name: str, group: str, shared: Any
) -> None:
    """Child process: one crawler in registry mode (a member of the consumer group).

    ``shared`` is a ``multiprocessing.Array('d', 4)``: [fetches, committed records, stop,
    feeds owned]; the counters are copied there every 0.2 s, the parent sets the stop flag.
    """

    async def main() -> None:
        settings = Settings(kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=6))
        stop = asyncio.Event()
        async with Crawler(settings, crawler_settings(args, transport, name, group)) as crawler:
            task = asyncio.create_task(crawler.run_registry(stop))
            while not task.done():
                shared[0], shared[1] = crawler.fetcher.fetches, crawler.outbox.committed_records
                shared[3] = len(crawler.specs)  # feeds owned (they move on a rebalance)
                if shared[2]:
                    stop.set()
                    break
                await asyncio.sleep(0.2)
            await task

    logging.disable(logging.WARNING)  # the bench prints figures, not the crawler's log
    asyncio.run(main())


class _Instances:
    """The crawlers under test: one in this process (static mode) or N child processes
    forming a consumer group on the registry (registry mode, as deployed)."""

    def __init__(self, bootstrap: str, args: argparse.Namespace, transport: str) -> None:
        self.args, self.transport = args, transport
        self.prefix = f"bench{uuid.uuid4().hex[:6]}."
        self.kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=self.prefix, partitions=6)
        self.name = f"bench-{uuid.uuid4().hex[:6]}"
        self.feeds = [
            FeedSpec(id=f"h{i:03d}", url=f"http://{host_name(i)}:{args.port}/feed.xml", language="ar")
            for i in range(args.hosts)
        ]
        self.crawler: Crawler | None = None
        self.task: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()
        self.procs: list[Any] = []
        self.shared: list[Any] = []

    async def start(self) -> None:
        settings = Settings(kafka=self.kafka)
        if self.args.instances == 1:
            self.crawler = Crawler(settings, crawler_settings(self.args, self.transport, self.name, self.name))
            await self.crawler.start()
            self.task = asyncio.create_task(self.crawler.run_static(self.feeds, self.stop))
            return
        await ensure_topics(self.kafka, ("news.feeds", "news.crawler.state", "news.raw", "news.deadletter"))
        await _publish_all(settings, self.feeds)
        ctx = multiprocessing.get_context("spawn")
        for k in range(self.args.instances):
            shared = ctx.Array("d", 4, lock=False)
            proc = ctx.Process(
                target=instance_main,
                args=(
                    self.kafka.bootstrap_servers,
                    self.prefix,
                    self.args,
                    self.transport,
                    f"{self.name}-{k}",
                    f"{self.name}-group",  # one group: the instances split the feeds
                    shared,
                ),
                daemon=True,
            )
            proc.start()
            self.procs.append(proc)
            self.shared.append(shared)

    def counters(self) -> tuple[float, float, float]:
        """(fetches, committed records, CPU seconds) summed over the instances."""
        if self.crawler is not None:
            return self.crawler.fetcher.fetches, self.crawler.outbox.committed_records, time.process_time()
        return (
            sum(s[0] for s in self.shared),
            sum(s[1] for s in self.shared),
            sum(_cpu_s(p.pid) for p in self.procs),
        )

    def started(self) -> bool:
        """Every instance has fetched something (joined the group and got feeds)."""
        if self.crawler is not None:
            return self.crawler.fetcher.fetches > 0
        return all(s[0] > 0 for s in self.shared)

    def owned(self) -> list[int]:
        """Feeds each instance polls now (how the group shared them out)."""
        if self.crawler is not None:
            return [len(self.crawler.specs)]
        return [int(s[3]) for s in self.shared]

    def rss(self) -> list[float]:
        if self.crawler is not None:
            return [rss_mb()]
        return [_rss_of(p.pid) for p in self.procs]

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task
        if self.crawler is not None:
            await self.crawler.close()
        for s in self.shared:
            s[2] = 1
        for p in self.procs:
            await asyncio.to_thread(p.join, 60)
            if p.is_alive():
                p.terminate()


async def _publish_all(settings: Settings, feeds: list[FeedSpec]) -> None:
    """Register the bench's feeds (one producer, not one per feed)."""
    producer = make_producer(settings.kafka)
    await asyncio.wait_for(producer.start(), 30)
    try:
        for spec in feeds:
            await producer.send(
                topic_name(settings.kafka, "news.feeds"), encode_json(spec.to_dict()), key=spec.id.encode()
            )
        await asyncio.wait_for(producer.flush(), 30)
    finally:
        await asyncio.wait_for(producer.stop(), 30)


async def crawl_phase(bootstrap: str, args: argparse.Namespace, transport: str, t0: float) -> dict[str, Any]:
    inst = _Instances(bootstrap, args, transport)
    samples: list[tuple[float, list[float]]] = []
    shares: set[tuple[int, ...]] = set()  # feeds per instance, as sampled in the window
    profiler = cProfile.Profile(time.process_time) if args.profile and args.instances == 1 else None
    await inst.start()
    try:
        start = time.monotonic()
        while not inst.started():  # child processes take a while to spawn and join the group
            if time.monotonic() - start > 120:
                raise RuntimeError("crawler instances did not start fetching in 120 s")
            await asyncio.sleep(0.2)
        await asyncio.sleep(WARMUP_S)
        measured_from = time.time()
        load_start = os.getloadavg()[0]
        f0, p0, c0 = inst.counters()
        o0 = [_cpu_s(pid) for pid in args.other_pids]
        m0 = time.monotonic()
        if profiler is not None:
            profiler.enable()
        while time.monotonic() - m0 < args.seconds:
            await asyncio.sleep(min(5.0, max(0.0, args.seconds - (time.monotonic() - m0))))
            samples.append((time.monotonic() - m0, inst.rss()))
            shares.add(tuple(inst.owned()))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        f1, p1, c1 = inst.counters()
        o1 = [_cpu_s(pid) for pid in args.other_pids]
        m1 = time.monotonic()
        load_end = os.getloadavg()[0]
    finally:
        await inst.close()
    # Read news.raw back: latency from appearance to the record's producer timestamp.
    consumer = make_consumer(inst.kafka, "news.raw", group_id=None)
    await consumer.start()
    lat: list[float] = []
    pages = 0
    published: dict[int, set[int]] = {}  # host -> entry numbers on news.raw
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
                    host, k = _entry(r)
                    published.setdefault(host, set()).add(k)
                    # Entries that appeared before the window wait for the first polls (the
                    # backlog of a cold start), not for the pipeline: not counted.
                    if measured_from <= appeared <= measured_from + args.seconds:
                        lat.append(latency)
                    pages += 1
    finally:
        await consumer.stop()
    window = m1 - m0
    missed, due = _missed(published, t0, measured_from, args)
    return {
        "transport": transport,
        "fetches_per_s": (f1 - f0) / window,
        "records_per_s": (p1 - p0) / window,
        "cpu_share": (c1 - c0) / window,
        "other_cpu": [(b - a) / window for a, b in zip(o0, o1, strict=True)],
        "cpu_ms_per_fetch": 1000 * (c1 - c0) / max(1.0, f1 - f0),
        "load": (load_start, load_end),
        "pages": pages,
        "measured": len(lat),
        "p50": pct(lat, 0.5),
        "p99": pct(lat, 0.99),
        "rss": samples,
        "shares": sorted(shares),
        "missed": missed,
        "due": due,
    }


def _entry(record: Any) -> tuple[int, int]:
    """(host number, entry number) of a news.raw record of the sim."""
    host, k = (int(x) for x in orjson.loads(record.value)["entry"]["id"].split("-"))
    return host, k


def _missed(published: dict[int, set[int]], t0: float, start: float, args: argparse.Namespace) -> tuple[int, int]:
    """(missed, due): of the entries that appeared in the window and then fell off their
    feed (``feed_len`` newer entries of the same host were published), how many never
    reached news.raw.  Those can never be fetched: a poll came too late for them."""
    missed = due = 0
    for h in range(args.hosts):
        ks = published.get(h, set())
        if not ks:
            continue
        lo = math.ceil((start - t0) * args.rate - h / args.hosts)
        hi = min(math.floor((start + args.seconds - t0) * args.rate - h / args.hosts), max(ks) - args.feed_len)
        for k in range(lo, hi + 1):
            due += 1
            missed += k not in ks
    return missed, due


def _latency(record: Any, t0: float, args: argparse.Namespace) -> tuple[float, float]:
    """(when the entry appeared, seconds from then to its record on news.raw)."""
    value = orjson.loads(record.value)
    host, k = (int(x) for x in value["entry"]["id"].split("-"))
    appeared = appear_time(t0, args.rate, args.hosts, host, k)
    return appeared, record.timestamp / 1000 - appeared


async def main(args: argparse.Namespace) -> None:
    port = args.port = free_port()
    t0 = time.time()
    broker: LocalBroker | None = None
    bootstrap = args.bootstrap or os.environ.get("NEWSINGEST_TEST_BOOTSTRAP")
    tmp = tempfile.TemporaryDirectory(prefix="bench-crawl-")
    if not bootstrap:
        broker = LocalBroker.create(Path(tmp.name) / "kafka")
        broker.start()
        bootstrap = broker.bootstrap_servers
    try:
        with Sim(port, t0, args.rate, args.hosts, args.feed_len) as sim:
            # CPU of the other processes of the bench, to see what the crawler competed with.
            broker_proc = getattr(broker, "_proc", None)  # LocalBroker has no public pid
            args.other_pids = [sim.proc.pid] + ([broker_proc.pid] if broker_proc is not None else [])
            await asyncio.sleep(1.5)
            load1, load5, _ = os.getloadavg()
            print(f"machine: {os.cpu_count()} cores, load average {load1:.1f} (1 min) {load5:.1f} (5 min) at start")
            print(
                f"setup: {args.hosts} hosts x {args.rate} entries/s (offered {args.hosts * args.rate:.0f} pages/s), "
                f"feeds of {args.feed_len}, per-host concurrency 2, min delay {args.min_delay}s, robots.txt on, "
                f"poll interval {args.poll_min}-{args.poll_min * 3}s, compression {args.compression or KafkaSettings().compression}, "
                f"seen_max {args.seen_max}, "
                f"{args.seconds:.0f}s per transport after {WARMUP_S:.0f}s warm-up, {os.cpu_count()} cores shared "
                "with the server process and the broker"
            )
            print("baseline (same run, bare GET loop, 64 in flight, no politeness, no Kafka):")
            print(f"  httpx.AsyncClient defaults      {await bare_httpx(port):8.0f} req/s")
            for tr in ("httpx", "aiohttp", "aiohttp-raw"):
                rate, cpu_ms = await baseline(port, args.hosts, tr)
                print(f"  HttpClient transport={tr:11s} {rate:8.0f} req/s, {cpu_ms:.2f} ms CPU per GET")
            for tr in args.transports.split(","):
                r = await crawl_phase(bootstrap, args, tr, t0)
                step = max(1, len(r["rss"]) // 8)
                rss = ", ".join(f"{t:.0f}s:" + "+".join(f"{m:.0f}" for m in ms) for t, ms in r["rss"][::step])
                what = "1 process" if args.instances == 1 else f"{args.instances} processes (one consumer group)"
                print(
                    f"crawler transport={tr}, {what} (load {r['load'][0]:.1f} -> {r['load'][1]:.1f}): "
                    f"{r['fetches_per_s']:.0f} fetches/s, {r['records_per_s']:.0f} records/s committed, "
                    f"{r['pages']} pages on news.raw; crawler CPU {100 * r['cpu_share']:.0f}% of a core, "
                    f"{r['cpu_ms_per_fetch']:.2f} ms per fetch; entry->news.raw over the {r['measured']} entries "
                    f"that appeared in the window: p50 {r['p50']:.2f}s p99 {r['p99']:.2f}s; missed (fell off "
                    f"the feed unfetched) {r['missed']} of {r['due']}; RSS MB {rss}"
                )
                if args.instances > 1:
                    print(f"  feeds per instance as sampled in the window: {r['shares']}")
                shares = ", ".join(
                    f"{n} {100 * c:.0f}%" for n, c in zip(("sim server", "broker"), r["other_cpu"], strict=False)
                )
                print(f"  CPU over the window, % of a core: crawler {100 * r['cpu_share']:.0f}%, {shares}")
    finally:
        if broker is not None:
            broker.stop()
        tmp.cleanup()


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--hosts", type=int, default=200)
    p.add_argument(
        "--rate",
        type=float,
        default=3.5,
        help="entries per second per host (3.5 x 200 hosts offers 700 pages/s, above the 500/s target)",
    )
    p.add_argument("--feed-len", type=int, default=20)
    p.add_argument("--min-delay", type=float, default=0.2, help="per-host minimum delay between requests")
    p.add_argument("--poll-min", type=float, default=2.0)
    p.add_argument("--parse-workers", type=int, default=0)
    p.add_argument("--transports", default="aiohttp-raw,aiohttp,httpx")
    p.add_argument("--instances", type=int, default=1, help="crawler processes (>1: a consumer group on the registry)")
    p.add_argument(
        "--compression",
        choices=("zstd", "lz4", "gzip", "none"),
        default=None,
        help="crawler producer (default: the services' setting)",
    )
    p.add_argument(
        "--seen-max",
        type=int,
        default=CrawlerSettings.model_fields["seen_max"].default,
        help="entry keys each feed state remembers (its size is the cost of every state record)",
    )
    p.add_argument("--profile", default=None, help="cProfile (CPU time) of the window to this file (1 instance)")
    p.add_argument("--bootstrap", default=None)
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
