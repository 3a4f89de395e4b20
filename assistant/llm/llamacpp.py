"""llama.cpp backend (llama-cpp-python): the default, running a GGUF on the CPU of this machine."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.llm.base import LLMError, Messages, StreamingLLM, stream_with_deadline

log = logging.getLogger(__name__)


class LlamaCppLLM(StreamingLLM):
    """A GGUF model loaded once per process. Calls are serialized (a llama.cpp context is not thread-safe).

    Prompt processing dominates the first token on a CPU, so the KV states of recent prompts are kept in a RAM
    cache: a turn whose prompt starts like an earlier one (same template and system text, in any order of use)
    only reads its new tokens. Measured on the loaded 2-core machine, alternating two templates: first token
    0.8-2.4 s with the cache against 4.7-8.8 s without.
    """

    name = "llamacpp"

    def __init__(
        self, path: Path, *, n_ctx: int = 4096, n_threads: int | None = None, cache_bytes: int = 1 << 30
    ) -> None:
        try:
            from llama_cpp import Llama, LlamaRAMCache
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed (pip install 'commerce-assistant[llm]')") from exc
        if not path.is_file():
            raise LLMError(f"model file not found: {path}")
        self.path = path
        self.model_id = path.stem
        try:
            self._llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count() or 2,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"cannot load {path}: {exc}") from exc
        if cache_bytes > 0:
            self._llama.set_cache(LlamaRAMCache(capacity_bytes=cache_bytes))
        self._lock = threading.Lock()
        log.info("loaded %s", path)

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> Iterator[str]:
        def produce(cancel: threading.Event) -> Iterator[str]:
            with self._lock:
                if cancel.is_set():
                    return
                chunks: Any = self._llama.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=stop or [],
                    stream=True,
                )
                for chunk in chunks:
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
                    if cancel.is_set():
                        # Closing the generator ends llama.cpp's decode loop at this token.
                        chunks.close()
                        return

        return stream_with_deadline(produce, timeout_s, f"llamacpp {self.model_id}")
