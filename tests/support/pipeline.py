"""The whole pipeline in this process: crawler and the three stages on one stop event."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.clean.handler import CleanHandler
from services.crawler.registry import FeedSpec
from services.crawler.service import run_crawler
from services.dedupe.handler import DedupeHandler
from services.runtime.config import Settings
from services.runtime.stage import Offload, StageRunner
from services.tag.handler import TagHandler
from tests.crawler.conftest import crawler_cfg

__all__ = ["in_process_pipeline"]


@contextlib.asynccontextmanager
async def in_process_pipeline(
    settings: Settings, feeds: list[FeedSpec], *, clean_offload: Offload = "process"
) -> AsyncIterator[None]:
    """Crawl ``feeds`` and run clean, dedupe and tag until the block exits; fail if a service failed."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_crawler(settings, crawler_cfg(), feeds=feeds, stop=stop)),
        asyncio.create_task(
            StageRunner(CleanHandler(), settings, input_topic="news.raw", offload=clean_offload).run(stop)
        ),
        asyncio.create_task(
            StageRunner(DedupeHandler(), settings, input_topic="news.clean", offload="prepare").run(stop)
        ),
        asyncio.create_task(StageRunner(TagHandler(), settings, input_topic="news.unique", offload="thread").run(stop)),
    ]
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 90)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, f"a service failed: {errors!r}"
