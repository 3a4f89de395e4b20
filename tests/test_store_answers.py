"""Answers from what the store knows (assistant/dialogue/store_answers.py): each `AskInfo` topic in English and
Chinese on the sample store and the real retail store, the facts each answer carries for the grounding guard, the
record of the read, questions back when a description fits several orders, and another customer's order refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.db import make_engine
from assistant.dialogue.commands import AskInfo, InfoTopic
from assistant.dialogue.grounding import guard_text
from assistant.dialogue.handlers.base import Draft
from assistant.dialogue.store_answers import StoreAnswers, english_words, errand_named, statuses_named
from assistant.store import StoreDB, import_store
from assistant.store.knowledge import StoreKnowledge
from assistant.store.loading import SAMPLE_STORE_DIR

MIA = "mia_chen_1001"  # #S8963198 delivered (air fryer, white mouse, sneakers 9 navy); #S5432015, #S6104376 pending


def _answers(folder: Path, path: Path) -> StoreAnswers:
    db = StoreDB(make_engine(f"sqlite:///{path}"))
    import_store(db, folder)
    return StoreAnswers(StoreKnowledge(db))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> StoreAnswers:
    return _answers(SAMPLE_STORE_DIR, tmp_path_factory.mktemp("sample") / "store.db")


@pytest.fixture(scope="module")
def retail(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> StoreAnswers:
    return _answers(shared_data / "retail-store", tmp_path_factory.mktemp("retail") / "store.db")


def ask(
    answers: StoreAnswers,
    topic: InfoTopic,
    language: str = "en",
    *,
    user: str | None = MIA,
    order_id: str | None = None,
    about: str | None = None,
    errand: str | None = None,
    errand_order: str | None = None,
) -> Draft:
    command = AskInfo(topic=topic, order_id=order_id, about=about)
    return answers.answer(command, user_id=user, language=language, errand=errand, order_id=errand_order)  # type: ignore[arg-type]


def grounded(draft: Draft) -> None:
    """The answer passes the grounding guard unchanged: every id, status and amount it states is in its facts."""
    _, report = guard_text(draft.reply, draft.facts)
    assert (report.corrected, report.removed) == (0, 0), report.notes


# --- orders ----------------------------------------------------------------------------------------------------
def test_list_orders_by_contents_and_status(sample: StoreAnswers) -> None:
    every = ask(sample, "list_orders")
    assert ask(sample, "list_orders", about="all my orders").reply == every.reply
    assert every.reply.startswith("Your orders: #S6104376 (pending): Orbit Chromebook 14, Aqua Insulated Water Bottle")
    assert set(every.facts.orders) == {"#S6104376", "#S5432015", "#S8963198"}
    assert every.actions[0].name == "find_orders" and every.actions[0].status == "done"
    delivered = ask(sample, "list_orders", about="the delivered one")
    assert delivered.reply == (
        'Your orders matching "the delivered one": #S8963198 (delivered): Steamwell Air Fryer 5L, '
        "Clicker Pro Wireless Mouse, Fleetfoot Everyday Sneakers."
    )
    zh = ask(sample, "list_orders", "zh", about="有水杯的那个订单")
    assert (
        zh.reply == "与“有水杯的那个订单”相符的订单：#S6104376（待处理（pending））："
        "Orbit Chromebook 14, Aqua Insulated Water Bottle。"
    )
    assert zh.facts.orders == {"#S6104376": "pending"}
    latest = ask(sample, "list_orders", about="my most recent order")
    assert list(latest.facts.orders) == ["#S6104376"]
    none = ask(sample, "list_orders", about="the headphones")
    assert none.reply.startswith('I don\'t see an order matching "the headphones" on your account. Your orders: ')
    for draft in (delivered, zh, latest):
        grounded(draft)


def test_order_details_found_by_what_is_in_it(sample: StoreAnswers) -> None:
    en = ask(sample, "order_details", about="the air fryer")
    assert en.reply == (
        "Order #S8963198 is delivered. Items: Steamwell Air Fryer 5L (black, $118.99); Clicker Pro Wireless Mouse "
        "(white, $38.99); Fleetfoot Everyday Sneakers (9, navy, $58.99). Total $216.97. Tracking number: "
        "407082198367. Order #S8963198 ships to 12 Harbor Street, Apt 4, Seattle, WA 98101, USA. Payments of order "
        "#S8963198: $216.97 paid with Mastercard card ending 6630 (credit_card_3642964)."
    )
    assert en.actions[0].name == "get_order_details" and en.actions[0].arguments == {"order_id": "#S8963198"}
    zh = ask(sample, "order_details", "zh", about="那双运动鞋")
    assert "订单 #S8963198 的状态是：已送达（delivered）" in zh.reply
    assert "订单 #S8963198 的收货地址：12 Harbor Street" in zh.reply
    assert "尾号 6630 的 Mastercard 信用卡（credit_card_3642964） 支付 $216.97" in zh.reply
    grounded(en)
    grounded(zh)


def test_an_ambiguous_order_is_asked_back_with_choices(sample: StoreAnswers) -> None:
    both = ask(sample, "order_address", about="the pending one")
    assert both.reply == (
        'Several of your orders match "the pending one": #S6104376 (pending): Orbit Chromebook 14, Aqua Insulated '
        "Water Bottle; #S5432015 (pending): Cozy Memory Foam Pillow. Which one do you mean?"
    )
    which = ask(sample, "order_details", "zh")
    assert which.reply.startswith("请问是哪个订单？您的订单：#S6104376（待处理（pending））：Orbit Chromebook 14")
    # The errand's order answers a question that names none.
    errand = ask(sample, "order_address", errand_order="#S5432015")
    assert errand.reply == "Order #S5432015 ships to 12 Harbor Street, Apt 4, Seattle, WA 98101, USA."


def test_order_payment_and_payment_methods(sample: StoreAnswers) -> None:
    paid = ask(sample, "order_payment", user="lucas_meyer_1002", order_id="#S4905896")
    assert paid.reply == (
        "Payments of order #S4905896: $171.34 paid with Mastercard card ending 5190 (credit_card_1060779); "
        "$22.35 refunded to Mastercard card ending 5190 (credit_card_1060779)."
    )
    grounded(paid)
    methods = ask(sample, "payment_methods")
    assert methods.reply == (
        "Your payment methods: Mastercard card ending 6630 (credit_card_3642964); PayPal paypal_5513686; gift card "
        "gift_card_8479695 "
        "(balance $120.00)."
    )
    zh = ask(sample, "payment_methods", "zh")
    assert (
        zh.reply == "您的支付方式：尾号 6630 的 Mastercard 信用卡（credit_card_3642964）；PayPal paypal_5513686；"
        "礼品卡 gift_card_8479695（余额 $120.00）。"
    )
    grounded(methods)


def test_addresses(sample: StoreAnswers) -> None:
    assert (
        ask(sample, "default_address").reply
        == "Your default address is 12 Harbor Street, Apt 4, Seattle, WA 98101, USA."
    )
    assert (
        ask(sample, "default_address", "zh").reply == "您的默认地址：12 Harbor Street, Apt 4, Seattle, WA 98101, USA。"
    )
    chromebook = ask(sample, "order_address", about="the one with the chromebook")
    assert chromebook.reply.startswith("Order #S6104376 ships to ")


# --- money and policy ------------------------------------------------------------------------------------------
def test_where_a_refund_goes(sample: StoreAnswers) -> None:
    cancel = ask(sample, "refund_destination", order_id="#S6104376", errand="cancel")
    assert cancel.reply == (
        "If you cancel order #S6104376, $415.33 goes back to Mastercard card ending 6630 (credit_card_3642964) within "
        "5 to 7 business days."
    )
    assert cancel.actions[0].name == "refund_route"
    zh = ask(sample, "refund_destination", "zh", order_id="#S6104376")
    assert (
        zh.reply == "如果取消订单 #S6104376，$415.33 将在 5 到 7 个工作日内退回 "
        "尾号 6630 的 Mastercard 信用卡（credit_card_3642964）。"
    )
    back = ask(sample, "refund_destination", about="the sneakers")
    assert back.reply == (
        "A refund for items of order #S8963198 goes to the original payment method, Mastercard card ending 6630 "
        "(credit_card_3642964), "
        "or to a gift card: gift card gift_card_8479695 (balance $120.00)."
    )
    swap = ask(sample, "refund_destination", order_id="#S8963198", errand="exchange")
    assert "paid with, or refunded to, a payment method you choose" in swap.reply and "PayPal" in swap.reply
    # A refund the status does not allow is the policy's refusal.
    wrong = ask(sample, "refund_destination", order_id="#S6104376", errand="return")
    assert wrong.reply == "Order #S6104376 is pending; only delivered orders can be returned."
    for draft in (cancel, back, swap):
        grounded(draft)
    grounded(zh)


def test_policy_limits_before_the_customer_chooses(sample: StoreAnswers) -> None:
    opened = ask(sample, "policy_limit", order_id="#S6104376")
    assert opened.reply == (
        "Order #S6104376 is pending. What I can do with it: cancel it; change its items (once only); change its "
        "shipping address; change its payment method."
    )
    closed = ask(sample, "policy_limit", user="tom_baker_1008", order_id="#S2524238")
    assert closed.reply == (
        "Order #S2524238 is processed, so no cancellation, change, return or exchange is possible for it."
    )
    modify = ask(sample, "policy_limit", order_id="#S6104376", errand="modify")
    assert "once only" in modify.reply and "name every item you want to change at once" in modify.reply
    exchange_zh = ask(sample, "policy_limit", "zh", order_id="#S8963198", about="换货")
    assert exchange_zh.reply.startswith("订单 #S8963198 的状态是已送达（delivered），可以把商品换成")
    assert "每个订单只能换货一次" in exchange_zh.reply
    cancel = ask(sample, "policy_limit", order_id="#S5432015", about="can I cancel it?")
    assert cancel.reply == (
        "Order #S5432015 is pending, so you can cancel it; the reason must be 'no longer needed' or 'ordered by "
        "mistake'. If you cancel order #S5432015, $34.99 goes back to Mastercard card ending 6630 "
        "(credit_card_3642964) within 5 to 7 "
        "business days."
    )
    cancel_zh = ask(sample, "policy_limit", "zh", order_id="#S5432015", errand="cancel")
    assert "取消原因须为“不再需要”（no longer needed）或“下错单”（ordered by mistake）" in cancel_zh.reply
    twice = ask(sample, "policy_limit", user="lucas_meyer_1002", order_id="#S5679649", errand="exchange")
    assert twice.reply == "Order #S5679649 is exchange requested; only delivered orders can be exchanged."
    for draft in (opened, closed, modify, exchange_zh, cancel, cancel_zh):
        grounded(draft)


# --- variants --------------------------------------------------------------------------------------------------
def test_variants_a_size_larger_and_by_colour(sample: StoreAnswers) -> None:
    larger = ask(sample, "variants", about="the same sneakers but a size larger")
    assert larger.reply == (
        "Fleetfoot Everyday Sneakers options matching size 10 (2):\n"
        "1. size 10, color navy (item 4662012810) — $58.99, in stock\n"
        "2. size 10, color white (item 6012407366) — $58.99, in stock"
    )
    assert larger.actions[0].name == "get_product_details"
    zh = ask(sample, "variants", "zh", about="运动鞋大一号")
    assert zh.reply.startswith(
        "Fleetfoot Everyday Sneakers 的款式（符合：size 10）（2 个）：\n"
        "1. size 10, color navy（商品编号 4662012810）— $58.99，有货"
    )
    no_blue = ask(sample, "variants", about="the sneakers in blue")
    assert no_blue.reply.startswith("No Fleetfoot Everyday Sneakers option matches blue. Fleetfoot Everyday Sneakers")
    bottle = ask(sample, "variants", about="a bigger water bottle")
    assert bottle.reply == "Your Aqua Insulated Water Bottle is capacity 1000ml; the store has no larger capacity."
    two = ask(sample, "variants", about="headphones")
    assert two.reply == (
        "Which product do you mean: Kestrel Studio Wired Headphones; Auralis Q7 Wireless Noise-Cancelling Headphones?"
    )
    unknown = ask(sample, "variants", "zh", about="滑翔伞")
    assert unknown.reply == "在您的订单和本店商品中没有找到“滑翔伞”。请问是哪件商品？"
    for draft in (larger, zh, no_blue, bottle):
        grounded(draft)


def test_variants_cheapest_in_a_colour_on_the_real_store(retail: StoreAnswers, shared_data: Path) -> None:
    products = json.loads((shared_data / "retail-store" / "products.json").read_text())
    shirt = next(p for p in products.values() if p["name"] == "T-Shirt")
    blue = [v for v in shirt["variants"].values() if v["options"]["color"] == "blue" and v["available"]]
    cheapest = min(blue, key=lambda v: v["price"])
    user = next(iter(json.loads((shared_data / "retail-store" / "users.json").read_text())))
    draft = ask(retail, "variants", user=user, about="the cheapest t-shirt in blue")
    assert draft.reply.startswith("T-Shirt options matching blue (1):\n1. ")
    assert f"— ${cheapest['price']:,.2f}, in stock" in draft.reply
    assert [p.id for p in draft.facts.products] == [cheapest["item_id"]]
    grounded(draft)


# --- the real store --------------------------------------------------------------------------------------------
def test_real_orders_are_found_by_an_item_only_they_hold(retail: StoreAnswers, shared_data: Path) -> None:
    """For customers of the real store, an item name found in just one of their orders picks that order."""
    users = json.loads((shared_data / "retail-store" / "users.json").read_text())
    orders = json.loads((shared_data / "retail-store" / "orders.json").read_text())
    checked = 0
    for user_id, user in list(users.items())[:60]:
        mine = [orders[o] for o in user["orders"] if o in orders]
        for order in mine:
            names = {i["name"] for i in order["items"]}
            elsewhere = {i["name"] for o in mine if o is not order for i in o["items"]}
            unique = sorted(names - elsewhere)
            if len(mine) > 1 and unique:
                draft = ask(retail, "order_details", user=user_id, about=f"the {unique[0].lower()}")
                assert draft.actions[0].arguments == {"order_id": order["order_id"]}, (user_id, unique[0])
                assert list(draft.facts.orders) == [order["order_id"]]
                grounded(draft)
                checked += 1
                break
    assert checked >= 20


def test_real_return_refund_names_the_tasks_method(retail: StoreAnswers, shared_data: Path) -> None:
    tasks = json.loads((shared_data / "retail-store" / "tasks_train.json").read_text())
    users = json.loads((shared_data / "retail-store" / "users.json").read_text())
    task = next(
        t
        for t in tasks
        for a in t["actions"]
        if a["name"] == "return_delivered_order_items" and a["kwargs"]["payment_method_id"].startswith("credit_card")
    )
    action = next(a for a in task["actions"] if a["name"] == "return_delivered_order_items")
    method = users[task["user_id"]]["payment_methods"][action["kwargs"]["payment_method_id"]]
    draft = ask(retail, "refund_destination", user=task["user_id"], order_id=action["kwargs"]["order_id"])
    assert f"the original payment method, {method['brand'].title()} card ending {method['last_four']}" in draft.reply
    grounded(draft)


# Variant questions from the tau-bench dev tasks, with the item a correct agent then exchanged: (order, what the
# customer asks for, the expected item, whether it must come first).
_DEV_VARIANTS = [
    ("#W7273336", "the black laser mouse in white optical, whichever is cheaper", "2880340443", True),
    ("#W7273336", "what colours does the 5 ft glass bookshelf come in?", "4894369688", False),
    ("#W1630030", "a 1.5L glass electric kettle", "9472539378", True),
    ("#W2974929", "the skateboard with bamboo deck material", "4293355847", True),
    ("#W9673784", "a 9 bar capsule espresso machine", "7806008610", True),
    ("#W8969494", "the 80% keyboard in full size", "6342039236", True),
]


@pytest.mark.parametrize(("order_id", "about", "item_id", "first"), _DEV_VARIANTS)
def test_real_variant_questions_list_the_item_the_task_wants(
    retail: StoreAnswers, shared_data: Path, order_id: str, about: str, item_id: str, first: bool
) -> None:
    orders = json.loads((shared_data / "retail-store" / "orders.json").read_text())
    draft = ask(retail, "variants", user=orders[order_id]["user_id"], order_id=order_id, about=about)
    lines = draft.reply.splitlines()
    assert f"(item {item_id})" in (lines[1] if first else draft.reply), draft.reply
    grounded(draft)


def test_an_order_found_by_the_end_of_its_number(retail: StoreAnswers) -> None:
    """tau-bench dev: Aarav Davis knows only that the order number ends in 66."""
    en = ask(retail, "order_details", user="aarav_davis_4756", about="the order whose number ends in 66")
    assert en.actions[0].arguments == {"order_id": "#W7430166"}
    zh = ask(retail, "order_details", "zh", user="aarav_davis_4756", about="尾号66的订单")
    assert list(zh.facts.orders) == ["#W7430166"]
    grounded(en)


def test_a_refund_question_names_the_gift_card_the_customer_chose(retail: StoreAnswers) -> None:
    """tau-bench dev: Olivia Ito asks where a refund of #W5866402 can go, then picks her gift card."""
    draft = ask(
        retail,
        "refund_destination",
        user="olivia_ito_3591",
        about="which payment methods can the refund go to",
        errand="return",
        errand_order="#W5866402",
    )
    assert draft.reply == (
        "A refund for items of order #W5866402 goes to the original payment method, PayPal paypal_8049766, or to a "
        "gift card: gift card gift_card_7794233 (balance $56.00)."
    )
    grounded(draft)


# --- identity and ownership ------------------------------------------------------------------------------------
def test_another_customers_order_is_refused(sample: StoreAnswers) -> None:
    for topic in ("order_details", "order_address", "order_payment", "refund_destination", "policy_limit"):
        theirs = ask(sample, topic, order_id="#S5679649")  # type: ignore[arg-type]
        assert theirs.reply == "I can't find order #S5679649 on your account."
        assert theirs.actions[0].status == "refused" and theirs.actions[0].result["code"] == "not_your_order"
        assert theirs.facts.orders == {}
    zh = ask(sample, "order_details", "zh", order_id="#S5679649")
    assert zh.reply == "您的账户下没有找到订单 #S5679649。"
    nobody = ask(sample, "payment_methods", user=None)
    assert nobody.actions[0].result["code"] == "identity_required"
    assert "verify your identity" in nobody.reply


def test_descriptions_are_read_in_both_languages() -> None:
    assert statuses_named("the one that was delivered") == ("delivered",)
    assert statuses_named("还没发货的那个") == ("pending", "pending (item modified)")
    assert errand_named("can I still cancel it?") == "cancel"
    assert errand_named("能换货吗") == "exchange"
    assert errand_named("where does the refund go") is None
    assert "lamp" in english_words("那个台灯").split() and "black" in english_words("黑色的耳机").split()
