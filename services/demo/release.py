"""Drip release of the demo articles: which of them are published at the clock's current time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from services.demo.content import Article

__all__ = ["INITIAL_ITEMS", "RELEASE", "Release"]

log = logging.getLogger(__name__)

#: Fewest articles listed at start in drip mode, before the first drip interval has passed.
INITIAL_ITEMS = 3


class Release:
    """Which of the (oldest-first) articles are published at the clock's current time."""

    def __init__(
        self, articles: Sequence[Article], drip_seconds: float, clock: Callable[[], float], initial: int = INITIAL_ITEMS
    ) -> None:
        self._articles = list(articles)
        self._drip = drip_seconds
        self._clock = clock
        self._start = clock()
        # Release in date order, but far enough that every outlet's feed starts non-empty.
        first_seen: dict[str, int] = {}
        for i, a in enumerate(self._articles):
            first_seen.setdefault(a.outlet, i)
        self._initial = max([initial, *(i + 1 for i in first_seen.values())])
        self._announced = 0

    @property
    def articles(self) -> list[Article]:
        """Every article, released or not, oldest first."""
        return self._articles

    def count(self) -> int:
        """How many articles are out now; logs each newly released one once."""
        total = len(self._articles)
        n = total
        if self._drip > 0:
            n = min(total, self._initial + int((self._clock() - self._start) // self._drip))
        for a in self._articles[self._announced : n] if self._drip > 0 else ():
            log.info("article released", extra={"outlet": a.outlet, "article_id": a.id, "title": a.title})
        self._announced = max(self._announced, n)
        return n

    @property
    def initial(self) -> int:
        """How many articles are out before the first drip interval."""
        return self._initial

    def released(self) -> list[Article]:
        """The articles published so far, oldest first."""
        return self._articles[: self.count()]


#: The app's :class:`Release`, for callers that want to report drip progress.
RELEASE: web.AppKey[Release] = web.AppKey("newsingest.demo.release", Release)
