"""Run a CPU-heavy handler in worker processes, with a time limit and a memory guard per item.

Extraction libraries can hang or balloon on pathological pages.  Each item runs in a
worker process; if it exceeds ``item_timeout_s`` the pool's workers are killed and a
fresh pool replaces them (other in-flight items are retried there), and the item is
rejected with :class:`ItemTimeout`.  Each worker runs under an address-space limit, so a
runaway allocation raises ``MemoryError`` inside the worker instead of exhausting the
machine; the item is rejected with :class:`ItemMemoryExceeded` and the pool recycled.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import pickle
import resource
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from services.errors import RejectedInput, RetriableError
from services.runtime.handler import Handler, Out
from services.runtime.kafka import decode_json, encode_json

__all__ = [
    "EncodedOut",
    "ItemMemoryExceeded",
    "ItemTimeout",
    "PreparePool",
    "WorkerCrashed",
    "WorkerPool",
    "WorkerPoolBroken",
    "encode_outs",
    "run_handler",
]

log = logging.getLogger(__name__)

EncodedOut = tuple[str, bytes | None, bytes | None]  # (logical topic, key, JSON value or None)

_HANDLER: Handler | None = None


class ItemTimeout(RejectedInput):
    """The handler took longer than the per-item time limit."""


class ItemMemoryExceeded(RejectedInput):
    """The handler exceeded the worker's memory limit on this item."""


class WorkerCrashed(RejectedInput):
    """The worker process died on this item more than once."""


class WorkerPoolBroken(RetriableError):
    """A prepare worker died: the batch is retried (the next one gets fresh workers)."""


def encode_outs(outs: Sequence[Out]) -> list[EncodedOut]:
    """Serialize handler outputs (done in the worker, off the event loop)."""
    return [(o.topic, o.key, None if o.value is None else encode_json(o.value)) for o in outs]


def run_handler(handler: Handler, raw: bytes | None) -> list[EncodedOut]:
    """Decode, handle, encode: the unit of work wherever it runs."""
    return encode_outs(handler.handle(decode_json(raw)))


def _init_worker(factory: Callable[[], Handler], max_mem_mb: int) -> None:
    global _HANDLER  # noqa: PLW0603 - one handler per worker process, built once
    if max_mem_mb > 0:
        limit = max_mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _HANDLER = factory()


def _work(raw: bytes | None) -> list[EncodedOut]:
    assert _HANDLER is not None, "worker not initialised"
    return run_handler(_HANDLER, raw)


class WorkerPool:
    """A process pool that survives hung and runaway items."""

    def __init__(self, factory: Callable[[], Handler], *, workers: int, item_timeout_s: float, max_mem_mb: int) -> None:
        self._factory, self._workers = factory, max(1, workers)
        self._timeout, self._max_mem_mb = item_timeout_s, max_mem_mb
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a process with an event loop and threads
        self._pool: ProcessPoolExecutor | None = None
        self.recycled = 0

    def _get(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(self._factory, self._max_mem_mb),
            )
        return self._pool

    def _recycle(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is not pool:
            return  # someone already replaced it
        self._pool = None
        self.recycled += 1
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def warm_up(self) -> None:
        """Start the workers (imports, models) before the first batch."""
        pool = self._get()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(pool, _noop) for _ in range(self._workers)))

    async def handle(self, raw: bytes | None) -> list[EncodedOut]:
        """Handle one raw message in a worker; typed rejection on time-out, memory or crash."""
        loop = asyncio.get_running_loop()
        for _attempt in range(2):
            pool = self._get()
            try:
                return await asyncio.wait_for(loop.run_in_executor(pool, _work, raw), self._timeout)
            except TimeoutError:
                self._recycle(pool)
                raise ItemTimeout(f"handler exceeded {self._timeout:.0f}s; worker recycled") from None
            except MemoryError:
                self._recycle(pool)
                raise ItemMemoryExceeded(f"handler exceeded the {self._max_mem_mb} MB worker memory limit") from None
            except BrokenProcessPool:
                self._recycle(pool)  # killed for a neighbour's time-out, or crashed: try once in a new pool
        raise WorkerCrashed("worker process died twice on this item")

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.kill()
            pool.shutdown(wait=True, cancel_futures=True)


def _noop() -> None:
    return None


def _prepare_chunk(fn: Callable[[Any], Any], raws: list[bytes | None]) -> list[tuple[bool, Any]]:
    """Decode and prepare each input; an input's exception is returned, not raised."""
    out: list[tuple[bool, Any]] = []
    for raw in raws:
        try:
            out.append((True, fn(decode_json(raw))))
        except Exception as exc:  # the stage dead-letters it with this reason
            try:
                pickle.dumps(exc)
            except Exception:  # an exception that cannot cross the process boundary
                exc = RejectedInput(f"{type(exc).__name__}: {exc}")
            out.append((False, exc))
    return out


class PreparePool:
    """Worker processes running a :class:`PreparingHandler`'s ``prepare`` for a batch, in chunks.

    Chunks are submitted at once and awaited in order, so the stage process handles chunk
    *i* while the workers prepare chunk *i + 1*: with the stateful half in the stage
    process and the stateless half here, a two-core machine uses both cores.
    """

    def __init__(self, fn: Callable[[Any], Any], *, workers: int, chunk: int = 25) -> None:
        self._fn, self._workers, self._chunk = fn, max(1, workers), max(1, chunk)
        self._pool: ProcessPoolExecutor | None = None

    def _get(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def warm_up(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._get(), _noop)

    def submit(self, raws: Sequence[bytes | None]) -> list[Callable[[], Awaitable[tuple[bool, Any]]]]:
        """One awaitable getter per input, in input order."""
        try:
            return self._submit(raws)
        except BrokenProcessPool:  # a worker died since the last batch: start fresh ones
            self._discard(self._pool)
            return self._submit(raws)

    def _submit(self, raws: Sequence[bytes | None]) -> list[Callable[[], Awaitable[tuple[bool, Any]]]]:
        loop = asyncio.get_running_loop()
        pool = self._get()
        getters: list[Callable[[], Awaitable[tuple[bool, Any]]]] = []
        for start in range(0, len(raws), self._chunk):
            fut = loop.run_in_executor(pool, _prepare_chunk, self._fn, list(raws[start : start + self._chunk]))
            for i in range(min(self._chunk, len(raws) - start)):
                getters.append(functools.partial(self._result, fut, i, pool))
        return getters

    def _discard(self, pool: ProcessPoolExecutor | None) -> None:
        if pool is not None and self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    async def _result(
        self, fut: asyncio.Future[list[tuple[bool, Any]]], i: int, pool: ProcessPoolExecutor
    ) -> tuple[bool, Any]:
        try:
            return (await fut)[i]
        except BrokenProcessPool as exc:
            self._discard(pool)  # the retried batch gets fresh workers
            raise WorkerPoolBroken(f"prepare worker died: {exc}") from exc

    def close(self) -> None:
        self._discard(self._pool)
