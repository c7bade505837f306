"""Errors raised by the crawler.

Retriable errors (timeouts, network failures, 429/5xx) back a feed or host off and are
tried again; rejected inputs (too large, blocked address, robots, 4xx, unusable content)
become a dead letter or a feed-health error with the reason.
"""

from __future__ import annotations

from services.errors import RejectedInput, RetriableError

__all__ = [
    "BadUrl",
    "BlockedAddress",
    "FeedParseError",
    "FetchNetworkError",
    "FetchTimeout",
    "FetchTooLarge",
    "HttpStatusError",
    "RobotsDenied",
    "ServerBusy",
    "TooManyRedirects",
    "UnsupportedContent",
]


class FetchTimeout(RetriableError):
    """Connect, read or total time limit reached (slow drip servers end here)."""


class FetchNetworkError(RetriableError):
    """Connection refused or reset, DNS failure, broken transfer encoding."""


class ServerBusy(RetriableError):
    """429 or 5xx: the server asked us to come back later."""

    def __init__(self, message: str, *, status: int, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class HttpStatusError(RejectedInput):
    """A 4xx answer other than 429: this URL will not work as it is."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def gone(self) -> bool:
        """404 and 410 count toward disabling a feed."""
        return self.status in (404, 410)


class FetchTooLarge(RejectedInput):
    """The body (raw or decompressed) exceeded its cap; a gzip bomb ends here."""


class BlockedAddress(RejectedInput):
    """The host resolved to an address the SSRF guard refuses."""


class BadUrl(RejectedInput):
    """Not an http(s) URL we can fetch."""


class TooManyRedirects(RejectedInput):
    """More redirects than allowed, or a redirect loop."""


class RobotsDenied(RejectedInput):
    """robots.txt disallows this URL for our agent."""


class UnsupportedContent(RejectedInput):
    """A content type we never fetch as a page or a feed (images, PDFs, binaries)."""


class FeedParseError(RejectedInput):
    """The document is neither a feed, a sitemap nor an HTML page with a feed link."""
