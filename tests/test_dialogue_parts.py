"""The dialogue's parts on their own: intent routing, slots, references, the grounding guard, persisted sessions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.db import make_engine
from assistant.dialogue.grounding import Facts, GroundedProduct, SentenceGuard, amounts_in, guard_text
from assistant.dialogue.intents import Intent, route
from assistant.dialogue.references import resolve
from assistant.dialogue.slots import extract
from assistant.sessions import DialogueState, PendingAction, SessionStore, ShownProduct

SHOWN = [
    ShownProduct(id="a", title="Sony WH-1000XM5", price=299.99, brand="Sony", text="sony wh-1000xm5 black"),
    ShownProduct(id="b", title="Bose QuietComfort 45", price=249.0, brand="Bose", text="bose quietcomfort 45 white"),
    ShownProduct(id="c", title="JBL Tune 510", price=49.95, brand="JBL", text="jbl tune 510 blue", in_stock=False),
]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to cancel my order #W1234567", Intent.CANCEL),
        ("where is my package?", Intent.ORDER_STATUS),
        ("I'd like to return the shoes", Intent.RETURN),
        ("can I swap the shirt for a bigger size", Intent.EXCHANGE),
        ("please update my shipping address", Intent.ADDRESS_CHANGE),
        ("what is your return policy?", Intent.POLICY_QUESTION),
        ("let me talk to a human", Intent.HANDOFF),
        ("hello!", Intent.SMALL_TALK),
        ("tell me a joke", Intent.OUT_OF_SCOPE),
        ("wireless earbuds", Intent.PRODUCT_SEARCH),
        ("我要取消订单", Intent.CANCEL),
        ("我的订单到哪了", Intent.ORDER_STATUS),
        ("转人工", Intent.HANDOFF),
        ("我想买蓝牙耳机", Intent.PRODUCT_SEARCH),
        ("推荐点适合我的", Intent.RECOMMENDATION),
    ],
)
def test_router_without_context(text: str, intent: Intent) -> None:
    assert route(text).intent is intent


def test_router_uses_the_conversation() -> None:
    shown = DialogueState(shown=SHOWN, last_query="headphones")
    assert route("compare the first two", shown).intent is Intent.COMPARE
    assert route("does the second one have bluetooth?", shown).intent is Intent.PRODUCT_QUESTION
    assert route("something cheaper", shown).intent is Intent.REFINE
    assert route("只要有货的", shown).intent is Intent.REFINE
    waiting = DialogueState(pending_intent="cancel")
    assert route("jane.doe@example.com", waiting, fills_slot=True).intent is Intent.CONTINUE
    proposed = DialogueState(pending_action=PendingAction(name="x", arguments={}, summary="s", intent="cancel"))
    assert route("yes", proposed).intent is Intent.CONTINUE
    # A new explicit request is not swallowed by the pending one.
    assert route("actually I want to talk to a human agent", proposed).intent is Intent.HANDOFF


def test_slots_in_english_and_chinese() -> None:
    values = extract("My name is Olivia Ito, zip 80218, order #W5442520 — I ordered it by mistake")
    assert (values.first_name, values.last_name, values.zip) == ("Olivia", "Ito", "80218")
    assert values.order_ids == ["#W5442520"] and values.reason == "ordered by mistake"
    assert extract("email: Omar.Lopez1868@Example.com").email == "omar.lopez1868@example.com"
    assert extract("yes please").confirmation is True
    assert extract("no, wait").confirmation is False
    assert extract("maybe later?").confirmation is None
    assert extract("是的").confirmation is True and extract("不要").confirmation is False
    assert extract("我不需要了").reason == "no longer needed"
    assert extract("refund it to the card ending 9212").payment_last_four == "9212"
    address = extract("ship to 45 Oak Avenue, Suite 200, Denver, CO 80202 — I'm Ana Diaz, 10001")
    assert address.address == {
        "address1": "45 Oak Avenue",
        "address2": "Suite 200",
        "city": "Denver",
        "state": "CO",
        "zip": "80202",
        "country": "USA",
    }
    assert address.zip == "10001"  # the customer's zip, not the new address's


def test_references_resolve_on_shown_products() -> None:
    def ids(text: str) -> list[str]:
        return [p.id for p in resolve(text, SHOWN, focus_id="b")]

    assert ids("the second one") == ["b"]
    assert ids("the cheapest one") == ["c"]
    assert ids("the more expensive one") == ["a"]
    assert ids("那个白色的") == ["b"]
    assert ids("第三个有货吗") == ["c"]
    assert ids("the Sony") == ["a"]
    assert ids("compare the first two") == ["a", "b"]
    assert ids("does it fold?") == ["b"]  # the product in focus
    assert ids("the last one") == ["c"]
    assert resolve("the second one", []) == []


FACTS = Facts(
    products=[
        GroundedProduct("a", "Sony WH-1000XM5 Headphones", 299.99, True, "Sony"),
        GroundedProduct("c", "JBL Tune 510", 49.95, False, "JBL"),
    ],
    orders={"#W1234567": "pending"},
    policy_text="refunded in 5 to 7 business days",
)


def test_grounding_corrects_or_removes_wrong_facts() -> None:
    text, report = guard_text("The Sony WH-1000XM5 Headphones cost $199.99. Enjoy!", FACTS)
    assert text == "The Sony WH-1000XM5 Headphones cost $299.99. Enjoy!" and report.corrected == 1
    text, _ = guard_text("The JBL Tune 510 is in stock.", FACTS)
    assert "out of stock" in text
    text, report = guard_text("Both are about $100. Great picks.", FACTS)
    assert text == "Great picks." and report.removed == 1
    text, _ = guard_text("Order #W1234567 has been delivered.", FACTS)
    assert "pending" in text and "delivered" not in text
    assert guard_text("Order #W7654321 is pending.", FACTS)[0] == ""
    assert guard_text("Refunds take 3 days.", FACTS)[0] == ""
    assert guard_text("Refunds take 5 to 7 business days.", FACTS)[0] == "Refunds take 5 to 7 business days."


def test_grounding_while_streaming() -> None:
    guard = SentenceGuard(FACTS)
    tokens = ["Great", " choice:", " the Sony", " WH-1000XM5 Headphones", " cost $", "120.", " Nice", " day!"]
    shown = [guard.feed(t) for t in tokens]
    # Fact-free words go out at once; from the model number on, the sentence is held and checked when it ends.
    assert shown[:3] == ["", "Great ", "choice: the "] and shown[3:6] == ["", "", ""]
    assert shown[6] == "Sony WH-1000XM5 Headphones cost $299.99. "
    assert "".join(shown) == "Great choice: the Sony WH-1000XM5 Headphones cost $299.99. Nice "
    # "day!" ends a sentence only once the next words arrive; the unsupported amount never shows.
    assert guard.feed(" Both cost $5.") + guard.feed(" Bye") == "day! "
    assert guard.flush() == "Bye"
    assert (guard.report.corrected, guard.report.removed) == (1, 1)


def test_guard_shows_ordinary_words_at_once_and_holds_a_forming_status() -> None:
    guard = SentenceGuard(FACTS)
    # "return" is an ordinary word here: shown as soon as the next word proves it is not "return requested".
    assert [guard.feed(t) for t in ["You", " can", " return", " it", " easily", "."]] == [
        "", "You ", "can ", "", "return it ", "",
    ]  # fmt: skip
    assert guard.flush() == "easily."
    guard = SentenceGuard(FACTS)
    shown = [guard.feed(t) for t in ["Order", " #W1234567", " is", " return", " requested", ".", " Ok"]]
    assert "".join(shown) == "Order #W1234567 is pending. "


def test_guard_lets_the_customer_budget_be_repeated() -> None:
    facts = replace(FACTS, amounts=amounts_in("headphones under 100 dollars"))
    assert guard_text("Here are headphones under 100 dollars.", facts)[0] == "Here are headphones under 100 dollars."
    assert guard_text("Here are headphones under 100 dollars.", FACTS)[0] == ""


def test_sessions_survive_a_new_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    store = SessionStore(make_engine(url))
    session = store.load_or_create(None, "u1")
    session.state.slots["order_id"] = "#W1234567"
    session.state.shown = SHOWN[:1]
    store.save_turn(session, [{"role": "user", "content": "hi " * 400}, {"role": "assistant", "content": "hello"}])
    store.save_turn(session, [{"role": "user", "content": "cancel it"}, {"role": "assistant", "content": "sure"}])

    again = SessionStore(make_engine(url)).load_or_create(session.id, None)
    assert again.user_id == "u1" and again.state.slots["order_id"] == "#W1234567"
    assert again.state.shown[0].id == "a"
    history = SessionStore(make_engine(url)).history(session.id, budget_chars=100)
    assert [m.content for m in history] == ["hello", "cancel it", "sure"]  # the long old message is over budget
    assert store.erase_user("u1") == 1 and store.message_count(session.id) == 0
