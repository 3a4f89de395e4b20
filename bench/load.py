"""Load test: N concurrent widget sessions against a server on loopback, bounded in time and request count.

Each session does what the widget does: a multi-turn chat (`POST /v1/chat`, or `/v1/chat/stream` with `--stream`,
timing the first token), with a product search (`GET /v1/search`) between turns. `/healthz` is sampled under the
same load as the baseline: the cost of the HTTP stack alone, so the ratios show what the assistant adds.

    python bench/load.py --sessions 50 --duration 60 --think 3      # spawns `serve --llm none` on a free port
    python bench/load.py --sessions 50 --duration 60 --think 3 --against 58540c7 --rounds 2
    python bench/load.py --sessions 4 --duration 60 --think 3 --llm auto --stream   # the bundled local model
    python bench/load.py --url http://127.0.0.1:7860 --api-key KEY   # an already running server

Sessions start spread over `--ramp` seconds (default: the think time) and pause `--think` seconds ± `--jitter`
between turns, so the offered load is steady, as with shoppers arriving one by one; `--ramp 0 --jitter 0` makes
all sessions send their first message in the same instant and keep in step (the worst case).

A spawned server gets its own data dir (the sample store loads on first start) and no rate limits; the time from
start to `/healthz` ready is measured twice, cold (first start) and warm (second start on the same data dir).
`--against REF` also runs a server built from that git commit (`git archive`, nothing in this checkout changes),
alternating baseline and current `--rounds` times under the same load, and prints current/baseline ratios: on a
shared machine only figures from the same run compare.

Besides what the client measures, the server's own view is read from `/metrics` before and after the load: time
per route, time a turn waited for a worker slot, and time per turn stage, so a tail can be placed. The load
average is recorded at the start and the end. With `--stream`, each session's first-token times are kept: the
summary says how many sessions got every first token within `--first-token-target` seconds.
Writes summary.json and latency.png to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

MESSAGES = [
    "I need wireless headphones under $150",
    "which one is the cheapest?",
    "show me laptops for travel",
    "有没有咖啡机？",
    "running shoes in size 42",
    "what is your return policy?",
]
QUERIES = ["headphones", "laptop", "coffee maker", "running shoes", "蓝牙耳机", "phone under 500"]
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    timeline: list[tuple[float, str, float]] = field(default_factory=list)  # (end, since the start in s; name; s)
    began: float = field(default_factory=time.perf_counter)
    first_token: dict[int, list[float]] = field(default_factory=dict)  # per session
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.latencies.setdefault(name, []).append(seconds)
        self.timeline.append((time.perf_counter() - self.began, name, seconds))

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def chat_plain(client: httpx.AsyncClient, n: int, body: dict, samples: Samples) -> str | None:
    began = time.perf_counter()
    response = await client.post("/v1/chat", json=body)
    samples.add("chat", time.perf_counter() - began)
    if response.status_code != 200:
        samples.error(f"chat {response.status_code}")
        return None
    return response.json()["session_id"]


async def chat_stream(client: httpx.AsyncClient, n: int, body: dict, samples: Samples) -> str | None:
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
        samples.first_token.setdefault(n, []).append(first)
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
    rng = random.Random(n)  # the same arrivals and pauses in every run, so runs compare
    await asyncio.sleep(rng.uniform(0, args.ramp))
    session_id = None
    turn = 0
    while time.perf_counter() < deadline and not budget.locked():
        await budget.acquire()
        body = {"message": MESSAGES[(n + turn) % len(MESSAGES)], "user_id": f"load-{n}"}
        if session_id:
            body["session_id"] = session_id
        try:
            send = chat_stream if args.stream else chat_plain
            session_id = await send(client, n, body, samples) or session_id
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
            await asyncio.sleep(args.think * rng.uniform(1 - args.jitter, 1 + args.jitter))


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


# --- the server's own view (/metrics) ---------------------------------------------------------------------------
Histograms = dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]]


def scrape(url: str, headers: dict[str, str]) -> Histograms:
    """Cumulative bucket counts (and `sum`) of every histogram, keyed by name and labels other than `le`."""
    try:
        response = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:  # with keys configured /metrics needs a secret key
        return {}
    text = response.text
    out: Histograms = {}
    for family in text_string_to_metric_families(text):
        if family.type != "histogram":
            continue
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            entry = out.setdefault((family.name, labels), {})
            if s.name.endswith("_bucket"):
                entry[s.labels["le"]] = s.value
            elif s.name.endswith("_sum"):
                entry["sum"] = s.value
    return out


def histogram_quantile(buckets: dict[str, float], q: float) -> float | None:
    """Prometheus' estimate: linear within the bucket the quantile falls in."""
    bounds = sorted((float(le), count) for le, count in buckets.items() if le != "sum")
    total = bounds[-1][1] if bounds else 0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in bounds:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return lower


def server_view(before: Histograms, after: Histograms) -> dict[str, dict[str, float | int | None]]:
    """The server-side timings of this run only (after minus before), in ms."""
    wanted = {
        "commerce_http_request_seconds": "route",
        "commerce_worker_slot_wait_seconds": "slot wait",
        "commerce_turn_stage_seconds": "stage",
        "commerce_chat_first_token_seconds": "first token (stream)",
    }
    view: dict[str, dict[str, float | int | None]] = {}
    for (name, labels), buckets in after.items():
        if name not in wanted:
            continue
        old = before.get((name, labels), {})
        delta = {le: count - old.get(le, 0.0) for le, count in buckets.items()}
        n = max((v for le, v in delta.items() if le != "sum"), default=0)
        if n <= 0:
            continue
        label = dict(labels)
        what = label.get("route") or label.get("pool") or label.get("stage") or ""
        if label.get("method"):
            what = f"{label['method']} {what}"
        p50, p95 = histogram_quantile(delta, 0.5), histogram_quantile(delta, 0.95)
        view[f"{wanted[name]}: {what}" if what else wanted[name]] = {
            "n": int(n),
            "mean_ms": round(1000 * delta.get("sum", 0.0) / n, 1),
            "p50_ms": round(1000 * p50, 1) if p50 is not None else None,
            "p95_ms": round(1000 * p95, 1) if p95 is not None else None,
        }
    return dict(sorted(view.items()))


# --- spawning servers -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checkout(ref: str, into: Path) -> Path:
    """The tree of commit REF extracted into INTO (the checkout's files and index stay as they are)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref} failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def start_server(source: Path, data_dir: Path, llm: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "COMMERCE_ASSISTANT_RATE_LIMIT_PER_IP": "0",
        "COMMERCE_ASSISTANT_RATE_LIMIT_PER_KEY": "0",
    }
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
    return subprocess.Popen(command, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


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


class SpawnedServer:
    """`serve` from SOURCE on a free port and its own data dir, started twice (cold, then warm) to time ready."""

    def __init__(self, source: Path, data_dir: Path, llm: str) -> None:
        self.source, self.data_dir, self.llm = source, data_dir, llm
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.ready: dict[str, float] = {}

    def start(self, label: str) -> None:
        for phase in ("cold", "warm") if not self.ready else ("warm",):
            self.stop()
            self.process = start_server(self.source, self.data_dir, self.llm, self.port)
            self.ready[phase] = round(wait_ready(self.url, self.process, limit_s=600), 2)
            print(f"[{label}] server ready ({phase} start) in {self.ready[phase]} s", file=sys.stderr)

    def stop(self) -> None:
        if self.process:
            stop(self.process)
            self.process = None


# --- reporting --------------------------------------------------------------------------------------------------
def summarize(samples: Samples, elapsed: float, args: argparse.Namespace, extra: dict) -> dict:
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
        "think_s": args.think,
        "ramp_s": args.ramp,
        "jitter": args.jitter,
        "llm": args.llm if not args.url else "server's",
        "chat_turns": chat_n,
        "chat_turns_per_s": round(chat_n / elapsed, 2),
        "requests_per_s": round(sum(len(v) for v in samples.latencies.values()) / elapsed, 1),
        "errors": samples.errors,
        "error_count": sum(samples.errors.values()),
        "endpoints": endpoints,
        "p95_per_10s": windows(samples),
        **extra,
    }
    every = [t for times in samples.first_token.values() for t in times]
    if every:
        firsts = [times[0] for times in samples.first_token.values()]
        summary["first_token"] = {
            "n": len(every),
            "p50_s": round(percentile(every, 0.5), 2),
            "p95_s": round(percentile(every, 0.95), 2),
            "max_s": round(max(every), 2),
            "first_turn_max_s": round(max(firsts), 2),
            "target_s": args.first_token_target,
            "sessions": args.sessions,
            "sessions_with_a_token": len(samples.first_token),
            "sessions_all_within_target": sum(
                all(t <= args.first_token_target for t in times) for times in samples.first_token.values()
            ),
            "per_session_max_s": {str(n): round(max(times), 2) for n, times in sorted(samples.first_token.items())},
        }
    return summary


def windows(samples: Samples, width: float = 10.0) -> dict[str, list[dict[str, float]]]:
    """p95 per WIDTH-second window of the run, per endpoint: a tail at the start (warm-up, all sessions arriving
    at once) reads differently from one spread over the run."""
    grouped: dict[str, dict[int, list[float]]] = {}
    for t, name, seconds in samples.timeline:
        grouped.setdefault(name, {}).setdefault(int(t // width), []).append(seconds)
    return {
        name: [
            {"from_s": w * width, "n": len(v), "p95_ms": round(1000 * percentile(v, 0.95), 1)}
            for w, v in sorted(by_window.items())
        ]
        for name, by_window in grouped.items()
    }


def plot(runs: list[tuple[str, Samples]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    styles = ["-", "--", ":", "-."]
    for r, (label, samples) in enumerate(runs):
        for c, (name, values) in enumerate(sorted(samples.latencies.items())):
            ordered = sorted(1000 * v for v in values)
            fractions = [i / len(ordered) for i in range(1, len(ordered) + 1)]
            prefix = f"{label}: " if len(runs) > 1 else ""
            ax.plot(
                ordered, fractions, styles[r % len(styles)], color=f"C{c}", label=f"{prefix}{name} (n={len(values)})"
            )
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.axhline(0.95, color="grey", lw=0.6, ls="--")
    ax.set_title("Latency CDF under load")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "latency.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def print_run(label: str, summary: dict) -> None:
    load = summary.get("loadavg", {})
    print(
        f"[{label}] {summary['chat_turns']} turns in {summary['duration_s']} s, errors {summary['error_count']}, "
        f"load average {load.get('start')} -> {load.get('end')}",
        file=sys.stderr,
    )
    for name, stats in summary["endpoints"].items():
        print(
            f"[{label}] {name:>20}: n={stats['n']:<6} p50={stats['p50_ms']:>8} ms  p95={stats['p95_ms']:>8} ms  "
            f"p99={stats['p99_ms']:>8} ms  p95/baseline={stats['p95_vs_baseline']}",
            file=sys.stderr,
        )
    for name, spans in summary["p95_per_10s"].items():
        if name != "healthz (baseline)":
            shown = "  ".join(f"{s['from_s']:.0f}s:{s['p95_ms']:.0f}" for s in spans)
            print(f"[{label}] {name:>20} p95 per 10 s (ms): {shown}", file=sys.stderr)
    for name, stats in summary.get("server", {}).items():
        print(
            f"[{label}]   server {name:<28} mean={stats['mean_ms']:>7} ms  p50~{stats['p50_ms']} ms  "
            f"p95~{stats['p95_ms']} ms",
            file=sys.stderr,
        )
    if "first_token" in summary:
        ft = summary["first_token"]
        print(
            f"[{label}] first token p50 {ft['p50_s']} s, max {ft['max_s']} s; sessions with every first token "
            f"within {ft['target_s']} s: {ft['sessions_all_within_target']}/{ft['sessions']}",
            file=sys.stderr,
        )


def merge(samples: list[Samples]) -> Samples:
    merged = Samples()
    for s in samples:
        for name, values in s.latencies.items():
            merged.latencies.setdefault(name, []).extend(values)
        for n, times in s.first_token.items():
            merged.first_token.setdefault(n, []).extend(times)
        for what, count in s.errors.items():
            merged.errors[what] = merged.errors.get(what, 0) + count
    return merged


def measure(url: str, args: argparse.Namespace, ready: dict[str, float]) -> tuple[Samples, dict]:
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    loadavg_start = round(os.getloadavg()[0], 2)
    before = scrape(url, headers)
    samples, elapsed = asyncio.run(run_load(url, args))
    after = scrape(url, headers)
    extra = {
        "loadavg": {"start": loadavg_start, "end": round(os.getloadavg()[0], 2)},
        "ready_s": dict(ready),
        "server": server_view(before, after),
    }
    return samples, summarize(samples, elapsed, args, extra)


def ratios(current: dict, baseline: dict) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for name, stats in current["endpoints"].items():
        old = baseline["endpoints"].get(name)
        if old:
            out[name] = {
                k: round(stats[k] / old[k], 2) if old[k] else None for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms")
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server; default: spawn one on a free loopback port")
    parser.add_argument("--api-key", default=os.environ.get("LOAD_API_KEY"))
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (per run)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--think", type=float, default=0.0, help="pause between a session's turns (s)")
    parser.add_argument("--jitter", type=float, default=0.5, help="the pause varies by ± this fraction")
    parser.add_argument("--ramp", type=float, help="sessions start spread over this many s (default: --think)")
    parser.add_argument("--stream", action="store_true", help="use /v1/chat/stream and time the first token")
    parser.add_argument("--first-token-target", type=float, default=3.0, help="s, for the --stream summary")
    parser.add_argument("--llm", default="none", help="backend of a spawned server")
    parser.add_argument("--against", metavar="REF", help="also run a server from this git commit (baseline)")
    parser.add_argument("--rounds", type=int, default=1, help="with --against: baseline/current runs alternated")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--data-dir", type=Path, help="spawned server's data dir (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/load"))
    args = parser.parse_args()
    args.ramp = args.think if args.ramp is None else args.ramp
    if args.url and args.against:
        parser.error("--against spawns both servers: leave out --url")
    args.out.mkdir(parents=True, exist_ok=True)

    if args.url:
        samples, summary = measure(args.url, args, {})
        print_run("server", summary)
        summary["plot"] = str(plot([("server", samples)], args.out))
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        print(json.dumps(summary, ensure_ascii=False))
        return

    scratch = Path(tempfile.mkdtemp(prefix="load-"))
    servers = {"current": SpawnedServer(REPO, args.data_dir or scratch / "data-current", args.llm)}
    if args.against:
        source = checkout(args.against, scratch / "baseline-src")
        servers = {"baseline": SpawnedServer(source, scratch / "data-baseline", args.llm), **servers}
    collected: dict[str, list[Samples]] = {label: [] for label in servers}
    results: dict[str, list[dict]] = {label: [] for label in servers}
    try:
        for round_no in range(1, args.rounds + 1 if args.against else 2):
            for label, server in servers.items():
                server.start(label)
                try:
                    samples, summary = measure(server.url, args, server.ready)
                finally:
                    server.stop()
                tag = f"{label} #{round_no}" if args.against else label
                print_run(tag, summary)
                collected[label].append(samples)
                results[label].append(summary)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)  # a --data-dir given is elsewhere and stays

    if not args.against:
        summary = results["current"][0]
    else:
        pooled = {}
        for label, runs in collected.items():
            merged = merge(runs)
            elapsed = sum(r["duration_s"] for r in results[label])
            loads = [r["loadavg"] for r in results[label]]
            pooled[label] = summarize(merged, elapsed, args, {"loadavg": loads, "runs": results[label]})
        summary = {
            "against": args.against,
            "rounds": args.rounds,
            "baseline": pooled["baseline"],
            "current": pooled["current"],
            "current_vs_baseline": ratios(pooled["current"], pooled["baseline"]),
        }
        for name, r in summary["current_vs_baseline"].items():
            print(
                f"current/baseline {name:>20}: p50 x{r['p50_ms']}  p95 x{r['p95_ms']}  p99 x{r['p99_ms']}",
                file=sys.stderr,
            )
    summary["plot"] = str(plot([(label, merge(runs)) for label, runs in collected.items()], args.out))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
