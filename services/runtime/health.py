"""``/livez``, ``/readyz`` and ``/metrics`` for every service.

``/livez`` only says the event loop answers; ``/readyz`` asks the service (connected,
assigned, caught up); ``/metrics`` is the Prometheus text exposition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

__all__ = ["HealthServer"]

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
