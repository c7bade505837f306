"""Errors raised by the dedupe stage.

::

    RejectedInput
    └── InvalidArticle       the message lacks an id or a text; it can never be deduplicated
"""

from __future__ import annotations

from services.errors import RejectedInput

__all__ = ["InvalidArticle"]


class InvalidArticle(RejectedInput):
    """The input article misses a field dedupe needs (``id``, ``text``) or has the wrong type."""
