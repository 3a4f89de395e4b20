"""Failures customers met in a role-play round, on the real retail store (SQLite) and engine, `--llm none`: the
fourth asking of the same proposal, stale reminders, "no" to the offer of a person, a queued errand without its
own order, an errand switched by the order's status, and questions asked while a proposal waits."""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from assistant.runtime import Runtime


def _runtime(data_dir: Path) -> Runtime:
    return Runtime(Settings(data_dir=data_dir, llm="none"))


def _talk(runtime: Runtime, *messages: str) -> list:
    responses = []
    session_id = None
    for message in messages:
        response = runtime.dialogue.chat(message, session_id=session_id)
        session_id = response.session_id
        responses.append(response)
    return responses


def test_the_fourth_asking_of_the_same_proposal_hands_off_without_crashing(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    again = "my email is amelia.patel6926@example.com"  # new details that plan the same proposal again
    replies = _talk(runtime, f"cancel order #W2079779, I ordered it by mistake. {again}", again, again, again)
    assert replies[0].actions[0].status == "proposed" and "connect you with a person" in replies[2].reply
    assert replies[3].handoff and [(a.name, a.status) for a in replies[3].actions] == [
        ("transfer_to_human_agents", "done")
    ]
    assert runtime.store.db.order("#W2079779").status == "pending"
