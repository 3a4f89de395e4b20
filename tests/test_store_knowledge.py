"""Store knowledge (assistant/store/knowledge.py): orders by contents, status and recency; addresses; items within an
order; variants by constraints; payment methods and refund routes; order details; errand limits. On the bundled
sample store and on the real retail store (../shared/data/retail-store), whose tasks say where a correct agent's
refunds go and which items it exchanges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store_helpers import refused

from assistant.db import make_engine
from assistant.store import PolicyError, StoreDB, StoreTools, import_store
from assistant.store.knowledge import StoreKnowledge, VariantQuery, size_option, size_order
from assistant.store.loading import SAMPLE_STORE_DIR
from assistant.store.models import DELIVERED, PENDING, OrderItem
from assistant.store.policy import ACTION_STATUS

MIA = "mia_chen_1001"  # sample store: #S8963198 delivered, #S5432015 and #S6104376 pending
LUCAS = "lucas_meyer_1002"  # #S5679649 exchange requested, #S4905896 pending (item modified)


def _store(folder: Path, path: Path) -> StoreDB:
    db = StoreDB(make_engine(f"sqlite:///{path}"))
    import_store(db, folder)
    return db


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> StoreKnowledge:
    return StoreKnowledge(_store(SAMPLE_STORE_DIR, tmp_path_factory.mktemp("sample") / "store.db"))


@pytest.fixture(scope="module")
def retail(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> StoreKnowledge:
    """The real retail store, imported once: every read here leaves it as it was."""
    return StoreKnowledge(_store(shared_data / "retail-store", tmp_path_factory.mktemp("retail") / "store.db"))


# --- orders ----------------------------------------------------------------------------------------------------
def test_orders_are_found_by_what_is_in_them(sample: StoreKnowledge) -> None:
    def found(about: str) -> list[tuple[str, list[str]]]:
        matches = sample.find_orders(MIA, acting_user=MIA, about=about)
        return [(m.order.order_id, [i.name for i in m.items]) for m in matches]

    assert found("the air fryer") == [("#S8963198", ["Steamwell Air Fryer 5L"])]
    assert found("the one with the pillow") == [("#S5432015", ["Cozy Memory Foam Pillow"])]
    # An option value picks the item: the blue bottle, not the white mouse.
    assert found("the blue one") == [("#S6104376", ["Aqua Insulated Water Bottle"])]
    assert found("white") == [("#S8963198", ["Clicker Pro Wireless Mouse"])]
    assert found("headphones") == []
    # Nothing said about contents: every order, newest first (not yet shipped before delivered).
    assert [m.order.order_id for m in sample.find_orders(MIA, acting_user=MIA)] == [
        "#S6104376",
        "#S5432015",
        "#S8963198",
    ]


def test_orders_by_status(sample: StoreKnowledge) -> None:
    delivered = sample.find_orders(MIA, acting_user=MIA, statuses=[DELIVERED])
    assert [m.order.order_id for m in delivered] == ["#S8963198"]
    pending_bottle = sample.find_orders(MIA, acting_user=MIA, about="bottle", statuses=[PENDING])
    assert [m.order.order_id for m in pending_bottle] == ["#S6104376"]
    assert sample.find_orders(MIA, acting_user=MIA, about="bottle", statuses=[DELIVERED]) == []


def test_a_closer_description_wins_over_a_partial_one(retail: StoreKnowledge) -> None:
    """A customer with the same product in two orders, in two colours: "<colour> <product>" finds one order."""
    case = None
    for user_id in _user_ids(retail):
        orders = retail.orders(user_id, acting_user=user_id)
        seen: dict[str, dict[str, str]] = {}
        for order in orders:
            for item in order.items:
                colour = item.options.get("color")
                if colour is None:
                    continue
                other = seen.setdefault(item.name, {})
                if other and colour not in other and order.order_id not in other.values():
                    case = (user_id, item.name, colour, order.order_id)
                    break
                other.setdefault(colour, order.order_id)
            if case:
                break
        if case:
            break
    assert case is not None, "the retail store has a customer with one product in two colours"
    user_id, name, colour, order_id = case
    both = retail.find_orders(user_id, acting_user=user_id, about=name)
    assert len(both) >= 2
    matches = retail.find_orders(user_id, acting_user=user_id, about=f"the {colour} {name}")
    assert order_id in [m.order.order_id for m in matches]
    assert len(matches) < len(both)
    assert all(i.options.get("color") == colour for m in matches for i in m.items)


def test_stray_words_do_not_pick_an_order(retail: StoreKnowledge) -> None:
    """An option counts when its whole value is named: "credit card" is not the camera stored on an "SD card", and
    "no" is not a speaker without water resistance."""
    for user_id in _user_ids(retail):
        orders = retail.orders(user_id, acting_user=user_id)
        held = [o for o in orders if any(i.options.get("storage") == "SD card" for i in o.items)]
        if held and len(orders) > 1:
            break
    assert retail.find_orders(user_id, acting_user=user_id, about="refund it to my credit card") == []
    assert retail.find_orders(user_id, acting_user=user_id, about="no, not that") == []
    by_card = retail.find_orders(user_id, acting_user=user_id, about="the camera with the SD card")
    assert held[0].order_id in [m.order.order_id for m in by_card]
    assert all(any(i.name == "Digital Camera" for i in m.items) for m in by_card)


def test_items_within_an_order(sample: StoreKnowledge) -> None:
    names = lambda items: [i.name for i in items]  # noqa: E731
    assert names(sample.find_items("#S8963198", acting_user=MIA, about="sneakers")) == ["Fleetfoot Everyday Sneakers"]
    assert names(sample.find_items("#S8963198", acting_user=MIA, about="navy")) == ["Fleetfoot Everyday Sneakers"]
    assert names(sample.find_items("#S8963198", acting_user=MIA, rank="cheapest")) == ["Clicker Pro Wireless Mouse"]
    assert names(sample.find_items("#S8963198", acting_user=MIA, rank="most_expensive")) == ["Steamwell Air Fryer 5L"]
    assert len(sample.find_items("#S8963198", acting_user=MIA)) == 3
    assert sample.find_items("#S8963198", acting_user=MIA, about="lamp") == []


def test_order_details(sample: StoreKnowledge) -> None:
    details = sample.order_details("#S4905896", acting_user=LUCAS)
    assert details.order.status == "pending (item modified)"
    assert [(p.transaction_type, p.amount, p.payment_method_id) for p in details.payments] == [
        ("payment", 171.34, "credit_card_1060779"),
        ("refund", 22.35, "credit_card_1060779"),
    ]
    assert all(p.method is not None and p.method.source == "credit_card" for p in details.payments)
    assert sample.order_details("#S8963198", acting_user=MIA).tracking == ["407082198367"]


# --- addresses and payment -------------------------------------------------------------------------------------
def test_addresses_default_and_on_other_orders(retail: StoreKnowledge) -> None:
    for user_id in _user_ids(retail):
        user = retail.db.user(user_id)
        assert user is not None
        orders = retail.orders(user_id, acting_user=user_id)
        elsewhere = [o for o in orders if o.address != user.address]
        if elsewhere:
            break
    known = retail.addresses(user_id, acting_user=user_id)
    assert known[0].source == "default" and known[0].address == user.address
    assert retail.default_address(user_id, acting_user=user_id) == user.address
    assert elsewhere[0].order_id in [k.source for k in known]
    assert retail.order_address(elsewhere[0].order_id, acting_user=user_id) == elsewhere[0].address
    assert len({k.address.one_line() for k in known}) == len(known)


def test_refund_routes_follow_the_policy(sample: StoreKnowledge) -> None:
    cancel = sample.refund_route("#S6104376", "cancel_pending_order", acting_user=MIA)
    assert [(p.method_id, p.amount, p.immediate) for p in cancel.refunds] == [("credit_card_3642964", 415.33, False)]
    assert cancel.choices == []
    # A return goes to the original method or a gift card, never to another card or PayPal.
    back = sample.refund_route("#S8963198", "return_delivered_order_items", acting_user=MIA)
    assert [m.id for m in back.choices] == ["credit_card_3642964", "gift_card_8479695"]
    assert back.original is not None and back.original.id == "credit_card_3642964"
    # A price difference can be settled with any of the customer's methods.
    swap = sample.refund_route("#S8963198", "exchange_delivered_order_items", acting_user=MIA)
    assert {m.id for m in swap.choices} == {"credit_card_3642964", "paypal_5513686", "gift_card_8479695"}
    assert [m.id for m in sample.payment_methods(MIA, acting_user=MIA)] == [m.id for m in swap.choices]


def test_a_gift_card_is_refunded_at_once(retail: StoreKnowledge) -> None:
    for user_id in _user_ids(retail):
        user = retail.db.user(user_id)
        assert user is not None
        paid = [
            o
            for o in retail.orders(user_id, acting_user=user_id)
            if o.status == PENDING and user.payment_methods[o.original_payment_method_id or ""].source == "gift_card"
        ]
        if paid:
            break
    route = retail.refund_route(paid[0].order_id, "cancel_pending_order", acting_user=user_id)
    assert [(p.method_id, p.amount, p.immediate) for p in route.refunds] == [
        (paid[0].original_payment_method_id, paid[0].total, True)
    ]


# --- variants --------------------------------------------------------------------------------------------------
def test_variants_a_size_larger_keep_the_other_options(sample: StoreKnowledge) -> None:
    order = sample.order_details("#S8963198", acting_user=MIA).order
    sneakers = next(i for i in order.items if i.name == "Fleetfoot Everyday Sneakers")  # size 9, navy
    larger = sample.variants(sneakers.product_id, VariantQuery(step=1), current=sneakers)
    assert {v.options["size"] for v in larger} == {"10"}
    assert larger[0].options == {"size": "10", "color": "navy"}
    smaller = sample.variants(sneakers.product_id, VariantQuery(step=-1), current=sneakers)
    assert {v.options["size"] for v in smaller} == {"8"}
    bottle = sample.order_details("#S6104376", acting_user=MIA).order.items[1]  # 1000ml, blue
    smaller_bottles = sample.variants(bottle.product_id, VariantQuery(step=-1), current=bottle)
    assert {v.options["capacity"] for v in smaller_bottles} == {"750ml"}
    assert sample.variants(bottle.product_id, VariantQuery(step=1), current=bottle) == []


def test_variants_by_option_price_and_stock(retail: StoreKnowledge) -> None:
    products = retail.find_products("t-shirt")
    assert [p.name for p in products] == ["T-Shirt"]
    shirt = products[0]
    blue = retail.variants(shirt.product_id, VariantQuery(values=["blue"]))
    assert blue and all(v.options["color"] == "blue" for v in blue)
    assert len(blue) == sum(1 for v in shirt.variants.values() if v.options["color"] == "blue")
    cheapest = retail.variants(shirt.product_id, VariantQuery(values=["blue"], cheapest=True))
    wanted = min(v.price for v in shirt.variants.values() if v.options["color"] == "blue" and v.available)
    assert [v.price for v in cheapest] == [wanted] and cheapest[0].available
    in_stock = retail.variants(shirt.product_id, VariantQuery(values=["blue"], available_only=True))
    assert in_stock and all(v.available for v in in_stock) and len(in_stock) <= len(blue)
    sized = retail.variants(shirt.product_id, VariantQuery(options={"size": "XL", "color": "purple"}))
    assert sized and all(v.options["size"] == "XL" and v.options["color"] == "purple" for v in sized)
    # The largest size has nothing larger.
    xxl = next(v for v in shirt.variants.values() if v.options["size"] == "XXL")
    item = _as_item(shirt.name, shirt.product_id, xxl.item_id, xxl.price, xxl.options)
    assert retail.variants(shirt.product_id, VariantQuery(step=1), current=item) == []
    m_size = next(v for v in shirt.variants.values() if v.options["size"] == "M")
    item = _as_item(shirt.name, shirt.product_id, m_size.item_id, m_size.price, m_size.options)
    assert {v.options["size"] for v in retail.variants(shirt.product_id, VariantQuery(step=1), current=item)} == {"L"}


def test_sizes_order_on_the_real_store(retail: StoreKnowledge) -> None:
    by_name = {p.name: p for p in retail.db.products()}
    expected = {
        "T-Shirt": ("size", ["S", "M", "L", "XL", "XXL"]),
        "Fleece Jacket": ("size", ["XS", "S", "M", "L", "XL"]),
        "Hiking Boots": ("size", ["7", "8", "9", "10", "11", "12"]),
        "Notebook": ("size", ["A6", "A5", "A4"]),
        "Mechanical Keyboard": ("size", ["60%", "80%", "full size"]),
        "Tea Kettle": ("capacity", ["1 liter", "1.5 liters", "2 liters"]),
        "Electric Kettle": ("capacity", ["1L", "1.5L", "2L"]),
        "Water Bottle": ("capacity", ["500ml", "750ml", "1000ml"]),
        "Grill": ("size", ["portable", "medium", "large"]),
        "Patio Umbrella": ("size", ["6 ft", "7 ft"]),
    }
    for name, (option, values) in expected.items():
        product = by_name[name]
        assert size_option(product) == option, name
        assert size_order(product, option) == values, name
    assert size_option(by_name["Gaming Mouse"]) is None
    assert size_order(by_name["Gaming Mouse"], "color") is None


# --- limits ----------------------------------------------------------------------------------------------------
def test_limits_are_said_before_the_customer_chooses(sample: StoreKnowledge) -> None:
    cancel = sample.errand_limits("#S6104376", "cancel_pending_order", acting_user=MIA)
    assert cancel.allowed and cancel.reasons == ["no longer needed", "ordered by mistake"]
    assert cancel.refund is not None and cancel.refund.refunds[0].amount == 415.33
    modify = sample.errand_limits("#S6104376", "modify_pending_order_items", acting_user=MIA)
    assert modify.allowed and modify.once_per_order
    # Items were changed once already: no second change, no cancellation.
    again = sample.errand_limits("#S4905896", "modify_pending_order_items", acting_user=LUCAS)
    assert not again.allowed and again.once_per_order and "pending (item modified)" in (again.refusal or "")
    assert not sample.errand_limits("#S4905896", "cancel_pending_order", acting_user=LUCAS).allowed
    # One exchange per order: an order with an exchange requested cannot be exchanged again.
    second = sample.errand_limits("#S5679649", "exchange_delivered_order_items", acting_user=LUCAS)
    assert not second.allowed and second.refusal_zh and "换货" in second.refusal_zh
    delivered = sample.errand_limits("#S8963198", "cancel_pending_order", acting_user=MIA)
    assert delivered.refusal == "Order #S8963198 is delivered; only pending orders can be cancelled."
    refused("unknown_action", lambda: sample.errand_limits("#S8963198", "refund_everything", acting_user=MIA))


def test_limits_agree_with_the_tools_on_every_order(sample: StoreKnowledge) -> None:
    """The limits and the tools read one rule: an action the limits allow is refused by the tools for another reason
    than the order's status, and one they refuse is refused for its status."""
    tools = StoreTools(sample.db)
    with sample.db.engine.connect() as conn:
        orders = [(o, u) for o, u in conn.exec_driver_sql("SELECT order_id, user_id FROM store_orders")]
    checked = 0
    for order_id, user_id in orders:
        for action in ACTION_STATUS:
            limits = sample.errand_limits(order_id, action, acting_user=user_id)
            args = {"order_id": order_id, "reason": "no longer needed", "item_ids": [], "new_item_ids": []}
            args |= {"payment_method_id": "", "address1": "1 Main St", "city": "X", "state": "CA", "zip": "90001"}
            args |= {"country": "USA"}
            try:
                tools.propose(action, args, user_id)
                code = "ok"
            except PolicyError as exc:
                code = exc.code
            if limits.allowed:
                assert code not in ("invalid_status", "payment_method_not_allowed"), (order_id, action, code)
            else:
                assert code == limits.refusal_code == "invalid_status", (order_id, action, code)
            checked += 1
    assert checked == len(orders) * len(ACTION_STATUS) == 120


def test_a_payment_changes_once(tmp_path: Path) -> None:
    knowledge = StoreKnowledge(_store(SAMPLE_STORE_DIR, tmp_path / "store.db"))
    before = knowledge.errand_limits("#S6104376", "modify_pending_order_payment", acting_user=MIA)
    assert before.allowed
    StoreTools(knowledge.db).modify_pending_order_payment("#S6104376", "paypal_5513686", acting_user=MIA)
    after = knowledge.errand_limits("#S6104376", "modify_pending_order_payment", acting_user=MIA)
    assert not after.allowed and after.refusal_code == "payment_method_not_allowed"
    assert after.refusal == "This order's payment has already changed and cannot change again."
    again = refused(
        "payment_method_not_allowed",
        lambda: StoreTools(knowledge.db).modify_pending_order_payment(
            "#S6104376", "credit_card_3642964", acting_user=MIA
        ),
    )
    assert again.message == after.refusal
    # The order is still pending: cancelling it stays possible, and refunds what PayPal paid.
    cancel = knowledge.errand_limits("#S6104376", "cancel_pending_order", acting_user=MIA)
    assert cancel.allowed and cancel.refund is not None
    assert [(p.method_id, p.amount) for p in cancel.refund.refunds] == [("paypal_5513686", 415.33)]


def test_real_tasks_refund_where_the_route_allows(retail: StoreKnowledge, shared_data: Path) -> None:
    """In every tau-bench task, a correct agent's return refunds to a method the route offers, its cancellations and
    exchanges are allowed by the limits, and each new item of an exchange is among the product's variants."""
    tasks = [
        *json.loads((shared_data / "retail-store" / "tasks_train.json").read_text()),
        *json.loads((shared_data / "retail-store" / "tasks_dev.json").read_text()),
    ]
    counted = {"return": 0, "cancel": 0, "exchange": 0}
    for task in tasks:
        user_id = task["user_id"]
        for action in task["actions"]:
            name, kwargs = action["name"], action.get("kwargs") or action.get("arguments") or {}
            # Only the first action on an order sees the store as it is now.
            if name == "return_delivered_order_items":
                route = retail.refund_route(kwargs["order_id"], name, acting_user=user_id)
                assert kwargs["payment_method_id"] in [m.id for m in route.choices], task["instruction"][:80]
                counted["return"] += 1
            elif name == "cancel_pending_order":
                assert retail.errand_limits(kwargs["order_id"], name, acting_user=user_id).allowed
                counted["cancel"] += 1
            elif name == "exchange_delivered_order_items":
                assert retail.errand_limits(kwargs["order_id"], name, acting_user=user_id).allowed
                order = retail.order_details(kwargs["order_id"], acting_user=user_id).order
                by_id = {i.item_id: i for i in order.items}
                for old, new in zip(kwargs["item_ids"], kwargs["new_item_ids"], strict=True):
                    if old == new:  # a few tau-bench tasks list an item as exchanged for itself
                        continue
                    offered = retail.variants(by_id[old].product_id, VariantQuery(), current=by_id[old])
                    assert new in [v.item_id for v in offered]
                counted["exchange"] += 1
    assert min(counted.values()) >= 20, counted


# --- identity and ownership ------------------------------------------------------------------------------------
def test_another_customers_data_is_refused(sample: StoreKnowledge) -> None:
    # Another customer's order reads exactly like a missing one.
    theirs = refused("not_your_order", lambda: sample.order_details("#S5679649", acting_user=MIA))
    missing = refused("order_not_found", lambda: sample.order_details("#S0000000", acting_user=MIA))
    assert theirs.message == missing.message.replace("#S0000000", "#S5679649")
    refused("not_your_order", lambda: sample.find_items("#S5679649", acting_user=MIA))
    refused("not_your_order", lambda: sample.refund_route("#S5679649", "cancel_pending_order", acting_user=MIA))
    refused("not_your_order", lambda: sample.errand_limits("#S5679649", "cancel_pending_order", acting_user=MIA))
    refused("not_your_order", lambda: sample.order_address("#S5679649", acting_user=MIA))
    refused("not_your_account", lambda: sample.find_orders(LUCAS, acting_user=MIA, about="tablet"))
    refused("not_your_account", lambda: sample.payment_methods(LUCAS, acting_user=MIA))
    refused("not_your_account", lambda: sample.addresses(LUCAS, acting_user=MIA))
    refused("identity_required", lambda: sample.find_orders(MIA, acting_user=None))
    refused("identity_required", lambda: sample.order_details("#S8963198", acting_user=None))


def _user_ids(knowledge: StoreKnowledge) -> list[str]:
    with knowledge.db.engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT user_id FROM store_users ORDER BY user_id")]


def _as_item(name: str, product_id: str, item_id: str, price: float, options: dict[str, str]) -> OrderItem:
    return OrderItem(name=name, product_id=product_id, item_id=item_id, price=price, options=options)


def test_plural_names_find_the_item(retail: StoreKnowledge) -> None:
    # #W7128968 holds a Bookshelf and a Bluetooth Speaker: "bookshelves" and "speakers" name them.
    user = "yusuf_jackson_7865"
    assert [i.name for i in retail.find_items("#W7128968", acting_user=user, about="the bookshelves")] == ["Bookshelf"]
    assert [i.name for i in retail.find_items("#W7128968", acting_user=user, about="speakers")] == ["Bluetooth Speaker"]
