"""Per-feed crawl state and the pure rules that move it: schedule, back-off, validators.

The state is a JSON object on ``news.crawler.state`` keyed by feed id (compacted), so a
restarted or reassigned crawler resumes where the previous owner stopped: validators,
body hash, seen entry keys, next poll time, error streak and health figures.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from services.crawler.config import CrawlerSettings

__all__ = ["FeedState", "bounds", "schedule_failure", "schedule_success"]

STATE_VERSION = 1
_DAY = 86400.0
_RATE_ALPHA = 0.3  # weight of the newest observation in the items/day average


@dataclass(slots=True)
class FeedState:
    """Everything the crawler remembers about one feed between polls."""

    feed_id: str
    url: str  # the URL actually polled (differs from the registry's after autodiscovery)
    spec_url: str | None = None  # the registry URL this state was built for
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    validators_unreliable: bool = False  # server reuses validators for changed content
    validator_churn: int = 0  # times validators changed while the body did not
    seen: list[str] = field(default_factory=list)  # entry keys, oldest first
    attempts: dict[str, int] = field(default_factory=dict)  # entry key -> retriable failures
    next_poll_at: float = 0.0
    interval_s: float | None = None
    last_poll_at: float | None = None
    last_success_at: float | None = None
    last_new_at: float | None = None
    error_streak: int = 0
    gone_streak: int = 0
    last_error: str | None = None
    last_status: int | None = None
    disabled_reason: str | None = None
    disabled_revision: float | None = None  # registry revision the feed was disabled under
    items_total: int = 0
    items_per_day: float | None = None
    polls: int = 0
    hub: str | None = None  # WebSub hub the feed advertises
    topic: str | None = None  # the feed's self URL, the WebSub topic
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON value for the state topic."""
        # Shallow copy (asdict deep-copies field by field, slow with 2,000 seen keys).
        d: dict[str, Any] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        d["seen"] = list(self.seen)
        d["attempts"] = dict(self.attempts)
        d["schema_version"] = STATE_VERSION
        return d

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> FeedState:
        """Inverse of :meth:`to_dict`; unknown keys (from newer versions) are ignored."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in value.items() if k in names})

    def remember(self, keys: list[str], cap: int) -> None:
        """Add entry keys to the seen list, dropping the oldest beyond ``cap``."""
        present = set(self.seen)
        self.seen.extend(k for k in keys if k not in present)
        if len(self.seen) > cap:
            del self.seen[: len(self.seen) - cap]
        for k in keys:
            self.attempts.pop(k, None)

    def conditional_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since, unless this server's validators are unreliable."""
        if self.validators_unreliable:
            return {}
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def bounds(cfg: CrawlerSettings, min_s: float | None, max_s: float | None) -> tuple[float, float]:
    """The poll interval bounds of a feed: its own if set, else the configured ones."""
    lo = min_s if min_s is not None else cfg.poll_min_interval_s
    hi = max_s if max_s is not None else cfg.poll_max_interval_s
    return lo, max(lo, hi)


def _jittered(interval: float, jitter: float, rng: random.Random) -> float:
    return max(0.0, interval * (1.0 + rng.uniform(-jitter, jitter)))


def schedule_success(  # noqa: PLR0917 - the call sites name the bounds
    st: FeedState,
    new_items: int,
    cfg: CrawlerSettings,
    lo: float,
    hi: float,
    now: float | None = None,
    rng: random.Random | None = None,
) -> None:
    """Update rate, health and next poll after a good poll.

    The interval aims at about one new item per poll: a feed publishing 48 items a day
    is polled every ~30 minutes (within bounds), a silent one backs off by 1.5x per
    empty poll.
    """
    now = time.time() if now is None else now
    rng = rng or random.Random()
    if st.last_success_at is not None and now > st.last_success_at:
        observed = new_items * _DAY / max(now - st.last_success_at, 1.0)
        st.items_per_day = (
            observed if st.items_per_day is None else (1 - _RATE_ALPHA) * st.items_per_day + _RATE_ALPHA * observed
        )
    if new_items:
        st.last_new_at = now
    st.items_total += new_items
    if st.items_per_day:
        interval = _DAY / st.items_per_day
    elif st.interval_s is not None:
        interval = st.interval_s * 1.5
    else:
        interval = lo
    st.interval_s = min(max(interval, lo), hi)
    st.error_streak = 0
    st.gone_streak = 0
    st.last_error = None
    st.last_success_at = now
    st.last_poll_at = now
    st.polls += 1
    st.next_poll_at = now + _jittered(st.interval_s, cfg.poll_jitter, rng)


def schedule_failure(
    st: FeedState,
    reason: str,
    cfg: CrawlerSettings,
    *,
    status: int | None = None,
    gone: bool = False,
    retry_after_s: float | None = None,
    now: float | None = None,
    rng: random.Random | None = None,
) -> None:
    """Record a failed poll: exponential back-off (or Retry-After), capped; disable by policy."""
    now = time.time() if now is None else now
    rng = rng or random.Random()
    st.error_streak += 1
    st.gone_streak = st.gone_streak + 1 if gone else 0
    st.last_error = reason[:500]
    st.last_status = status
    st.last_poll_at = now
    st.polls += 1
    wait = min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** min(st.error_streak - 1, 20))
    if retry_after_s is not None:
        wait = min(cfg.backoff_max_s, max(wait, retry_after_s))
    st.next_poll_at = now + _jittered(wait, cfg.poll_jitter, rng)
    if gone and st.gone_streak >= cfg.gone_disable_after:
        st.disabled_reason = f"gone: HTTP {status} {st.gone_streak} times in a row"
    elif st.error_streak >= cfg.error_disable_after:
        st.disabled_reason = f"failing: {st.error_streak} errors in a row, last: {st.last_error}"
