"""Crawler metrics (prefix ``newsingest_crawler_``); labels bounded, never a URL."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["ENTRY_LATENCY", "FEEDS", "FETCHES", "PAGES", "POLLS"]

FETCHES = Counter(
    "newsingest_crawler_fetches_total", "HTTP fetches by kind (feed, page) and outcome.", ["kind", "outcome"]
)
POLLS = Counter("newsingest_crawler_polls_total", "Feed polls by outcome.", ["outcome"])
PAGES = Counter("newsingest_crawler_pages_total", "Entries handled, by outcome.", ["outcome"])
FEEDS = Gauge("newsingest_crawler_feeds", "Feeds owned by this instance, by health.", ["health"])
ENTRY_LATENCY = Histogram(
    "newsingest_crawler_entry_seconds",
    "From a feed poll that found an entry to its page committed on news.raw.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
