"""What the store knows, as typed reads for a verified customer: orders found by what is in them, by status or by
recency; addresses (the default one, the one on another order); items within an order by name, options or price;
a product's variants by constraints with price and availability; payment methods and where a refund goes; an
order's details; and what the policy allows for an errand on an order, so the limit is said before the customer
chooses.

Every read checks identity and ownership as `StoreTools` does (another customer's order reads as a missing one);
nothing here changes the store. Rules come from `assistant.store.policy`, never restated here.

    knowledge = StoreKnowledge(db)
    knowledge.find_orders("mia_chen_1001", about="lamp", acting_user="mia_chen_1001")
    knowledge.variants("9523456873", VariantQuery(values=["blue"], cheapest=True))
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

from assistant.store.db import StoreDB
from assistant.store.models import (
    CANCEL_REASONS,
    PENDING,
    PENDING_ITEM_MODIFIED,
    PROCESSED,
    Address,
    Order,
    OrderItem,
    PaymentMethod,
    StoreProduct,
    User,
    Variant,
)
from assistant.store.policy import (
    ACTION_STATUS,
    ONCE_PER_ORDER,
    PolicyError,
    refund_targets,
    require_action_status,
    require_own_account,
    require_own_order,
    require_payment_unchanged,
)

# Words that say nothing about which order or item is meant ("the one with the lamp").
_STOPWORDS = frozenset((
    "a", "an", "the", "one", "ones", "my", "me", "i", "with", "in", "on", "of", "that", "this", "these", "those",
    "order", "orders", "item", "items", "which", "what", "where", "is", "it", "was", "were", "for", "and", "or",
    "thing", "things", "stuff", "bought", "ordered", "got", "get", "have", "had", "from", "to", "please", "can",
    "you", "some", "any", "all", "every", "list", "show", "see", "tell", "about", "mine", "there", "do", "does",
    "did", "am", "are", "be", "been", "your", "we", "us", "its", "at", "by", "as", "if", "so", "just", "only",
    "still", "also", "now", "then", "how", "many", "much", "when", "why", "want", "would", "like", "need", "know",
    "placed", "made", "purchased", "purchase", "purchases", "received", "account", "whose", "number", "id",
    "recently", "ago", "week", "month", "day", "yesterday", "today",
))  # fmt: skip
# The store keeps no order dates. An order not yet shipped was placed after one already shipped, and one shipped
# after one delivered; within a stage the account lists orders in the order it has them (later: newer).
_STAGE = {PENDING: 0, PENDING_ITEM_MODIFIED: 0, PROCESSED: 1}
# Sizes named by word, smallest first; numbers with units ("41mm", "6 ft", "1.5L") order by their number.
_SIZE_WORDS = ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl")
_SIZE_NAMES = ("portable", "mini", "small", "medium", "large", "extra large")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")
_PAPER = re.compile(r"^a(\d)$")  # A4 is larger than A5
_BARE_VALUES = frozenset(("yes", "no", "none"))
# Options that "a size larger" / "bigger" can mean, in order of preference.
_SIZE_OPTIONS = ("size", "capacity", "length", "height", "diameter", "pieces", "piece count")


def words(text: str) -> set[str]:
    """Lowercase words of `text` with a plural ending dropped, stop words removed: what matching compares."""
    return {_singular(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS}


def _singular(word: str) -> str:
    """One form for singular and plural: "bookshelves"/"bookshelf", "watches"/"watch", "batteries"/"battery"."""
    if len(word) > 4 and word.endswith("ves"):
        return word[:-3] + "f"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if re.search(r"(ss|x|ch|sh|z)es$", word):
        return word[:-2]
    return word.rstrip("s") or word


# --- results ---------------------------------------------------------------------------------------------------
class OrderMatch(BaseModel):
    """An order found for a description, with the items that matched it (empty when matched by status alone)."""

    order: Order
    items: list[OrderItem] = Field(default_factory=list)


class KnownAddress(BaseModel):
    """An address the customer already has: `source` is "default" (the profile's) or the order id it ships to."""

    source: str
    address: Address


class VariantQuery(BaseModel):
    """Which variants of a product are wanted.

    `values` are option values the customer named without saying which option ("blue", "XL"); `options` names the
    option too. `step` moves the option `step_option` (by default the product's size) that many sizes up (+) or
    down (-) from the customer's item (`current` of `StoreKnowledge.variants`).
    """

    values: list[str] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict)
    step: int = 0
    step_option: str | None = None
    available_only: bool = False
    cheapest: bool = False


class VariantView(BaseModel):
    item_id: str
    product_id: str
    product_name: str
    options: dict[str, str]
    price: float
    available: bool


class PaymentLine(BaseModel):
    """One transaction of an order, with the payment method it used (None when it is no longer on the account)."""

    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str
    method: PaymentMethod | None


class OrderDetails(BaseModel):
    order: Order
    payments: list[PaymentLine]
    tracking: list[str]


class RefundPart(BaseModel):
    method_id: str
    method: PaymentMethod | None
    amount: float
    immediate: bool  # a gift card is refunded at once, other methods in 5 to 7 business days (the policy)


class RefundRoute(BaseModel):
    """Where money goes back for `action` on an order: `refunds` when the policy fixes it (a cancellation refunds
    what was paid), `choices` when the customer picks (a return: the original method or a gift card; a change of
    items or an exchange: any of their methods, a gift card covering what is paid)."""

    order_id: str
    action: str
    original: PaymentMethod | None
    refunds: list[RefundPart] = Field(default_factory=list)
    choices: list[PaymentMethod] = Field(default_factory=list)


class ErrandLimits(BaseModel):
    """What the policy allows for `action` on an order, for saying it before the customer chooses."""

    order_id: str
    action: str
    status: str
    allowed: bool
    refusal: str | None = None  # the policy's reason, English and Chinese, when not allowed
    refusal_zh: str | None = None
    refusal_code: str | None = None  # the code the tools refuse it with
    once_per_order: bool = False
    reasons: list[str] = Field(default_factory=list)  # the accepted cancel reasons
    refund: RefundRoute | None = None


# --- the reads -------------------------------------------------------------------------------------------------
class StoreKnowledge:
    """Typed reads over the store for the customer verified in a conversation (`acting_user`)."""

    def __init__(self, db: StoreDB) -> None:
        self.db = db

    # orders
    def orders(self, user_id: str, *, acting_user: str | None) -> list[Order]:
        """The customer's orders, newest first as far as the store can tell (see `_STAGE`)."""
        user = self._user(user_id, acting_user)
        by_id = self.db.orders_by_id(user.orders)
        found = [by_id[o] for o in dict.fromkeys(user.orders) if o in by_id]
        position = {order.order_id: i for i, order in enumerate(found)}
        return sorted(found, key=lambda o: (_STAGE.get(o.status, 2), -position[o.order_id]))

    def find_orders(
        self,
        user_id: str,
        *,
        acting_user: str | None,
        about: str | None = None,
        statuses: Iterable[str] = (),
        id_ending: str | None = None,
    ) -> list[OrderMatch]:
        """The customer's orders holding what `about` describes (product name, description words, option values),
        in one of `statuses` (any when empty) and with an id ending in `id_ending` ("the number ends in 66"), newest
        first. Only the best-matching orders are returned: "the blue lamp" prefers an order with a blue lamp to one
        with a white lamp and a blue bottle."""
        wanted = set(statuses)
        orders = [
            o
            for o in self.orders(user_id, acting_user=acting_user)
            if (not wanted or o.status in wanted) and o.order_id.endswith(id_ending or "")
        ]
        if not words(about or ""):
            return [OrderMatch(order=o) for o in orders]
        products = self._products({i.product_id for o in orders for i in o.items})
        scored = [(o, _best_items(o.items, about or "", products)) for o in orders]
        best = max((score for _, (score, _) in scored), default=0)
        return [OrderMatch(order=o, items=items) for o, (score, items) in scored if best and score == best]

    def order_details(self, order_id: str, *, acting_user: str | None) -> OrderDetails:
        """Items, status, address, payments (with their methods) and tracking numbers of one of the orders."""
        order = self._order(order_id, acting_user)
        user = self.db.user(order.user_id)
        methods = user.payment_methods if user else {}
        payments = [
            PaymentLine(
                transaction_type=t.transaction_type,
                amount=t.amount,
                payment_method_id=t.payment_method_id,
                method=methods.get(t.payment_method_id),
            )
            for t in order.payment_history
        ]
        tracking = [t for f in order.fulfillments for t in f.tracking_id]
        return OrderDetails(order=order, payments=payments, tracking=tracking)

    def find_items(
        self,
        order_id: str,
        *,
        acting_user: str | None,
        about: str | None = None,
        rank: Literal["cheapest", "most_expensive"] | None = None,
    ) -> list[OrderItem]:
        """Items of an order that `about` describes (all when it says nothing), or the cheapest / most expensive
        of them when `rank` is given."""
        order = self._order(order_id, acting_user)
        items = list(order.items)
        if words(about or ""):
            score, items = _best_items(order.items, about or "", self._products({i.product_id for i in order.items}))
            if not score:
                return []
        if rank and items:
            pick = min if rank == "cheapest" else max
            price = pick(i.price for i in items)
            items = [i for i in items if i.price == price]
        return items

    # addresses
    def default_address(self, user_id: str, *, acting_user: str | None) -> Address:
        return self._user(user_id, acting_user).address

    def order_address(self, order_id: str, *, acting_user: str | None) -> Address:
        return self._order(order_id, acting_user).address

    def addresses(self, user_id: str, *, acting_user: str | None) -> list[KnownAddress]:
        """Every distinct address the customer has: the default first, then those of their orders, newest first."""
        known = [KnownAddress(source="default", address=self.default_address(user_id, acting_user=acting_user))]
        for order in self.orders(user_id, acting_user=acting_user):
            if all(k.address != order.address for k in known):
                known.append(KnownAddress(source=order.order_id, address=order.address))
        return known

    # payment
    def payment_methods(self, user_id: str, *, acting_user: str | None) -> list[PaymentMethod]:
        return list(self._user(user_id, acting_user).payment_methods.values())

    def refund_route(self, order_id: str, action: str, *, acting_user: str | None) -> RefundRoute:
        """Where money goes back for `action` (a `StoreTools` action name) on the order, under the policy."""
        order = self._order(order_id, acting_user)
        user = self._user(order.user_id, acting_user)
        methods = user.payment_methods
        original = methods.get(order.original_payment_method_id or "")
        route = RefundRoute(order_id=order.order_id, action=action, original=original)
        if action == "cancel_pending_order":
            route.refunds = [
                RefundPart(
                    method_id=method_id,
                    method=methods.get(method_id),
                    amount=amount,
                    immediate=method_id in methods and methods[method_id].source == "gift_card",
                )
                for method_id, amount in order.net_paid().items()
            ]
        elif action == "return_delivered_order_items":
            route.choices = refund_targets(order, user)
        elif action in ONCE_PER_ORDER:
            route.choices = list(methods.values())
        return route

    # policy limits
    def errand_limits(self, order_id: str, action: str, *, acting_user: str | None) -> ErrandLimits:
        """Whether the order's status allows `action` (and, for a payment change, that the payment has not changed
        yet), and the limits to state up front: items change once per order, one exchange per order, the accepted
        cancel reasons, where a refund goes."""
        if action not in ACTION_STATUS:
            raise PolicyError("unknown_action", f"{action} is not something I can do.", f"我无法执行 {action}。")
        order = self._order(order_id, acting_user)
        limits = ErrandLimits(
            order_id=order.order_id,
            action=action,
            status=order.status,
            allowed=True,
            once_per_order=action in ONCE_PER_ORDER,
            reasons=list(CANCEL_REASONS) if action == "cancel_pending_order" else [],
        )
        try:
            require_action_status(order, action)
            if action == "modify_pending_order_payment":
                require_payment_unchanged(order)
        except PolicyError as exc:
            limits.allowed, limits.refusal, limits.refusal_zh, limits.refusal_code = (
                False,
                exc.message,
                exc.message_zh,
                exc.code,
            )
            return limits
        limits.refund = self.refund_route(order.order_id, action, acting_user=acting_user)
        return limits

    # products (public catalog data: no identity needed)
    def find_products(self, about: str) -> list[StoreProduct]:
        """The product types whose name (or description) `about` names best; several when they tie."""
        query = words(about)
        if not query:
            return []
        scored = [
            (len(query & words(p.name)) * 2 + len(query & words(p.description or "")), p) for p in self.db.products()
        ]
        best = max((score for score, _ in scored), default=0)
        return [p for score, p in scored if best and score == best]

    def variants(self, product_id: str, query: VariantQuery, *, current: OrderItem | None = None) -> list[VariantView]:
        """The product's variants that fit `query`, best first: those keeping more of `current`'s options (the
        item the customer has), then available ones, then cheaper ones. `cheapest` keeps only the cheapest fit
        (available ones first)."""
        product = self.db.product(product_id)
        if product is None:
            raise PolicyError(
                "product_not_found", f"I can't find product {product_id}.", f"没有找到商品 {product_id}。"
            )
        base = current.options if current else {}
        wanted = dict(query.options)
        if query.step and current is not None:
            option = query.step_option or size_option(product)
            target = _stepped(product, option, base.get(option or ""), query.step) if option else None
            if option is None or target is None:
                return []
            wanted[option] = target
        values = {v.lower() for v in query.values}
        fits = []
        for variant in product.variants.values():
            options = {k: v.lower() for k, v in variant.options.items()}
            if current is not None and variant.item_id == current.item_id:
                continue
            if query.available_only and not variant.available:
                continue
            if any(options.get(k) != v.lower() for k, v in wanted.items()):
                continue
            if not values <= set(options.values()):
                continue
            kept = sum(1 for k, v in base.items() if variant.options.get(k) == v)
            fits.append((-kept, not variant.available, variant.price, variant))
        fits.sort(key=lambda fit: fit[:3])
        views = [_view(product, variant) for *_, variant in fits]
        if query.cheapest and views:
            pool = [v for v in views if v.available] or views
            cheapest = min(v.price for v in pool)
            views = [v for v in pool if v.price == cheapest]
        return views

    # --- internals ----------------------------------------------------------------------------------------------
    def _user(self, user_id: str, acting_user: str | None) -> User:
        require_own_account(user_id, acting_user)
        user = self.db.user(user_id)
        if user is None:
            raise PolicyError("user_not_found", "I couldn't find your account.", "没有找到您的账户。")
        return user

    def _order(self, order_id: str, acting_user: str | None) -> Order:
        return require_own_order(self.db.order(order_id), order_id, acting_user)

    def _products(self, product_ids: Iterable[str]) -> dict[str, StoreProduct]:
        return self.db.products_by_id(product_ids)


def _item_score(item: OrderItem, about: str, product: StoreProduct | None) -> int:
    """Product-name words count double: "the lamp" is the lamp, not any item whose description mentions one. An
    option counts when its whole value is named ("SD card", not any "card"); "yes", "no" and "none" say nothing
    without their option's name."""
    query, lowered = words(about), about.lower()
    named = [
        value
        for value in item.options.values()
        if value.lower() not in _BARE_VALUES and re.search(rf"(?<![\w-]){re.escape(value.lower())}(?![\w-])", lowered)
    ]
    described = words(product.description or "") - words(item.name) if product else set()
    return 2 * len(query & words(item.name)) + len(named) + len(query & described)


def _best_items(items: list[OrderItem], about: str, products: dict[str, StoreProduct]) -> tuple[int, list[OrderItem]]:
    scored = [(_item_score(i, about, products.get(i.product_id)), i) for i in items]
    best = max((score for score, _ in scored), default=0)
    return best, [i for score, i in scored if best and score == best]


def size_option(product: StoreProduct) -> str | None:
    """The option "a size larger" moves: one named size, else the first sized option the product has."""
    keys = list(dict.fromkeys(k for v in product.variants.values() for k in v.options))
    for name in _SIZE_OPTIONS:
        exact = [k for k in keys if k.lower() == name]
        if exact:
            return exact[0]
    sized = [k for k in keys if "size" in k.lower()]
    return sized[0] if len(sized) == 1 else None


def _size_rank(value: str) -> tuple[str, float] | None:
    """(the kind of scale, the place on it): values of different kinds ("small", "6 ft") do not order."""
    lowered = value.strip().lower()
    if lowered in ("full size", "full-size"):  # a keyboard's 100%, beside "60%" and "80%"
        return "number", 100.0
    if lowered in _SIZE_WORDS:
        return "letters", float(_SIZE_WORDS.index(lowered))
    if lowered in _SIZE_NAMES:
        return "names", float(_SIZE_NAMES.index(lowered))
    if paper := _PAPER.match(lowered):
        return "paper", -float(paper.group(1))
    number = _NUMBER.search(lowered)
    if number is None:
        return None
    # "1.5 liters" vs "1L": a litre is 1000 ml, so millilitre and litre values of one option still order.
    scale = 1000.0 if re.search(r"\d\s*(l|liter|liters|litre|litres)\b", lowered) else 1.0
    return "number", float(number.group(1)) * scale


def size_order(product: StoreProduct, option: str) -> list[str] | None:
    """The values the product has for `option`, smallest first; None when they do not order as sizes."""
    values = {v.options[option] for v in product.variants.values() if option in v.options}
    ranked = [(rank, v) for v in values if (rank := _size_rank(v)) is not None]
    if not values or len(ranked) != len(values) or len({kind for (kind, _), _ in ranked}) > 1:
        return None
    return [v for _, v in sorted(ranked)]


def _stepped(product: StoreProduct, option: str, current: str | None, step: int) -> str | None:
    """The value `step` sizes away from `current` among the values the product has for `option`."""
    ordered = size_order(product, option)
    if ordered is None or current not in ordered:
        return None
    index = ordered.index(current) + step
    return ordered[index] if 0 <= index < len(ordered) else None


def _view(product: StoreProduct, variant: Variant) -> VariantView:
    return VariantView(
        item_id=variant.item_id,
        product_id=product.product_id,
        product_name=product.name,
        options=dict(variant.options),
        price=variant.price,
        available=variant.available,
    )
