"""``newsingest status``: the whole pipeline at a glance, read from Kafka and the services.

From Kafka (always): each stage's consumer lag per partition (committed offset against
the partition's end), every topic's size and recent growth, per-feed health from the
registry and the crawler's state topic, dead letters with their most frequent reasons,
and the newest Syria items.  From the services' ``/readyz`` and ``/metrics`` (when their
addresses are known: ``--service name=url``, ``NEWSINGEST_STATUS_SERVICES``, or the
``services.json`` that ``newsingest run`` writes): readiness, items in/out/dropped/dead
per stage with rates, and the crawler's fetches by status class.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from services.runtime.config import Settings
from services.runtime.deadletters import DeadLetter, read_dead_letters, top_reasons
from services.runtime.errors import BadMessage
from services.runtime.kafka import decode_json, make_consumer, security_kwargs, topic_name
from services.runtime.topics import TOPICS

__all__ = ["STAGES", "PipelineStatus", "collect_status", "command", "load_services", "render_status", "status"]

# stage -> its input topic; the consumer group is "<prefix>newsingest-<stage>" (StageRunner's default).
STAGES = {"clean": "news.raw", "dedupe": "news.clean", "tag": "news.unique"}
_RECENT_S = 300
_EXACT_MAX = 50  # offsets of lag read and counted exactly
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class ServiceStatus:
    """What one service's endpoints said."""

    name: str
    url: str
    ready: str  # "ready: …", "not ready: …" or the connection error
    samples: Samples = field(default_factory=dict)

    def total(self, metric: str, **labels: str) -> float:
        """Sum of the samples of ``metric`` whose labels include ``labels``."""
        want = set(labels.items())
        return sum(v for (n, lab), v in self.samples.items() if n == metric and want <= set(lab))


@dataclass
class PipelineStatus:
    """One snapshot of everything the view shows."""

    at: float
    bootstrap: str
    prefix: str
    lag: dict[str, dict[int, int]]  # stage -> partition -> records behind
    topic_ends: dict[str, int]
    topic_recent: dict[str, int]  # offsets added in the last five minutes
    feeds: list[Any]
    dead: list[DeadLetter]
    dead_unreadable: int
    syria: list[dict[str, Any]]
    services: dict[str, ServiceStatus]


def load_services(specs: list[str] | None = None, path: str | Path | None = None) -> dict[str, str]:
    """Service name -> base URL, from ``name=url`` specs, ``NEWSINGEST_STATUS_SERVICES`` or a JSON file."""
    out: dict[str, str] = {}
    if path is not None and Path(path).is_file():
        out.update({str(k): str(v) for k, v in json.loads(Path(path).read_text()).items()})
    env = os.environ.get("NEWSINGEST_STATUS_SERVICES", "")
    for spec in [*filter(None, env.split(",")), *(specs or [])]:
        name, sep, url = spec.partition("=")
        if not sep or not url.startswith("http"):
            raise ValueError(f"expected name=http://host:port, got {spec!r}")
        out[name.strip()] = url.strip().rstrip("/")
    return out


async def _service(client: httpx.AsyncClient, name: str, url: str) -> ServiceStatus:
    try:
        ready = (await client.get(f"{url}/readyz", timeout=3)).text.strip()
        text = (await client.get(f"{url}/metrics", timeout=5)).text
    except httpx.HTTPError as exc:
        return ServiceStatus(name, url, f"unreachable: {type(exc).__name__}")
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("newsingest_"):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return ServiceStatus(name, url, ready, samples)


async def _offsets(
    settings: Settings, timeout_s: float
) -> tuple[dict[str, dict[int, int]], dict[str, int], dict[str, int]]:
    """Lag per stage and partition; every topic's end (sum) and growth over the last five minutes."""
    k = settings.kafka
    consumer = make_consumer(k, group_id=None)
    admin = AIOKafkaAdminClient(**security_kwargs(k), client_id=f"{k.client_id}-status")
    await asyncio.wait_for(consumer.start(), timeout_s)
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        await asyncio.wait_for(consumer._client.force_metadata_update(), timeout_s)
        tps = [
            TopicPartition(topic_name(k, t), p)
            for t in TOPICS
            for p in sorted(consumer.partitions_for_topic(topic_name(k, t)) or ())
        ]
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout_s)
        then = await asyncio.wait_for(
            consumer.offsets_for_times({tp: int((time.time() - _RECENT_S) * 1000) for tp in tps}), timeout_s
        )
        topic_ends: dict[str, int] = defaultdict(int)
        recent: dict[str, int] = defaultdict(int)
        for tp in tps:
            logical = tp.topic.removeprefix(k.topic_prefix)
            topic_ends[logical] += ends[tp]
            found = then.get(tp)
            recent[logical] += ends[tp] - found.offset if found is not None else 0
        lag: dict[str, dict[int, int]] = {}
        for stage, topic in STAGES.items():
            committed = await asyncio.wait_for(
                admin.list_consumer_group_offsets(f"{k.topic_prefix}newsingest-{stage}"), timeout_s
            )
            real = topic_name(k, topic)
            lag[stage] = {}
            for tp in tps:
                if tp.topic == real:
                    start = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
                    lag[stage][tp.partition] = max(0, ends[tp] - start)
        await _count_small_lags(consumer, lag, k.topic_prefix, ends, timeout_s)
        return lag, dict(topic_ends), dict(recent)
    finally:
        await asyncio.wait_for(consumer.stop(), timeout_s)
        await admin.close()


async def _count_small_lags(
    consumer: Any, lag: dict[str, dict[int, int]], prefix: str, ends: dict[TopicPartition, int], timeout_s: float
) -> None:
    """Replace small offset gaps with the number of records in them.

    Transactions leave a commit marker after their records: a stage that is caught up
    has committed the offset *before* the marker, so offsets alone say "1 behind".
    Gaps up to ``_EXACT_MAX`` offsets are read (read_committed skips markers) and counted.
    """
    small = {
        TopicPartition(prefix + STAGES[stage], p): (stage, ends[TopicPartition(prefix + STAGES[stage], p)] - n)
        for stage, parts in lag.items()
        for p, n in parts.items()
        if 0 < n <= _EXACT_MAX
    }
    if not small:
        return
    # One stage's partition may be probed twice (two stages never share an input topic).
    consumer.assign(list(small))
    for tp, (_stage, start) in small.items():
        consumer.seek(tp, start)
    counts = dict.fromkeys(small, 0)
    deadline = asyncio.get_running_loop().time() + min(timeout_s, 5.0)
    while asyncio.get_running_loop().time() < deadline:
        pending = [tp for tp in small if await consumer.position(tp) < ends[tp]]
        if not pending:
            break
        for tp, records in (await consumer.getmany(*pending, timeout_ms=200)).items():
            counts[tp] += sum(1 for r in records if r.offset < ends[tp])
    for tp, (stage, _start) in small.items():
        if await consumer.position(tp) >= ends[tp]:
            lag[stage][tp.partition] = counts[tp]


async def _last_records(settings: Settings, logical: str, per_partition: int, timeout_s: float) -> list[dict[str, Any]]:
    """The newest committed records of a topic, newest first (values decoded)."""
    k = settings.kafka
    real = topic_name(k, logical)
    consumer = make_consumer(k, group_id=None)
    await asyncio.wait_for(consumer.start(), timeout_s)
    found: list[tuple[int, dict[str, Any]]] = []
    try:
        await asyncio.wait_for(consumer._client.force_metadata_update(), timeout_s)
        tps = [TopicPartition(real, p) for p in sorted(consumer.partitions_for_topic(real) or ())]
        if not tps:
            return []
        consumer.assign(tps)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout_s)
        starts = await asyncio.wait_for(consumer.beginning_offsets(tps), timeout_s)
        for tp in tps:
            consumer.seek(tp, max(starts[tp], ends[tp] - per_partition * 2))  # room for transaction markers
        deadline = asyncio.get_running_loop().time() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if asyncio.get_running_loop().time() > deadline:
                break
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for rec in records:
                    with contextlib.suppress(BadMessage):
                        found.append((rec.timestamp, decode_json(rec.value)))
    finally:
        await asyncio.wait_for(consumer.stop(), timeout_s)
    found.sort(key=lambda x: x[0], reverse=True)
    return [v for _, v in found]


async def collect_status(settings: Settings, services: dict[str, str], timeout_s: float = 20.0) -> PipelineStatus:
    """Read one snapshot of the pipeline from Kafka and the services."""
    from services.crawler.registry import list_feeds  # the crawler owns the feed registry

    async with httpx.AsyncClient() as client:
        (lag, ends, recent), feeds, (dead, bad), syria, svc = await asyncio.gather(
            _offsets(settings, timeout_s),
            list_feeds(settings),
            read_dead_letters(settings.kafka, last_per_partition=1000, timeout_s=timeout_s),
            _last_records(settings, "news.syria", 5, timeout_s),
            asyncio.gather(*(_service(client, n, u) for n, u in services.items())),
        )
    return PipelineStatus(
        at=time.time(),
        bootstrap=settings.kafka.bootstrap_servers,
        prefix=settings.kafka.topic_prefix,
        lag=lag,
        topic_ends=ends,
        topic_recent=recent,
        feeds=feeds,
        dead=dead,
        dead_unreadable=bad,
        syria=syria[:5],
        services={s.name: s for s in svc},
    )


# ---------------------------------------------------------------- rendering
def _age(ts: float | None, now: float) -> str:
    if not ts:
        return "never"
    s = max(0, int(now - ts))
    return f"{s}s ago" if s < 120 else f"{s // 60}m ago" if s < 7200 else f"{s // 3600}h ago"


def _rate(now: ServiceStatus | None, before: ServiceStatus | None, dt: float, metric: str, **labels: str) -> str:
    if now is None or before is None or dt <= 0 or not before.samples:
        return "-"
    return f"{max(0.0, now.total(metric, **labels) - before.total(metric, **labels)) / dt:.2f}/s"


def _stages_table(st: PipelineStatus, prev: PipelineStatus | None) -> Table:
    t = Table(title="Stages", title_justify="left", expand=True)
    for col in ("stage", "input", "ready", "in", "ok", "dropped", "dead", "out", "in rate", "lag (by partition)"):
        t.add_column(col, justify="right" if col in ("in", "ok", "dropped", "dead", "out") else "left", no_wrap=True)
    dt = st.at - prev.at if prev else 0.0
    crawler = st.services.get("crawler")
    if crawler is not None:
        pub, dup, dead = (
            int(crawler.total("newsingest_crawler_pages_total", outcome=o))
            for o in ("published", "duplicate", "dead_letter")
        )
        before = prev.services.get("crawler") if prev else None
        t.add_row(
            "crawler", "news.feeds", _ready(crawler), str(pub + dead), str(pub), str(dup), str(dead), str(pub),
            _rate(crawler, before, dt, "newsingest_crawler_pages_total", outcome="published"), "-",
        )  # fmt: skip
    for stage, topic in STAGES.items():
        svc = st.services.get(stage)
        before = prev.services.get(stage) if prev else None
        counts = ["-"] * 5  # in, ok, dropped, dead, out
        if svc is not None and svc.samples:
            items = "newsingest_stage_items_total"
            out = sum(
                v for (n, lab), v in svc.samples.items()
                if n == "newsingest_stage_outputs_total" and ("stage", stage) in lab
                and not dict(lab).get("topic", "").endswith(".state")
            )  # fmt: skip
            counts = [
                str(int(x))
                for x in (
                    svc.total(items, stage=stage),
                    svc.total(items, stage=stage, outcome="ok"),
                    svc.total(items, stage=stage, outcome="dropped"),
                    svc.total(items, stage=stage, outcome="dead_letter"),
                    out,
                )
            ]
        lag = st.lag.get(stage, {})
        behind = {p: n for p, n in sorted(lag.items()) if n}
        lag_text = Text(str(sum(lag.values())), style="bold red" if sum(lag.values()) > 100 else "green")
        lag_text.append(
            "  " + " ".join(f"p{p}:{n}" for p, n in behind.items()) if behind else f"  ({len(lag)} partitions)",
            style="dim",
        )
        t.add_row(
            stage, topic, _ready(svc), *counts,
            _rate(svc, before, dt, "newsingest_stage_items_total", stage=stage), lag_text,
        )  # fmt: skip
    return t


def _ready(svc: ServiceStatus | None) -> Text:
    if svc is None:
        return Text("?", style="dim")
    ok = svc.ready.startswith("ready")
    return Text("ready" if ok else svc.ready[:40], style="green" if ok else "bold red")


def _topics_table(st: PipelineStatus) -> Table:
    t = Table(title="Topics (offsets; transaction markers included)", title_justify="left", expand=True)
    t.add_column("topic")
    t.add_column("offsets", justify="right")
    t.add_column("last 5 min", justify="right")
    for name in TOPICS:
        if name in st.topic_ends:
            t.add_row(name, str(st.topic_ends[name]), str(st.topic_recent.get(name, 0)))
    return t


def _crawler_table(st: PipelineStatus) -> Table | None:
    svc = st.services.get("crawler")
    if svc is None or not svc.samples:
        return None
    t = Table(title="Crawler fetches", title_justify="left", expand=True)
    classes = ("2xx", "3xx", "4xx", "5xx", "error")
    for col in ("kind", *classes, "bytes", "robots denied"):
        t.add_column(col, justify="left" if col == "kind" else "right")
    for kind in ("feed", "page", "robots"):
        req = [str(int(svc.total("newsingest_crawler_requests_total", kind=kind, status_class=c))) for c in classes]
        size = svc.total("newsingest_crawler_fetched_bytes_total", kind=kind)
        denied = str(int(svc.total("newsingest_crawler_robots_denials_total"))) if kind == "page" else ""
        t.add_row(kind, *req, f"{size / 1e6:.2f} MB", denied)
    return t


def _feeds_table(st: PipelineStatus) -> Table:
    t = Table(title=f"Feeds ({len(st.feeds)})", title_justify="left", expand=True)
    for col in ("feed", "health", "last success", "errors", "items", "items/day", "last error"):
        t.add_column(col, overflow="ellipsis", no_wrap=True, justify="right" if col in ("errors", "items") else "left")
    rows = sorted(st.feeds, key=lambda f: (-(f.state.error_streak if f.state else 0), f.spec.id))
    for f in rows[:20]:
        s = f.state
        if s is None:
            health = Text("not polled", style="dim")
        elif s.disabled_reason:
            health = Text("disabled", style="bold red")
        elif s.error_streak:
            health = Text("failing", style="yellow")
        else:
            health = Text("ok", style="green")
        t.add_row(
            f.spec.id, health, _age(s.last_success_at if s else None, st.at), str(s.error_streak if s else 0),
            str(s.items_total if s else 0), f"{s.items_per_day:.1f}" if s and s.items_per_day else "-",
            ((s.last_error or "") if s else "")[:60],
        )  # fmt: skip
    if len(rows) > 20:
        t.caption = f"… {len(rows) - 20} more (newsingest feeds list)"
    return t


def _dead_table(st: PipelineStatus) -> Table:
    by = Counter((d.stage, d.error_class) for d in st.dead)
    t = Table(
        title=f"Dead letters ({len(st.dead)} read; {', '.join(f'{s}/{e}: {n}' for (s, e), n in by.most_common(4)) or 'none'})",
        title_justify="left",
        expand=True,
    )
    t.add_column("count", justify="right")
    t.add_column("stage")
    t.add_column("error class")
    t.add_column("reason", overflow="ellipsis", no_wrap=True)
    for stage, err, reason, n in top_reasons(st.dead, 5):
        t.add_row(str(n), stage, err, reason)
    if st.dead_unreadable:
        t.caption = f"{st.dead_unreadable} unreadable records on news.deadletter"
    return t


def _syria_table(st: PipelineStatus) -> Table:
    t = Table(title="Last Syria items", title_justify="left", expand=True)
    t.add_column("tagged", no_wrap=True, min_width=19)
    t.add_column("source", no_wrap=True, min_width=12)
    t.add_column("grade", no_wrap=True, justify="right")
    t.add_column("title", overflow="ellipsis", no_wrap=True, ratio=1)
    for a in st.syria:
        syria = (a.get("tags") or {}).get("syria") or {}
        t.add_row(
            str(a.get("tagged_at") or "")[:19].replace("T", " "),
            str(a.get("source") or "?"),
            str(syria.get("grade", "?")),
            str(a.get("title") or "(no title)")[:90],
        )
    return t


def render_status(st: PipelineStatus, prev: PipelineStatus | None = None) -> Group:
    """The whole view as one rich renderable."""
    when = datetime.fromtimestamp(st.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    head = Text.assemble(("newsingest status", "bold"), f"  {when}  kafka {st.bootstrap}")
    if st.prefix:
        head.append(f"  prefix {st.prefix}")
    if not st.services:
        head.append("\n(no service addresses: readiness and counters need --service name=url)", style="dim")
    parts: list[Any] = [head, _stages_table(st, prev)]
    crawler = _crawler_table(st)
    if crawler is not None:
        parts.append(crawler)
    parts += [_feeds_table(st), _dead_table(st), _syria_table(st), _topics_table(st)]
    return Group(*parts)


async def _status_async(
    settings: Settings, services: dict[str, str], watch: bool, interval_s: float, console: Console
) -> int:
    prev = await collect_status(settings, services) if services else None
    if prev is not None:
        await asyncio.sleep(min(interval_s, 2.0))  # a second sample gives rates
    st = await collect_status(settings, services)
    if not watch:
        console.print(render_status(st, prev))
        return 0
    with Live(render_status(st, prev), console=console, refresh_per_second=1, screen=False) as live:
        while True:
            await asyncio.sleep(interval_s)
            prev, st = st, await collect_status(settings, services)
            live.update(render_status(st, prev))


def status(settings: Settings, services: dict[str, str], *, watch: bool = False, interval_s: float = 5.0) -> int:
    """Print the pipeline's status once, or refresh it every ``interval_s`` until Ctrl-C."""
    console = Console()
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_status_async(settings, services, watch, interval_s, console))
    return 0


def command(a: Any) -> int:
    """``newsingest status [--watch]`` (``a`` is the parsed argparse namespace)."""
    from services.runtime.config import get_settings

    services = load_services(a.service, a.services_file)
    return status(get_settings(), services, watch=a.watch, interval_s=a.interval)
