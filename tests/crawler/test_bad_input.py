"""Every feed file of the shared test corpora, served by a local server, through a poll.

feedparser's conformance suite (2,107 files: ill-formed, odd encodings, entities, JSON)
and the real-world fixtures of five other parsers.  Nothing may crash the crawler: each
document ends as entries handled (pages or dead letters) or as a feed-health error with
a reason.  Entry links point at outside hosts; ``only_allowed`` makes the guard refuse
them before any DNS query, so no test reaches the internet.
"""

from __future__ import annotations

import asyncio
import re
import tarfile
from collections import Counter
from pathlib import Path

from aiohttp import web

from services.crawler.http import HttpClient
from services.crawler.politeness import PoliteFetcher
from services.crawler.poller import FeedPoller
from services.crawler.registry import FeedSpec
from services.crawler.state import FeedState
from tests.crawler.conftest import crawler_cfg
from tests.crawler.test_poller import ListOutbox

_HEADER = re.compile(rb"^Header:\s*Content-type:\s*(.+?)\s*$", re.I | re.M)
_TYPES = {".json": "application/json", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def corpus(shared: Path) -> dict[str, tuple[bytes, str]]:
    files: dict[str, tuple[bytes, str]] = {}
    archives = [shared / "data/feedparser-tests/feedparser-tests.tar.xz"]
    archives += sorted((shared / "data/feed-parser-fixtures").glob("*.tar.xz"))
    for archive in archives:
        with tarfile.open(archive, "r:xz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                declared = _HEADER.search(data[:2048])
                ctype = declared.group(1).decode("latin-1") if declared else None
                suffix = Path(member.name).suffix.lower()
                ctype = ctype or _TYPES.get(suffix, "application/xml")
                files[f"/{archive.stem.split('.')[0]}/{member.name}"] = (data, ctype)
    return files


async def test_every_corpus_file_goes_through_a_poll(shared_dir: Path) -> None:
    files = corpus(shared_dir)
    assert len(files) > 3000

    async def serve(request: web.Request) -> web.Response:
        data, ctype = files[request.path]
        return web.Response(body=data, headers={"Content-Type": ctype})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    cfg = crawler_cfg(only_allowed=True, obey_robots=False, per_host_concurrency=64, max_inflight_fetches=64)
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    try:
        async with HttpClient(cfg) as http:
            outbox = ListOutbox()
            poller = FeedPoller(cfg, PoliteFetcher(http, cfg), outbox)  # type: ignore[arg-type]
            sem = asyncio.Semaphore(32)

            async def one(path: str) -> None:
                spec = FeedSpec(id=path, url=f"http://127.0.0.1:{port}{path}")
                st = FeedState(feed_id=spec.id, url=spec.url)
                async with sem:
                    await poller.poll(spec, st)  # must not raise
                if st.error_streak:
                    assert st.last_error, path
                    outcomes["feed-health error"] += 1
                    reasons[st.last_error.split(":")[0]] += 1
                elif st.kind is None and st.url != spec.url:
                    outcomes["autodiscovered"] += 1
                else:
                    outcomes["parsed"] += 1

            await asyncio.gather(*(one(p) for p in files))
    finally:
        await runner.cleanup()
    dead = outbox.records("news.deadletter")
    print(f"\n{len(files)} files: {dict(outcomes)}; errors by class: {dict(reasons)}; dead letters: {len(dead)}")
    assert sum(outcomes.values()) == len(files)
    assert outcomes["parsed"] > len(files) // 2
    # Entry links pointed outside: each became a dead letter with the guard's reason.
    assert dead
    assert all(d.value and d.value["error_class"] in ("BlockedAddress", "BadUrl") for d in dead)
    assert not outbox.records("news.raw")
