"""Failures customers met in a role-play round, on the real retail store (SQLite) and engine, `--llm none`: the
fourth asking of the same proposal, stale reminders, "no" to the offer of a person, a queued errand without its
own order, an errand switched by the order's status, and questions asked while a proposal waits."""

from __future__ import annotations

from pathlib import Path

from tests.dialogue_helpers import none_runtime, talk


def test_the_fourth_asking_of_the_same_proposal_hands_off_without_crashing(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    again = "my email is amelia.patel6926@example.com"  # new details that plan the same proposal again
    replies = talk(runtime, f"cancel order #W2079779, I ordered it by mistake. {again}", again, again, again)
    assert replies[0].actions[0].status == "proposed" and "connect you with a person" in replies[2].reply
    assert replies[3].handoff and [(a.name, a.status) for a in replies[3].actions] == [
        ("transfer_to_human_agents", "done")
    ]
    assert runtime.store.db.order("#W2079779").status == "pending"


def test_an_order_given_with_a_side_question_answers_which_order(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    asked, answered = talk(
        runtime, "I want to cancel an order. amelia.patel6926@example.com", "what's the status of #W2079779?"
    )
    assert "Which order" in asked.reply
    # The status is answered and the errand goes on with that order: no stale "which order?" reminder.
    assert "is pending" in answered.reply and "which order?" not in answered.reply
    assert "What is the reason" in answered.reply


def test_a_reminder_repeats_only_a_question_still_open() -> None:
    from assistant.dialogue.asking import remind
    from assistant.dialogue.handlers.base import Draft
    from assistant.sessions import DialogueState, OpenQuestion

    state = DialogueState(pending_intent="cancel")
    state.open_question = OpenQuestion(key="reason:#W1", brief="the reason?")
    state.slots["reason"] = "ordered by mistake"
    assert remind(state, Draft("answer"), "en").reply == "answer"
    state.slots.pop("reason")
    assert "the reason?" in remind(state, Draft("answer"), "en").reply


def test_no_to_the_offer_of_a_person_goes_back_to_the_errand(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    *_, offer, no, again = talk(
        runtime,
        "I want to cancel an order. amelia.patel6926@example.com",
        "hmm",
        "hmm",
        "no. do you have the skateboard in bamboo?",
        "hmm",
    )
    assert "connect you with a person" in offer.reply
    assert not no.handoff and not no.actions and "Which order" in no.reply
    assert not again.handoff  # the question starts afresh: no hand-off on the next unclear answer
    *_, offer, no = talk(
        runtime, "cancel order #W2079779, I ordered it by mistake. amelia.patel6926@example.com", "hmm", "hmm", "no"
    )
    assert "connect you with a person" in offer.reply and not no.handoff and "Shall I go ahead" in no.reply


def test_a_queued_errand_asks_for_an_order_its_status_allows(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    proposed, done = talk(
        runtime,
        "I'd like to return the Smartphone from order #W2693718, and I also want to exchange a thing, "
        "email harper.brown3965@example.com",
        "yes",
    )
    assert "After this: exchange items of order" in proposed.reply and "order ." not in proposed.reply
    assert [(a.name, a.status) for a in done.actions] == [("return_delivered_order_items", "done")]
    assert "Next: Which order do you mean?" in done.reply and "can't" not in done.reply


def test_an_errand_the_status_does_not_allow_switches_to_the_one_it_does(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    [switched, again] = talk(
        runtime,
        "cancel my order #W2582045, juan.santos3161@example.com",
        "that's about cancelling tho. i'm doing a return",
    )
    assert "is delivered, so what I can do is return items of order #W2582045" in switched.reply
    assert [(a.name, a.status) for a in switched.actions] == [("return_delivered_order_items", "proposed")]
    assert "can't" not in again.reply and "Shall I go ahead" in again.reply
    [_, refund] = talk(
        runtime,
        "I want to cancel order #W2079779. amelia.patel6926@example.com",
        "it was ordered by mistake. when will I get the refund?",
    )
    # Read as a return, the message is about the cancellation under way: it is proposed, not refused.
    assert [(a.name, a.status) for a in refund.actions] == [("cancel_pending_order", "proposed")]
    assert runtime.store.db.order("#W2582045").status == "delivered"


def test_questions_while_a_proposal_waits_are_answered_then_it_is_repeated(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    _, contents, payment, done = talk(
        runtime,
        "cancel order #W2079779, I ordered it by mistake. amelia.patel6926@example.com",
        "What's in it, and will I get all my money back?",
        "is gift_card_3751659 my gift card?",
        "yes",
    )
    assert "Action Camera" in contents.reply and "$757.70 goes back to gift card gift_card_3751659" in contents.reply
    assert "shall I go ahead" in contents.reply and not any(a.status == "proposed" for a in contents.actions)
    assert "Your payment methods: gift card gift_card_3751659" in payment.reply
    assert [(a.name, a.status) for a in done.actions] == [("cancel_pending_order", "done")]
