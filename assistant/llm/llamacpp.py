"""llama.cpp backend (llama-cpp-python): the default, running a GGUF on the CPU of this machine.

Concurrent calls share the model through continuous batching (`assistant/llm/batching.py`): their replies advance
together, token by token, instead of waiting for each other's whole replies behind a lock.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.llm.base import LLMError, Messages, StreamingLLM, cut_at_stop, stream_with_deadline
from assistant.llm.batching import BatchScheduler, BatchStats, GenerationRequest

log = logging.getLogger(__name__)


class LlamaCppLLM(StreamingLLM):
    """A GGUF model loaded once per process, serving up to `n_parallel` replies at once.

    `n_ctx` is the context of one reply (prompt plus generated tokens); the KV cache holds `n_parallel` of them,
    shared where prompts begin alike. Prompt processing dominates the first token on a CPU, so prompt heads are
    computed once and reused: by later turns of the same template and by concurrent replies alike.
    """

    name = "llamacpp"

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_parallel: int = 4,
        n_batch: int = 512,
        prefill_chunk: int = 128,
    ) -> None:
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
            from llama_cpp._internals import LlamaModel
            from llama_cpp._logger import set_verbose
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed (pip install 'commerce-assistant[llm]')") from exc
        if not path.is_file():
            raise LLMError(f"model file not found: {path}")
        self.path = path
        self.model_id = path.stem
        set_verbose(False)
        llama_cpp.llama_backend_init()
        try:
            self._model = LlamaModel(path_model=str(path), params=llama_cpp.llama_model_default_params(), verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"cannot load {path}: {exc}") from exc
        metadata = self._model.metadata()
        template = metadata.get("tokenizer.chat_template")
        if not template:
            raise LLMError(f"{path.name} has no chat template in its metadata")
        eos, bos = self._model.token_eos(), self._model.token_bos()
        self._format = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=self._model.token_get_text(eos) if eos != -1 else "",
            bos_token=self._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        n_slots = 2 * n_parallel  # the extra sequences keep recent prompts for the next turns
        threads = n_threads or os.cpu_count() or 2
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx * n_parallel
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = n_slots
        params.kv_unified = True  # one cache: sequences share the cells of a common prompt head
        params.n_threads = params.n_threads_batch = threads
        # As llama-cpp-python's `Llama` sets it, so that a reply is token for token what the serial backend gave
        # (flash attention measured no faster here).
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._ctx: Any = llama_cpp.llama_init_from_model(self._model.model, params)
        if self._ctx is None:
            self._model.close()
            raise LLMError(f"cannot create a llama.cpp context for {path.name}")
        self._lib = llama_cpp
        self._scheduler = BatchScheduler(
            llama_cpp,
            self._model.model,
            self._ctx,
            n_parallel=n_parallel,
            n_slots=n_slots,
            n_batch=n_batch,
            prefill_chunk=prefill_chunk,
            n_ctx_seq=n_ctx,
        )
        self._close_lock = threading.Lock()
        log.info("loaded %s (%d replies at once, %d threads)", path, n_parallel, threads)

    @property
    def stats(self) -> BatchStats:
        """Prompt tokens computed and reused, tokens generated, batch steps."""
        return self._scheduler.stats

    def tokenize_chat(self, messages: Messages) -> list[int]:
        """The prompt tokens of `messages` in the model's own chat template. (The template's end-of-turn marker is
        a special token: generation ends on it, and it never appears in the text.)"""
        if self._ctx is None:
            raise LLMError(f"llamacpp {self.model_id}: the model was closed")
        formatted = self._format(messages=messages)
        return list(
            self._model.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        )

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
        grammar: str | None = None,
    ) -> Iterator[str]:
        prompt = self.tokenize_chat(messages)

        def produce(cancel: threading.Event) -> Iterator[str]:
            # `cancel` is set when the caller stops reading (deadline, stop string, closed stream): the
            # scheduler then drops the reply at its next step.
            request = GenerationRequest(
                prompt=prompt, max_tokens=max_tokens, temperature=temperature, cancel=cancel, grammar=grammar
            )
            self._scheduler.submit(request)
            yield from cut_at_stop(request.texts(), stop)

        return stream_with_deadline(produce, timeout_s, f"llamacpp {self.model_id}")

    def complete_json(
        self,
        messages: Messages,
        schema: dict[str, object],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str | None:
        """Greedy decoding under the schema's grammar (what `create_chat_completion(response_format=...)` does in
        llama-cpp-python), through the same batching scheduler as the replies."""
        grammar = _grammar(json.dumps(schema, sort_keys=True))
        return "".join(
            self.stream(messages, max_tokens=max_tokens, temperature=0.0, timeout_s=timeout_s, grammar=grammar)
        )

    def close(self) -> None:
        """Stops the scheduler and frees the context and the model (tests and benchmarks load several)."""
        with self._close_lock:
            if self._ctx is None:
                return
            self._scheduler.close()
            self._lib.llama_free(self._ctx)
            self._ctx = None
            self._model.close()


@functools.lru_cache(maxsize=8)
def _grammar(schema: str) -> str:
    """The GBNF grammar of a JSON schema, converted once per schema."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema)
