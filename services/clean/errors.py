"""Errors of the clean stage.

Every one is a :class:`services.errors.RejectedInput`: a page that cannot be cleaned now
will not be cleanable later, so it goes to the dead-letter topic with its reason.

::

    RejectedInput
    └── CleanError
        ├── NotAnArticle          non-2xx status, non-HTML content type
        ├── DecodeError           body missing, not base64, or not decodable as text
        ├── ExtractionTooLarge    body over the byte cap, rejected before parsing
        ├── ExtractionTimeout     the per-document time limit ran out (raised by the runner)
        ├── ExtractionMemory      the worker's memory guard tripped (raised by the runner)
        └── ExtractionFailed      the parser broke, or no main text was found
            └── EmptyText         extraction ran but found no main text
"""

from __future__ import annotations

from services.errors import RejectedInput

__all__ = [
    "CleanError",
    "DecodeError",
    "EmptyText",
    "ExtractionFailed",
    "ExtractionMemory",
    "ExtractionTimeout",
    "ExtractionTooLarge",
    "NotAnArticle",
]


class CleanError(RejectedInput):
    """Root of the clean stage's errors."""


class NotAnArticle(CleanError):
    """The fetched response is not an HTML page (status or content type)."""


class DecodeError(CleanError):
    """The body is missing or cannot be turned into text."""


class ExtractionTooLarge(CleanError):
    """The body is larger than the configured cap; it is rejected before parsing."""


class ExtractionTimeout(CleanError):
    """Extraction ran past the per-document time limit."""


class ExtractionMemory(CleanError):
    """Extraction tripped the worker's memory guard."""


class ExtractionFailed(CleanError):
    """The extractor could not produce an article from the page."""


class EmptyText(ExtractionFailed):
    """Extraction ran but found no main text."""
