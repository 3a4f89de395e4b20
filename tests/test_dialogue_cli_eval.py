"""`chat --message --json` as a real process, scripted-conversation checks and the tau-bench scoring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.dialogue.response import Action, ChatResponse, ProductCard
from assistant.evals.dialogue import (
    CONVERSATIONS_DIR,
    TurnExpectation,
    check_turn,
    load_conversations,
)
from assistant.evals.tau import run_tau_tasks
from assistant.runtime import Runtime
from tests.openai_standin import StandInServer


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "--data-dir", str(data_dir), "--llm", "none", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_chat_message_json_continues_a_session(retail_data_dir: Path) -> None:
    first = _cli(retail_data_dir, "chat", "--message", "Where is my order #W6436609?", "--json")
    assert first.returncode == 0, first.stderr
    response = json.loads(first.stdout)
    assert set(response) >= {"session_id", "reply", "products", "actions", "moderation", "handoff", "latency_ms"}
    assert response["moderation"]["decision"] == "allow" and not response["actions"]
    second = _cli(
        retail_data_dir,
        "chat",
        "--message",
        "anya.garcia2061@example.com",
        "--session",
        response["session_id"],
        "--json",
    )
    assert second.returncode == 0, second.stderr
    answer = json.loads(second.stdout)
    assert answer["session_id"] == response["session_id"]
    assert answer["actions"][0]["name"] == "get_order_details" and "pending" in answer["reply"]


def test_chat_bad_input_is_one_line_and_exit_1(tmp_path: Path) -> None:
    missing = _cli(tmp_path / "data", "chat", "--message", "hi", "--image", str(tmp_path / "nope.png"), "--json")
    assert missing.returncode == 1 and missing.stderr.strip().startswith("error: image not found")
    assert "Traceback" not in missing.stderr
    empty = _cli(tmp_path / "data", "chat", "--message", "  ", "--json")
    assert empty.returncode == 1 and "empty" in empty.stderr


def test_scripted_conversations_are_well_formed() -> None:
    conversations = load_conversations(CONVERSATIONS_DIR)
    assert len(conversations) >= 60
    categories = {c.category for c in conversations}
    assert {
        "shopping",
        "refine",
        "compare",
        "product_question",
        "cancel",
        "return",
        "exchange",
        "modify",
        "address_change",
        "refusal",
        "handoff",
        "adversarial",
        "policy",
    } <= categories
    assert sum(c.language == "zh" for c in conversations) >= 8


def test_turn_checks_catch_wrong_responses() -> None:
    response = ChatResponse(
        session_id="s",
        reply="Order #W1 is delivered.",
        products=[ProductCard(id="1", title="Tea Kettle", price=120.0)],
        actions=[Action(name="cancel_pending_order", arguments={"order_id": "#W1"}, status="done")],
        intent="cancel",
    )
    good = TurnExpectation(
        intent="cancel",
        actions=[{"name": "cancel_pending_order", "status": "done"}],
        product_titles=["kettle"],
        reply_contains=["delivered"],
    )
    assert check_turn(response, good) == ([], [])
    bad = TurnExpectation(
        intent="order_status",
        no_done_actions=True,
        max_price=100,
        reply_not_contains=["delivered"],
        actions=[{"name": "cancel_pending_order", "status": "proposed"}],
    )
    facts, _ = check_turn(response, bad)
    assert len(facts) == 5


@pytest.mark.slow
def test_tau_scoring_compares_final_store_states(retail_data_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.json"
    tasks.write_text(
        json.dumps(
            [
                {"user_id": "emma_brown_8847", "instruction": "You only want to say hello.", "actions": []},
                {
                    "user_id": "emma_brown_8847",
                    "instruction": "You want to cancel order #W6460787.",
                    "actions": [
                        {
                            "name": "cancel_pending_order",
                            "kwargs": {"order_id": "#W6460787", "reason": "no longer needed"},
                        }
                    ],
                },
            ]
        )
    )
    with StandInServer() as server:
        # The echo customer only repeats what it is told, so it never gets anything done: the task with an expected
        # cancellation must fail and the one with no change must pass.
        settings = Settings(data_dir=retail_data_dir, llm=f"openai:{server.base_url}#echo", llm_timeout_s=20)
        summary = run_tau_tasks(settings, Runtime(settings), tasks, shared_data / "retail-store", max_turns=2)
    assert [r["passed"] for r in summary["results"]] == [True, False]
    assert summary["pass^1"] == 0.5
