"""Several chat sessions on one local model: our continuous-batching llama.cpp backend against the serial backend
it replaced (llama-cpp-python's `Llama` with a 1 GiB RAM prompt cache, one whole reply at a time behind a lock),
same model file, threads, prompts and greedy decoding, in one run.

    python bench/llm_speed.py                                  # 1.5B (the default model), 4 streams, 3 rounds
    python bench/llm_speed.py --models 1.5b 0.5b --streams 4 --rounds 3 --max-tokens 64 --out bench-out/llm_speed

`burst`: each round starts `--streams` replies at the same moment (the web app's worst case: sessions arriving
together), each with its own shopping or policy prompt as the dialogue engine builds them; per stream the time to
its first text piece, per round the wall time and the pieces (about one per token) per second over all streams.
Rounds alternate which backend goes first, so load from other processes hits both alike.
`single`: one reply at a time (a lone session): first piece and decode pieces/s, our overhead when nothing is
shared. Both backends start warm (one reply each), so the system prompt is cached on both sides.

Prints one JSON line per model with the ratios batched/serial and the load average; writes summary.json and
llm_speed.png to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings
from assistant.llm.bundled_model import BUNDLED_MODELS, join_parts
from assistant.llm.llamacpp import LlamaCppLLM
from prompts import load

Messages = list[dict[str, str]]

CATALOG = {
    "headphones": (
        "1. Auralis Buds Mini True Wireless Earbuds — $78.99, in stock, Auralis, bluetooth: 5.2, wireless: yes\n"
        "2. Kestrel Studio Wired Headphones — $128.99, in stock, Kestrel, bluetooth: no, wireless: no\n"
        "3. Kestrel SportFit Wireless Earbuds — $58.99, in stock"
    ),
    "laptops": (
        "1. Nimbus Air 13 Laptop — $998.99, in stock\n2. Nimbus Pro 16 Laptop — $1,798.99, in stock\n"
        "3. Vanta G15 Gaming Laptop — $1,398.99, out of stock"
    ),
    "coffee": (
        "1. Brewmaster Espresso Pro Machine — $348.99, in stock\n"
        "2. Brewmaster 12-Cup Drip Coffee Maker — $68.99, in stock\n3. Kaffa Pour-Over Kettle Set — $44.99, in stock"
    ),
    "shoes": (
        "1. Stride Runner 3 Running Shoes — $118.99, in stock\n2. Stride Trail GTX Trail Shoes — $148.99, in stock\n"
        "3. Fleetfoot Everyday Sneakers — $58.99, in stock"
    ),
}
SHOPPING = [
    ("headphones", "I need wireless headphones under $150"),
    ("laptops", "show me laptops for travel"),
    ("coffee", "which coffee maker is the cheapest?"),
    ("shoes", "running shoes in size 42"),
    ("headphones", "which one is best for the gym?"),
    ("laptops", "is there a laptop for gaming?"),
    ("coffee", "I want espresso at home"),
]
POLICY = (
    "Pending orders can be cancelled or changed before they ship. Delivered orders can be returned or exchanged "
    "within 30 days; refunds go to the original payment method."
)


def prompt_messages(n: int) -> Messages:
    """The n-th prompt of the mix: seven shopping replies, then a policy answer. Each question carries its number,
    so no prompt repeats whole (different sessions ask different things)."""
    if n % 8 == 7:
        question = f"what is your return policy? (customer {n})"
        return load("policy_answer").messages(language="English", policy=POLICY, question=question)
    kind, question = SHOPPING[n % len(SHOPPING)]
    return load("shopping_reply").messages(language="English", products=CATALOG[kind], question=f"{question} ({n})")


class SerialLlamaCpp:
    """The backend before batching, as it was: one `Llama`, a RAM cache of prompt states, a lock per reply."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama, LlamaRAMCache

        self.llama = Llama(model_path=str(path), n_ctx=4096, n_threads=os.cpu_count() or 2, verbose=False)
        self.llama.set_cache(LlamaRAMCache(capacity_bytes=1 << 30))
        self.lock = threading.Lock()

    def stream(self, messages: Messages, max_tokens: int) -> Iterator[str]:
        with self.lock:
            chunks = self.llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
            )
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                if text:
                    yield text


class Batched:
    def __init__(self, path: Path) -> None:
        self.llm = LlamaCppLLM(path)

    def stream(self, messages: Messages, max_tokens: int) -> Iterator[str]:
        return self.llm.stream(messages, max_tokens=max_tokens, temperature=0.0, timeout_s=600)


Backend = SerialLlamaCpp | Batched


def timed(backend: Backend, messages: Messages, max_tokens: int, began: float) -> dict[str, float]:
    """Seconds from `began` to the first piece and to the end, and the number of pieces."""
    first = None
    pieces = 0
    for _ in backend.stream(messages, max_tokens):
        if first is None:
            first = time.perf_counter() - began
        pieces += 1
    end = time.perf_counter() - began
    return {"first_s": first if first is not None else end, "end_s": end, "pieces": pieces}


def burst(backend: Backend, first_prompt: int, streams: int, max_tokens: int) -> dict[str, object]:
    results: list[dict[str, float]] = [{} for _ in range(streams)]
    began = time.perf_counter()

    def run(i: int) -> None:
        results[i] = timed(backend, prompt_messages(first_prompt + i), max_tokens, began)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {
        "first_s": [round(r["first_s"], 3) for r in results],
        "wall_s": round(wall, 3),
        "pieces_per_s": round(sum(r["pieces"] for r in results) / wall, 2),
    }


def single(backend: Backend, prompt: int, max_tokens: int) -> dict[str, float]:
    r = timed(backend, prompt_messages(prompt), max_tokens, time.perf_counter())
    decode = max(r["end_s"] - r["first_s"], 1e-6)
    return {"first_s": r["first_s"], "decode_pieces_per_s": (r["pieces"] - 1) / decode if r["pieces"] > 1 else 0.0}


def bench_model(path: Path, streams: int, rounds: int, singles: int, max_tokens: int) -> dict[str, object]:
    backends: dict[str, Backend] = {"serial": SerialLlamaCpp(path), "batched": Batched(path)}
    for backend in backends.values():  # weights paged in, system prompt cached, on both sides
        timed(backend, prompt_messages(0), 4, time.perf_counter())
    bursts: dict[str, list[dict[str, object]]] = {name: [] for name in backends}
    singles_: dict[str, list[dict[str, float]]] = {name: [] for name in backends}
    load_before = os.getloadavg()
    for r in range(rounds):
        for name in ("serial", "batched") if r % 2 == 0 else ("batched", "serial"):
            bursts[name].append(burst(backends[name], 1 + r * streams, streams, max_tokens))
            print(f"  {path.stem} burst {r} {name:<7} {json.dumps(bursts[name][-1])}", file=sys.stderr)
    for turn in range(singles):
        for name in ("serial", "batched") if turn % 2 == 0 else ("batched", "serial"):
            singles_[name].append(single(backends[name], 1 + rounds * streams + turn, max_tokens))
    summary: dict[str, object] = {
        "load_average_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    }
    for name in backends:
        firsts = [f for b in bursts[name] for f in b["first_s"]]  # type: ignore[attr-defined]
        summary[name] = {
            "burst_first_token_p50_s": round(statistics.median(firsts), 2),
            "burst_first_token_max_s": round(max(firsts), 2),
            "burst_first_token_all_s": firsts,
            "burst_wall_p50_s": round(statistics.median(b["wall_s"] for b in bursts[name]), 2),  # type: ignore[misc]
            "burst_pieces_per_s_p50": round(statistics.median(b["pieces_per_s"] for b in bursts[name]), 2),  # type: ignore[misc]
        }
        if singles_[name]:
            summary[name] |= {  # type: ignore[operator]
                "single_first_token_p50_s": round(statistics.median(s["first_s"] for s in singles_[name]), 3),
                "single_decode_pieces_per_s_p50": round(
                    statistics.median(s["decode_pieces_per_s"] for s in singles_[name]), 2
                ),
            }
    serial, batched = summary["serial"], summary["batched"]
    assert isinstance(serial, dict) and isinstance(batched, dict)
    ratios = {
        key: round(batched[key] / serial[key], 3)
        for key in (
            "burst_first_token_p50_s",
            "burst_first_token_max_s",
            "burst_pieces_per_s_p50",
            "single_first_token_p50_s",
            "single_decode_pieces_per_s_p50",
        )
        if serial.get(key)
    }
    summary["ratio_batched_over_serial"] = ratios
    stats = backends["batched"].llm.stats  # type: ignore[union-attr]
    summary["batched_prompt_tokens_reused_share"] = round(stats.prompt_tokens_reused / max(stats.prompt_tokens, 1), 3)
    backends["batched"].llm.close()  # type: ignore[union-attr]
    return summary


def plot(summary: dict[str, dict[str, object]], streams: int, out: Path) -> Path:
    fig, axes = plt.subplots(1, len(summary), figsize=(5 * len(summary), 4), squeeze=False)
    for axis, (model, result) in zip(axes[0], summary.items(), strict=True):
        for offset, name in ((-0.2, "serial"), (0.2, "batched")):
            firsts = sorted(result[name]["burst_first_token_all_s"])  # type: ignore[index]
            axis.bar([i + offset for i in range(len(firsts))], firsts, 0.4, label=name)
        axis.axhline(3.0, color="grey", linestyle="--", linewidth=1, label="3 s target")
        axis.set_title(f"{model}: {streams} replies started together")
        axis.set_xlabel("stream (all rounds, sorted)")
        axis.set_ylabel("seconds to first text")
        axis.legend()
    fig.suptitle(f"first token under concurrency, {os.cpu_count()} CPU cores")
    fig.tight_layout()
    path = out / "llm_speed.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["1.5b"], help="bundled model sizes: 1.5b, 0.5b")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--singles", type=int, default=4, help="lone replies per backend")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("bench-out/llm_speed"))
    args = parser.parse_args()
    settings = Settings().ensure_dirs()
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, object]] = {}
    for size in args.models:
        model = next((m for m in BUNDLED_MODELS if size.lower() in m.name), None)
        if model is None or model.part_paths() is None:
            print(f"skipping {size}: not a bundled model or not installed", file=sys.stderr)
            continue
        path = join_parts(model, settings.models_dir)
        summary[model.name] = bench_model(path, args.streams, args.rounds, args.singles, args.max_tokens)
        brief = {k: v for k, v in summary[model.name].items() if k not in ("serial", "batched")}
        for name in ("serial", "batched"):
            brief[name] = {k: v for k, v in summary[model.name][name].items() if not k.endswith("_all_s")}  # type: ignore[union-attr]
        print(json.dumps({"model": model.name, **brief}))
    if not summary:
        sys.exit("no bundled model installed")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out / 'summary.json'} and {plot(summary, args.streams, args.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
