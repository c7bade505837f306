"""Structured JSON logs on stdout, with per-record context (topic, partition, offset, item id).

Context is bound with :func:`bind` (a contextvar), so every log line emitted while a
record is being processed carries where it came from.  Secrets never reach a log line:
settings hold them as ``SecretStr`` and :class:`JsonFormatter` masks values of keys that
look like credentials.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

__all__ = ["JsonFormatter", "bind", "setup_logging"]

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_context", default={})  # noqa: B039
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|credential|sasl_plain|api[_-]?key|authorization|cookie|private[_-]?key", re.I
)
_SECRET_IN_TEXT = (
    # key=value and key: value (also inside a repr: sasl_password='x')
    (
        re.compile(
            r"((?:password|passwd|secret|token|api[_-]?key|sasl_plain_password)['\"]?\s*[=:]\s*['\"]?)([^\s'\",;&]+)",
            re.I,
        ),
        r"\1***",
    ),
    (re.compile(r"(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}", re.I), r"\1***"),  # Authorization header values
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@", re.I), r"\1***@"),  # user:password@ in URLs
)
_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _scrub_text(text: str) -> str:
    for pattern, repl in _SECRET_IN_TEXT:
        text = pattern.sub(repl, text)
    return text


def _scrub(key: str, value: Any, depth: int = 0) -> Any:
    """Mask a value whose key names a secret; scrub secrets out of text, nested too."""
    if _SECRET_KEY.search(key):
        return "***"
    if isinstance(value, str):
        return _scrub_text(value)
    if depth > 6:
        return "…"
    if isinstance(value, dict):
        return {str(k): _scrub(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub("", v, depth + 1) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return _scrub_text(str(value))  # objects are logged by their str(); a repr can hold a secret


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, bound context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _scrub("msg", record.getMessage()),
        }
        for key, value in _context.get().items():
            doc[key] = _scrub(key, value)
        for key, value in vars(record).items():
            if key not in _STD and not key.startswith("_"):
                doc[key] = _scrub(key, value)
        if record.exc_info:
            doc["exc"] = _scrub("exc", self.formatException(record.exc_info))
        return orjson.dumps(doc, default=str).decode()


def setup_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger to one JSON handler on stdout (idempotent)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_newsingest", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler._newsingest = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Per-request lines from the clients drown the service's own; warnings still show.
    for noisy in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields to every log line emitted inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)
