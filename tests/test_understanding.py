"""The rules' reading of real phrasings (English and Chinese) into typed commands, and the misreadings of issue 14."""

from __future__ import annotations

import pytest

from assistant.dialogue.commands import (
    AskInfo,
    CancelErrand,
    ChitChat,
    Confirm,
    Deny,
    OutOfScope,
    SetSlot,
    Shop,
    StartErrand,
)
from assistant.dialogue.intents import EmbeddingIntentClassifier, Intent, route
from assistant.dialogue.slots import extract
from assistant.dialogue.understanding import read, understand
from assistant.sessions import DialogueState, PendingAction, ShownProduct

WAITING = DialogueState(pending_intent="cancel")
PROPOSED = DialogueState(
    pending_intent="return",
    pending_action=PendingAction(name="return_delivered_order_items", arguments={}, summary="return", intent="return"),
)
SHOWN = DialogueState(shown=[ShownProduct(id="p1", title="Lamp A", price=10.0), ShownProduct(id="p2", title="Lamp B")])


def kinds(text: str, state: DialogueState | None = None) -> list[str]:
    return [c.kind for c in understand(text, state).commands]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cancel #W1234567 and #W7654321", [("cancel", "#W1234567", []), ("cancel", "#W7654321", [])]),
        (
            "Please cancel orders #W1234567, and also #W7654321",
            [("cancel", "#W1234567", []), ("cancel", "#W7654321", [])],
        ),
        ("取消订单#W1234567和#W7654321", [("cancel", "#W1234567", []), ("cancel", "#W7654321", [])]),
        ("return the lamp and exchange the shoes", [("return", None, ["lamp"]), ("exchange", None, ["shoes"])]),
        (
            "I want to return the lamp and the vase from #W1234567",
            [("return", "#W1234567", ["lamp", "vase"])],
        ),
        (
            "return the desk lamp from #W1234567 and exchange the hiking boots for a bigger size",
            [("return", "#W1234567", ["desk lamp"]), ("exchange", "#W1234567", ["hiking boots"])],
        ),
        ("退掉台灯，然后换一下鞋子", [("return", None, ["台灯"]), ("exchange", None, ["鞋子"])]),
        ("cancel my order #W1234567", [("cancel", "#W1234567", [])]),
        ("where is my order #W1234567?", [("order_status", "#W1234567", [])]),
    ],
)
def test_several_errands_in_one_message(text: str, expected: list[tuple[str, str | None, list[str]]]) -> None:
    errands = [c for c in understand(text).commands if isinstance(c, StartErrand)]
    assert [(e.errand, e.order_id, e.items) for e in errands] == expected


@pytest.mark.parametrize(
    ("text", "topic", "about"),
    [
        ("Which card will the refund go to?", "refund_destination", None),
        ("where will my refund go?", "refund_destination", None),
        ("退款会退到哪张卡？", "refund_destination", None),
        ("what address is on that order", "order_address", None),
        ("What payment methods do I have?", "payment_methods", None),
        ("我有哪些支付方式？", "payment_methods", None),
        ("which orders do I have", "list_orders", None),
        ("我有哪些订单", "list_orders", None),
        ("the one with the lamp", "list_orders", "lamp"),
        ("the order that has the headphones", "list_orders", "headphones"),
        ("有台灯的那个订单", "list_orders", "台灯"),
        ("does it come in blue?", "variants", "blue"),
        ("can I get the same but a size larger?", "variants", "size larger"),
        ("有没有别的颜色？", "variants", "别的颜色"),
        ("what's my default address?", "default_address", None),
        ("how many times can I exchange an order?", "policy_limit", None),
        ("what did I order?", "order_details", None),
    ],
)
def test_side_questions_are_ask_info(text: str, topic: str, about: str | None) -> None:
    first = understand(text, WAITING).commands[0]
    assert isinstance(first, AskInfo)
    assert first.topic == topic
    assert (first.about or None) == about or (about is not None and about in (first.about or ""))


def test_a_side_question_during_an_errand_keeps_the_errand() -> None:
    # "refund" would read as a return request; the cancellation under way must not be lost.
    reading = read("Which card will the refund go to?", WAITING)
    assert reading.routed.intent is Intent.CONTINUE
    assert not any(isinstance(c, (StartErrand, SetSlot)) for c in reading.understanding.commands)


@pytest.mark.parametrize(
    "text", ["never mind", "Never mind, forget it", "start over", "forget it", "scratch that", "算了", "重新开始"]
)
def test_ending_the_errand(text: str) -> None:
    assert kinds(text, WAITING)[0] == "cancel_errand"


def test_ending_the_errand_and_starting_another() -> None:
    commands = understand("never mind, I want to return #W1234567 instead", WAITING).commands
    assert isinstance(commands[0], CancelErrand)
    assert isinstance(commands[1], StartErrand) and commands[1].errand == "return"
    assert commands[1].order_id == "#W1234567"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("sorry, I meant the puzzle, not the phone", "puzzle"),
        ("oops I meant the blue lamp", "blue lamp"),
        ("not the phone, the puzzle", "puzzle"),
        ("不是手机，是拼图", "拼图"),
        ("我是说拼图，不是手机", "拼图"),
    ],
)
def test_corrections(text: str, value: str) -> None:
    commands = understand(text, WAITING).commands
    assert commands[0] == SetSlot(slot="item", value=value, correction=True)
    assert read(text, WAITING).routed.intent is Intent.CONTINUE


def test_no_with_a_correction_on_a_proposal() -> None:
    commands = understand("no, I meant the puzzle, not the phone", PROPOSED).commands
    assert commands[:2] == [Deny(), SetSlot(slot="item", value="puzzle", correction=True)]


@pytest.mark.parametrize(
    ("text", "answer"),
    [("yes", Confirm()), ("yes please go ahead", Confirm()), ("是的", Confirm()), ("no", Deny()), ("不要", Deny())],
)
def test_yes_and_no_to_a_proposal(text: str, answer: object) -> None:
    assert understand(text, PROPOSED).commands == [answer]


@pytest.mark.parametrize(
    "text",
    [
        "ok so the visa 8676 is my only card on file, and that's credit_card_7239357?",
        "is 7287 credit_card_1199336? if so yes",
        "Yes, please go ahead. Will the refund go back to the original payment method?",
        "好的，退款会退到哪张卡？",
    ],
)
def test_a_question_is_never_a_yes(text: str) -> None:
    """A change ran on a question in role-play: a message asking something confirms nothing."""
    assert extract(text).confirmation is None
    assert Confirm() not in understand(text, PROPOSED).commands


def test_a_short_yes_after_a_statement_is_a_yes() -> None:
    assert extract("gift card is what i want. yes").confirmation is True
    assert extract("the gift card is what i want, yes i know it takes a while").confirmation is None


def test_an_errand_beside_a_question_is_kept() -> None:
    """ "I want to return X. Where would the refund go?" is a return and a question, not the question alone."""
    commands = understand(
        "Order #W2923184 - I want to return the wireless earbuds and the laptop. Where would the refund go?"
    ).commands
    assert [c.kind for c in commands][:2] == ["start_errand", "ask_info"]
    assert isinstance(commands[0], StartErrand) and commands[0].errand == "return"
    assert isinstance(commands[1], AskInfo) and commands[1].topic == "refund_destination"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("could the smartphone become black, 128GB storage, 4GB RAM, 6.5-inch screen?", Intent.MODIFY),
        ("start over", Intent.CONTINUE),
        ("ugh, fine.", Intent.SMALL_TALK),
        ("thanks, that went better than I expected", Intent.SMALL_TALK),
        ("我要退订单 #W7128968 里的吸尘器和音箱", Intent.RETURN),
        ("i don't want a human. start over", Intent.CONTINUE),
        ("no human pls", Intent.CONTINUE),
        ("不要转人工", Intent.CONTINUE),
    ],
)
def test_role_play_phrasings(text: str, intent: Intent) -> None:
    assert read(text).routed.intent is intent


def test_a_strong_errand_word_outweighs_the_nearest_example() -> None:
    """With several rules firing, the intent examples (real encoder) only choose among them: the nearest example
    once turned "exchange an item from my order" into a modification in role-play."""
    from assistant.config import Settings
    from retrieval.embeddings import get_embedder

    embedder = get_embedder(Settings().embedding_model)
    classifier = EmbeddingIntentClassifier(embedder.encode_query)
    text = "hello. i would like to exchange an item from my order please"
    assert read(text, DialogueState(), classifier).routed.intent is Intent.EXCHANGE


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("thanks!", "thanks"),
        ("thank you so much for your help", "thanks"),
        ("ok thanks, bye", "thanks"),
        ("great, that's all I needed", "goodbye"),
        ("have a nice day", "goodbye"),
        ("bye", "goodbye"),
        ("谢谢你的帮助", "thanks"),
        ("好的，谢谢", "thanks"),
        ("再见", "goodbye"),
        ("hello there", "greeting"),
    ],
)
def test_thanks_and_goodbye_are_small_talk_not_searches(text: str, act: str) -> None:
    assert understand(text).commands == [ChitChat(act=act)]  # type: ignore[arg-type]
    assert route(text).intent is Intent.SMALL_TALK


@pytest.mark.parametrize(
    ("text", "act", "state"),
    [
        ("which of these is cheapest?", "compare", SHOWN),
        ("which one is the lightest", "compare", SHOWN),
        ("哪个最便宜？", "compare", SHOWN),
        ("is it in stock?", "product_question", SHOWN),
        ("is it in stock?", "product_question", None),
        ("how much is the second one?", "product_question", SHOWN),
        ("有货吗？", "product_question", None),
        ("noise cancelling headphones", "product_search", None),
        ("noise-cancelling earbuds under $100", "product_search", None),
        ("I'm looking for noise cancelling headphones", "product_search", None),
        ("降噪耳机", "product_search", None),
    ],
)
def test_shopping_is_never_out_of_scope(text: str, act: str, state: DialogueState | None) -> None:
    commands = understand(text, state).commands
    assert commands == [Shop(act=act, query=text)]  # type: ignore[arg-type]
    assert not any(isinstance(c, (OutOfScope, StartErrand)) for c in commands)


def test_a_real_cancellation_that_names_noise_cancelling_headphones() -> None:
    commands = understand("please cancel the order with the noise cancelling headphones").commands
    assert commands == [StartErrand(errand="cancel", items=["noise cancelling headphones"])]


@pytest.mark.parametrize(
    ("text", "first", "last", "zip_code"),
    [
        ("john smith 12345", "John", "Smith", "12345"),
        ("john smith, zip 80280", "John", "Smith", "80280"),
        ("my name is john smith and my zip is 12345", "John", "Smith", "12345"),
        ("Yusuf Rossi 19122", "Yusuf", "Rossi", "19122"),
        # After a lead-in, as role-played customers wrote them.
        ("sure, Harper Johansson, zip 80281", "Harper", "Johansson", "80281"),
        ("Of course! Anya Kovacs, 95132", "Anya", "Kovacs", "95132"),
        ("oh sure, anya lee, zip 78227. dont remember my email sorry", "Anya", "Lee", "78227"),
        ("Sure, Sophia Jackson, zip code 60651. The order is #W6977171.", "Sophia", "Jackson", "60651"),
        ("我叫 Mei Chen，邮编80280", "Mei", "Chen", "80280"),
    ],
)
def test_names_and_zips_in_any_case(text: str, first: str, last: str, zip_code: str) -> None:
    values = extract(text)
    assert (values.first_name, values.last_name, values.zip) == (first, last, zip_code)
    commands = understand(text, WAITING).commands
    assert SetSlot(slot="first_name", value=first) in commands and SetSlot(slot="zip", value=zip_code) in commands


@pytest.mark.parametrize("text", ["zip 80280", "my zip code is 80280", "邮编80280", "zip: 80280"])
def test_a_zip_alone(text: str) -> None:
    values = extract(text)
    assert values.zip == "80280" and values.first_name is None


@pytest.mark.parametrize(
    "text", ["order number 1234567", "order #1234567", "my order no. 1234567", "订单号1234567", "order W1234567"]
)
def test_order_numbers_without_the_w(text: str) -> None:
    assert extract(text).order_ids == ["#W1234567"]


@pytest.mark.parametrize(
    ("text", "address1", "address2", "city", "state"),
    [
        ("101 Main St, Springfield, IL 62701", "101 Main St", "", "Springfield", "IL"),
        ("101 Main St, Apt 2, Springfield, IL 62701", "101 Main St", "Apt 2", "Springfield", "IL"),
        ("101 main st apt 2 springfield il 62701", "101 main st", "apt 2", "springfield", "IL"),
        ("ship it to 45 Oak Avenue Denver CO 80202 please", "45 Oak Avenue", "", "Denver", "CO"),
        ("新地址：101 Main Street, Springfield, IL 62701", "101 Main Street", "", "Springfield", "IL"),
    ],
)
def test_addresses_as_written(text: str, address1: str, address2: str, city: str, state: str) -> None:
    address = extract(text).address
    assert address is not None
    assert (address["address1"], address["address2"], address["city"], address["state"]) == (
        address1,
        address2,
        city,
        state,
    )
    assert address["zip"] in text and extract(text).zip is None  # the address's zip is not an identity


def test_the_first_errand_is_what_the_handlers_see() -> None:
    reading = read("cancel #W1234567 and #W7654321")
    assert reading.routed.intent is Intent.CANCEL
    assert reading.slots.order_ids == ["#W1234567"]


def test_an_identity_with_small_talk_is_an_identification() -> None:
    reading = read("hi, I'm Omar Lopez, zip 10001")
    assert reading.routed.intent is Intent.CONTINUE
    assert SetSlot(slot="last_name", value="Lopez") in reading.understanding.commands


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("hmm what was it again", WAITING),
        ("the art theme please", WAITING),
        ("hmm what was it again", None),
        ("scrap #W6436609", None),
    ],
)
def test_guesses_are_not_sure(text: str, state: DialogueState | None) -> None:
    assert not read(text, state).sure


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("cancel #W6436609", None),
        ("yes", PROPOSED),
        ("thanks!", WAITING),
        ("wireless earbuds under $50", None),
        ("蓝牙耳机", None),
        ("john smith 12345", WAITING),
    ],
)
def test_rules_are_sure_of_plain_messages(text: str, state: DialogueState | None) -> None:
    assert read(text, state).sure


def test_out_of_scope_stays_out_of_scope() -> None:
    assert understand("what's the weather in Paris tomorrow?").commands == [OutOfScope()]
    assert understand("给我讲个笑话").commands == [OutOfScope()]


def test_the_sample_stores_order_ids_are_order_ids() -> None:
    """The demo store's orders are "#S…": named before identity, the order is kept for after it."""
    assert extract("Where is my order #S8963198?").order_ids == ["#S8963198"]
