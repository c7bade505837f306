"""``/livez``, ``/readyz`` and ``/metrics`` for every service.

``/livez`` only says the event loop answers; ``/readyz`` asks the service (connected,
assigned, caught up); ``/metrics`` is the Prometheus text exposition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

__all__ = ["BrokerWatch", "HealthServer"]

log = logging.getLogger(__name__)


class HealthServer:
    """A tiny HTTP server; ``ready`` returns ``(ok, detail)``."""

    def __init__(self, host: str, port: int, ready: Callable[[], tuple[bool, str]]) -> None:
        self._host, self._port, self._ready = host, port, ready
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _livez(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        ok, detail = self._ready()
        return web.Response(status=200 if ok else 503, text=f"{'ready' if ok else 'not ready'}: {detail}\n")

    async def _metrics(self, _: web.Request) -> web.Response:
        resp = web.Response(body=generate_latest(REGISTRY))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(
            [web.get("/livez", self._livez), web.get("/readyz", self._readyz), web.get("/metrics", self._metrics)]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("health server listening", extra={"host": self._host, "port": self.port})

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> HealthServer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class BrokerWatch:
    """Asks the broker a cheap question every ``interval_s``; readiness fails while it does not answer.

    A Kafka client that has lost its broker keeps retrying quietly: ``getmany`` just
    returns nothing, so a service would look ready while it moves no data.  ``probe`` is
    any awaitable broker round trip (a metadata request); the watch only times it.
    """

    def __init__(self, probe: Callable[[], Awaitable[object]], *, interval_s: float, timeout_s: float) -> None:
        self._probe, self._interval_s, self._timeout_s = probe, interval_s, timeout_s
        self._failing_since: float | None = None
        self._error = ""
        self._task: asyncio.Task[None] | None = None

    def state(self) -> tuple[bool, str]:
        if self._failing_since is None:
            return True, "broker reachable"
        return False, f"broker unreachable for {time.monotonic() - self._failing_since:.0f}s ({self._error})"

    async def check(self) -> bool:
        """One probe; remembers since when the broker has not answered."""
        try:
            await asyncio.wait_for(self._probe(), self._timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure of the round trip means "not reachable now"
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                log.warning("broker unreachable", extra={"error": repr(exc)})
            self._error = type(exc).__name__
            return False
        if self._failing_since is not None:
            log.info("broker reachable again", extra={"after_s": round(time.monotonic() - self._failing_since, 1)})
        self._failing_since = None
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-watch")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
