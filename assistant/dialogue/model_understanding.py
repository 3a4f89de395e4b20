"""A model's reading of one message: a compact view of the conversation plus the message, answered as `Understanding`
JSON under `commands.json_schema()` (a llama.cpp grammar, JSON-schema output or a forced tool call).

The model only reads; what it returns is validated against the schema and then treated exactly like the rules'
commands: the store's code decides. Any failure (no constrained output, a timeout, invalid JSON) returns None and the
rules' reading stands.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from pydantic import BaseModel, Field, ValidationError

from assistant.dialogue.commands import SetSlot, Understanding, json_schema
from assistant.llm.base import LLM, LLMError
from assistant.sessions import DialogueState
from assistant.store import StoreTools
from prompts import load as load_prompt

log = logging.getLogger(__name__)

_MAX_ORDERS = 8  # the view stays short: a small model reads it on every unsure turn
_MAX_SHOWN = 5


class OrderView(BaseModel):
    id: str
    status: str
    items: list[str]  # "Desk Lamp (color: blue)"


class ShownView(BaseModel):
    position: int
    title: str
    price: float | None
    in_stock: bool


class StateView(BaseModel):
    """What the model needs to read a message in context, and nothing it could leak: no address, email or card."""

    verified: bool
    orders: list[OrderView] = Field(default_factory=list)
    errand: str | None = None  # the errand in progress
    open_question: str | None = None  # what the assistant asked last (a proposal waiting for yes/no, a detail)
    shown: list[ShownView] = Field(default_factory=list)


def state_view(state: DialogueState, store: StoreTools | None, last_reply: str | None) -> StateView:
    orders: list[OrderView] = []
    if state.verified_user_id and store is not None:
        user = state.verified_user_id
        try:
            ids = store.get_user_details(user, acting_user=user).orders[-_MAX_ORDERS:]
            for order_id in ids:
                order = store.get_order_details(order_id, acting_user=user)
                items = [
                    f"{i.name} ({', '.join(f'{k}: {v}' for k, v in i.options.items())})" if i.options else i.name
                    for i in order.items
                ]
                orders.append(OrderView(id=order.order_id, status=order.status, items=items))
        except Exception as exc:  # the view is a help, never a reason for a turn to fail
            log.warning("no order view for the model: %s", exc)
    pending = state.pending_action
    return StateView(
        verified=state.verified_user_id is not None,
        orders=orders,
        errand=pending.intent if pending else state.pending_intent,
        open_question=(f"confirm: {pending.summary}" if pending else last_reply)
        if state.pending_intent or pending
        else None,
        shown=[
            ShownView(position=n, title=p.title, price=p.price, in_stock=p.in_stock)
            for n, p in enumerate(state.shown[:_MAX_SHOWN], start=1)
        ],
    )


MAX_COMMANDS = 8


def model_schema() -> dict[str, object]:
    """`commands.json_schema()` as the model answers it: without `source` (ours to set); each command's `kind`
    required, so that the grammar has the model name the command first (an optional key comes after the required
    ones); one to `MAX_COMMANDS` commands, so that a small model repeating itself stops there."""
    schema = json_schema()
    properties = schema["properties"]
    definitions = schema["$defs"]
    assert isinstance(properties, dict) and isinstance(definitions, dict)
    properties.pop("source", None)
    properties["commands"] = {**properties["commands"], "minItems": 1, "maxItems": MAX_COMMANDS}
    schema["required"] = ["commands"]
    for definition in definitions.values():
        if "kind" in definition.get("properties", {}):
            definition["required"] = ["kind", *(r for r in definition.get("required", []) if r != "kind")]
    return schema


class ModelUnderstanding:
    """Asks `llm` for the commands of a message; None whenever the answer is not a valid `Understanding`."""

    def __init__(self, llm: LLM, *, timeout_s: float = 20.0, max_tokens: int = 160) -> None:
        self.llm = llm
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.prompt = load_prompt("understand")
        self.schema = model_schema()

    def understand(self, message: str, view: StateView) -> Understanding | None:
        messages = self.prompt.messages(state=view.model_dump_json(exclude_none=True), message=message)
        try:
            answer = self.llm.complete_json(messages, self.schema, max_tokens=self.max_tokens, timeout_s=self.timeout_s)
        except LLMError as exc:
            log.warning("model understanding failed (%s); the rules' reading stands", exc)
            return None
        if answer is None:
            return None
        try:
            understanding = Understanding.model_validate(json.loads(answer))
        except (ValueError, ValidationError) as exc:
            log.warning("model understanding was not valid (%s): %.200s", type(exc).__name__, answer)
            return None
        if not understanding.commands:
            return None
        return understanding.model_copy(update={"source": "model"})


def restore_values(understanding: Understanding, restore: Callable[[str], str]) -> Understanding:
    """The model saw masked PII ("[EMAIL_1]"): slot values get the customer's own values back for the store."""
    commands = [
        c.model_copy(update={"value": restore(c.value)}) if isinstance(c, SetSlot) else c
        for c in understanding.commands
    ]
    return understanding.model_copy(update={"commands": commands})
