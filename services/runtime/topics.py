"""The one declaration of every topic the pipeline uses.

``newsingest topics create`` and the services create them from here; the AsyncAPI
document and the schema tests are checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TOPICS", "TopicSpec", "schema_for"]

_DAY_MS = 24 * 3600 * 1000
_BIG = str(16 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic: its logical name, message schema and broker-side configuration."""

    name: str
    schema: str | None  # file name stem in schemas/, None for state topics
    description: str
    compacted: bool = False
    retention_days: int | None = 7
    partitions: int | None = None  # None: the settings' default
    config: dict[str, str] = field(default_factory=dict)

    def topic_config(self) -> dict[str, str]:
        """Broker configuration for ``CreateTopics``."""
        cfg = {"cleanup.policy": "compact" if self.compacted else "delete", "max.message.bytes": _BIG}
        if self.retention_days is not None and not self.compacted:
            cfg["retention.ms"] = str(self.retention_days * _DAY_MS)
        if self.compacted:
            cfg["min.cleanable.dirty.ratio"] = "0.1"
            cfg["delete.retention.ms"] = str(_DAY_MS)
        cfg.update(self.config)
        return cfg


TOPICS: dict[str, TopicSpec] = {
    t.name: t
    for t in (
        # 12 registry partitions: at most 12 crawler instances, and feeds split evenly enough
        # between two or three (with 3, two instances got 79 and 121 of 200 feeds in bench/crawl).
        TopicSpec("news.feeds", None, "Feed registry keyed by feed id (compacted).", compacted=True, partitions=12),
        TopicSpec(
            "news.crawler.state",
            None,
            "Per-feed crawl state keyed by feed id (compacted).",
            compacted=True,
            partitions=12,
        ),
        TopicSpec("news.raw", "raw_page", "Fetched article pages, bytes kept exactly. Key: article id."),
        TopicSpec("news.clean", "clean_article", "Extracted articles before deduplication. Key: article id."),
        TopicSpec("news.dedupe.state", None, "Dedupe index changelog (compacted).", compacted=True, partitions=1),
        TopicSpec("news.unique", "unique_article", "Unique articles and revisions, before tagging. Key: article id."),
        TopicSpec(
            "news.articles", "article", "Every unique clean article, tagged. Key: article id.", retention_days=30
        ),
        TopicSpec(
            "news.syria", "article", "Articles graded Syria-relevant (grade >= 1). Key: article id.", retention_days=30
        ),
        TopicSpec(
            "news.duplicates", "duplicate", "Articles held back as duplicates, naming the original.", retention_days=30
        ),
        TopicSpec(
            "news.deadletter", "dead_letter", "Inputs a stage could never process, with the reason.", retention_days=30
        ),
    )
}


def schema_for(logical: str) -> str | None:
    """Schema file stem of a logical topic (``None`` for state topics)."""
    return TOPICS[logical].schema
