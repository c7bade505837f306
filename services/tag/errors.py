"""Errors of the tag stage.

::

    RejectedInput
    └── TagError
        └── InvalidArticle      the message lacks a usable title/text/id
    NewsIngestError
    └── GazetteerError          a data file is malformed (a bug in the release, not in the input)
"""

from __future__ import annotations

from services.errors import NewsIngestError, RejectedInput

__all__ = ["GazetteerError", "InvalidArticle", "TagError"]


class TagError(RejectedInput):
    """An article the tagger can never process."""


class InvalidArticle(TagError):
    """A required field is missing or has the wrong type."""


class GazetteerError(NewsIngestError):
    """The gazetteer data files cannot be read."""
