"""The tag stage's pure handler, shared by the Kafka service and ``newsingest tag --jsonl``.

``news.unique`` article in, the same article plus ``tags`` and ``tagged_at`` out to
``news.articles``; articles graded 1 or 2 also go to ``news.syria``.

>>> out = tag_record({"id": "a1", "title": "غارات على إدلب", "text": "قصفت طائرات النظام السوري مدينة إدلب."})
>>> out["syria"]["grade"] >= 1, [p["name"] for p in out["places"]]
(True, ['Idlib'])
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from services.runtime.handler import Out
from services.tag.errors import InvalidArticle
from services.tag.tagger import TAGGER_VERSION, Tagger, get_tagger

__all__ = ["TAGGER_VERSION", "TagHandler", "Tagger", "get_tagger", "tag_record"]

Json = dict[str, Any]


def _fields(value: Any) -> tuple[str, str | None, str, str | None]:
    """Validate the fields the tagger reads; raise :class:`InvalidArticle` otherwise."""
    if not isinstance(value, dict):
        raise InvalidArticle(f"article must be a JSON object, got {type(value).__name__}")
    art_id = value.get("id")
    if not isinstance(art_id, str) or not art_id:
        raise InvalidArticle("article 'id' must be a non-empty string")
    text = value.get("text")
    if not isinstance(text, str):
        raise InvalidArticle(f"article {art_id}: 'text' must be a string, got {type(text).__name__}")
    title = value.get("title")
    if title is not None and not isinstance(title, str):
        raise InvalidArticle(f"article {art_id}: 'title' must be a string or null")
    language = value.get("language")
    if language is not None and not isinstance(language, str):
        raise InvalidArticle(f"article {art_id}: 'language' must be a string or null")
    return art_id, title, text, language


def tag_record(rec: Json) -> Json:
    """Tag one CLI record ``{"id", "title", "text", "language"?}``.

    Returns ``{"id", "syria", "places", "actors", "topics", "tagger_version"}``.  A
    module-level function with a plain dict argument, so a process pool can run it.
    """
    art_id, title, text, language = _fields(rec)
    tags = get_tagger().tag(title, text, language)
    return {"id": art_id, **tags}


class TagHandler:
    """Pure handler for the tag stage (see :class:`services.runtime.handler.Handler`)."""

    stage = "tag"

    def __init__(self, tagger: Tagger | None = None) -> None:
        self._tagger = tagger or get_tagger()

    def handle(self, value: Json) -> Sequence[Out]:
        """Tag a ``UniqueArticle``; route it to ``news.articles`` and, if graded >= 1, ``news.syria``."""
        art_id, title, text, language = _fields(value)
        tags = self._tagger.tag(title, text, language)
        article = {**value, "tags": tags, "tagged_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
        key = art_id.encode()
        outs = [Out("news.articles", key, article)]
        if tags["syria"]["grade"] >= 1:
            outs.append(Out("news.syria", key, article))
        return outs
