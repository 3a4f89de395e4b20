"""Counts what the configured LLM does, for the metrics: streamed replies, generated pieces (one per token for
llama.cpp and for OpenAI-compatible servers' deltas) and failures by kind. The web app exports the counts."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from assistant.llm.base import LLM, LLMTimeout, Messages, StreamingLLM


class TokenMeter:
    """Thread-safe running totals, read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.tokens = 0
        self.failures: Counter[str] = Counter()

    def add(self, *, requests: int = 0, tokens: int = 0, failure: str | None = None) -> None:
        with self._lock:
            self.requests += requests
            self.tokens += tokens
            if failure:
                self.failures[failure] += 1

    def snapshot(self) -> tuple[int, int, dict[str, int]]:
        with self._lock:
            return self.requests, self.tokens, dict(self.failures)


class MeteredLLM(StreamingLLM):
    """The same LLM, counted. `name` and `model_id` are the wrapped model's; `complete` joins the counted stream."""

    def __init__(self, inner: LLM, meter: TokenMeter) -> None:
        self.inner = inner
        self.meter = meter
        self.name = inner.name
        self.model_id = inner.model_id

    def __getattr__(self, attr: str) -> object:
        # Backend-specific attributes (a llama.cpp model's `path`, ...) read through to the wrapped model.
        return getattr(self.inner, attr)

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> Iterator[str]:
        self.meter.add(requests=1)
        try:
            for piece in self.inner.stream(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop, timeout_s=timeout_s
            ):
                self.meter.add(tokens=1)
                yield piece
        except LLMTimeout:
            self.meter.add(failure="timeout")
            raise
        except Exception:
            self.meter.add(failure="error")
            raise

    def complete_json(
        self,
        messages: Messages,
        schema: dict[str, object],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str | None:
        self.meter.add(requests=1)
        try:
            return self.inner.complete_json(messages, schema, max_tokens=max_tokens, timeout_s=timeout_s)
        except LLMTimeout:
            self.meter.add(failure="timeout")
            raise
        except Exception:
            self.meter.add(failure="error")
            raise
