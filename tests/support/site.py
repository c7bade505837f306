"""A real local web server on 127.0.0.1 whose routes tests set while it runs (never a live site)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["Handler", "Site", "serve_site"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Site:
    """A local web server whose routes tests add while it runs."""

    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def static(self, path: str, body: bytes | str, content_type: str = "text/html", **headers: str) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handler(_: web.Request) -> web.Response:
            return web.Response(body=data, headers={"Content-Type": content_type, **headers})

        self.routes[path] = handler

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.log.append((path, dict(request.headers)))
        handler = self.routes.get(path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)


@contextlib.asynccontextmanager
async def serve_site() -> AsyncIterator[Site]:
    """Run a :class:`Site` on a free port of 127.0.0.1 until the block exits."""
    s = Site()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", s.dispatch)  # every method: WebSub hubs are POSTed to
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    s.port = runner.addresses[0][1]
    try:
        yield s
    finally:
        await runner.cleanup()
