"""Chaos driver: items through the real stages while processes and the broker are killed.

Writes ``n_items`` synthetic raw pages to ``news.raw``, runs the clean, dedupe and tag
services as separate processes (``newsingest serve ...``), SIGKILLs them at random
moments and restarts them, restarts the broker a few times, and finally counts what
reached ``news.articles`` with a ``read_committed`` consumer: every input must be there
exactly once, and nothing may be on the dead-letter topic.

Used by ``bench/chaos/run.py`` (the full run) and by the short test in ``tests/chaos``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.runtime.broker import LocalBroker
from services.runtime.config import KafkaSettings
from services.runtime.kafka import decode_json, encode_json, ensure_topics, make_consumer, make_producer, topic_name

__all__ = ["ChaosConfig", "ChaosResult", "run_chaos", "synthetic_page"]

STAGES = ("clean", "dedupe", "tag")
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "ba",
    "de",
    "fi",
    "gu",
    "ha",
    "je",
    "ko",
    "la",
    "mu",
    "na",
    "po",
    "ri",
    "se",
    "tu",
    "ve",
    "wa",
    "zo",
]


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def synthetic_page(i: int, rng: random.Random, vocab: list[str]) -> dict[str, Any]:
    """A raw page (news.raw schema) whose article text is unique to ``i``."""
    paras = [" ".join(rng.choice(vocab) for _ in range(rng.randint(35, 60))).capitalize() + "." for _ in range(5)]
    title = f"Report {i}: " + " ".join(rng.choice(vocab) for _ in range(6))
    html = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in paras) + "</article>"
        "<footer>© Chaos Daily</footer></body></html>"
    )
    url = f"http://chaos.example/{i}"
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "schema_version": 1,
        "id": uuid.UUID(int=i + 1).hex,
        "url": url,
        "canonical_url": url,
        "final_url": url,
        "status": 200,
        "headers": {"content-type": "text/html; charset=utf-8"},
        "charset": "utf-8",
        "content_type": "text/html",
        "fetched_at": now,
        "body_b64": base64.b64encode(html.encode()).decode(),
        "language_hint": "en",
        "feed": {"id": "chaos", "url": "http://chaos.example/feed"},
    }


@dataclass
class ChaosConfig:
    n_items: int = 2000
    kills_per_stage: int = 3
    broker_restarts: int = 1
    kill_every_s: tuple[float, float] = (2.0, 6.0)
    deadline_s: float = 600.0
    partitions: int = 3
    seed: int = 7
    workdir: Path = field(default_factory=lambda: Path("/tmp/newsingest-chaos"))


@dataclass
class ChaosResult:
    n_items: int
    unique_on_articles: int
    duplicates_on_articles: int
    missing: int
    dead_letters: int
    kills: Counter[str]
    broker_restarts: int
    seconds: float

    @property
    def exactly_once(self) -> bool:
        return self.unique_on_articles == self.n_items and self.duplicates_on_articles == 0 and self.missing == 0


class _Services:
    """The stage processes, each in its own process group (the clean stage's workers die with it)."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, stage: str) -> None:
        self.logdir.mkdir(parents=True, exist_ok=True)
        with (self.logdir / f"{stage}.log").open("ab") as out:
            self.procs[stage] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", stage],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def kill(self, stage: str) -> None:
        proc = self.procs[stage]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for stage, proc in self.procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill(stage)


async def _produce_inputs(kafka: KafkaSettings, cfg: ChaosConfig) -> None:
    rng = random.Random(cfg.seed)
    vocab = _vocabulary(rng)
    producer = make_producer(kafka)
    await producer.start()
    try:
        topic = topic_name(kafka, "news.raw")
        pending = []
        for i in range(cfg.n_items):
            page = synthetic_page(i, rng, vocab)
            pending.append(await producer.send(topic, encode_json(page), key=page["id"].encode()))
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _count(
    kafka: KafkaSettings, logical: str, quiet_s: float, *, expect: set[str] | None = None, deadline: float = 0.0
) -> Counter[str]:
    """Ids on a topic (read_committed, from the start).

    Reads until every id of ``expect`` has arrived (then a few seconds more, to catch
    duplicates), or nothing new came for ``quiet_s``, or the monotonic ``deadline`` passed.
    """
    consumer = make_consumer(kafka, logical, group_id=None)
    await consumer.start()
    ids: Counter[str] = Counter()
    try:
        last_new = time.monotonic()
        complete_at: float | None = None
        while time.monotonic() - last_new < quiet_s and (not deadline or time.monotonic() < deadline):
            if complete_at is not None and time.monotonic() - complete_at > 5:
                break
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for rec in records:
                    ids[decode_json(rec.value).get("id", "?") if logical != "news.deadletter" else str(rec.offset)] += 1
                    last_new = time.monotonic()
            if expect is not None and complete_at is None and expect <= ids.keys():
                complete_at = time.monotonic()
    finally:
        await asyncio.wait_for(consumer.stop(), 15)
    return ids


async def _progress(kafka: KafkaSettings, partitions: int) -> int:
    """Records on news.articles so far: the sum of last stable offsets (read_committed).

    Each transaction also leaves a commit marker, so this over-counts a little; it only
    decides when to start the exact count.
    """
    consumer = make_consumer(kafka, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), 20)
        real = topic_name(kafka, "news.articles")
        ends = await asyncio.wait_for(consumer.end_offsets([TopicPartition(real, p) for p in range(partitions)]), 20)
        return int(sum(ends.values()))
    except (KafkaError, TimeoutError):
        return -1  # broker restarting
    finally:
        await asyncio.wait_for(consumer.stop(), 15)


async def run_chaos(cfg: ChaosConfig, log: Any = print) -> ChaosResult:
    """Run one chaos experiment with its own broker; return what reached news.articles."""
    rng = random.Random(cfg.seed)
    started = time.monotonic()
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker.create(cfg.workdir / f"kafka-{uuid.uuid4().hex[:6]}")
    broker.start()
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic_prefix="chaos.", partitions=cfg.partitions)
    env = {
        **os.environ,
        "NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "NEWSINGEST_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "NEWSINGEST_KAFKA__PARTITIONS": str(cfg.partitions),
        "NEWSINGEST_KAFKA__REQUEST_TIMEOUT_S": "10",
        "NEWSINGEST_STAGE__POLL_TIMEOUT_S": "0.2",
        "NEWSINGEST_STAGE__WORKERS": "1",
        "NEWSINGEST_LOG_LEVEL": "WARNING",
    }
    services = _Services(env, cfg.workdir / "logs")
    kills: Counter[str] = Counter()
    restarts = 0
    try:
        await ensure_topics(kafka)
        await _produce_inputs(kafka, cfg)
        log(f"produced {cfg.n_items} raw pages in {time.monotonic() - started:.1f}s")
        for stage in STAGES:
            services.start(stage)
        plan = [s for s in STAGES for _ in range(cfg.kills_per_stage)] + ["broker"] * cfg.broker_restarts
        rng.shuffle(plan)
        for victim in plan:
            await asyncio.sleep(rng.uniform(*cfg.kill_every_s))
            if victim == "broker":
                broker.kill()
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                broker.start()
                restarts += 1
            else:
                services.kill(victim)
                kills[victim] += 1
                await asyncio.sleep(rng.uniform(0.0, 1.5))
                services.start(victim)
            log(f"killed {victim}; progress {await _progress(kafka, cfg.partitions)}/{cfg.n_items}")
        # Let the pipeline drain: read until every input arrived, or nothing new for a
        # while (longer than a restart and a group rebalance), or the deadline.
        expected = {uuid.UUID(int=i + 1).hex for i in range(cfg.n_items)}
        ids = await _count(kafka, "news.articles", quiet_s=90, expect=expected, deadline=started + cfg.deadline_s)
        dead = await _count(kafka, "news.deadletter", quiet_s=1)
        return ChaosResult(
            n_items=cfg.n_items,
            unique_on_articles=len(set(ids) & expected),
            duplicates_on_articles=sum(c - 1 for c in ids.values() if c > 1),
            missing=len(expected - set(ids)),
            dead_letters=sum(dead.values()),
            kills=kills,
            broker_restarts=restarts,
            seconds=time.monotonic() - started,
        )
    finally:
        services.stop_all()
        broker.stop()
