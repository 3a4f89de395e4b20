"""Running the blocking parts (model generation, Chroma, SQLite) off the event loop.

A chat turn is a blocking iterator (the engine streams tokens from a model under a lock); each step runs in a
worker thread so the event loop keeps serving other requests, and a limiter bounds how many turns hold threads.
When the client goes away the iterator is closed (in a thread too), which lets the engine stop generating.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

_DONE = object()


async def iterate_in_thread(make: Callable[[], Iterator[T]], limiter: anyio.CapacityLimiter) -> AsyncIterator[T]:
    """Yields the items of `make()` (called in a worker thread), each `next` in a worker thread."""
    iterator = await anyio.to_thread.run_sync(make, limiter=limiter)

    def step() -> object:
        return next(iterator, _DONE)

    try:
        while True:
            item = await anyio.to_thread.run_sync(step, limiter=limiter)
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close, limiter=limiter)
