"""PII across the turns of a conversation: one placeholder per value for the whole session, the model and the stored
history see only placeholders, the store tools get the real values, and the customer gets their own values back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.sessions import messages_table, sessions_table
from retrieval.crypto import generate_key
from tests.openai_standin import StandInServer

WEEKDAY, WEEKEND = "+1 415 555 0199", "+1 415 555 0100"


def _stored(runtime: Runtime, session_id: str) -> str:
    """Everything the database holds for the session: its messages and its state, as stored."""
    with runtime.db.connect() as conn:
        messages = conn.execute(
            select(messages_table.c.content).where(messages_table.c.session_id == session_id)
        ).scalars()
        state = conn.execute(select(sessions_table.c.state).where(sessions_table.c.id == session_id)).scalar_one()
        return "\n".join([*messages, state])


def test_placeholders_stay_stable_and_the_model_sees_only_them(
    retail_data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with StandInServer() as server, caplog.at_level(logging.DEBUG):
        runtime = Runtime(Settings(data_dir=retail_data_dir, llm=f"openai:{server.base_url}#echo"))
        chat = runtime.dialogue.chat
        first = chat(f"I'm looking for a water bottle, text me at {WEEKEND}")
        second = chat(
            f"and a kettle. My weekday number is {WEEKDAY}; {WEEKEND} is for weekends",
            session_id=first.session_id,
        )
        prompts = [m["content"] for r in server.app.state.requests for m in r["messages"]]

    assert first.model_id == "echo" and second.model_id == "echo"
    assert first.moderation["redacted_text"].endswith("text me at [PHONE_1]")
    # The number said first keeps its placeholder in the later turn; the new one gets the next.
    assert second.moderation["redacted_text"].endswith("is [PHONE_2]; [PHONE_1] is for weekends")
    assert any("[PHONE_1]" in p for p in prompts) and any("[PHONE_2]" in p for p in prompts)
    assert not any("415 555" in p for p in prompts)
    # The echo model repeated the placeholders; the customer reads their own numbers.
    assert WEEKEND in first.reply and WEEKDAY in second.reply and "[PHONE_" not in second.reply

    stored = _stored(runtime, first.session_id)
    assert "[PHONE_1]" in stored and "[PHONE_2]" in stored
    state = runtime.sessions.load_or_create(first.session_id, None).state
    assert state.pii == {"[PHONE_1]": WEEKEND, "[PHONE_2]": WEEKDAY}
    assert "415 555" not in repr(state)
    history = [m.content for m in runtime.sessions.history(first.session_id, budget_chars=10_000, max_messages=10)]
    assert len(history) == 4 and not any("415 555" in m for m in history)
    assert not any("415 555" in r.getMessage() for r in caplog.records)


def test_that_email_and_a_placeholder_reach_the_store_as_the_real_value(retail_data_dir: Path) -> None:
    runtime = Runtime(Settings(data_dir=retail_data_dir, llm="none"))
    chat = runtime.dialogue.chat
    # A message that is blocked is never acted on, but the email in it is the customer's for this conversation.
    angry = chat("You worthless idiots, I will kill you all. my email is raj.anderson6756@example.com")
    assert angry.intent == "blocked" and angry.moderation["redacted_text"].endswith("my email is [EMAIL_1]")
    status = chat("sorry. what is the status of order #W6378322? use that email", session_id=angry.session_id)
    assert "Raj, you're verified" in status.reply
    assert [(a.name, a.status) for a in status.actions] == [("get_order_details", "done")]

    # A customer's own address comes back in the proposal they read, and is stored masked.
    moved = chat(
        "please change my default address to 101 Harbor Street, Apt 4, Austin, TX 78701",
        session_id=angry.session_id,
    )
    assert [(a.name, a.status) for a in moved.actions] == [("modify_user_address", "proposed")]
    assert "101 Harbor Street" in moved.reply
    history = [m.content for m in runtime.sessions.history(angry.session_id, budget_chars=10_000, max_messages=10)]
    assert any("[ADDRESS_" in m for m in history)
    assert not any("Harbor Street" in m or "raj.anderson" in m for m in history)

    # A client that shows the masked transcript may send a placeholder back: it stands for the customer's value.
    handoff = chat("I want to talk to a human, my email is raj.anderson6756@example.com")
    assert handoff.handoff and handoff.actions[0].arguments["summary"].endswith("[EMAIL_1]")
    again = chat("never mind. Where is my order #W6378322? My email is [EMAIL_1]", session_id=handoff.session_id)
    assert [(a.name, a.status) for a in again.actions] == [("get_order_details", "done")]
    assert "[EMAIL_1]" not in again.reply


def test_a_reference_without_an_earlier_email_still_asks(retail_data_dir: Path) -> None:
    runtime = Runtime(Settings(data_dir=retail_data_dir, llm="none"))
    response = runtime.dialogue.chat("where is my order #W6378322? use that email")
    assert response.actions == [] and "verify your identity" in response.reply


def test_the_conversation_pii_map_is_encrypted_at_rest(retail_data_dir: Path) -> None:
    runtime = Runtime(Settings(data_dir=retail_data_dir, llm="none", encryption_keys=[generate_key()]))
    said = runtime.dialogue.chat("hi, my email is raj.anderson6756@example.com, phone +1 415 555 0100")
    with runtime.db.connect() as conn:
        raw = [r[0] for r in conn.exec_driver_sql("SELECT state FROM chat_sessions")]
        raw += [r[0] for r in conn.exec_driver_sql("SELECT content FROM chat_messages")]
    assert raw and not any("raj.anderson" in v or "415 555" in v or "PHONE_1" in v for v in raw)
    state = runtime.sessions.load_or_create(said.session_id, None).state
    assert state.pii == {"[EMAIL_1]": "raj.anderson6756@example.com", "[PHONE_1]": "+1 415 555 0100"}
