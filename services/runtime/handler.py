"""The contract between a pure stage handler and the shared stage runtime.

A handler turns one input message (already decoded JSON) into output records.  It knows
nothing about Kafka: the runtime consumes, calls :meth:`Handler.handle`, produces the
returned :class:`Out` records and commits, all in one transaction.  The same handler
serves the Kafka service, the offline CLI (``newsingest extract|dedupe|tag --jsonl``)
and the unit tests.

A handler rejects input it can never process by raising a subclass of
:class:`services.errors.RejectedInput`; the runtime dead-letters the original bytes
with the reason and goes on.

Stateful handlers (dedupe) also implement :class:`StatefulHandler`: every state change
is returned as an ``Out`` on the handler's changelog topic, written in the same
transaction as the outputs, and :meth:`StatefulHandler.restore` replays that changelog
on start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Handler", "Out", "PreparingHandler", "StatefulHandler"]

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Out:
    """One record to produce.

    ``topic`` is a logical topic name from :mod:`services.runtime.topics` (for example
    ``"news.articles"``); the runtime maps it to the real name (tests add a prefix).
    ``value=None`` is a tombstone and is only meaningful on compacted state topics.
    """

    topic: str
    key: bytes | None
    value: Json | None


@runtime_checkable
class Handler(Protocol):
    """A pure stage handler."""

    #: Stage name: used in transactional ids, group ids, metrics and dead letters.
    stage: str

    def handle(self, value: Json) -> Sequence[Out]:
        """Process one decoded input message; raise ``RejectedInput`` for bad input."""
        ...


@runtime_checkable
class StatefulHandler(Handler, Protocol):
    """A handler whose state lives in a compacted changelog topic."""

    #: Logical name of the changelog topic (for example ``"news.dedupe.state"``).
    state_topic: str

    def restore(self, key: bytes, value: Json | None) -> None:
        """Apply one changelog record (``None`` = tombstone) while catching up or tailing.

        Idempotent and tolerant of order: while running, the runtime does not hand back
        records this handler produced itself (its state already has them), so a record
        of another instance may arrive after a newer one of this instance's.
        """
        ...


@runtime_checkable
class PreparingHandler(StatefulHandler, Protocol):
    """A stateful handler whose stateless, CPU-heavy first half can run in worker processes.

    ``prepare`` is a module-level function (picklable by reference) of the decoded input;
    ``handle_prepared`` is the stateful rest, in input order, and must decide exactly as
    ``handle`` would.  Dedupe's fingerprints are the case: most of the CPU, no state.
    """

    prepare: Callable[[Json], Any]

    def handle_prepared(self, value: Json, prepared: Any) -> Sequence[Out]:
        """:meth:`handle` with ``prepare(value)`` already computed."""
        ...
