"""``python -m services.crawler``: one crawler instance in registry mode (settings from env).

SIGTERM/SIGINT stop it cleanly (polls stopped, state committed, group left).
"""

from __future__ import annotations

import asyncio
import sys

from services.crawler.config import CrawlerSettings
from services.crawler.service import run_crawler
from services.runtime.config import Settings
from services.runtime.service import run_forever


def main() -> int:
    """Run until a stop signal; exit code 0 after a clean stop, 1 after a crash."""

    async def crawl(settings: Settings, stop: asyncio.Event) -> None:
        await run_crawler(settings, CrawlerSettings(), stop=stop)

    return run_forever(crawl)


if __name__ == "__main__":
    sys.exit(main())
