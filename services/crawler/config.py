"""Crawler settings, read once from ``NEWSINGEST_CRAWLER_*`` environment variables.

Units are in the names (``_s`` seconds, ``_bytes``).  The SSRF allow-list is explicit:
nothing private is reachable unless a network or host is listed here, which is how the
tests and the demo reach servers on 127.0.0.1.
"""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CrawlerSettings"]


class CrawlerSettings(BaseSettings):
    """Everything that decides how the crawler fetches, how politely and how often."""

    model_config = SettingsConfigDict(env_prefix="NEWSINGEST_CRAWLER_", env_nested_delimiter="__", frozen=True)

    instance_id: str = Field(
        default_factory=socket.gethostname,
        description="Stable name of this crawler instance; its transactional id, so a restart fences its zombie.",
    )
    session_timeout_s: float = Field(
        default=10.0, description="Group session timeout: how long a vanished instance keeps its feeds."
    )
    group_id: str = Field(default="newsingest-crawler", description="Consumer group of the crawler instances.")
    user_agent: str = Field(
        default="newsingest-crawler/0.1 (+https://newsingest.example/crawler; crawler@newsingest.example)",
        description="User-Agent sent with every request; must carry a contact URL.",
    )
    robots_agent: str = Field(
        default="newsingest-crawler", description="Product token matched against robots.txt groups."
    )
    transport: Literal["aiohttp", "httpx", "aiohttp-raw"] = Field(
        default="aiohttp-raw",
        description="aiohttp's client API directly (fastest in bench/crawl), or the httpx API over aiohttp or httpcore.",
    )

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 30.0
    max_bytes: int = Field(default=8 * 1024 * 1024, description="Cap on bytes read from the socket for one response.")
    max_decompressed_bytes: int = Field(default=16 * 1024 * 1024, description="Cap on bytes after content decoding.")
    max_redirects: int = 5
    max_connections: int = Field(default=256, description="Open connections in the whole process.")
    max_inflight_fetches: int = Field(default=256, description="Page and feed fetches in flight at once.")

    per_host_concurrency: int = Field(default=2, description="Requests in flight to one host at once.")
    per_host_min_delay_s: float = Field(default=1.0, description="Minimum time between request starts to one host.")
    host_backoff_base_s: float = Field(
        default=1.0, description="First rest of a host after a 429/5xx without Retry-After or a network error."
    )
    max_crawl_delay_s: float = Field(default=30.0, description="Cap on a robots.txt Crawl-delay we honour.")
    obey_robots: bool = True
    robots_ttl_s: float = Field(default=24 * 3600.0, description="How long a fetched robots.txt stays valid.")
    robots_error_ttl_s: float = Field(default=600.0, description="How long a robots.txt 5xx/timeout blocks a host.")

    poll_min_interval_s: float = Field(default=300.0, description="Lower bound of a feed's poll interval.")
    poll_max_interval_s: float = Field(default=6 * 3600.0, description="Upper bound of a feed's poll interval.")
    poll_jitter: float = Field(default=0.1, description="Relative jitter applied to every next-poll time.")
    backoff_base_s: float = Field(default=60.0, description="First back-off after a failed poll.")
    backoff_max_s: float = Field(default=6 * 3600.0, description="Cap on back-off after failures and Retry-After.")
    probe_every: int = Field(
        default=12, description="Every Nth poll is unconditional, to catch servers that lie with 304."
    )
    gone_disable_after: int = Field(
        default=3, description="Consecutive 404/410 answers after which a feed is disabled."
    )
    error_disable_after: int = Field(
        default=50, description="Consecutive failures of any kind after which a feed is disabled."
    )
    entry_max_attempts: int = Field(default=5, description="Retriable page failures before an entry is dead-lettered.")
    # 200, not 1000: each poll already raises a feed's cap to twice its document, so a
    # larger floor only made every state record bigger (bench/crawl 300 s: RSS still rising
    # and 1.38 ms CPU per fetch at 1000, flat and 1.08 ms at 100).
    seen_max: int = Field(
        default=200,
        description="Entry keys remembered per feed at least (each poll raises it to twice the feed document).",
    )
    max_entries_per_poll: int = Field(default=500, description="New entries fetched from one feed document per poll.")
    max_sitemap_children: int = Field(default=50, description="Child sitemaps followed from one sitemap index.")

    allow_networks: tuple[str, ...] = Field(
        default=(), description="CIDRs reachable even if private/loopback (tests: 127.0.0.0/8)."
    )
    allow_hosts: tuple[str, ...] = Field(
        default=(), description="Host names whose resolved addresses are not filtered."
    )
    only_allowed: bool = Field(
        default=False,
        description="Refuse every address not on the allow-lists, public ones too (tests, demo, air gaps).",
    )
    resolve: dict[str, str] = Field(
        default_factory=dict, description="Static host -> IP map used before DNS (like curl --resolve)."
    )

    compression: Literal["zstd", "lz4", "gzip", "snappy", "none"] | None = Field(
        default=None,
        description=(
            "Producer compression of raw pages; None: the services' setting (NEWSINGEST_KAFKA__COMPRESSION, zstd). "
            "'none' saves CPU on small machines at the cost of disk."
        ),
    )
    websub_callback_url: str | None = Field(
        default=None, description="Public base URL of this instance's WebSub callback (None: no WebSub, polling only)."
    )
    websub_host: str = Field(default="127.0.0.1", description="Address the WebSub callback server listens on.")
    websub_port: int = Field(default=0, description="Port of the WebSub callback server (0: any free port).")
    websub_secret: SecretStr | None = Field(
        default=None, description="Key from which per-feed hub.secret values derive."
    )
    websub_lease_s: int = Field(default=10 * 86400, description="Lease asked of hubs; renewed when a day is left.")
    websub_min_gap_s: float = Field(default=10.0, description="Minimum time between push-triggered polls of one feed.")
    commit_interval_s: float = Field(
        default=0.1, description="How long outputs wait to be committed in one transaction."
    )
    parse_workers: int = Field(default=0, description="Processes parsing feeds (0: parse on the event loop thread).")
    metrics_port: int | None = Field(default=None, description="Port of /metrics (None: not served by the crawler).")
