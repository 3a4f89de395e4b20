"""Speed of the bundled local models through our llama.cpp backend, against bare llama-cpp-python on the same
model object, prompts and settings: first-token latency, decode tokens/s and our overhead as a ratio.

    python bench/llm_speed.py                       # every installed bundled model, 6 turns each
    python bench/llm_speed.py --turns 10 --max-tokens 96 --out bench-out/llm

Each turn asks both paths the same question, in alternating order so that load from other processes hits both
alike; the model's KV cache is cleared before every call, so neither path reuses the other's prompt and both do
identical work (greedy decoding: identical replies).

A second part measures what the backend's RAM cache of prompt states buys in a conversation: turns alternate
between two templates (shopping reply, policy answer) with a new question each, on one model with the cache and
one without; first-token p50 of each and their ratio. Writes summary.json and llm_speed.png to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings
from assistant.llm.bundled_model import BUNDLED_MODELS, join_parts
from assistant.llm.llamacpp import LlamaCppLLM
from prompts import load

PRODUCTS = (
    "1. Auralis Q7 Wireless Noise-Cancelling Headphones, $248.99, in stock\n"
    "2. Auralis Buds Mini True Wireless Earbuds, $78.99, in stock\n"
    "3. Kestrel Studio Wired Headphones, $128.99, in stock"
)
QUESTIONS = [
    "Which of these are wireless?",
    "I want something cheap for the gym.",
    "Which one is best for long flights?",
    "Do any of them work with a cable?",
    "What should I buy for my daughter?",
    "I need headphones for the office.",
    "Which one has noise cancelling?",
    "Are there any earbuds?",
    "Something for recording music?",
    "Which one is the most expensive?",
    "What would you pick for running?",
    "Is there a pair under $100?",
]


def messages(question: str) -> list[dict[str, str]]:
    return load("shopping_reply").messages(language="English", products=PRODUCTS, question=question)


def timed(stream: Iterator[str]) -> tuple[float, float, str]:
    """(seconds to first piece, total seconds, text) of one streamed reply."""
    started = time.perf_counter()
    first = None
    text = ""
    for piece in stream:
        if first is None:
            first = time.perf_counter() - started
        text += piece
    return first or 0.0, time.perf_counter() - started, text


def bench_model(path: Path, turns: int, max_tokens: int) -> dict[str, object]:
    # The same weights and threads, and no prompt-state cache: the comparison isolates our layer.
    ours = LlamaCppLLM(path, cache_bytes=0)
    llama = ours._llama

    def bare(question: str) -> Iterator[str]:
        chunks = llama.create_chat_completion(
            messages=messages(question),
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,  # type: ignore[arg-type]
        )
        for chunk in chunks:
            text = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
            if text:
                yield text

    def wrapped(question: str) -> Iterator[str]:
        return ours.stream(messages(question), max_tokens=max_tokens, temperature=0.0, timeout_s=300)

    paths: dict[str, Callable[[str], Iterator[str]]] = {"bare": bare, "ours": wrapped}
    results: dict[str, dict[str, list[float]]] = {name: {"first": [], "total": [], "tps": []} for name in paths}
    timed(bare("warm up"))
    for turn in range(turns):
        order = ("bare", "ours") if turn % 2 == 0 else ("ours", "bare")
        question = QUESTIONS[turn % len(QUESTIONS)]
        for name in order:
            llama.reset()
            first, total, text = timed(paths[name](question))
            tokens = len(llama.tokenize(text.encode(), add_bos=False, special=False))
            decode = max(total - first, 1e-6)
            results[name]["first"].append(first)
            results[name]["total"].append(total)
            results[name]["tps"].append((tokens - 1) / decode if tokens > 1 else 0.0)
            print(
                f"  {path.stem} {name:<4} first {first:5.2f}s total {total:5.2f}s {tokens:3d} tokens", file=sys.stderr
            )
    summary: dict[str, object] = {}
    for name, r in results.items():
        summary[name] = {
            "first_token_p50_s": round(statistics.median(r["first"]), 3),
            "total_p50_s": round(statistics.median(r["total"]), 3),
            "decode_tokens_per_s_p50": round(statistics.median(r["tps"]), 2),
        }
    bare_s, ours_s = summary["bare"], summary["ours"]
    assert isinstance(bare_s, dict) and isinstance(ours_s, dict)
    summary["ratio_ours_over_bare"] = {
        "first_token": round(ours_s["first_token_p50_s"] / bare_s["first_token_p50_s"], 3),
        "total": round(ours_s["total_p50_s"] / bare_s["total_p50_s"], 3),
    }
    return summary


POLICY = "Pending orders can be cancelled or changed. Delivered orders can be returned or exchanged. " * 4


def conversation(question: str, turn: int) -> list[dict[str, str]]:
    if turn % 2 == 0:
        return messages(question)
    return load("policy_answer").messages(language="English", policy=POLICY, question=question)


def bench_prompt_cache(path: Path, turns: int) -> dict[str, float]:
    """First-token p50 over a conversation that alternates two templates, with and without the state cache."""
    firsts: dict[str, list[float]] = {"cached": [], "uncached": []}
    models = {"cached": LlamaCppLLM(path), "uncached": LlamaCppLLM(path, cache_bytes=0)}
    for name, llm in models.items():
        for turn in range(turns):
            question = QUESTIONS[turn % len(QUESTIONS)]
            stream = llm.stream(conversation(question, turn), max_tokens=8, temperature=0.0, timeout_s=300)
            firsts[name].append(timed(stream)[0])
    # The first turn of each template is cold for both and left out.
    cached, uncached = statistics.median(firsts["cached"][2:]), statistics.median(firsts["uncached"][2:])
    return {
        "first_token_p50_s_cached": round(cached, 3),
        "first_token_p50_s_uncached": round(uncached, 3),
        "ratio_cached_over_uncached": round(cached / uncached, 3),
    }


def plot(summary: dict[str, dict[str, object]], out: Path) -> Path:
    names = list(summary)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.28
    for i, kind in enumerate(("bare", "ours")):
        xs = [n + (i - 1) * width for n in range(len(names))]
        left.bar(xs, [summary[m][kind]["decode_tokens_per_s_p50"] for m in names], width, label=kind)  # type: ignore[index]
        right.bar(xs, [summary[m][kind]["first_token_p50_s"] for m in names], width, label=f"{kind}, cold prompt")  # type: ignore[index]
    cached = [summary[m]["prompt_cache"]["first_token_p50_s_cached"] for m in names]  # type: ignore[index]
    right.bar([n + width for n in range(len(names))], cached, width, label="ours, conversation (prompt cache)")
    for axis, title in ((left, "decode tokens/s (p50)"), (right, "first token, s (p50)")):
        axis.set_xticks(range(len(names)), [n.replace("qwen2.5-coder-", "") for n in names])
        axis.set_title(title)
        axis.legend()
    fig.suptitle(f"bundled models on {os.cpu_count()} CPU cores: our backend vs bare llama.cpp")
    fig.tight_layout()
    path = out / "llm_speed.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("bench-out/llm_speed"))
    args = parser.parse_args()
    settings = Settings().ensure_dirs()
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, object]] = {}
    for model in BUNDLED_MODELS:
        if model.part_paths() is None:
            print(f"skipping {model.name}: not installed ({model.install_hint()})", file=sys.stderr)
            continue
        path = join_parts(model, settings.models_dir)
        summary[model.name] = bench_model(path, args.turns, args.max_tokens)
        summary[model.name]["prompt_cache"] = bench_prompt_cache(path, args.turns + 2)
        print(json.dumps({"model": model.name, **summary[model.name]}))
    if not summary:
        sys.exit("no bundled model installed")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out / 'summary.json'} and {plot(summary, args.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
