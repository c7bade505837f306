"""Dedupe as a running stage: checks/s through Kafka, thread mode against prepare mode.

``python -m bench.dedupe.stage [--n 20000]`` starts a broker of its own, writes ``n``
SaudiNewsNet articles (read in place) to ``news.clean`` and runs the real
:class:`StageRunner` with :class:`DedupeHandler` twice over the same records, each
time under a fresh consumer group and changelog (so both start from an empty index):

- ``thread``: fingerprint and index in the stage process (the old default);
- ``prepare``: fingerprints in one worker process (``NEWSINGEST_STAGE__WORKERS``), the
  index in the stage process, chunks pipelined (the default since this bench).

It prints wall-clock checks/s from the first output to the last committed input, so
it counts Kafka reads, transactions and writes too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench.dedupe.data import saudinewsnet
from bench.dedupe.detectors import article_of
from services.dedupe.handler import DedupeHandler
from services.runtime.broker import LocalBroker
from services.runtime.config import KafkaSettings, Settings, StageSettings
from services.runtime.kafka import encode_json, ensure_topics, make_producer, topic_name
from services.runtime.stage import Offload, StageRunner


async def _produce(kafka: KafkaSettings, values: list[bytes]) -> None:
    producer = make_producer(kafka, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = [
            await producer.send(topic_name(kafka, "news.clean"), v, key=str(i).encode()) for i, v in enumerate(values)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _run(kafka: KafkaSettings, offload: Offload, n: int, workers: int) -> tuple[float, float]:
    settings = Settings(kafka=kafka, stage=StageSettings(batch_max=500, workers=workers, poll_timeout_s=0.2))
    runner = StageRunner(
        DedupeHandler(), settings, input_topic="news.clean", offload=offload, group_id=f"bench-{uuid.uuid4().hex[:8]}"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    started = None
    cpu0 = time.process_time()
    while runner.processed < n:
        if task.done():
            task.result()
        if started is None and runner.processed:
            started, first = time.perf_counter(), runner.processed
            cpu0 = time.process_time()
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - (started or time.perf_counter())
    cpu = time.process_time() - cpu0
    stop.set()
    await asyncio.wait_for(task, 60)
    done = n - (first if started else 0)
    return done / wall, done / cpu


async def main_async(n: int, workers: int, compression: str | None) -> None:
    docs = saudinewsnet()[:n]
    values = [encode_json(article_of(d)) for d in docs]
    with tempfile.TemporaryDirectory() as tmp, LocalBroker.create(Path(tmp) / "kafka") as broker:
        for offload in ("thread", "prepare", "thread", "prepare"):
            # Topics of its own per run: outputs, changelog and an empty index each time.
            kafka = KafkaSettings(
                bootstrap_servers=broker.bootstrap_servers, topic_prefix=f"b{uuid.uuid4().hex[:6]}.", partitions=6
            )
            if compression is not None:
                kafka = kafka.model_copy(update={"compression": compression})
            await ensure_topics(kafka)
            await _produce(kafka, values)
            load = os.getloadavg()[0]
            wall, cpu = await _run(kafka, offload, len(values), workers)
            extra = f", {workers} prepare worker(s)" if offload == "prepare" else ""
            print(
                f"  stage offload={offload:<8} {wall:7.0f} checks/s wall, {cpu:7.0f} per CPU-s of the stage process"
                f"{extra} (load {load:.2f})",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="articles (SaudiNewsNet, in corpus order)")
    ap.add_argument("--workers", type=int, default=1, help="prepare worker processes")
    ap.add_argument(
        "--compression", choices=("lz4", "zstd", "gzip", "snappy", "none"), help="stage producers' (default: settings')"
    )
    args = ap.parse_args(argv)
    compression = args.compression or KafkaSettings().compression
    print(
        f"== Dedupe stage through Kafka: {args.n} articles, {os.cpu_count()} cores, {compression} ==",
        flush=True,
    )
    asyncio.run(main_async(args.n, args.workers, args.compression))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
