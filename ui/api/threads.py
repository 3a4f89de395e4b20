"""Running the blocking parts (model generation, Chroma, SQLite) off the event loop.

A chat turn is a blocking iterator (the engine streams tokens from a model under a lock); each step runs in a
worker thread so the event loop keeps serving other requests, and a pool's limiter bounds how many calls hold
threads (the rest wait in FIFO order). When the client goes away the iterator is closed (in a thread too), which
lets the engine stop generating. Each pool records how long calls waited for their thread, so a tail made of
queueing is told apart from a slow call.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
import anyio.to_thread
from prometheus_client import Histogram

T = TypeVar("T")

_DONE = object()


class WorkerPool:
    """At most `capacity` calls at once in worker threads; `wait` (a histogram) gets each call's time in line."""

    def __init__(self, capacity: int, wait: Histogram) -> None:
        self.limiter = anyio.CapacityLimiter(capacity)
        self._wait = wait

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` in a worker thread."""
        queued = time.perf_counter()

        def call() -> T:
            self._wait.observe(time.perf_counter() - queued)
            return fn()

        return await anyio.to_thread.run_sync(call, limiter=self.limiter)

    async def iterate(self, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """Yields the items of `make()` (called in a worker thread), each `next` in a worker thread."""
        iterator = await self.run(make)

        def step() -> object:
            return next(iterator, _DONE)

        try:
            while True:
                item = await anyio.to_thread.run_sync(step, limiter=self.limiter)
                if item is _DONE:
                    return
                yield item  # type: ignore[misc]
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(close, limiter=self.limiter)
