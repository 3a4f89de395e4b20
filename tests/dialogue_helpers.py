"""Driving the real dialogue engine turn by turn in tests (templates backend)."""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from assistant.dialogue.response import ChatResponse
from assistant.runtime import Runtime


def none_runtime(data_dir: Path) -> Runtime:
    return Runtime(Settings(data_dir=data_dir, llm="none"))


def talk(runtime: Runtime, *messages: str) -> list[ChatResponse]:
    """One conversation: each message in the same session, the responses in order."""
    responses: list[ChatResponse] = []
    session_id = None
    for message in messages:
        response = runtime.dialogue.chat(message, session_id=session_id)
        session_id = response.session_id
        responses.append(response)
    return responses
