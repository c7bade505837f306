"""WebSub: a push path beside polling, for feeds that advertise a hub.

The crawler subscribes to a feed's hub with a callback URL on this instance
(``websub_callback_url`` + ``/<feed id>``) and a per-feed secret.  The hub verifies
the subscription (GET with ``hub.challenge``, echoed only for a subscription we asked
for) and then POSTs new content, signed with ``X-Hub-Signature``.  A correctly signed
push does not trust the pushed body: it makes the feed poll now (conditional GET,
politeness and the SSRF guard as always), at most once per ``websub_min_gap_s``.
Unsigned or badly signed pushes are acknowledged and ignored, as the spec requires.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from services.crawler.config import CrawlerSettings
from services.crawler.http import HttpClient

__all__ = ["WebSubServer", "feed_secret", "subscribe"]

log = logging.getLogger(__name__)

_MAX_PUSH = 4 * 1024 * 1024
_ALGOS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def feed_secret(cfg: CrawlerSettings, feed_id: str) -> str | None:
    """The hub.secret of one feed: HMAC of its id under the configured key."""
    if cfg.websub_secret is None:
        return None
    key = cfg.websub_secret.get_secret_value().encode()
    return hmac.new(key, feed_id.encode(), hashlib.sha256).hexdigest()[:40]


def signature_ok(secret: str, header: str | None, body: bytes) -> bool:
    """Check ``X-Hub-Signature: <algo>=<hex>`` against the body."""
    if not header or "=" not in header:
        return False
    algo, _, digest = header.partition("=")
    fn = _ALGOS.get(algo.strip().lower())
    if fn is None:
        return False
    expected = hmac.new(secret.encode(), body, fn).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


@dataclass(slots=True)
class _Sub:
    hub: str
    topic: str
    requested_at: float
    expires_at: float | None = None


class WebSubServer:
    """The callback endpoint and the subscriptions of one crawler instance."""

    def __init__(self, cfg: CrawlerSettings, poke: Callable[[str], None]) -> None:
        self.cfg = cfg
        self._poke = poke
        self.subs: dict[str, _Sub] = {}
        self._last_push: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.pushes = 0

    async def start(self) -> None:
        """Listen on ``websub_host:websub_port``."""
        app = web.Application(client_max_size=_MAX_PUSH)
        app.router.add_get("/{feed_id}", self._verify)
        app.router.add_post("/{feed_id}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.websub_host, self.cfg.websub_port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Stop listening; idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def callback_for(self, feed_id: str) -> str:
        """Our callback URL for one feed."""
        base = (self.cfg.websub_callback_url or "").rstrip("/")
        return f"{base}/{feed_id}"

    def needs_subscription(self, feed_id: str, hub: str, topic: str, now: float | None = None) -> bool:
        """True when the feed has no live subscription to this hub and topic."""
        now = time.time() if now is None else now
        sub = self.subs.get(feed_id)
        if sub is None or sub.hub != hub or sub.topic != topic:
            return True
        if sub.expires_at is None:
            return now - sub.requested_at > 3600  # the hub never verified: ask again hourly
        return sub.expires_at - now < 86400

    async def _verify(self, request: web.Request) -> web.Response:
        feed_id = request.match_info["feed_id"]
        q = request.query
        sub = self.subs.get(feed_id)
        mode, topic, challenge = q.get("hub.mode"), q.get("hub.topic"), q.get("hub.challenge")
        if mode == "denied":
            self.subs.pop(feed_id, None)
            return web.Response(text="ok")
        if sub is None or topic != sub.topic or not challenge or mode not in ("subscribe", "unsubscribe"):
            return web.Response(status=404, text="unknown subscription")
        if mode == "subscribe":
            lease = q.get("hub.lease_seconds", "")
            sub.expires_at = time.time() + (int(lease) if lease.isdigit() else self.cfg.websub_lease_s)
        return web.Response(text=challenge)

    async def _push(self, request: web.Request) -> web.Response:
        feed_id = request.match_info["feed_id"]
        body = await request.read()
        secret = feed_secret(self.cfg, feed_id)
        if feed_id not in self.subs or secret is None:
            return web.Response(status=410, text="not subscribed")
        if not signature_ok(secret, request.headers.get("X-Hub-Signature"), body):
            log.warning("websub push with a bad signature ignored", extra={"feed_id": feed_id})
            return web.Response(status=202)  # acknowledged, ignored (WebSub 8)
        now = time.monotonic()
        if now - self._last_push.get(feed_id, -1e9) >= self.cfg.websub_min_gap_s:
            self._last_push[feed_id] = now
            self.pushes += 1
            self._poke(feed_id)
        return web.Response(status=202)


async def subscribe(http: HttpClient, server: WebSubServer, feed_id: str, hub: str, topic: str) -> int:
    """Ask ``hub`` for pushes of ``topic`` to our callback; returns the hub's status (202 expected)."""
    secret = feed_secret(server.cfg, feed_id)
    data = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": server.callback_for(feed_id),
        "hub.lease_seconds": str(server.cfg.websub_lease_s),
    }
    if secret:
        data["hub.secret"] = secret
    server.subs[feed_id] = _Sub(hub=hub, topic=topic, requested_at=time.time())
    return await http.post_form(hub, data)
