"""Generate ``docs/configuration.md`` from the settings classes.

    .venv/bin/python docs/gen_config_reference.py            # rewrite docs/configuration.md
    .venv/bin/python docs/gen_config_reference.py --check    # exit 1 if the file is stale

Every field of :class:`services.runtime.config.Settings` (nested groups flattened with
``__``) and of :class:`services.crawler.config.CrawlerSettings` becomes one row: the
environment variable, its type, its default and its meaning.  The meaning is the field's
``description``; the few fields that have none yet get theirs from ``EXTRA_MEANINGS``
below (``tests/deploy/test_config_reference.py`` fails when an entry there is stale or a
field has no meaning at all).  Environment variables read outside the settings classes
(``os.environ.get("NEWSINGEST_...")``) are found in the source and listed at the end.
"""

from __future__ import annotations

import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.crawler.config import CrawlerSettings  # noqa: E402
from services.runtime.config import Settings  # noqa: E402

__all__ = ["EXTRA_MEANINGS", "OTHER_VARIABLES", "Row", "extra_env_vars", "render", "rows"]

OUTPUT = REPO / "docs" / "configuration.md"

# Meanings of fields whose class gives no description (keyed by env var).
EXTRA_MEANINGS: dict[str, str] = {
    "NEWSINGEST_KAFKA__SECURITY_PROTOCOL": "How clients talk to the brokers: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL login over TLS; the customer setup).",
    "NEWSINGEST_KAFKA__SASL_MECHANISM": "SASL mechanism for SASL_* protocols; unset means SCRAM-SHA-512.",
    "NEWSINGEST_KAFKA__SASL_USERNAME": "SASL user name (SCRAM or PLAIN).",
    "NEWSINGEST_KAFKA__SASL_PASSWORD": "SASL password; a secret (never logged). In Kubernetes, from a Secret.",
    "NEWSINGEST_KAFKA__SSL_CERTFILE": "Client certificate (PEM) for mutual TLS, if the brokers require one.",
    "NEWSINGEST_KAFKA__SSL_KEYFILE": "Private key (PEM) of the client certificate.",
    "NEWSINGEST_CRAWLER_CONNECT_TIMEOUT_S": "Time limit for opening a TCP/TLS connection to a news site.",
    "NEWSINGEST_CRAWLER_READ_TIMEOUT_S": "Time limit between two reads of one response.",
    "NEWSINGEST_CRAWLER_TOTAL_TIMEOUT_S": "Time limit for one whole request, redirects included.",
    "NEWSINGEST_CRAWLER_MAX_REDIRECTS": "Redirects followed for one request before it fails.",
    "NEWSINGEST_CRAWLER_OBEY_ROBOTS": "Honour robots.txt (disallow rules and Crawl-delay).",
}

# Variables read with os.environ outside the settings classes, and what they do.
OTHER_VARIABLES: dict[str, str] = {
    "NEWSINGEST_KAFKA_CACHE": "Folder of the local broker's jars (`newsingest broker`, tests); default ~/.cache/newsingest/kafka-<version>.",
    "NEWSINGEST_WATCH_BIDI": "`visual` makes `newsingest watch` reorder Arabic for terminals without bidi support.",
    "NEWSINGEST_STATUS_SERVICES": "Comma-separated `name=http://host:port` list of services whose /readyz and /metrics the status view polls.",
}

_ENV_GET = re.compile(r"""environ\.get\(\s*["'](NEWSINGEST_[A-Z0-9_]+)["']""")


@dataclass(frozen=True)
class Row:
    """One setting: its environment variable, type, default and meaning."""

    env: str
    type: str
    default: str
    meaning: str
    group: str


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(parts) + (" (optional)" if type(None) in args else "")
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])} (JSON)" if args else "list (JSON)"
    if origin is dict:
        return "object (JSON)"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        factory = field.default_factory
        name = getattr(factory, "__name__", "")
        if name == "gethostname":
            return "the host name"
        try:
            value = factory()  # type: ignore[call-arg]
        except TypeError:
            return f"computed by {name}()"
        return f"`{value!r}`" if value not in ({}, [], ()) else "empty"
    value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if value in ("", ()):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _walk(model: type[BaseModel], prefix: str, group: str) -> list[Row]:
    out: list[Row] = []
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _walk(ann, f"{env}__", f"{group}.{name}" if group else name)
            continue
        meaning = field.description or EXTRA_MEANINGS.get(env, "")
        out.append(Row(env, _type_name(ann), _default(field), meaning, group or "general"))
    return out


def rows() -> list[Row]:
    """Every setting, in class order: runtime (general, kafka, stage), then the crawler."""
    runtime = _walk(Settings, Settings.model_config["env_prefix"], "")
    crawler = _walk(CrawlerSettings, CrawlerSettings.model_config["env_prefix"], "crawler")
    order = {"general": 0, "kafka": 1, "stage": 2, "crawler": 3}
    return sorted(runtime, key=lambda r: order.get(r.group, 9)) + crawler


def extra_env_vars() -> set[str]:
    """``NEWSINGEST_*`` variables the services read with ``os.environ`` directly."""
    found: set[str] = set()
    for path in (REPO / "services").rglob("*.py"):
        if "demo" not in path.parts:
            found |= set(_ENV_GET.findall(path.read_text()))
    return found


_TITLES = {
    "general": "General",
    "kafka": "Kafka clients (every service)",
    "stage": "Stage runtime and health endpoints (every service)",
    "crawler": "Crawler",
}

_INTRO = """# Configuration reference

<!-- Generated by docs/gen_config_reference.py from the settings classes; do not edit by hand.
     tests/deploy/test_config_reference.py fails when this file and the code disagree. -->

Every setting is an environment variable, read once at start-up into frozen settings
(pydantic-settings). Runtime settings (`services/runtime/config.py`) have the prefix
`NEWSINGEST_` and nested groups use a double underscore (`NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS`);
crawler settings (`services/crawler/config.py`) have the prefix `NEWSINGEST_CRAWLER_`.
Names are case-insensitive. Lists and maps are written as JSON
(`NEWSINGEST_CRAWLER_ALLOW_NETWORKS='["10.0.0.0/8"]'`). Units are in the names
(`_s` seconds, `_mb` megabytes, `_bytes` bytes). Secrets are never logged.

The container image sets `NEWSINGEST_STAGE__HTTP_HOST=0.0.0.0` and
`NEWSINGEST_STAGE__HTTP_PORT=9100`; deploy/compose.yaml and deploy/k8s set the rest.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole Markdown document."""
    lines = [_INTRO]
    current = None
    for row in rows():
        if row.group != current:
            current = row.group
            lines += [
                "",
                f"## {_TITLES.get(current, current)}",
                "",
                "| Variable | Type | Default | Meaning |",
                "|---|---|---|---|",
            ]
        lines.append(f"| `{row.env}` | {row.type} | {row.default} | {_cell(row.meaning)} |")
    lines += ["", "## Other variables", "", "| Variable | Meaning |", "|---|---|"]
    for env in sorted(extra_env_vars()):
        lines.append(f"| `{env}` | {_cell(OTHER_VARIABLES.get(env, ''))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run .venv/bin/python docs/gen_config_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(REPO)} ({len(rows())} settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
