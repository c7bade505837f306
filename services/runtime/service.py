"""Process entry points: signals, logging, and running one stage until told to stop.

SIGTERM or SIGINT asks the service to stop taking work, finish or abort the open batch,
commit and close; a second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable

from services.runtime.config import Settings, get_settings
from services.runtime.handler import Handler
from services.runtime.logs import setup_logging
from services.runtime.stage import Offload, StageRunner

__all__ = ["install_stop_signals", "run_forever", "run_stage"]

log = logging.getLogger(__name__)


def install_stop_signals(stop: asyncio.Event) -> None:
    """First SIGTERM/SIGINT sets ``stop``; the second one exits immediately."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("second signal, exiting now", extra={"signal": sig.name})
            os._exit(128 + sig.value)
        log.info("stopping", extra={"signal": sig.name})
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)


def run_forever(main: Callable[[Settings, asyncio.Event], Awaitable[None]]) -> int:
    """Run ``main(settings, stop)`` with JSON logs and stop signals; return an exit code."""
    settings = get_settings()
    setup_logging(settings.log_level)

    async def runner() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await main(settings, stop)

    try:
        asyncio.run(runner())
    except Exception:
        log.exception("service crashed")
        return 1
    return 0


def run_stage(factory: Callable[[], Handler], input_topic: str, offload: Offload) -> int:
    """Run one stage service (clean, dedupe, tag) until stopped."""

    async def main(settings: Settings, stop: asyncio.Event) -> None:
        handler = factory()
        runner = StageRunner(handler, settings, input_topic=input_topic, offload=offload, factory=factory)
        await runner.run(stop)

    return run_forever(main)
