"""Asking the customer something without ever looping.

A question is known by its key (the same key is the same question). The first time it is asked in its own words,
the second time rephrased with the choices spelled out, the third time a person is offered; asked once more, the
conversation goes to a person. A message that answers something else is handled on its own and the open question
is then repeated once, briefly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from assistant.dialogue.handlers.base import Draft
from assistant.dialogue.templates import render
from assistant.sessions import DialogueState, OpenQuestion

PERSON = "person:"  # the key prefix of "shall I connect you with a person?"
REFUSED = "refused:"  # a refusal counts across errands: asking again for what was refused is the same question


@dataclass(frozen=True)
class Question:
    key: str
    first: str  # the wording the first time
    choices: str  # the second time: the same question with the choices spelled out
    brief: str  # its short form, for the reminder after a digression
    offer: str = "offer_person"  # the template that offers a person the third time


def ask(state: DialogueState, question: Question, language: str, transfer: Callable[[], Draft]) -> Draft:
    """The question's wording for the how-manieth time it is asked, or the hand-off when nothing else worked."""
    times = state.asked.get(question.key, 0) + 1
    state.asked[question.key] = times
    state.open_question = OpenQuestion(key=question.key, brief=question.brief)
    if times == 1:
        return Draft(question.first)
    if times == 2:
        return Draft(question.choices)
    if times == 3:
        # The open question is now the offer: a "yes" to it means a person, never the proposal still on the table.
        state.open_question = OpenQuestion(key=f"{PERSON}{question.key}", brief=render("brief_person", language))
        return Draft(render(question.offer, language))
    return transfer()


def forget_errand(state: DialogueState) -> None:
    """The errand ended (done, declined, dropped): its questions start afresh with the next one."""
    state.open_question = None
    state.asked = {key: times for key, times in state.asked.items() if key.startswith(REFUSED)}


def answered(state: DialogueState) -> bool:
    """Whether the open question's answer is already in the slots (given in a message handled as something else):
    such a question is no longer open and is not repeated."""
    question = state.open_question
    if question is None:
        return True
    key, slots = question.key, state.slots
    if key.startswith("order:"):
        return bool(slots.get("order_id"))
    if key.startswith("reason:"):
        return bool(slots.get("reason"))
    if key.startswith("items:"):
        return bool(slots.get("item_ids"))
    if key.startswith("address:"):
        return bool(slots.get("address"))
    if key.startswith("options:"):
        return key.removeprefix("options:") in (slots.get("swaps") or {})
    if key == "identity":
        return state.verified_user_id is not None
    if key == "step_up":
        return not state.email_only
    if key.startswith("confirm:"):
        return state.pending_action is None
    return False


def remind(state: DialogueState, draft: Draft, language: str) -> Draft:
    """After a message that was about something else, the errand's open question once more, briefly; only while it
    is still open (its answer not yet given)."""
    if state.open_question is None or (state.pending_intent is None and state.pending_action is None):
        state.open_question = None
        return draft
    if answered(state):
        return draft
    draft.reply = f"{draft.reply}\n{render('resume', language, question=state.open_question.brief)}"
    return draft


def never_thrice(state: DialogueState, draft: Draft, language: str) -> Draft:
    """Whatever answered the message: a reply the customer got twice in a row is not sent a third time; a person is
    offered instead (the products and actions stay)."""
    digest = hashlib.sha256(draft.reply.encode()).hexdigest()[:16]
    if state.recent_replies[-2:] == [digest, digest]:
        draft.reply = render("going_in_circles", language)
        draft.prompt = None
        # A "yes" now means a person, never a proposal that may still be on the table.
        state.open_question = OpenQuestion(key=f"{PERSON}loop", brief=render("brief_person", language))
        digest = hashlib.sha256(draft.reply.encode()).hexdigest()[:16]
    state.recent_replies = [*state.recent_replies[-1:], digest]
    return draft
