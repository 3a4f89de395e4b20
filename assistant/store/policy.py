"""The rules of the store's `policy.md`, enforced in code. Every store tool calls these before it reads or changes
anything; a broken rule raises `PolicyError` with a stable `code` the dialogue engine can explain to the customer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from assistant.store.models import CANCEL_REASONS, Order, PaymentMethod, StoreProduct, User, Variant


class PolicyError(Exception):
    """A request the store's policy (or its data) does not allow. `message` is safe to show to the customer.

    Codes: identity_required, user_not_found, order_not_found, not_your_order, not_your_account, product_not_found,
    invalid_status, invalid_reason, invalid_arguments, item_not_in_order, item_unavailable, product_mismatch,
    same_item, payment_method_not_found, payment_method_not_allowed, insufficient_balance, unknown_action.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def require_identity(acting_user: str | None) -> str:
    """Identity comes first: nothing about orders or accounts is read or changed before it is verified."""
    if not acting_user:
        raise PolicyError(
            "identity_required",
            "I need to verify your identity first: please give your email, or your name and zip code.",
        )
    return acting_user


def require_own_account(user_id: str, acting_user: str | None) -> None:
    if require_identity(acting_user) != user_id:
        raise PolicyError("not_your_account", "I can only help with the account you verified in this conversation.")


def require_own_order(order: Order | None, order_id: str, acting_user: str | None) -> Order:
    """One user per conversation: another customer's order is refused exactly like a missing one, so the reply
    never confirms that someone else's order exists."""
    user = require_identity(acting_user)
    if order is None:
        raise PolicyError("order_not_found", f"I can't find order {order_id} on your account.")
    if order.user_id != user:
        raise PolicyError("not_your_order", f"I can't find order {order_id} on your account.")
    return order


def require_status(order: Order, allowed: str, action: str) -> None:
    if order.status != allowed:
        raise PolicyError(
            "invalid_status",
            f"Order {order.order_id} is {order.status}; only {allowed} orders can be {action}.",
        )


def require_reason(reason: str) -> str:
    normalized = reason.strip().lower()
    if normalized not in CANCEL_REASONS:
        allowed = " or ".join(f"'{r}'" for r in CANCEL_REASONS)
        raise PolicyError("invalid_reason", f"The reason for cancelling must be {allowed}.")
    return normalized


def require_payment_method(user: User, payment_method_id: str) -> PaymentMethod:
    method = user.payment_methods.get(payment_method_id)
    if method is None:
        raise PolicyError("payment_method_not_found", f"{payment_method_id} is not one of your payment methods.")
    return method


def require_gift_card_balance(method: PaymentMethod, amount: float) -> None:
    """A gift card used to pay must cover the amount."""
    if method.source == "gift_card" and (method.balance or 0.0) < amount:
        raise PolicyError(
            "insufficient_balance",
            f"Gift card {method.id} has ${method.balance or 0:.2f}, not enough to cover ${amount:.2f}.",
        )


def require_items_in_order(order: Order, item_ids: Iterable[str]) -> None:
    wanted = Counter(item_ids)
    present = Counter(item.item_id for item in order.items)
    for item_id, count in wanted.items():
        if count > present[item_id]:
            raise PolicyError("item_not_in_order", f"Item {item_id} is not in order {order.order_id}.")


def require_swaps(
    order: Order, item_ids: list[str], new_item_ids: list[str], products: dict[str, StoreProduct]
) -> list[tuple[str, Variant]]:
    """Each item may become an available item of the same product with different options, nothing else.

    Returns (old item id, new variant) pairs in the order given.
    """
    if not item_ids:
        raise PolicyError("invalid_arguments", "Tell me which items to change.")
    if len(item_ids) != len(new_item_ids):
        raise PolicyError("invalid_arguments", "Each item to change needs exactly one new item.")
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
            )
        if new_id == old_id:
            raise PolicyError("same_item", f"Item {new_id} is the item already ordered; choose different options.")
        if not variant.available:
            raise PolicyError("item_unavailable", f"Item {new_id} is not available right now.")
        swaps.append((old_id, variant))
    return swaps


def require_refund_target(order: Order, method: PaymentMethod) -> None:
    """Refunds go to the original payment method or to one of the user's gift cards."""
    if method.source != "gift_card" and method.id != order.original_payment_method_id:
        raise PolicyError(
            "payment_method_not_allowed",
            "A refund can only go to the original payment method or to one of your gift cards.",
        )
