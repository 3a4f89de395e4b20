"""The rules of the store's `policy.md`, enforced in code. Every store tool calls these before it reads or changes
anything; a broken rule raises `PolicyError` with a stable `code` the dialogue engine can explain to the customer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from assistant.store.models import (
    CANCEL_REASONS,
    CANCEL_REASONS_ZH,
    DELIVERED,
    PENDING,
    STATUS_ZH,
    Order,
    PaymentMethod,
    StoreProduct,
    User,
    Variant,
)


class PolicyError(Exception):
    """A request the store's policy (or its data) does not allow. `message` (English) and `message_zh` (Chinese) are
    safe to show to the customer; `text(language)` picks the one for the conversation.

    Codes: identity_required, user_not_found, order_not_found, not_your_order, not_your_account, product_not_found,
    invalid_status, invalid_reason, invalid_arguments, item_not_in_order, item_unavailable, product_mismatch,
    payment_method_not_found, payment_method_not_allowed, insufficient_balance, unknown_action.
    """

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = message_zh

    def text(self, language: str) -> str:
        return self.message_zh if language == "zh" else self.message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_zh": self.message_zh}


def require_identity(acting_user: str | None) -> str:
    """Identity comes first: nothing about orders or accounts is read or changed before it is verified."""
    if not acting_user:
        raise PolicyError(
            "identity_required",
            "I need to verify your identity first: please give your email, or your name and zip code.",
            "我需要先核实您的身份：请提供账户邮箱，或您的姓名和邮编。",
        )
    return acting_user


def require_own_account(user_id: str, acting_user: str | None) -> None:
    if require_identity(acting_user) != user_id:
        raise PolicyError(
            "not_your_account",
            "I can only help with the account you verified in this conversation.",
            "本次对话只能处理您已核实的账户。",
        )


def require_own_order(order: Order | None, order_id: str, acting_user: str | None) -> Order:
    """One user per conversation: another customer's order is refused exactly like a missing one, so the reply
    never confirms that someone else's order exists."""
    user = require_identity(acting_user)
    not_found = (f"I can't find order {order_id} on your account.", f"您的账户下没有找到订单 {order_id}。")
    if order is None:
        raise PolicyError("order_not_found", *not_found)
    if order.user_id != user:
        raise PolicyError("not_your_order", *not_found)
    return order


# The participle `require_status` is given ("cancelled", ...) as it reads in Chinese.
_ACTION_ZH = {"cancelled": "取消", "modified": "修改", "returned": "退货", "exchanged": "换货"}


def require_status(order: Order, allowed: str, action: str) -> None:
    if order.status != allowed:
        raise PolicyError(
            "invalid_status",
            f"Order {order.order_id} is {order.status}; only {allowed} orders can be {action}.",
            f"订单 {order.order_id} 的状态是{STATUS_ZH.get(order.status, order.status)}；"
            f"只有{STATUS_ZH.get(allowed, allowed)}的订单才能{_ACTION_ZH[action]}。",
        )


# The status each action needs, and how the action reads in a refusal: one table for the tools (which enforce it)
# and for the answers that state the limit before the customer chooses. A second change of items or a second
# exchange is refused by this too: the first leaves the order "pending (item modified)" or "exchange requested".
ACTION_STATUS: dict[str, tuple[str, str]] = {
    "cancel_pending_order": (PENDING, "cancelled"),
    "modify_pending_order_items": (PENDING, "modified"),
    "modify_pending_order_address": (PENDING, "modified"),
    "modify_pending_order_payment": (PENDING, "modified"),
    "return_delivered_order_items": (DELIVERED, "returned"),
    "exchange_delivered_order_items": (DELIVERED, "exchanged"),
}
# Actions the policy allows once per order ("Exchange or modify order tools can only be called once").
ONCE_PER_ORDER = ("modify_pending_order_items", "exchange_delivered_order_items")


def require_action_status(order: Order, action: str) -> None:
    allowed, participle = ACTION_STATUS[action]
    require_status(order, allowed, participle)


def require_payment_unchanged(order: Order) -> None:
    """A pending order's payment method changes once: its history must still be the one original payment."""
    history = order.payment_history
    if len(history) != 1 or history[0].transaction_type != "payment":
        raise PolicyError(
            "payment_method_not_allowed",
            "This order's payment has already changed and cannot change again.",
            "该订单的支付方式已经更改过，不能再次更改。",
        )


def require_reason(reason: str) -> str:
    normalized = reason.strip().lower()
    if normalized not in CANCEL_REASONS:
        allowed = " or ".join(f"'{r}'" for r in CANCEL_REASONS)
        allowed_zh = "或".join(f"“{CANCEL_REASONS_ZH[r]}”（{r}）" for r in CANCEL_REASONS)
        raise PolicyError(
            "invalid_reason", f"The reason for cancelling must be {allowed}.", f"取消原因必须是{allowed_zh}。"
        )
    return normalized


def require_payment_method(user: User, payment_method_id: str) -> PaymentMethod:
    method = user.payment_methods.get(payment_method_id)
    if method is None:
        raise PolicyError(
            "payment_method_not_found",
            f"{payment_method_id} is not one of your payment methods.",
            f"{payment_method_id} 不是您账户中的支付方式。",
        )
    return method


def require_gift_card_balance(method: PaymentMethod, amount: float) -> None:
    """A gift card used to pay must cover the amount."""
    if method.source == "gift_card" and (method.balance or 0.0) < amount:
        raise PolicyError(
            "insufficient_balance",
            f"Gift card {method.id} has ${method.balance or 0:.2f}, not enough to cover ${amount:.2f}.",
            f"礼品卡 {method.id} 余额 ${method.balance or 0:.2f}，不足以支付 ${amount:.2f}。",
        )


def require_items_in_order(order: Order, item_ids: Iterable[str]) -> None:
    wanted = Counter(item_ids)
    present = Counter(item.item_id for item in order.items)
    for item_id, count in wanted.items():
        if count > present[item_id]:
            raise PolicyError(
                "item_not_in_order",
                f"Item {item_id} is not in order {order.order_id}.",
                f"商品 {item_id} 不在订单 {order.order_id} 中。",
            )


def require_swaps(
    order: Order, item_ids: list[str], new_item_ids: list[str], products: dict[str, StoreProduct]
) -> list[tuple[str, Variant]]:
    """Each item may become an available item of the same product, nothing else: other options, or a new unit of
    the very same item (a replacement, as tau-bench's retail tools allow and five of our 40 role-play tasks expect).

    Returns (old item id, new variant) pairs in the order given.
    """
    if not item_ids:
        raise PolicyError("invalid_arguments", "Tell me which items to change.", "请告诉我要更换哪些商品。")
    if len(item_ids) != len(new_item_ids):
        raise PolicyError(
            "invalid_arguments",
            "Each item to change needs exactly one new item.",
            "每件要更换的商品都需要对应一件新商品。",
        )
    require_items_in_order(order, item_ids)
    product_of = {item.item_id: item.product_id for item in order.items}
    swaps: list[tuple[str, Variant]] = []
    for old_id, new_id in zip(item_ids, new_item_ids, strict=True):
        product = products.get(product_of[old_id])
        variant = product.variants.get(new_id) if product else None
        if variant is None:
            raise PolicyError(
                "product_mismatch",
                f"Item {new_id} is not a variant of the same product as {old_id}; items can only change options.",
                f"商品 {new_id} 与 {old_id} 不是同一商品的不同款式；只能更换同一商品的选项。",
            )
        if not variant.available:
            raise PolicyError(
                "item_unavailable", f"Item {new_id} is not available right now.", f"商品 {new_id} 目前无货。"
            )
        swaps.append((old_id, variant))
    return swaps


def refund_targets(order: Order, user: User) -> list[PaymentMethod]:
    """The user's payment methods a return of this order may be refunded to, original first."""
    allowed = []
    for method in user.payment_methods.values():
        try:
            require_refund_target(order, method)
        except PolicyError:
            continue
        allowed.append(method)
    return sorted(allowed, key=lambda m: m.id != order.original_payment_method_id)


def require_refund_target(order: Order, method: PaymentMethod) -> None:
    """Refunds go to the original payment method or to one of the user's gift cards."""
    if method.source != "gift_card" and method.id != order.original_payment_method_id:
        raise PolicyError(
            "payment_method_not_allowed",
            "A refund can only go to the original payment method or to one of your gift cards.",
            "退款只能退回原支付方式，或您账户中的礼品卡。",
        )
