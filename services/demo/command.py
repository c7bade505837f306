"""``python -m services.demo``: serve the demo site until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from services.demo.errors import DemoError
from services.demo.logs import configure_logging
from services.demo.site import feed_urls, serve

__all__ = ["main"]

log = logging.getLogger(__name__)

_DESCRIPTION = "The local demo news site that ``make run`` starts and the crawler tests poll."


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.demo", description=_DESCRIPTION)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8800, help="0 picks a free port (default 8800)")
    p.add_argument("--drip-seconds", type=float, default=5.0, help="release one article every N s; 0 = all at once")
    p.add_argument("--real-dir", type=Path, default=None, help="serve real pages from this folder (../shared/data)")
    p.add_argument("--real-limit", type=int, default=50, help="at most this many real pages (default 50)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


async def _serve_until_signalled(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with serve(
            args.host,
            args.port,
            drip_seconds=args.drip_seconds,
            real_dir=args.real_dir.resolve() if args.real_dir else None,
            real_limit=args.real_limit,
        ) as site:
            log.info("demo feeds", extra={"feeds": feed_urls(site.base_url, real=args.real_dir is not None)})
            await stop.wait()
            # A second signal during shutdown gets the default behaviour: exit at once.
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            log.info("demo site stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: serve until SIGINT/SIGTERM; 2 when it cannot start."""
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        asyncio.run(_serve_until_signalled(args))
    except DemoError as exc:
        log.error("demo site cannot start", extra={"reason": exc.reason})
        return 2
    return 0
