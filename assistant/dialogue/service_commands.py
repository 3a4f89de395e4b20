"""The typed commands of a message for customer service: the understanding's when it produced any, otherwise read
from what the engine's rules already found (the routed intent and the slot values) plus the few repair phrases
those rules do not tell apart ("never mind" from "no", a correction from a new detail).
"""

from __future__ import annotations

import re

from assistant.dialogue.commands import (
    AskInfo,
    CancelErrand,
    Command,
    Confirm,
    Deny,
    Errand,
    SetSlot,
    StartErrand,
)
from assistant.dialogue.handlers.base import Turn
from assistant.dialogue.intents import SERVICE_INTENTS, Intent

# Ends the errand in progress, where a plain "no" only declines the proposal on the table.
_DROP = re.compile(
    r"\b(never ?mind|forget (it|about it|that)|start (over|again)|cancel (that|this|the request|my request)|"
    r"drop it|scratch that)\b|算了|不办了|重新开始|从头开始|不用办了",
    re.I,
)
# "sorry, I meant the puzzle", "actually the blue one", "我是说…": a value replacing one given before.
_CORRECTION = re.compile(r"\b(i meant|i mean|sorry|actually|instead|not the|rather)\b|我是说|我说的是|不是|搞错", re.I)
# The part of a correction that names what it is *not* ("not the phone", "不是手机").
_NEGATED = re.compile(r"\b(not|rather than|instead of)\s+(the |my |a )?[^,.;!?]+|不是[^，,。；;！!？?]+", re.I)


def service_commands(turn: Turn) -> list[Command]:
    if turn.understanding.commands:
        return list(turn.understanding.commands)
    text, slots, intent = turn.text, turn.slots, turn.routed.intent
    commands: list[Command] = []
    if _DROP.search(text):
        return [CancelErrand()]
    if slots.confirmation is True:
        commands.append(Confirm())
    elif slots.confirmation is False:
        commands.append(Deny())
    if _CORRECTION.search(text):
        commands.append(SetSlot(slot="item", value=_NEGATED.sub(" ", text).strip(), correction=True))
    state = turn.state
    if intent is Intent.ORDER_STATUS and state.pending_intent not in (None, Intent.ORDER_STATUS.value):
        # "Where is my other order?" in the middle of a return: a side question, the return stays open.
        commands.append(AskInfo(topic="order_details", order_id=slots.order_ids[-1] if slots.order_ids else None))
    elif intent in SERVICE_INTENTS and len(slots.order_ids) > 1:
        # "Cancel #W1 and #W2": one errand per order, in the order given.
        errand: Errand = intent.value  # type: ignore[assignment]
        commands += [StartErrand(errand=errand, order_id=order_id) for order_id in slots.order_ids]
    return commands
