"""Customer-service tools over the store: typed, documented functions named as in tau-bench retail.

Reads check identity and ownership. Every change goes through two steps so that nothing happens without the
customer's explicit yes:

    proposal = tools.propose("cancel_pending_order", {"order_id": "#W1", "reason": "no longer needed"}, user_id)
    proposal.summary        # shown to the customer; all policy checks already done
    result = tools.execute(proposal)   # only after the customer said yes; re-checked and applied atomically

The mutating tool methods (`cancel_pending_order`, ...) are `execute(propose(...))` in one call, for callers that
already hold the confirmation (the tau-bench runner replaying expected actions, the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from assistant.store.db import StoreDB
from assistant.store.models import (
    CANCEL_REASONS_ZH,
    CANCELLED,
    EXCHANGE_REQUESTED,
    PENDING_ITEM_MODIFIED,
    RETURN_REQUESTED,
    Address,
    Order,
    StoreProduct,
    Transaction,
    User,
)
from assistant.store.policy import (
    PolicyError,
    require_action_status,
    require_gift_card_balance,
    require_identity,
    require_items_in_order,
    require_own_account,
    require_own_order,
    require_payment_method,
    require_payment_unchanged,
    require_reason,
    require_refund_target,
    require_swaps,
)


# --- action arguments ------------------------------------------------------------------------------------------
class CancelArgs(BaseModel):
    order_id: str
    reason: str


class ItemSwapArgs(BaseModel):
    order_id: str
    item_ids: list[str]
    new_item_ids: list[str]
    payment_method_id: str


class OrderAddressArgs(BaseModel):
    order_id: str
    address1: str
    address2: str = ""
    city: str
    state: str
    country: str
    zip: str


class PaymentArgs(BaseModel):
    order_id: str
    payment_method_id: str


class UserAddressArgs(BaseModel):
    user_id: str
    address1: str
    address2: str = ""
    city: str
    state: str
    country: str
    zip: str


class ReturnArgs(BaseModel):
    order_id: str
    item_ids: list[str]
    payment_method_id: str


class Proposal(BaseModel):
    """A checked, not yet applied change. Serializable, so a session can keep it until the customer answers."""

    action: str
    arguments: dict[str, Any]
    acting_user: str
    target: str
    summary: str
    summary_zh: str
    details: dict[str, Any]


class ActionResult(BaseModel):
    action: str
    target: str
    status: str
    message: str
    order: Order | None = None
    user: User | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class HandoffTicket(BaseModel):
    ticket_id: int
    user_id: str | None
    summary: str
    message: str


@dataclass
class _Plan:
    target: str
    summary: str
    summary_zh: str
    details: dict[str, Any]
    order: Order | None = None
    user: User | None = None
    before: dict[str, Any] | None = None


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _items_text(order: Order, item_ids: list[str]) -> str:
    by_id = {item.item_id: item for item in order.items}
    return "; ".join(
        f"{by_id[i].name} ({', '.join(by_id[i].options.values())}, {_money(by_id[i].price)})" for i in item_ids
    )


class StoreTools:
    """The tools a customer-service agent has. `acting_user` is the user id verified in this conversation (None
    before verification); the tools never trust a user id the customer merely states."""

    ACTIONS: tuple[str, ...] = (
        "cancel_pending_order",
        "modify_pending_order_items",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
    )

    def __init__(self, db: StoreDB) -> None:
        self.db = db
        self._planners: dict[str, tuple[type[BaseModel], Callable[..., _Plan]]] = {
            "cancel_pending_order": (CancelArgs, self._plan_cancel),
            "modify_pending_order_items": (ItemSwapArgs, self._plan_modify_items),
            "modify_pending_order_address": (OrderAddressArgs, self._plan_order_address),
            "modify_pending_order_payment": (PaymentArgs, self._plan_payment),
            "modify_user_address": (UserAddressArgs, self._plan_user_address),
            "return_delivered_order_items": (ReturnArgs, self._plan_return),
            "exchange_delivered_order_items": (ItemSwapArgs, self._plan_exchange),
        }

    # --- identity ------------------------------------------------------------------------------------------------
    def find_user_id_by_email(self, email: str) -> str:
        """The user id registered with `email` (case-insensitive). Finding it is how a customer is verified."""
        user_id = self.db.user_id_by_email(email)
        if user_id is None:
            raise PolicyError(
                "user_not_found", "I couldn't find an account with that email.", "没有找到使用该邮箱的账户。"
            )
        return user_id

    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """The user id of the customer with this first name, last name and default-address zip code."""
        user_id = self.db.user_id_by_name_zip(first_name, last_name, zip)
        if user_id is None:
            raise PolicyError(
                "user_not_found",
                "I couldn't find an account with that name and zip code.",
                "没有找到与该姓名和邮编匹配的账户。",
            )
        return user_id

    # --- reads ---------------------------------------------------------------------------------------------------
    def get_user_details(self, user_id: str, *, acting_user: str | None) -> User:
        """The verified customer's own profile: name, default address, email, payment methods, order ids."""
        require_own_account(user_id, acting_user)
        user = self.db.user(user_id)
        if user is None:
            raise PolicyError("user_not_found", "I couldn't find your account.", "没有找到您的账户。")
        return user

    def get_order_details(self, order_id: str, *, acting_user: str | None) -> Order:
        """One of the verified customer's orders: status, items, address, fulfilments, payments."""
        return require_own_order(self.db.order(order_id), order_id, acting_user)

    def get_product_details(self, product_id: str) -> StoreProduct:
        """A product type with all its variant items (options, price, availability). Public catalog data."""
        product = self.db.product(product_id)
        if product is None:
            raise PolicyError(
                "product_not_found", f"I can't find product {product_id}.", f"没有找到商品 {product_id}。"
            )
        return product

    def list_all_product_types(self) -> dict[str, str]:
        """Every product type the store sells: name -> product id."""
        return self.db.product_types()

    # --- changes: propose, then execute after an explicit yes ----------------------------------------------------
    def propose(self, action_name: str, args: dict[str, Any], acting_user: str | None) -> Proposal:
        """Checks `action_name(args)` against the policy for `acting_user` and describes what it would do.

        Raises `PolicyError` when the policy or the data forbid it; nothing is written.
        """
        user = require_identity(acting_user)
        parsed = self._parse(action_name, args)
        with self.db.engine.connect() as conn:
            plan = self._planners[action_name][1](parsed, user, conn)
        return Proposal(
            action=action_name,
            arguments=parsed.model_dump(),
            acting_user=user,
            target=plan.target,
            summary=plan.summary,
            summary_zh=plan.summary_zh,
            details=plan.details,
        )

    def execute(self, proposal: Proposal) -> ActionResult:
        """Applies a proposal the customer confirmed. The checks run again inside the transaction (the order may
        have changed since), and the change and its audit entry commit together or not at all."""
        parsed = self._parse(proposal.action, proposal.arguments)
        with self.db.transaction() as conn:
            plan = self._planners[proposal.action][1](parsed, proposal.acting_user, conn)
            after: dict[str, Any] = {}
            if plan.order is not None:
                self.db.put_order(plan.order, conn)
                after["order"] = plan.order.model_dump(mode="json", exclude_none=True)
            if plan.user is not None:
                self.db.put_user(plan.user, conn)
                after["user"] = plan.user.model_dump(mode="json", exclude_none=True)
            self.db.audit(
                conn,
                actor=proposal.acting_user,
                action=proposal.action,
                target=plan.target,
                arguments=proposal.arguments,
                before=plan.before,
                after=after,
            )
        return ActionResult(
            action=proposal.action,
            target=plan.target,
            status="done",
            message=f"Done: {plan.summary}",
            order=plan.order,
            user=plan.user,
        )

    def cancel_pending_order(self, order_id: str, reason: str, *, acting_user: str | None) -> ActionResult:
        """Cancels a pending order ('no longer needed' or 'ordered by mistake'); payments are refunded."""
        return self._apply("cancel_pending_order", {"order_id": order_id, "reason": reason}, acting_user)

    def modify_pending_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        *,
        acting_user: str | None,
    ) -> ActionResult:
        """Swaps items of a pending order for other options of the same products; once only per order."""
        args = {
            "order_id": order_id,
            "item_ids": item_ids,
            "new_item_ids": new_item_ids,
            "payment_method_id": payment_method_id,
        }
        return self._apply("modify_pending_order_items", args, acting_user)

    def modify_pending_order_address(self, order_id: str, address: Address, *, acting_user: str | None) -> ActionResult:
        """Changes the shipping address of a pending order."""
        return self._apply("modify_pending_order_address", {"order_id": order_id, **address.model_dump()}, acting_user)

    def modify_pending_order_payment(
        self, order_id: str, payment_method_id: str, *, acting_user: str | None
    ) -> ActionResult:
        """Pays a pending order with another of the user's payment methods; the original one is refunded."""
        args = {"order_id": order_id, "payment_method_id": payment_method_id}
        return self._apply("modify_pending_order_payment", args, acting_user)

    def modify_user_address(self, user_id: str, address: Address, *, acting_user: str | None) -> ActionResult:
        """Changes the verified user's default address."""
        return self._apply("modify_user_address", {"user_id": user_id, **address.model_dump()}, acting_user)

    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str, *, acting_user: str | None
    ) -> ActionResult:
        """Requests the return of delivered items; the refund goes to the original method or a gift card."""
        args = {"order_id": order_id, "item_ids": item_ids, "payment_method_id": payment_method_id}
        return self._apply("return_delivered_order_items", args, acting_user)

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        *,
        acting_user: str | None,
    ) -> ActionResult:
        """Requests an exchange of delivered items for other options of the same products; once only per order."""
        args = {
            "order_id": order_id,
            "item_ids": item_ids,
            "new_item_ids": new_item_ids,
            "payment_method_id": payment_method_id,
        }
        return self._apply("exchange_delivered_order_items", args, acting_user)

    def transfer_to_human_agents(self, summary: str, *, acting_user: str | None) -> HandoffTicket:
        """Hands the conversation to a human agent with a summary of the customer's request; logged for audit."""
        with self.db.transaction() as conn:
            ticket_id = self.db.audit(
                conn,
                actor=acting_user or "anonymous",
                action="transfer_to_human_agents",
                target=acting_user or "anonymous",
                arguments={"summary": summary},
                before=None,
                after=None,
            )
        return HandoffTicket(
            ticket_id=ticket_id,
            user_id=acting_user,
            summary=summary,
            message="You are being transferred to a human agent; they will see a summary of your request.",
        )

    # --- internals -------------------------------------------------------------------------------------------------
    def _apply(self, action_name: str, args: dict[str, Any], acting_user: str | None) -> ActionResult:
        return self.execute(self.propose(action_name, args, acting_user))

    def _parse(self, action_name: str, args: dict[str, Any]) -> BaseModel:
        if action_name not in self._planners:
            raise PolicyError(
                "unknown_action", f"{action_name} is not something I can do.", f"我无法执行 {action_name}。"
            )
        try:
            return self._planners[action_name][0].model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PolicyError(
                "invalid_arguments", f"Missing or invalid details: {problems}", f"信息缺失或无效：{problems}"
            ) from exc

    def _own_order(self, order_id: str, acting_user: str, conn: Connection) -> tuple[Order, User]:
        # Order first, then its user: every action locks in this order, so concurrent ones cannot deadlock.
        order = require_own_order(self.db.order(order_id, conn, for_update=True), order_id, acting_user)
        user = self.db.user(order.user_id, conn, for_update=True)
        if user is None:
            raise PolicyError("user_not_found", "I couldn't find your account.", "没有找到您的账户。")
        return order, user

    def _products_of(self, order: Order, conn: Connection) -> dict[str, StoreProduct]:
        found = {pid: self.db.product(pid, conn) for pid in {item.product_id for item in order.items}}
        return {pid: product for pid, product in found.items() if product is not None}

    def _plan_cancel(self, args: CancelArgs, acting_user: str, conn: Connection) -> _Plan:
        order, user = self._own_order(args.order_id, acting_user, conn)
        require_action_status(order, "cancel_pending_order")
        reason = require_reason(args.reason)
        before = order.model_dump(mode="json", exclude_none=True)
        refunds = [
            Transaction(transaction_type="refund", amount=amount, payment_method_id=method_id)
            for method_id, amount in order.net_paid().items()
        ]
        gift_card_refunded = False
        for refund in refunds:
            method = user.payment_methods.get(refund.payment_method_id)
            if method is not None and method.source == "gift_card":
                method.balance = round((method.balance or 0.0) + refund.amount, 2)
                gift_card_refunded = True
        after = order.model_copy(
            update={"status": CANCELLED, "cancel_reason": reason, "payment_history": order.payment_history + refunds}
        )
        total = round(sum(r.amount for r in refunds), 2)
        timing = "immediately to the gift card" if gift_card_refunded else "within 5 to 7 business days"
        timing_zh = "立即退回礼品卡" if gift_card_refunded else "5 到 7 个工作日内退回原支付方式"
        return _Plan(
            target=order.order_id,
            summary=(
                f"cancel order {order.order_id} ({_items_text(order, [i.item_id for i in order.items])}) "
                f"because it is '{reason}'; {_money(total)} is refunded {timing}"
            ),
            summary_zh=(
                f"取消订单 {order.order_id}，原因：{CANCEL_REASONS_ZH[reason]}（{reason}）；"
                f"{_money(total)} 将{timing_zh}"
            ),
            details={"refund": total, "status_after": CANCELLED},
            order=after,
            user=user if gift_card_refunded else None,
            before={"order": before},
        )

    def _swap_plan(self, args: ItemSwapArgs, acting_user: str, conn: Connection, *, exchange: bool) -> _Plan:
        order, user = self._own_order(args.order_id, acting_user, conn)
        require_action_status(order, "exchange_delivered_order_items" if exchange else "modify_pending_order_items")
        swaps = require_swaps(order, args.item_ids, args.new_item_ids, self._products_of(order, conn))
        method = require_payment_method(user, args.payment_method_id)
        price_of = {item.item_id: item.price for item in order.items}
        difference = round(sum(variant.price - price_of[old] for old, variant in swaps), 2)
        require_gift_card_balance(method, difference)
        before = {
            "order": order.model_dump(mode="json", exclude_none=True),
            "user": user.model_dump(mode="json", exclude_none=True),
        }
        described = "; ".join(
            f"{_items_text(order, [old])} -> {', '.join(v.options.values())} ({_money(v.price)})" for old, v in swaps
        )
        if difference > 0:
            money_text, money_zh = f"you pay {_money(difference)} more", f"需补差价 {_money(difference)}"
        elif difference < 0:
            money_text, money_zh = f"you get {_money(-difference)} back", f"退还差价 {_money(-difference)}"
        else:
            money_text, money_zh = "the price is the same", "价格不变"
        money_text += f" via {method.describe()}"
        money_zh += f"（{method.describe_zh()}）"
        if exchange:
            after = order.model_copy(
                update={
                    "status": EXCHANGE_REQUESTED,
                    "exchange_items": sorted(args.item_ids),
                    "exchange_new_items": sorted(args.new_item_ids),
                    "exchange_payment_method_id": method.id,
                    "exchange_price_difference": difference,
                }
            )
            return _Plan(
                target=order.order_id,
                summary=(
                    f"exchange in order {order.order_id}: {described}; {money_text}. "
                    "Only one exchange is possible per order, so include every item you want to exchange; "
                    "you will get an email about sending the items back"
                ),
                summary_zh=(
                    f"订单 {order.order_id} 换货：{described}；{money_zh}。每个订单只能换货一次，请确认已列出全部商品"
                ),
                details={"price_difference": difference, "status_after": EXCHANGE_REQUESTED},
                order=after,
                before=before,
            )
        new_items = list(order.items)
        for old, variant in swaps:
            index = next(i for i, item in enumerate(new_items) if item.item_id == old)
            new_items[index] = new_items[index].model_copy(
                update={"item_id": variant.item_id, "price": variant.price, "options": dict(variant.options)}
            )
        transaction = Transaction(
            transaction_type="payment" if difference > 0 else "refund",
            amount=abs(difference),
            payment_method_id=method.id,
        )
        if method.source == "gift_card":
            method.balance = round((method.balance or 0.0) - difference, 2)
        after = order.model_copy(
            update={
                "status": PENDING_ITEM_MODIFIED,
                "items": new_items,
                "payment_history": [*order.payment_history, transaction],
            }
        )
        return _Plan(
            target=order.order_id,
            summary=(
                f"change items in pending order {order.order_id}: {described}; {money_text}. "
                "Items can be changed only once per order and the order cannot be cancelled or changed afterwards, "
                "so include every item you want to change"
            ),
            summary_zh=(
                f"修改待发货订单 {order.order_id} 的商品：{described}；{money_zh}。"
                "每个订单只能修改一次，之后不能再取消或修改"
            ),
            details={"price_difference": difference, "status_after": PENDING_ITEM_MODIFIED},
            order=after,
            user=user if method.source == "gift_card" else None,
            before=before,
        )

    def _plan_modify_items(self, args: ItemSwapArgs, acting_user: str, conn: Connection) -> _Plan:
        return self._swap_plan(args, acting_user, conn, exchange=False)

    def _plan_exchange(self, args: ItemSwapArgs, acting_user: str, conn: Connection) -> _Plan:
        return self._swap_plan(args, acting_user, conn, exchange=True)

    def _plan_order_address(self, args: OrderAddressArgs, acting_user: str, conn: Connection) -> _Plan:
        order, _ = self._own_order(args.order_id, acting_user, conn)
        require_action_status(order, "modify_pending_order_address")
        address = _address(args.model_dump(exclude={"order_id"}))
        return _Plan(
            target=order.order_id,
            summary=f"ship order {order.order_id} to {address.one_line()} instead of {order.address.one_line()}",
            summary_zh=f"将订单 {order.order_id} 的收货地址改为 {address.one_line()}",
            details={"address": address.model_dump()},
            order=order.model_copy(update={"address": address}),
            before={"order": order.model_dump(mode="json", exclude_none=True)},
        )

    def _plan_payment(self, args: PaymentArgs, acting_user: str, conn: Connection) -> _Plan:
        order, user = self._own_order(args.order_id, acting_user, conn)
        require_action_status(order, "modify_pending_order_payment")
        require_payment_unchanged(order)
        history = order.payment_history
        old_id, amount = history[0].payment_method_id, history[0].amount
        if args.payment_method_id == old_id:
            raise PolicyError(
                "payment_method_not_allowed",
                "The new payment method must differ from the current one.",
                "新的支付方式必须与当前的不同。",
            )
        new_method = require_payment_method(user, args.payment_method_id)
        require_gift_card_balance(new_method, amount)
        before = {
            "order": order.model_dump(mode="json", exclude_none=True),
            "user": user.model_dump(mode="json", exclude_none=True),
        }
        if new_method.source == "gift_card":
            new_method.balance = round((new_method.balance or 0.0) - amount, 2)
        old_method = user.payment_methods.get(old_id)
        if old_method is not None and old_method.source == "gift_card":
            old_method.balance = round((old_method.balance or 0.0) + amount, 2)
        after = order.model_copy(
            update={
                "payment_history": [
                    *history,
                    Transaction(transaction_type="payment", amount=amount, payment_method_id=new_method.id),
                    Transaction(transaction_type="refund", amount=amount, payment_method_id=old_id),
                ]
            }
        )
        old_text = old_method.describe() if old_method else old_id
        return _Plan(
            target=order.order_id,
            summary=(
                f"pay order {order.order_id} ({_money(amount)}) with {new_method.describe()} instead of {old_text}, "
                f"which is refunded"
            ),
            summary_zh=f"订单 {order.order_id}（{_money(amount)}）改用 {new_method.describe_zh()} 支付，原支付方式退款",
            details={"amount": amount},
            order=after,
            user=user,
            before=before,
        )

    def _plan_user_address(self, args: UserAddressArgs, acting_user: str, conn: Connection) -> _Plan:
        require_own_account(args.user_id, acting_user)
        user = self.db.user(args.user_id, conn, for_update=True)
        if user is None:
            raise PolicyError("user_not_found", "I couldn't find your account.", "没有找到您的账户。")
        address = _address(args.model_dump(exclude={"user_id"}))
        return _Plan(
            target=user.user_id,
            summary=f"change your default address to {address.one_line()} (was {user.address.one_line()})",
            summary_zh=f"将默认地址改为 {address.one_line()}",
            details={"address": address.model_dump()},
            user=user.model_copy(update={"address": address}),
            before={"user": user.model_dump(mode="json", exclude_none=True)},
        )

    def _plan_return(self, args: ReturnArgs, acting_user: str, conn: Connection) -> _Plan:
        order, user = self._own_order(args.order_id, acting_user, conn)
        require_action_status(order, "return_delivered_order_items")
        if not args.item_ids:
            raise PolicyError("invalid_arguments", "Tell me which items to return.", "请告诉我要退回哪些商品。")
        require_items_in_order(order, args.item_ids)
        method = require_payment_method(user, args.payment_method_id)
        require_refund_target(order, method)
        price_of = {item.item_id: item.price for item in order.items}
        refund = round(sum(price_of[i] for i in args.item_ids), 2)
        after = order.model_copy(
            update={
                "status": RETURN_REQUESTED,
                "return_items": sorted(args.item_ids),
                "return_payment_method_id": method.id,
            }
        )
        return _Plan(
            target=order.order_id,
            summary=(
                f"return from order {order.order_id}: {_items_text(order, args.item_ids)}; "
                f"{_money(refund)} is refunded to {method.describe()}; you will get an email on how to send them back"
            ),
            summary_zh=(
                f"退回订单 {order.order_id} 中的商品：{_items_text(order, args.item_ids)}；"
                f"{_money(refund)} 退至 {method.describe_zh()}"
            ),
            details={"refund": refund, "status_after": RETURN_REQUESTED},
            order=after,
            before={"order": order.model_dump(mode="json", exclude_none=True)},
        )


def _address(fields: dict[str, Any]) -> Address:
    try:
        return Address.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PolicyError(
            "invalid_arguments", f"The address is incomplete: {problems}", f"地址不完整：{problems}"
        ) from exc
