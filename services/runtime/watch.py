"""``newsingest watch``: print tagged articles as they arrive, readable by a person.

Arabic is printed in logical order (what a bidi-aware terminal needs); set
``NEWSINGEST_WATCH_BIDI=visual`` for terminals without bidi support, which then get the
text reordered for display.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from services.runtime.config import get_settings
from services.runtime.errors import BadMessage
from services.runtime.kafka import decode_json, make_consumer

__all__ = ["render_article", "watch", "watch_async"]

_GRADE = {2: "primarily about Syria", 1: "partly about Syria", 0: "not about Syria"}


def _display(text: str) -> str:
    if os.environ.get("NEWSINGEST_WATCH_BIDI") != "visual":
        return text
    try:
        from bidi import get_display  # optional: python-bidi
    except ImportError:
        return text
    return str(get_display(text))


def render_article(a: dict[str, Any]) -> Panel:
    """One article as a rich panel: title, source, grade, places, actors, topics, lead."""
    tags = a.get("tags") or {}
    syria = tags.get("syria") or {}

    def names(key: str) -> str:
        return ", ".join(dict.fromkeys(x.get("name", "?") for x in tags.get(key) or [])) or "-"

    body = Text()
    body.append(_display(a.get("title") or "(no title)") + "\n", style="bold")
    body.append(
        f"{a.get('source', '?')}  ·  {a.get('language') or '?'}  ·  {a.get('published') or 'undated'}\n", style="dim"
    )
    body.append(
        f"grade {syria.get('grade', '?')} ({_GRADE.get(syria.get('grade', -1), '?')}), score {syria.get('score', 0):.2f}\n"
    )
    body.append("places: ", style="cyan")
    body.append(names("places") + "\n")
    body.append("actors: ", style="magenta")
    body.append(names("actors") + "\n")
    body.append("topics: ", style="yellow")
    body.append(names("topics") + "\n")
    lead = (a.get("text") or "").split("\n", 1)[0][:280]
    body.append(_display(lead), style="italic")
    return Panel(body, title=a.get("url", ""), title_align="left")


async def watch_async(bootstrap: str | None, topic: str, limit: int, from_beginning: bool, console: Console) -> int:
    """Print articles from ``topic`` until a signal (or ``limit`` items)."""
    settings = get_settings().kafka
    if bootstrap:
        settings = settings.model_copy(update={"bootstrap_servers": bootstrap})
    reset = "earliest" if from_beginning else "latest"
    consumer = make_consumer(settings, topic, group_id=None, auto_offset_reset=reset)
    await asyncio.wait_for(consumer.start(), settings.request_timeout_s * 2)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    seen = 0
    console.print(f"[bold]watching {settings.topic_prefix}{topic} at {settings.bootstrap_servers}[/] (Ctrl-C stops)")
    try:
        while not stop.is_set() and (limit == 0 or seen < limit):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    try:
                        console.print(render_article(decode_json(rec.value)))
                    except BadMessage as exc:
                        console.print(f"[red]unreadable message at offset {rec.offset}: {exc.reason}[/]")
                    seen += 1
    finally:
        await asyncio.wait_for(consumer.stop(), 10)
    return 0


def watch(topic: str = "news.syria", limit: int = 0, from_beginning: bool = False) -> int:
    """Print articles from ``topic`` until Ctrl-C (or ``limit`` items)."""
    return asyncio.run(watch_async(None, topic, limit, from_beginning, Console()))
