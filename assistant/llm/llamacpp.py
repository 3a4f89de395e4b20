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
    """A GGUF model loaded once per process. Calls are serialized (a llama.cpp context is not thread-safe); the
    model keeps the previous prompt's KV cache, so turns that share the system prompt skip re-reading it."""

    name = "llamacpp"

    def __init__(self, path: Path, *, n_ctx: int = 4096, n_threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
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
