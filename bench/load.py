"""Load test: N concurrent widget sessions against a server on loopback, bounded in time and request count.

Each session does what the widget does: a multi-turn chat (`POST /v1/chat`, or `/v1/chat/stream` with `--stream`,
timing the first token), with a product search (`GET /v1/search`) between turns. `/healthz` is sampled under the
same load as the baseline: the cost of the HTTP stack alone, so the ratios show what the assistant adds.

    python bench/load.py --sessions 50 --duration 60                 # spawns `serve --llm none` on a free port
    python bench/load.py --sessions 4 --duration 60 --llm auto --stream   # the bundled local model
    python bench/load.py --url http://127.0.0.1:7860 --api-key KEY   # an already running server

A spawned server gets its own data dir (the sample store loads on first start) and no rate limits; the time from
start to `/healthz` ready is measured twice, cold (first start) and warm (second start on the same data dir).
Writes summary.json and latency.png to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MESSAGES = [
    "I need wireless headphones under $150",
    "which one is the cheapest?",
    "show me laptops for travel",
    "有没有咖啡机？",
    "running shoes in size 42",
    "what is your return policy?",
]
QUERIES = ["headphones", "laptop", "coffee maker", "running shoes", "蓝牙耳机", "phone under 500"]


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    first_token: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.latencies.setdefault(name, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def chat_plain(client: httpx.AsyncClient, body: dict, samples: Samples) -> str | None:
    began = time.perf_counter()
    response = await client.post("/v1/chat", json=body)
    samples.add("chat", time.perf_counter() - began)
    if response.status_code != 200:
        samples.error(f"chat {response.status_code}")
        return None
    return response.json()["session_id"]


async def chat_stream(client: httpx.AsyncClient, body: dict, samples: Samples) -> str | None:
    began = time.perf_counter()
    first = None
    session_id = None
    async with client.stream("POST", "/v1/chat/stream", json=body) as response:
        if response.status_code != 200:
            samples.error(f"stream {response.status_code}")
            return None
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "token" and first is None:
                    first = time.perf_counter() - began
                elif event == "done":
                    session_id = json.loads(line[5:])["session_id"]
                elif event == "error":
                    samples.error("stream error event")
    samples.add("chat_stream", time.perf_counter() - began)
    if first is not None:
        samples.first_token.append(first)
    if session_id is None:
        samples.error("stream without done")
    return session_id


async def session(
    n: int,
    client: httpx.AsyncClient,
    args: argparse.Namespace,
    deadline: float,
    samples: Samples,
    budget: asyncio.Semaphore,
) -> None:
    session_id = None
    turn = 0
    while time.perf_counter() < deadline and not budget.locked():
        await budget.acquire()
        body = {"message": MESSAGES[(n + turn) % len(MESSAGES)], "user_id": f"load-{n}"}
        if session_id:
            body["session_id"] = session_id
        try:
            send = chat_stream if args.stream else chat_plain
            session_id = await send(client, body, samples) or session_id
            began = time.perf_counter()
            r = await client.get("/v1/search", params={"q": QUERIES[(n + turn) % len(QUERIES)], "k": 10})
            samples.add("search", time.perf_counter() - began)
            if r.status_code != 200:
                samples.error(f"search {r.status_code}")
            began = time.perf_counter()
            r = await client.get("/healthz")
            samples.add("healthz (baseline)", time.perf_counter() - began)
        except httpx.HTTPError as exc:
            samples.error(type(exc).__name__)
        turn += 1
        if args.think:
            await asyncio.sleep(args.think)


async def run_load(url: str, args: argparse.Namespace) -> tuple[Samples, float]:
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.sessions + 4, max_keepalive_connections=args.sessions + 4)
    samples = Samples()
    budget = asyncio.Semaphore(args.max_requests // 3)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=args.timeout, limits=limits) as client:
        began = time.perf_counter()
        deadline = began + args.duration
        await asyncio.gather(*(session(n, client, args, deadline, samples, budget) for n in range(args.sessions)))
        return samples, time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, llm: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "COMMERCE_ASSISTANT_RATE_LIMIT_PER_IP": "0", "COMMERCE_ASSISTANT_RATE_LIMIT_PER_KEY": "0"}
    command = [
        sys.executable,
        "-m",
        "assistant",
        "--data-dir",
        str(data_dir),
        "--llm",
        llm,
        "serve",
        "--port",
        str(port),
        "--no-gradio",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_ready(url: str, process: subprocess.Popen, limit_s: float) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read() if process.stderr else ''}")
        try:
            health = httpx.get(f"{url}/healthz", timeout=2).json()
            if health.get("ready"):
                return time.perf_counter() - began
            if health.get("status") == "degraded":
                raise SystemExit(f"server degraded: {json.dumps(health['components'])}")
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server not ready after {limit_s} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def summarize(samples: Samples, elapsed: float, args: argparse.Namespace, ready: dict[str, float]) -> dict:
    endpoints = {
        name: {
            "n": len(v),
            "p50_ms": round(1000 * percentile(v, 0.5), 1),
            "p95_ms": round(1000 * percentile(v, 0.95), 1),
            "p99_ms": round(1000 * percentile(v, 0.99), 1),
            "mean_ms": round(1000 * statistics.fmean(v), 1),
        }
        for name, v in samples.latencies.items()
        if v
    }
    base = endpoints.get("healthz (baseline)", {}).get("p95_ms") or None
    for stats in endpoints.values():
        stats["p95_vs_baseline"] = round(stats["p95_ms"] / base, 2) if base else None
    chat_n = sum(len(samples.latencies.get(k, [])) for k in ("chat", "chat_stream"))
    summary = {
        "sessions": args.sessions,
        "duration_s": round(elapsed, 1),
        "llm": args.llm if not args.url else "server's",
        "chat_turns": chat_n,
        "chat_turns_per_s": round(chat_n / elapsed, 2),
        "requests_per_s": round(sum(len(v) for v in samples.latencies.values()) / elapsed, 1),
        "errors": samples.errors,
        "error_count": sum(samples.errors.values()),
        "endpoints": endpoints,
        "ready_s": ready,
    }
    if samples.first_token:
        summary["first_token"] = {
            "n": len(samples.first_token),
            "max_s": round(max(samples.first_token), 2),
            "p50_s": round(percentile(samples.first_token, 0.5), 2),
            "p95_s": round(percentile(samples.first_token, 0.95), 2),
        }
    return summary


def plot(samples: Samples, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in sorted(samples.latencies.items()):
        ordered = sorted(1000 * v for v in values)
        ax.plot(ordered, [i / len(ordered) for i in range(1, len(ordered) + 1)], label=f"{name} (n={len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.axhline(0.95, color="grey", lw=0.6, ls="--")
    ax.set_title("Latency CDF under load")
    ax.legend()
    fig.tight_layout()
    path = out / "latency.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server; default: spawn one on a free loopback port")
    parser.add_argument("--api-key", default=os.environ.get("LOAD_API_KEY"))
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--think", type=float, default=0.0, help="pause between a session's turns (s)")
    parser.add_argument("--stream", action="store_true", help="use /v1/chat/stream and time the first token")
    parser.add_argument("--llm", default="none", help="backend of a spawned server")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--data-dir", type=Path, help="spawned server's data dir (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/load"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    ready: dict[str, float] = {}
    process = None
    url = args.url
    if not url:
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="load-"))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        for phase in ("cold", "warm"):
            if process:
                stop(process)
            process = start_server(data_dir, args.llm, port)
            ready[phase] = round(wait_ready(url, process, limit_s=600), 2)
            print(f"server ready ({phase} start) in {ready[phase]} s", file=sys.stderr)
    try:
        samples, elapsed = asyncio.run(run_load(url, args))
    finally:
        if process:
            stop(process)
    summary = summarize(samples, elapsed, args, ready)
    summary["plot"] = str(plot(samples, args.out))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    for name, stats in summary["endpoints"].items():
        print(
            f"{name:>20}: n={stats['n']:<6} p50={stats['p50_ms']:>8} ms  p95={stats['p95_ms']:>8} ms  "
            f"p95/baseline={stats['p95_vs_baseline']}",
            file=sys.stderr,
        )
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
