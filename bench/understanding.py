"""Understanding accuracy and latency: the rules against the bundled models under the JSON-schema grammar.

    python bench/understanding.py [--models 0.5b 1.5b] [--limit N] [--data bench/data/understanding.jsonl]

Every labelled message (with the conversation state it is said in) is read by the rules (with the embedding intent
classifier, as the engine runs them) and by each model; a reading counts when its commands equal the expected ones,
in order. Free text is compared loosely: a search's query, a hand-off's reason and a clarifying question are not
compared, values and items are compared lowercased without a leading article. `auto` is what the engine does by
default: the rules where they are sure, the model otherwise (its latency is the rules' plus the model's on the
messages it reads).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.dialogue.commands import COMMANDS, Command, Understanding  # noqa: E402
from assistant.dialogue.intents import EmbeddingIntentClassifier  # noqa: E402
from assistant.dialogue.model_understanding import ModelUnderstanding, OrderView, ShownView, StateView  # noqa: E402
from assistant.dialogue.understanding import read  # noqa: E402
from assistant.sessions import DialogueState, PendingAction, ShownProduct  # noqa: E402

_IGNORED = {"query", "question", "reason"}


@dataclass
class Case:
    id: str
    message: str
    state: DialogueState
    view: StateView
    expected: list[Command]


@dataclass
class Result:
    correct: list[bool] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    no_answer: int = 0


def load_cases(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        s: dict[str, Any] = row["state"]
        pending = (
            PendingAction(name="proposal", arguments={}, summary=s["open_question"], intent=s["errand"])
            if s.get("confirming")
            else None
        )
        shown = [ShownProduct(id=f"p{n}", **p) for n, p in enumerate(s.get("shown", []), start=1)]
        state = DialogueState(
            verified_user_id="customer" if s["verified"] else None,
            pending_intent=s.get("errand"),
            pending_action=pending,
            shown=shown,
        )
        view = StateView(
            verified=s["verified"],
            orders=[OrderView(**o) for o in s.get("orders", [])],
            errand=s.get("errand"),
            open_question=s.get("open_question"),
            shown=[ShownView(position=n, **p) for n, p in enumerate(s.get("shown", []), start=1)],
        )
        # A search's query is not compared: the labels leave it out.
        expected = [{"query": row["message"]} | c if c["kind"] == "shop" else c for c in row["expected"]]
        cases.append(Case(row["id"], row["message"], state, view, COMMANDS.validate_python(expected)))
    return cases


def _text(value: str) -> str:
    value = value.strip().lower()
    for article in ("the ", "a ", "an ", "my "):
        value = value.removeprefix(article)
    return value


def normal(commands: list[Command]) -> list[dict[str, Any]]:
    out = []
    for command in commands:
        data = {k: v for k, v in command.model_dump().items() if k not in _IGNORED}
        for key, value in data.items():
            if isinstance(value, str) and key not in ("kind", "order_id"):
                data[key] = _text(value)
            elif isinstance(value, list):
                data[key] = sorted(_text(v) for v in value)
        out.append(data)
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data" / "understanding.jsonl")
    parser.add_argument("--models", nargs="*", default=["0.5b", "1.5b"], help="bundled model sizes to run")
    parser.add_argument("--limit", type=int, default=0, help="only the first N messages for the models")
    parser.add_argument("--no-encoder", action="store_true", help="rules without the embedding intent classifier")
    parser.add_argument("--show", action="store_true", help="print every reading that does not match")
    args = parser.parse_args()

    settings = Settings()
    cases = load_cases(args.data)
    classifier = None
    if not args.no_encoder:
        from assistant.runtime import Runtime

        embedder = Runtime(settings).embedder
        classifier = EmbeddingIntentClassifier(lambda texts: embedder.encode_query(texts))
        classifier.warm_up()

    results: dict[str, Result] = {"rules": Result()}
    sure: list[bool] = []
    for case in cases:
        started = time.perf_counter()
        reading = read(case.message, case.state, classifier)
        results["rules"].ms.append((time.perf_counter() - started) * 1000)
        ok = normal(reading.understanding.commands) == normal(case.expected)
        results["rules"].correct.append(ok)
        sure.append(reading.sure)
        if args.show and not ok:
            print(f"rules {case.id} {case.message!r}: {normal(reading.understanding.commands)}")

    for size in args.models:
        from assistant.llm.bundled_model import resolve_bundled_model
        from assistant.llm.llamacpp import LlamaCppLLM

        llm = LlamaCppLLM(resolve_bundled_model(settings.models_dir, size))
        reader = ModelUnderstanding(llm, timeout_s=120.0)
        reader.understand("hello", StateView(verified=False))  # the prompt head, read once as the engine's warm-up
        model, auto = Result(), Result()
        for n, case in enumerate(cases[: args.limit or None]):
            started = time.perf_counter()
            understanding: Understanding | None = reader.understand(case.message, case.view)
            ms = (time.perf_counter() - started) * 1000
            ok = understanding is not None and normal(understanding.commands) == normal(case.expected)
            model.no_answer += understanding is None
            model.correct.append(ok)
            model.ms.append(ms)
            auto.correct.append(results["rules"].correct[n] if sure[n] else ok)
            auto.ms.append(results["rules"].ms[n] + (0.0 if sure[n] else ms))
            if args.show and not ok:
                got = normal(understanding.commands) if understanding else None
                print(f"{size} {case.id} {case.message!r}: {got}")
        llm.close()
        results[f"{size} model"] = model
        results[f"auto ({size})"] = auto

    print(f"\n{len(cases)} labelled messages ({args.data.name}); rules sure on {sum(sure)}")
    print(f"{'reader':<14} {'messages':>8} {'exact':>7} {'p50 ms':>9} {'p95 ms':>9} {'no answer':>9}")
    for name, result in results.items():
        n = len(result.correct)
        print(
            f"{name:<14} {n:>8} {sum(result.correct) / n:>7.1%} {statistics.median(result.ms):>9.1f} "
            f"{pct(result.ms, 0.95):>9.1f} {result.no_answer:>9}"
        )


if __name__ == "__main__":
    main()
