"""Continuous batching on one llama.cpp context: every running reply advances in the same forward pass.

One scheduler thread owns the context. Each step packs one decode token of every reply that is generating and
then prompt tokens of the replies still reading their prompt, oldest first, into a single `llama_decode` call. A
new request therefore waits for one step, not for whole replies, and prompts come before decoding so that every
caller sees a first token soon (the fairness the web app needs with several sessions on one CPU model).

Sequences share their common prompt prefix through the unified KV cache: a new prompt starts from the longest
prefix any slot already holds (the system prompt and template head of a turn), copied as cell references rather
than recomputed. A slot that finishes keeps its prompt as a cache for the next request until the space is needed.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.llm.base import LLMError

log = logging.getLogger(__name__)

_DONE = object()
RANDOM_SEED = 0xFFFFFFFF  # llama.cpp's LLAMA_DEFAULT_SEED: a new seed per sampler
MIN_SHARED_TOKENS = 16  # waiting a step to copy a shorter common head costs more than computing it


@dataclass
class BatchStats:
    """Running totals, for benchmarks and tests: how much prompt was computed and how much was shared."""

    requests: int = 0
    prompt_tokens: int = 0
    prompt_tokens_reused: int = 0
    generated_tokens: int = 0
    steps: int = 0
    evictions: int = 0


@dataclass
class GenerationRequest:
    """One reply to generate: its prompt tokens, limits and sampling, and the queue its text pieces go to."""

    prompt: list[int]
    max_tokens: int
    temperature: float
    cancel: threading.Event
    seed: int = RANDOM_SEED
    grammar: str | None = None  # GBNF the reply must follow (a JSON schema's grammar), root rule `root`
    pieces: queue.Queue[object] = field(default_factory=queue.Queue)
    arrived: float = field(default_factory=time.monotonic)

    def texts(self) -> Iterator[str]:
        """The reply's pieces as the scheduler produces them; raises the `LLMError` it reports."""
        while True:
            item = self.pieces.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield str(item)


@dataclass
class _Slot:
    seq: int
    tokens: list[int] = field(default_factory=list)  # what this sequence holds in the KV cache, in order
    request: GenerationRequest | None = None
    sampler: Any = None
    decoder: Any = None
    pending: int | None = None  # sampled but not yet evaluated
    generated: int = 0
    last_used: float = 0.0

    @property
    def prefilling(self) -> bool:
        return self.request is not None and self.pending is None


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class BatchScheduler:
    """Owns `ctx` (a llama.cpp context made with `n_seq_max >= slots` and a unified KV cache) from its own thread.

    `n_parallel` replies are generated together; more requests wait in arrival order. `prefill_chunk` caps the
    prompt tokens per step: the replies already streaming keep moving while long prompts are read, and of several
    prompts arriving together the oldest gets its first token after its own prompt, not after all of them.
    """

    def __init__(
        self,
        llama_cpp: Any,
        model: Any,
        ctx: Any,
        *,
        n_parallel: int,
        n_slots: int,
        n_batch: int,
        prefill_chunk: int,
        n_ctx_seq: int,
    ) -> None:
        self._lib = llama_cpp
        self._ctx = ctx
        self._memory = llama_cpp.llama_get_memory(ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_parallel = n_parallel
        self.n_batch = n_batch
        self.prefill_chunk = min(prefill_chunk, n_batch)
        self.n_ctx_seq = n_ctx_seq
        self.stats = BatchStats()
        self._slots = [_Slot(seq=i) for i in range(n_slots)]
        self._waiting: list[GenerationRequest] = []
        self._wake = threading.Condition()
        self._closed = False
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._piece_buffer = ctypes.create_string_buffer(256)
        self._thread = threading.Thread(target=self._run, name="llamacpp-batch", daemon=True)
        self._thread.start()

    # --- callers' side (any thread) ----------------------------------------------------------------------------
    def submit(self, request: GenerationRequest) -> None:
        if not request.prompt:
            raise LLMError("empty prompt")
        if len(request.prompt) + request.max_tokens > self.n_ctx_seq:
            raise LLMError(
                f"prompt of {len(request.prompt)} tokens plus {request.max_tokens} to generate exceeds the "
                f"context of {self.n_ctx_seq} tokens per reply"
            )
        with self._wake:
            if self._closed:
                raise LLMError("the model was closed")
            self._waiting.append(request)
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=30)
        for slot in self._slots:
            self._release(slot, LLMError("the model was closed"))
        for request in self._waiting:
            request.pieces.put(LLMError("the model was closed"))
        self._waiting.clear()
        self._lib.llama_batch_free(self._batch)

    # --- the scheduler thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and not self._waiting and not self._active():
                    self._wake.wait()
                if self._closed:
                    return
                self._admit()
            try:
                self._step()
            except Exception as exc:  # a bug or a native failure must not leave callers waiting forever
                log.exception("llama.cpp batch step failed")
                for slot in self._active():
                    self._forget(slot)
                    self._release(slot, LLMError(f"llama.cpp step failed: {exc}"))

    def _active(self) -> list[_Slot]:
        return [s for s in self._slots if s.request is not None]

    def _admit(self) -> None:
        """Moves waiting requests into free slots, oldest first: an empty slot, else the least recently used one
        (its cached prompt is the one dropped). Any cached prefix of the new prompt is copied in `_share`."""
        while self._waiting and len(self._active()) < self.n_parallel:
            request = self._waiting.pop(0)
            if request.cancel.is_set():
                request.pieces.put(_DONE)
                continue
            free = [s for s in self._slots if s.request is None]
            slot = min(free, key=lambda s: (bool(s.tokens), s.last_used))
            keep = min(common_prefix(slot.tokens, request.prompt), len(request.prompt) - 1)
            self._truncate(slot, keep)
            slot.request = request
            slot.pending = None
            slot.generated = 0
            slot.sampler = self._make_sampler(request.temperature, request.seed, request.grammar)
            if slot.sampler is None:
                slot.request = None
                request.pieces.put(LLMError("the grammar for a constrained reply did not parse"))
                request.pieces.put(_DONE)
                continue
            slot.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            self.stats.requests += 1
            self.stats.prompt_tokens += len(request.prompt)
            self.stats.prompt_tokens_reused += keep

    def _step(self) -> None:
        for slot in self._active():
            if slot.request is not None and slot.request.cancel.is_set():
                self._finish(slot)
        rows = self._plan()
        if not rows:
            return
        while True:
            self._fill(rows)
            status = self._lib.llama_decode(self._ctx, self._batch)
            if status == 0:
                break
            if status == 1 and self._make_room(rows):
                continue
            raise LLMError(f"llama_decode returned {status}")
        self.stats.steps += 1
        for index, (slot, tokens, wants_logits) in enumerate(rows):
            slot.tokens.extend(tokens)
            if wants_logits and slot.request is not None:
                self._take(slot, self._sample(slot, index, rows))

    def _plan(self) -> list[tuple[_Slot, list[int], bool]]:
        """This step's rows: (slot, tokens to evaluate, whether its last token's logits are needed)."""
        rows: list[tuple[_Slot, list[int], bool]] = []
        for slot in self._active():
            if slot.pending is not None:
                rows.append((slot, [slot.pending], True))
        budget = max(0, min(self.prefill_chunk, self.n_batch - len(rows)))
        reading = sorted((s for s in self._active() if s.prefilling), key=lambda s: s.request.arrived)  # type: ignore[union-attr]
        for position, slot in enumerate(reading):
            if budget == 0:
                break
            request = slot.request
            assert request is not None
            self._share(slot)
            if self._will_share(slot, reading[:position]):
                continue
            chunk = request.prompt[len(slot.tokens) : len(slot.tokens) + budget]
            budget -= len(chunk)
            rows.append((slot, chunk, len(slot.tokens) + len(chunk) == len(request.prompt)))
        return rows

    def _will_share(self, slot: _Slot, earlier: list[_Slot]) -> bool:
        """Whether an earlier prompt with the same head (several replies to one template arriving together) is
        being read right now: this one then waits a step and copies that head instead of computing it again."""
        request = slot.request
        assert request is not None
        for other in earlier:
            shared = min(common_prefix(other.request.prompt, request.prompt), len(request.prompt) - 1)  # type: ignore[union-attr]
            if shared - max(len(slot.tokens), len(other.tokens)) >= MIN_SHARED_TOKENS:
                return True
        return False

    def _share(self, slot: _Slot) -> None:
        """Starts `slot` from the longest prefix of its prompt that another sequence has already computed."""
        request = slot.request
        assert request is not None
        limit = len(request.prompt) - 1  # the last prompt token is always evaluated: its logits are the first token
        best, source = len(slot.tokens), None
        for other in self._slots:
            if other is slot:
                continue
            shared = min(common_prefix(other.tokens, request.prompt), limit)
            if shared > best:
                best, source = shared, other
        if source is None:
            return
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, 0, -1)
        self._lib.llama_memory_seq_cp(self._memory, source.seq, slot.seq, 0, best)
        self.stats.prompt_tokens_reused += best - len(slot.tokens)
        slot.tokens = request.prompt[:best]

    def _fill(self, rows: list[tuple[_Slot, list[int], bool]]) -> None:
        batch = self._batch
        n = 0
        for slot, tokens, wants_logits in rows:
            start = len(slot.tokens)
            for offset, token in enumerate(tokens):
                batch.token[n] = token
                batch.pos[n] = start + offset
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = slot.seq
                batch.logits[n] = wants_logits and offset == len(tokens) - 1
                n += 1
        batch.n_tokens = n

    def _sample(self, slot: _Slot, row: int, rows: list[tuple[_Slot, list[int], bool]]) -> int:
        index = sum(len(tokens) for _, tokens, _ in rows[: row + 1]) - 1
        return int(self._lib.llama_sampler_sample(slot.sampler, self._ctx, index))

    def _take(self, slot: _Slot, token: int) -> None:
        """Hands a sampled token's text to the caller and decides whether the reply goes on."""
        request = slot.request
        assert request is not None
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            self._finish(slot)
            return
        slot.generated += 1
        self.stats.generated_tokens += 1
        text = slot.decoder.decode(self._piece(token))
        if text:
            request.pieces.put(text)
        if slot.generated >= request.max_tokens:
            self._finish(slot)
        else:
            slot.pending = token

    def _piece(self, token: int) -> bytes:
        size = self._lib.llama_token_to_piece(self._vocab, token, self._piece_buffer, 256, 0, False)
        if size < 0:  # a longer piece than the buffer: grow it once and ask again
            self._piece_buffer = ctypes.create_string_buffer(-size)
            size = self._lib.llama_token_to_piece(self._vocab, token, self._piece_buffer, -size, 0, False)
        return self._piece_buffer.raw[:size]

    def _finish(self, slot: _Slot) -> None:
        """Ends the slot's reply; its prompt stays cached for the next request with the same head."""
        request = slot.request
        assert request is not None
        if slot.decoder is not None and (rest := slot.decoder.decode(b"", final=True)):
            request.pieces.put(rest)
        self._truncate(slot, min(len(slot.tokens), len(request.prompt)))
        self._release(slot, _DONE)

    def _release(self, slot: _Slot, outcome: object) -> None:
        if slot.request is not None:
            slot.request.pieces.put(outcome)
        if slot.sampler is not None:
            self._lib.llama_sampler_free(slot.sampler)
        slot.request, slot.sampler, slot.decoder, slot.pending = None, None, None, None
        slot.last_used = time.monotonic()

    def _truncate(self, slot: _Slot, keep: int) -> None:
        if keep < len(slot.tokens):
            self._lib.llama_memory_seq_rm(self._memory, slot.seq, keep, -1)
            del slot.tokens[keep:]

    def _forget(self, slot: _Slot) -> None:
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, 0, -1)
        slot.tokens = []

    def _make_room(self, rows: list[tuple[_Slot, list[int], bool]]) -> bool:
        """The KV cache is full: drop the least recently used idle cache, else fail the newest reply."""
        idle = [s for s in self._slots if s.request is None and s.tokens]
        if idle:
            self._forget(min(idle, key=lambda s: s.last_used))
            self.stats.evictions += 1
            return True
        active = self._active()
        if len(active) <= 1:
            return False
        newest = max(active, key=lambda s: s.request.arrived)  # type: ignore[union-attr]
        self._forget(newest)
        self._release(newest, LLMError("the model's context is full; try again"))
        rows[:] = [row for row in rows if row[0] is not newest]
        return bool(rows)

    def _make_sampler(self, temperature: float, seed: int, grammar: str | None = None) -> Any:
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if grammar is not None:
            # First in the chain: every later sampler only sees the tokens the grammar allows.
            constraint = lib.llama_sampler_init_grammar(self._vocab, grammar.encode("utf-8"), b"root")
            if not constraint:
                lib.llama_sampler_free(chain)
                return None
            lib.llama_sampler_chain_add(chain, constraint)
        if temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        # llama-cpp-python's defaults for chat completions, so replies read as before batching.
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(40))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(0.95, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_min_p(0.05, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return chain
