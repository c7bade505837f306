"""The project's exception tree.

Every error the services raise derives from :class:`NewsIngestError`.  Behaviour lives
on the class, so the stage runtime never needs an ``isinstance`` ladder:

- ``retriable``: the same input may succeed later (network, broker); back off and retry.
- ``to_dead_letter``: the input can never succeed; publish it to ``news.deadletter``
  with the reason and move on.

::

    NewsIngestError
    ├── ConfigError                      bad settings; the process exits
    ├── RetriableError                   retriable=True
    │   └── (services.runtime.errors)    BrokerUnavailable, ...
    │   └── (services.crawler.errors)    FetchTimeout, FetchNetworkError, ...
    └── RejectedInput                    to_dead_letter=True
        ├── (services.runtime.errors)    BadMessage (not JSON / schema mismatch)
        ├── (services.clean.errors)      DecodeError, ExtractionFailed, ExtractionTimeout, ...
        ├── (services.dedupe.errors)     ...
        └── (services.tag.errors)        ...
"""

from __future__ import annotations

__all__ = ["ConfigError", "NewsIngestError", "RejectedInput", "RetriableError"]


class NewsIngestError(Exception):
    """Root of every error raised by newsingest."""

    retriable: bool = False
    to_dead_letter: bool = False

    @property
    def reason(self) -> str:
        """A short, human-readable reason for logs and dead-letter records."""
        return str(self) or type(self).__name__


class ConfigError(NewsIngestError):
    """Settings are missing or invalid; the process cannot start."""


class RetriableError(NewsIngestError):
    """A transient failure: the same work may succeed after a back-off."""

    retriable = True


class RejectedInput(NewsIngestError):
    """The input can never be processed; it goes to the dead-letter topic with a reason."""

    to_dead_letter = True
