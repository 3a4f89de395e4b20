"""The one interface every LLM backend implements, and the failure it raises.

`none` (no LLM) is not an object: `make_llm("none", ...)` returns None and the dialogue engine builds replies from
templates, exactly as it does when a backend raises `LLMError`.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

Messages = list[dict[str, str]]


class LLMError(RuntimeError):
    """The model could not answer: not loadable, server error, malformed response. The caller falls back."""


class LLMTimeout(LLMError):
    """The answer did not finish within `timeout_s`. Text streamed before the deadline was already delivered."""


@runtime_checkable
class LLM(Protocol):
    """A chat model. `name` is the backend (`llamacpp`, `transformers`, `openai`); `model_id` names the model
    (recorded with every response)."""

    name: str
    model_id: str

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> Iterator[str]:
        """Yields the reply's text pieces as they are generated. Raises `LLMError` (`LLMTimeout` when the whole
        reply takes longer than `timeout_s`)."""
        ...

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> str:
        """The whole reply as one string; same errors as `stream`."""
        ...

    def complete_json(
        self,
        messages: Messages,
        schema: dict[str, object],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str | None:
        """A JSON text that the backend constrained to `schema` (a grammar, JSON-schema output or a forced tool
        call), or None where the backend cannot constrain its output (the caller then keeps its rules). Same errors
        as `stream`."""
        ...


class StreamingLLM(ABC):
    """Base for backends: `complete` joins `stream`."""

    name: str
    model_id: str

    @abstractmethod
    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> Iterator[str]:
        """See `LLM.stream`."""

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> str:
        return "".join(
            self.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, timeout_s=timeout_s)
        )

    def complete_json(
        self,
        messages: Messages,
        schema: dict[str, object],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str | None:
        """See `LLM.complete_json`; a backend without constrained output returns None."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"


_DONE = object()


def stream_with_deadline(
    produce: Callable[[threading.Event], Iterator[str]], timeout_s: float, what: str
) -> Iterator[str]:
    """Runs a blocking generator in a worker thread and yields its pieces until `timeout_s` has passed.

    In-process engines (llama.cpp, transformers) block inside native code, so only a consumer-side deadline is
    reliable: on timeout the caller gets `LLMTimeout` at once, and the worker sees `cancel` set and stops at its
    next piece.
    """
    pieces: queue.Queue[object] = queue.Queue()
    cancel = threading.Event()

    def work() -> None:
        try:
            for piece in produce(cancel):
                if cancel.is_set():
                    break
                pieces.put(piece)
        except Exception as exc:
            pieces.put(exc)
        finally:
            pieces.put(_DONE)

    threading.Thread(target=work, name=f"llm-{what}", daemon=True).start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LLMTimeout(f"{what}: no complete answer within {timeout_s:g} s")
            try:
                item = pieces.get(timeout=remaining)
            except queue.Empty:
                raise LLMTimeout(f"{what}: no complete answer within {timeout_s:g} s") from None
            if item is _DONE:
                return
            if isinstance(item, LLMError):
                raise item
            if isinstance(item, Exception):
                raise LLMError(f"{what}: {type(item).__name__}: {item}") from item
            yield str(item)
    finally:
        cancel.set()


def cut_at_stop(pieces: Iterator[str], stop: list[str] | None) -> Iterator[str]:
    """Ends a stream before the first stop string, holding back only as much text as a stop string could span."""
    if not stop:
        yield from pieces
        return
    hold = max(len(s) for s in stop) - 1
    buffer = ""
    for piece in pieces:
        buffer += piece
        hits = [i for i in (buffer.find(s) for s in stop) if i >= 0]
        if hits:
            if min(hits):
                yield buffer[: min(hits)]
            return
        if len(buffer) > hold:
            cut = len(buffer) - hold
            yield buffer[:cut]
            buffer = buffer[cut:]
    if buffer:
        yield buffer
