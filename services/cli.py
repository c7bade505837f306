"""``newsingest``: one console script, one subcommand per job.

Services (long-running, one process each)::

    newsingest serve crawler|clean|dedupe|tag
    newsingest run                 # broker + demo site + every service + live view (the demo)

Offline, over the same handlers (JSON lines on stdin or a file, JSON lines on stdout)::

    newsingest extract --jsonl pages.jsonl
    newsingest tag --jsonl articles.jsonl
    newsingest dedupe --jsonl articles.jsonl

Operations::

    newsingest broker fetch|start   newsingest topics create   newsingest watch
    newsingest feeds add|remove|list|import
    newsingest status [--watch]    newsingest deadletter list|show|replay
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = ["main"]


# ------------------------------------------------------------------ offline JSON-lines tools
def _read_jsonl(path: str | None) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, record or None, error) for each non-blank input line."""
    stream: IO[bytes] = sys.stdin.buffer if path is None or path == "-" else Path(path).open("rb")  # noqa: SIM115
    with stream:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield n, None, f"line {n}: not JSON: {exc}"
                continue
            if not isinstance(rec, dict):
                yield n, None, f"line {n}: expected a JSON object"
                continue
            yield n, rec, None


def _write(out: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(out) + b"\n")


def _per_record(path: str | None, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """Apply ``fn`` to each record; a bad record gets an error line (same id) and a note on stderr."""
    from services.errors import NewsIngestError

    failures = 0
    for n, rec, read_error in _read_jsonl(path):
        err = read_error
        if rec is not None:
            try:
                _write(fn(rec))
                continue
            except NewsIngestError as exc:
                err = f"line {n}: {type(exc).__name__}: {exc.reason}"
            except (KeyError, TypeError, ValueError) as exc:
                err = f"line {n}: {type(exc).__name__}: {exc}"
        failures += 1
        print(err, file=sys.stderr)
        _write({"id": rec.get("id") if rec else None, "error": err})
    return 1 if failures else 0


def cmd_extract(a: argparse.Namespace) -> int:
    from services.clean.handler import extract_record

    return _per_record(a.input, extract_record)


def cmd_tag(a: argparse.Namespace) -> int:
    from services.tag.handler import tag_record

    return _per_record(a.input, tag_record)


def cmd_dedupe(a: argparse.Namespace) -> int:
    from services.dedupe.handler import dedupe_records

    def records() -> Iterable[dict[str, Any]]:
        for _n, rec, err in _read_jsonl(a.input):
            if rec is None:
                print(err, file=sys.stderr)
                continue
            yield rec

    for out in dedupe_records(records()):
        _write(out)
    return 0


# ------------------------------------------------------------------ services
def cmd_serve(a: argparse.Namespace) -> int:
    from services.runtime.service import run_stage

    if a.service == "crawler":
        from services.crawler.__main__ import main as crawler_main

        return crawler_main()
    if a.service == "clean":
        from services.clean.handler import CleanHandler

        return run_stage(CleanHandler, "news.raw", "process")
    if a.service == "dedupe":
        from services.dedupe.handler import DedupeHandler

        # Fingerprints (stateless, most of the CPU) in a worker process, the index here.
        return run_stage(DedupeHandler, "news.clean", "prepare")
    from services.tag.handler import TagHandler

    return run_stage(TagHandler, "news.unique", "thread")


def cmd_broker(a: argparse.Namespace) -> int:
    from services.runtime.broker import LocalBroker, fetch_jars

    if a.action == "fetch":
        print(fetch_jars())
        return 0
    import signal
    import threading

    broker = LocalBroker.create(Path(a.dir).resolve(), port=a.port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with broker:
        print(f"kafka running at {broker.bootstrap_servers} (data in {broker.workdir}); Ctrl-C stops it", flush=True)
        done.wait()
    return 0


def cmd_topics(a: argparse.Namespace) -> int:
    import asyncio

    from services.runtime.config import get_settings
    from services.runtime.kafka import ensure_topics

    for name in asyncio.run(ensure_topics(get_settings().kafka)):
        print(name)
    return 0


def cmd_watch(a: argparse.Namespace) -> int:
    from services.runtime.watch import watch

    return watch(topic=a.topic, limit=a.limit, from_beginning=a.from_beginning)


def cmd_run(a: argparse.Namespace) -> int:
    from services.runtime.launcher import run_everything

    return run_everything(real_dir=a.real_dir, workdir=Path(a.workdir).resolve())


def cmd_demo_site(a: argparse.Namespace) -> int:
    from services.demo.command import main as demo_main

    return int(demo_main(a.args) or 0)


def cmd_status(a: argparse.Namespace) -> int:
    from services.runtime.status import command

    return command(a)


def cmd_deadletter(a: argparse.Namespace) -> int:
    from services.runtime.deadletters import command

    return command(a)


def cmd_feeds(a: argparse.Namespace) -> int:
    import asyncio

    from services.crawler import registry
    from services.runtime.config import get_settings

    settings = get_settings()
    if a.action == "add":
        spec = registry.FeedSpec.from_url(a.url, id=a.id, language=a.language, name=a.name)
        asyncio.run(registry.add_feed(settings, spec))
        print(spec.id)
    elif a.action == "remove":
        asyncio.run(registry.remove_feed(settings, a.feed_id))
    elif a.action == "import":
        print(f"{asyncio.run(registry.import_feeds(settings, a.file))} feeds registered")
    else:
        rows = [f.as_row() for f in asyncio.run(registry.list_feeds(settings))]
        if a.json:
            for row in rows:
                _write(row)
        else:
            _print_feed_table(rows)
    return 0


def _print_feed_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} feeds")
    for col in ("id", "url", "lang", "enabled", "last success", "errors", "items/day", "last error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["id"],
            r["url"],
            r["language"] or "-",
            "yes" if r["enabled"] and not r["disabled_reason"] else f"no ({r['disabled_reason'] or 'off'})",
            r["last_success"] or "never",
            str(r["error_streak"]),
            "-" if r["items_per_day"] is None else str(r["items_per_day"]),
            (r["last_error"] or "")[:80],
        )
    Console().print(table)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    for name, fn, what in (
        (
            "extract",
            cmd_extract,
            'pages {"id","url","path"|"html"} -> {"id","title","text","language","published","authors"}',
        ),
        ("tag", cmd_tag, 'articles {"id","title","text"} -> {"id","syria","places","actors","topics"}'),
        ("dedupe", cmd_dedupe, 'articles {"id","url","title","text"} in order -> {"id","duplicate_of","kind"}'),
    ):
        s = sub.add_parser(name, help=what)
        s.add_argument("--jsonl", action="store_true", required=True, help="JSON lines in, JSON lines out")
        s.add_argument("input", nargs="?", default="-", help="input file (default: stdin)")
        s.set_defaults(fn=fn)

    s = sub.add_parser("serve", help="run one service until SIGTERM")
    s.add_argument("service", choices=["crawler", "clean", "dedupe", "tag"])
    s.set_defaults(fn=cmd_serve)

    s = sub.add_parser("broker", help="fetch Kafka's jars or run a local single-node broker")
    s.add_argument("action", choices=["fetch", "start"])
    s.add_argument("--dir", default="var/kafka", help="broker data and logs")
    s.add_argument("--port", type=int, default=9092)
    s.set_defaults(fn=cmd_broker)

    s = sub.add_parser("topics", help="create every declared topic that does not exist")
    s.add_argument("action", choices=["create"])
    s.set_defaults(fn=cmd_topics)

    s = sub.add_parser("watch", help="print articles as they arrive (default: news.syria)")
    s.add_argument("--topic", default="news.syria")
    s.add_argument("--limit", type=int, default=0, help="stop after N items (0: never)")
    s.add_argument("--from-beginning", action="store_true")
    s.set_defaults(fn=cmd_watch)

    s = sub.add_parser("run", help="the whole pipeline on this machine, with a demo news site")
    s.add_argument("--real-dir", default=None, help="also serve real pages from this folder (e.g. ../shared/data)")
    s.add_argument("--workdir", default="var/run", help="broker data and service logs")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("demo-site", help="the demo news site alone")
    s.add_argument("args", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_demo_site)

    s = sub.add_parser("feeds", help="manage the feed registry in Kafka: add|remove|list|import")
    fs = s.add_subparsers(dest="action", required=True)
    f = fs.add_parser("add", help="register a feed (or update it)")
    f.add_argument("url")
    f.add_argument("--id", default=None, help="feed id (default: hash of the canonical URL)")
    f.add_argument("--language", default=None, help="language hint, e.g. ar or en")
    f.add_argument("--name", default=None)
    f = fs.add_parser("remove", help="unregister a feed")
    f.add_argument("feed_id")
    f = fs.add_parser("import", help="register every feed of a CSV, JSON, JSONL or URL-per-line file")
    f.add_argument("file")
    f = fs.add_parser("list", help="registered feeds with their health")
    f.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    s.set_defaults(fn=cmd_feeds)

    s = sub.add_parser("status", help="the pipeline at a glance: stages, lag, feeds, dead letters, Syria items")
    s.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    s.add_argument("--interval", type=float, default=5.0, help="seconds between refreshes")
    s.add_argument("--service", action="append", default=[], metavar="NAME=URL", help="a service's health address")
    s.add_argument(
        "--services-file", default="var/run/services.json", help="name -> URL map (newsingest run writes it)"
    )
    s.set_defaults(fn=cmd_status)

    s = sub.add_parser("deadletter", help="inspect and re-inject dead letters: list|show|replay")
    ds = s.add_subparsers(dest="action", required=True)
    d = ds.add_parser("show", help="one dead letter with its original record")
    d.add_argument("ref", help="partition:offset on news.deadletter (from list)")
    for action, what in (("list", "dead letters, newest last"), ("replay", "re-produce originals to their topics")):
        d = ds.add_parser(action, help=what)
        d.add_argument("--stage", default=None)
        d.add_argument("--error-class", default=None)
        d.add_argument("--source-topic", default=None)
        d.add_argument("--partition", type=int, default=None, help="of news.deadletter")
        d.add_argument("--from-offset", type=int, default=None, help="on news.deadletter, inclusive")
        d.add_argument("--to-offset", type=int, default=None, help="on news.deadletter, inclusive")
    ds.choices["list"].add_argument("--limit", type=int, default=50, help="show the newest N (0: all)")
    ds.choices["list"].add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ds.choices["replay"].add_argument("refs", nargs="*", help="only these partition:offset refs")
    ds.choices["replay"].add_argument("--dry-run", action="store_true", help="count, produce nothing")
    ds.choices["replay"].add_argument("--all", action="store_true", help="replay every replayable dead letter")
    s.set_defaults(fn=cmd_deadletter)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``newsingest`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
