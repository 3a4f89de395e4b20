"""Dialogue latency: where a turn's time goes, time to first token, and our generation overhead over bare llama.cpp.

    python bench/dialogue.py [--llm auto|none|llamacpp:PATH] [--store ../shared/data/retail-store] [--rounds 2]

1. Turns without a model (`none`): per-stage timings (moderation, routing, retrieval, tools) over a fixed script of
   shopping and customer-service turns; the non-LLM part of a turn, p50/p95.
2. With a model: the same shopping turns end to end, time to first token (first guarded sentence) p50.
3. Generation overhead: the engine's prompts streamed through our backend and the grounding guard, against
   `llama_cpp.Llama.create_chat_completion(stream=True)` on the same prompt, same model file, same settings, in the
   same run (temperature 0: both produce the same tokens). Prints ratios.

Timings depend on the machine's load; compare the ratios, and read absolute figures with the load in mind.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.dialogue.grounding import SentenceGuard  # noqa: E402
from assistant.dialogue.handlers.shopping import PROMPT_PRODUCTS, grounded, product_lines  # noqa: E402
from assistant.evals.dialogue import DEFAULT_STORE, fresh_runtime  # noqa: E402
from prompts import load as load_prompt  # noqa: E402

SHOPPING = [
    "I'm looking for a water bottle",
    "show me headphones under $400",
    "do you sell laptops?",
    "show me kettles",
    "I need new running shoes",
    "我想买一个蓝牙音箱",
]
SCRIPT = [
    *SHOPPING,
    "compare the first two",
    "what colors does the second one come in?",
    "what is your return policy?",
    "Where is my order #W6436609?",
    "my email is anya.garcia2061@example.com",
    "cancel order #W6436609, I no longer need it",
    "no",
    "hello",
]
STAGES = ("moderation", "routing", "retrieval", "tools", "generation")


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def bench_turns(runtime, rounds: int) -> dict:
    """The scripted turns `rounds` times (the first round warms the models and is not counted)."""
    stage: dict[str, list[float]] = {s: [] for s in STAGES}
    non_llm: list[float] = []
    first_token: list[float] = []
    for round_no in range(rounds + 1):
        session = None
        for message in SCRIPT:
            response = runtime.dialogue.chat(message, session_id=session)
            session = response.session_id
            if round_no == 0:
                continue
            timings = response.timings_ms
            for name in STAGES:
                if name in timings:
                    stage[name].append(timings[name])
            non_llm.append(response.latency_ms - timings.get("generation", 0.0))
            if response.prompt_version and "first_token" in timings:
                first_token.append(timings["first_token"])
    out = {f"{name}_ms_p50": pct(v, 50) for name, v in stage.items() if v}
    out |= {"non_llm_ms_p50": pct(non_llm, 50), "non_llm_ms_p95": pct(non_llm, 95), "turns": len(non_llm)}
    if first_token:
        out |= {"first_token_ms_p50": pct(first_token, 50), "first_token_ms_p95": pct(first_token, 95)}
    return out


def bench_overhead(runtime, max_tokens: int = 64) -> dict:
    """Our streaming path (backend + grounding guard) vs bare llama.cpp on the engine's own shopping prompts."""
    from llama_cpp import Llama, LlamaRAMCache

    from assistant.llm.llamacpp import LlamaCppLLM

    engine_llm = runtime.llm
    if engine_llm is None or engine_llm.name != "llamacpp":
        return {"skipped": "needs a llama.cpp model (--llm auto or llamacpp:PATH)"}
    # A fresh instance, so neither side starts with prompts cached by the turns measured before.
    ours = LlamaCppLLM(engine_llm.path)
    # The same settings our backend loads the model with (assistant/llm/llamacpp.py).
    bare = Llama(model_path=str(ours.path), n_ctx=4096, n_threads=os.cpu_count() or 2, verbose=False)
    bare.set_cache(LlamaRAMCache(capacity_bytes=1 << 30))  # as our backend does: the difference is our wrapping
    prompt = load_prompt("shopping_reply")
    rows = []
    for turn, query in enumerate(SHOPPING):
        products = [h.product for h in runtime.searcher.search(query, k=5)]
        lines = product_lines(products[:PROMPT_PRODUCTS], "en")  # as the engine builds it
        messages = prompt.messages(language="English", products=lines, question=query)
        rows.append(_pair(bare, ours, messages, max_tokens, grounded(products), bare_first=turn % 2 == 0))
    rows = rows[1:]  # the first pair only fills both caches with the prompt's shared system part
    first_ratio = statistics.median(r[2] / r[0] for r in rows)
    total_ratio = statistics.median(r[3] / r[1] for r in rows)
    return {
        "prompts": len(rows),
        "bare_first_token_ms_p50": round(statistics.median(r[0] for r in rows) * 1000, 1),
        "ours_first_token_ms_p50": round(statistics.median(r[2] for r in rows) * 1000, 1),
        "bare_total_ms_p50": round(statistics.median(r[1] for r in rows) * 1000, 1),
        "ours_total_ms_p50": round(statistics.median(r[3] for r in rows) * 1000, 1),
        "first_token_ratio_ours_over_bare": round(first_ratio, 3),
        "total_ratio_ours_over_bare": round(total_ratio, 3),
        "same_text": sum(r[4] for r in rows),
    }


def _pair(bare, ours, messages, max_tokens: int, facts, bare_first: bool) -> tuple:
    """(bare first token s, bare total s, ours first token s, ours total s, same text), run in the given order."""
    runs = {}
    for who in ("bare", "ours") if bare_first else ("ours", "bare"):
        started = time.perf_counter()
        first = None
        text = ""
        guard = SentenceGuard(facts)
        if who == "bare":
            chunks = bare.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0, stream=True)
            pieces = (chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
        else:
            pieces = ours.stream(messages, max_tokens=max_tokens, temperature=0.0, timeout_s=300)
        for piece in pieces:
            shown = guard.feed(piece) if who == "ours" else piece  # our path: backend, then the grounding guard
            if shown and first is None:
                first = time.perf_counter() - started
            text += piece
        if who == "ours":
            guard.flush()
        total = time.perf_counter() - started
        runs[who] = (first or total, total, text)
    return runs["bare"][0], runs["bare"][1], runs["ours"][0], runs["ours"][1], runs["bare"][2] == runs["ours"][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", default="none")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    base = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    results: dict[str, object] = {}
    none_runtime = fresh_runtime(Settings(data_dir=base.data_dir, llm="none"), args.store, "bench-dialogue")
    results["turns_without_model"] = bench_turns(none_runtime, args.rounds)
    if args.llm != "none":
        llm_runtime = fresh_runtime(Settings(data_dir=base.data_dir, llm=args.llm), args.store, "bench-dialogue-llm")
        results["turns_with_model"] = bench_turns(llm_runtime, max(1, args.rounds - 1))
        results["generation_overhead"] = bench_overhead(llm_runtime)
        results["model_id"] = llm_runtime.llm.model_id if llm_runtime.llm else "none"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
