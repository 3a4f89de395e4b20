"""What every answering strategy receives (the turn) and returns (a draft the engine may let the model phrase)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.dialogue.commands import Understanding
from assistant.dialogue.grounding import Facts
from assistant.dialogue.intents import Routed
from assistant.dialogue.response import Action, ProductCard
from assistant.dialogue.slots import SlotValues
from assistant.sessions import ChatSession, DialogueState


@dataclass
class Turn:
    text: str  # the user's own words: slots and store tools use the real values
    redacted: str  # PII masked: what the model and the logs see
    language: str
    session: ChatSession
    routed: Routed
    slots: SlotValues
    caller_user_id: str | None = None
    client: str | None = None  # the client's address, for the limits on identity attempts
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Everything the message asks for, in order; `routed` and `slots` are the first errand's view of it.
    understanding: Understanding = field(default_factory=Understanding)

    @property
    def state(self) -> DialogueState:
        return self.session.state


@dataclass
class Draft:
    """A complete, correct reply built from data, plus what the model needs to phrase it better.

    `prompt` names a prompt template in `prompts/`; when it is None (or there is no model) `reply` is sent as is.
    """

    reply: str
    products: list[ProductCard] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    handoff: bool = False
    facts: Facts = field(default_factory=Facts)
    prompt: str | None = None
    prompt_vars: dict[str, Any] = field(default_factory=dict)


class Handler(Protocol):
    def handle(self, turn: Turn) -> Draft: ...
