"""The simulated news web: N hosts (Host-header virtual hosts on one loopback server).

Host ``hNNN.bench.test`` publishes entry *k* at ``t0 + (k + phase) / rate``; its feed
lists the latest ``feed_len`` entries that have appeared; ``/a/<k>`` is a ~16 KB page.
Appearance times are computable from the entry id, so the benchmark measures the time
from an entry appearing to its page being committed on news.raw without asking the
server.  Runs in its own process so it does not share the crawler's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import signal
import socket
import time
from email.utils import formatdate

from aiohttp import web

__all__ = ["Sim", "appear_time", "host_name", "run_server"]

_WORDS = [
    "دمشق",
    "حلب",
    "الرقة",
    "دير",
    "الزور",
    "إدلب",
    "حمص",
    "اللاذقية",
    "درعا",
    "السويداء",
    "القامشلي",
    "ceasefire",
    "council",
    "ministry",
    "aid",
    "convoy",
    "border",
    "crossing",
    "talks",
    "statement",
]


def host_name(i: int) -> str:
    return f"h{i:03d}.bench.test"


def appear_time(t0: float, rate: float, hosts: int, host: int, k: int) -> float:
    """When entry ``k`` of ``host`` appears (phases spread hosts over one period)."""
    return t0 + (k + host / hosts) / rate


def _page(host: int, k: int, filler: str) -> bytes:
    return (
        f"<!doctype html><html lang=ar><head><meta charset=utf-8><title>خبر {k} من {host}</title></head>"
        f"<body><article><h1>خبر {k}</h1><p>{filler}</p></article></body></html>"
    ).encode()


def _app(t0: float, rate: float, hosts: int, feed_len: int, port: int) -> web.Application:
    filler = " ".join(_WORDS[(i * 7) % len(_WORDS)] for i in range(1400))  # ~16 KB in UTF-8

    def host_of(request: web.Request) -> int:
        name = request.host.split(":")[0]
        return int(name[1:4]) if name.startswith("h") else 0

    async def feed(request: web.Request) -> web.Response:
        h = host_of(request)
        now = time.time()
        latest = math.floor((now - t0) * rate - h / hosts)
        items = []
        for k in range(max(0, latest - feed_len + 1), latest + 1):
            when = formatdate(appear_time(t0, rate, hosts, h, k), usegmt=True)
            link = f"http://{host_name(h)}:{port}/a/{k}"
            items.append(
                f"<item><title>خبر {k}</title><link>{link}</link><guid isPermaLink='false'>{h}-{k}</guid>"
                f"<pubDate>{when}</pubDate></item>"
            )
        body = f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>h{h}</title>{''.join(items)}</channel></rss>"
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            body=_page(host_of(request), int(request.match_info["k"]), filler), content_type="text/html"
        )

    async def robots(_: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /private/\n")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/a/{k}", page)
    app.router.add_get("/robots.txt", robots)
    return app


def run_server(port: int, t0: float, rate: float, hosts: int, feed_len: int) -> None:
    """Process entry point: serve until SIGTERM."""

    async def main() -> None:
        runner = web.AppRunner(_app(t0, rate, hosts, feed_len, port), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


class Sim:
    """The server process as a context manager."""

    def __init__(self, port: int, t0: float, rate: float, hosts: int, feed_len: int = 20) -> None:
        self.args = (port, t0, rate, hosts, feed_len)
        self.proc = multiprocessing.get_context("spawn").Process(target=run_server, args=self.args, daemon=True)

    def __enter__(self) -> Sim:
        self.proc.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a loaded machine takes a while to spawn Python
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.args[0]), timeout=1):
                return self
            time.sleep(0.2)
        raise RuntimeError("simulated news server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.join(10)
