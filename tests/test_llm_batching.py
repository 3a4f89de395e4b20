"""Continuous batching in the llama.cpp backend, with a tiny real GGUF (SmolLM2 135M): concurrent replies stream
together, prompt heads are computed once, cancelled and oversized requests free their slot, a full KV cache evicts
idle prompt caches, and a lone greedy reply is exactly bare llama-cpp-python's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.llm import LLMError, LLMTimeout
from assistant.llm.llamacpp import LlamaCppLLM
from tests.test_llm_backends import _smollm2

SYSTEM = (
    "You are the shopping assistant of an online store. Reply in English, in at most three short sentences. "
    "Use only the facts in PRODUCTS and refer to products by their number. Never invent a price or a feature."
)
QUESTIONS = [
    "Count from one to thirty in words.",
    "List ten fruits, one per line.",
    "Describe a good pair of running shoes in detail.",
    "Write a short poem about coffee.",
]


def chat(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


@pytest.fixture()
def llm() -> Iterator[LlamaCppLLM]:
    model = LlamaCppLLM(_smollm2(), n_ctx=512, n_parallel=4, prefill_chunk=64)
    yield model
    model.close()


def test_concurrent_replies_stream_together(llm: LlamaCppLLM) -> None:
    """Every reply shows its first piece before any reply finishes: none waits for another's whole answer."""
    events: list[tuple[str, int]] = []
    lock = threading.Lock()
    texts: dict[int, str] = {}

    def run(n: int) -> None:
        text = ""
        for piece in llm.stream(chat(QUESTIONS[n]), max_tokens=40, temperature=0.0, timeout_s=120):
            if not text:
                with lock:
                    events.append(("first", n))
            text += piece
        with lock:
            events.append(("end", n))
        texts[n] = text

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert len(texts) == 4 and all(texts.values())
    kinds = [kind for kind, _ in events]
    assert kinds[:4] == ["first"] * 4, events
    # Four replies of up to 40 tokens each in far fewer forward passes than one after the other.
    assert llm.stats.steps < llm.stats.generated_tokens


def test_prompt_heads_are_computed_once(llm: LlamaCppLLM) -> None:
    head = len(llm.tokenize_chat([{"role": "system", "content": SYSTEM}]))
    llm.complete(chat(QUESTIONS[0]), max_tokens=4, temperature=0.0, timeout_s=60)
    assert llm.stats.prompt_tokens_reused == 0
    llm.complete(chat(QUESTIONS[1]), max_tokens=4, temperature=0.0, timeout_s=60)
    assert llm.stats.prompt_tokens_reused >= head - 2  # the system turn, up to where the user turn begins
    # Four replies to the same template arriving together: the head is read once and copied to the others.
    before = llm.stats.prompt_tokens_reused
    threads = [
        threading.Thread(target=llm.complete, args=(chat(f"{QUESTIONS[n]} Please."),), kwargs={"max_tokens": 4,
                         "temperature": 0.0, "timeout_s": 60})
        for n in range(4)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert llm.stats.prompt_tokens_reused - before >= 4 * (head - 2)


def test_system_part_alone_warms_the_head() -> None:
    """What the dialogue engine's warm-up does: a one-token reply to the system part caches it for real turns."""
    llm = LlamaCppLLM(_smollm2(), n_ctx=512, n_parallel=2)
    try:
        system = [{"role": "system", "content": SYSTEM}]
        llm.complete(system, max_tokens=1, temperature=0.0, timeout_s=60)
        llm.complete(chat(QUESTIONS[2]), max_tokens=4, temperature=0.0, timeout_s=60)
        assert llm.stats.prompt_tokens_reused >= len(llm.tokenize_chat(system)) - 3  # all but "assistant\n"
    finally:
        llm.close()


def test_cancelled_reply_frees_its_slot() -> None:
    llm = LlamaCppLLM(_smollm2(), n_ctx=512, n_parallel=1)
    try:
        with pytest.raises(LLMTimeout):
            llm.complete(chat(QUESTIONS[0]), max_tokens=400, timeout_s=0.05)
        # With one slot, this only answers if the timed-out reply was dropped.
        assert llm.complete(chat(QUESTIONS[1]), max_tokens=4, temperature=0.0, timeout_s=60)
    finally:
        llm.close()


def test_oversized_request_is_refused_not_hung(llm: LlamaCppLLM) -> None:
    with pytest.raises(LLMError, match="exceeds the context") as refused:
        llm.complete(chat("word " * 600), max_tokens=8, timeout_s=30)
    assert not isinstance(refused.value, LLMTimeout)
    assert llm.complete(chat(QUESTIONS[1]), max_tokens=4, temperature=0.0, timeout_s=60)


def test_full_cache_evicts_idle_prompts() -> None:
    # Room for two replies of 128 tokens; four slots keep finished prompts (about 100 tokens each, none alike)
    # until the space is needed.
    llm = LlamaCppLLM(_smollm2(), n_ctx=128, n_parallel=2)
    try:
        for n in range(8):
            messages = [{"role": "system", "content": f"{n} {SYSTEM}"}, {"role": "user", "content": QUESTIONS[n % 4]}]
            assert llm.complete(messages, max_tokens=24, temperature=0.0, timeout_s=60)
        assert llm.stats.evictions > 0
    finally:
        llm.close()


def test_lone_greedy_reply_matches_bare_llama_cpp() -> None:
    from llama_cpp import Llama

    # Same template rendering, tokens, sampling and decoding. (Only with the prompt read in one piece into a fresh
    # cache: other batch shapes or KV cells change float rounding, which may flip a near-tie of this tiny model.)
    llm = LlamaCppLLM(_smollm2(), n_ctx=512, n_parallel=1)
    bare = Llama(model_path=str(_smollm2()), n_ctx=512, verbose=False)
    try:
        ours = llm.complete(chat(QUESTIONS[1]), max_tokens=32, temperature=0.0, timeout_s=60)
    finally:
        llm.close()
    theirs = bare.create_chat_completion(messages=chat(QUESTIONS[1]), max_tokens=32, temperature=0.0)  # type: ignore[arg-type]
    assert ours == theirs["choices"][0]["message"]["content"]  # type: ignore[index]


def test_sampled_replies_are_text(llm: LlamaCppLLM) -> None:
    assert isinstance(llm.complete(chat(QUESTIONS[3]), max_tokens=12, temperature=0.8, timeout_s=60), str)


def test_closed_model_refuses_new_requests(tmp_path: Path) -> None:
    llm = LlamaCppLLM(_smollm2(), n_ctx=256, n_parallel=1)
    llm.close()
    with pytest.raises(LLMError, match="closed"):
        llm.complete(chat(QUESTIONS[0]), max_tokens=4, timeout_s=10)
