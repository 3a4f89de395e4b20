"""Dialogue latency, one session on this machine: this tree's engine against the old engine (commit de2bf36, before
the understanding and dialogue-manager work of issue 14) over the same fixed script, in the same run.

    python bench/dialogue.py                      # the default model (`auto`: the bundled 1.5B)
    python bench/dialogue.py --llm none           # templates only: quick (under a minute per engine)
    python bench/dialogue.py --llm auto:0.5b --rounds 2 --baseline /work/wt-baseline

Each engine runs in a subprocess of its own with PYTHONPATH at its tree, so each imports its own code; the old one
from a detached worktree at de2bf36 (created with `git worktree add --detach` when missing). Each loads the retail
store into a fresh data dir, warms up on three turns (models loaded, the prompts' shared part cached), then plays the
script of 20 customer-service and shopping turns (`--rounds` times, one session each). Per turn: first shown text
(turn start to the first text event of `DialogueEngine.stream`), the whole turn, and whether a model ran (the token
meter moved, or the reply names a prompt). Prints p50/p95 of first shown text over all turns, the p50 of the turns
that need no model, and the ratios new/old; the issue's targets are 2 s, 4 s and 50 ms.

Timings depend on the machine's load (2 shared cores): compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "de2bf36"
STORE = Path(os.environ.get("COMMERCE_ASSISTANT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "retail-store"
TARGETS = {"first_shown_ms_p50": 2000, "first_shown_ms_p95": 4000, "no_model_ms_p50": 50}

WARM_UP = ["show me headphones", "what is your return policy?", "我想买一个蓝牙音箱"]
SCRIPT = [
    "hi",
    "I'm looking for wireless headphones under $300",
    "which of these is cheapest?",
    "is the first one in stock?",
    "compare the first two",
    "do you have a water bottle?",
    "what colors does the second one come in?",
    "what is your return policy?",
    "Where is my order #W6436609?",
    "my email is anya.garcia2061@example.com",
    "what's in that order?",
    "cancel order #W6436609, I no longer need it",
    "no",
    "which payment methods do I have on file?",
    "I need new running shoes",
    "我想买一个蓝牙音箱",
    "有没有便宜一点的？",
    "show me kettles",
    "thanks, that's all",
    "bye",
]


def play(llm: str, data_dir: Path, rounds: int) -> list[dict]:
    """In the worker: the script on a fresh runtime of whichever tree PYTHONPATH names; one record per turn."""
    import shutil

    from assistant.config import Settings
    from assistant.runtime import Runtime
    from assistant.store.loading import import_store_with_catalog

    shutil.rmtree(data_dir, ignore_errors=True)
    runtime = Runtime(Settings(data_dir=data_dir, llm=llm))
    import_store_with_catalog(runtime, STORE, progress=False)
    engine = runtime.dialogue

    def turn(message: str, session: str | None) -> tuple[dict, str]:
        requests_before = runtime.token_meter.snapshot()[0]
        started = time.perf_counter()
        first: float | None = None
        done: dict = {}
        for event in engine.stream(message, session_id=session):
            if event.event == "token" and event.data.get("text", "").strip() and first is None:
                first = time.perf_counter() - started
            elif event.event == "done":
                done = event.data
        total = time.perf_counter() - started
        used_model = runtime.token_meter.snapshot()[0] > requests_before or bool(done.get("prompt_version"))
        record = {
            "message": message,
            "first_shown_ms": round((first if first is not None else total) * 1000, 1),
            "total_ms": round(total * 1000, 1),
            "model": used_model,
            "intent": done.get("intent", ""),
        }
        return record, done["session_id"]

    session = None
    for message in WARM_UP:
        _, session = turn(message, session)
    records = []
    for _ in range(rounds):
        session = None
        for message in SCRIPT:
            record, session = turn(message, session)
            records.append(record)
    return records


def pct(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def summarise(records: list[dict]) -> dict:
    first = [r["first_shown_ms"] for r in records]
    no_model = [r["total_ms"] for r in records if not r["model"]]
    model_first = [r["first_shown_ms"] for r in records if r["model"]]
    return {
        "turns": len(records),
        "model_turns": len(model_first),
        "first_shown_ms_p50": pct(first, 50),
        "first_shown_ms_p95": pct(first, 95),
        "no_model_ms_p50": pct(no_model, 50),
        "model_turn_first_shown_ms_p50": pct(model_first, 50),
    }


def ensure_baseline(path: Path) -> Path:
    if not (path / "assistant" / "dialogue" / "engine.py").is_file():
        print(f"creating the baseline worktree {path} at {BASELINE_COMMIT}", file=sys.stderr)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), BASELINE_COMMIT], check=True)
    return path


def run_engine(tree: Path, llm: str, data_dir: Path, rounds: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    # -P: this script's folder stays off sys.path (bench/moderation.py would hide the `moderation` package).
    command = [sys.executable, "-P", str(Path(__file__).resolve()), "--worker", "--llm", llm]
    command += ["--data-dir", str(data_dir), "--rounds", str(rounds)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the engine in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def join_bundled_model(llm: str, data_dir: Path) -> None:
    """The bundled model joined once in the bench's data dir, where each engine's fresh data dir below hard-links it."""
    kind, _, size = llm.partition(":")
    if kind != "auto":
        return
    from assistant.llm.bundled_model import resolve_bundled_model

    resolve_bundled_model(data_dir / "models", size or None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", default="auto", help="auto (the 1.5B) | auto:0.5b | none | any --llm spec")
    parser.add_argument("--rounds", type=int, default=1, help="Passes over the script per engine.")
    parser.add_argument("--baseline", type=Path, default=ROOT.parent / "wt-baseline", help="The old engine's tree.")
    parser.add_argument("--data-dir", type=Path, default=None, help="Default: the data dir's bench-dialogue/.")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(play(args.llm, args.data_dir, args.rounds)))
        return
    sys.path.insert(0, str(ROOT))  # this tree's code, for the parent's own few imports
    from assistant.config import Settings

    data_dir = args.data_dir or Settings().data_dir / "bench-dialogue"
    join_bundled_model(args.llm, data_dir)
    trees = {"old": ensure_baseline(args.baseline.resolve()), "new": ROOT}
    print(f"engines: {trees}", file=sys.stderr)
    runs = {name: run_engine(tree, args.llm, data_dir / name, args.rounds) for name, tree in trees.items()}
    result: dict = {"llm": args.llm, "baseline": f"{BASELINE_COMMIT} at {trees['old']}", "load": os.getloadavg()}
    result |= {name: summarise(records) for name, records in runs.items()}
    result["ratio_new_over_old"] = {
        key: round(result["new"][key] / result["old"][key], 3) if result["new"][key] and result["old"][key] else None
        for key in ("first_shown_ms_p50", "first_shown_ms_p95", "no_model_ms_p50", "model_turn_first_shown_ms_p50")
    }
    result["targets_ms"] = TARGETS
    result["new_meets_targets"] = all(
        result["new"][key] is not None and result["new"][key] <= limit for key, limit in TARGETS.items()
    )
    result["turns"] = {
        name: [
            f"{r['first_shown_ms']:>8.1f} {r['total_ms']:>8.1f} {'M' if r['model'] else '-'} {r['message']}" for r in rs
        ]
        for name, rs in runs.items()
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
