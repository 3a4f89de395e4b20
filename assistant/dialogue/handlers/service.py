"""Customer service: identity check → order → proposal with its details → explicit yes → execute.

Decisions live here and in the store's policy code, never in the model: the reply is built from the store's own
proposal summaries and records. The store policy asks for the email, or the name and zip code, at the start of every
conversation "even when the user already provides the user id": so the caller's `user_id` (a logged-in shopper of
the web UI or widget) is never enough on its own. It binds the conversation instead: the details given must locate
that same customer. Verification happens once per session; a customer who names another account's email, name or
order is refused without learning whether it exists.
"""

from __future__ import annotations

import math
import re
from typing import Any

from assistant.dialogue.grounding import Facts
from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.intents import Intent
from assistant.dialogue.order_items import (
    describe_item,
    match_items,
    match_variant,
    names_item,
    option_choices,
    resolve_payment,
)
from assistant.dialogue.response import Action
from assistant.dialogue.templates import money, render, status_text
from assistant.sessions import PendingAction
from assistant.store import PolicyError, StoreTools
from assistant.store.identity import IdentityAttempt, IdentityGuard, Method
from assistant.store.models import Order, User

# Slots that belong to one request; a new request starts without them.
_REQUEST_SLOTS = ("reason", "payment_method_id", "payment_kind", "payment_last_four", "original_payment", "address")
_DEFAULT_ADDRESS = re.compile(r"\b(default|profile|account|home)\b|默认|账户|个人", re.I)
_PAYMENT_CHANGE = re.compile(r"\b(pay(ment)?|card|paypal|gift ?card)\b|支付|付款", re.I)


class ServiceHandler:
    def __init__(self, store: StoreTools, identity: IdentityGuard) -> None:
        self.store = store
        self.identity = identity

    def handle(self, turn: Turn) -> Draft:
        state = turn.state
        intent = turn.routed.intent
        if intent is Intent.CONTINUE:
            if state.pending_action is not None:
                return self._answer_pending(turn)
            if state.pending_intent is None:
                return self._identify_only(turn)
            intent = Intent(state.pending_intent)
            state.slots["request_text"] = f"{state.slots.get('request_text', '')} {turn.text}".strip()
        else:
            if state.pending_intent != intent.value:
                for slot in (*_REQUEST_SLOTS, "item_ids", "swaps"):
                    state.slots.pop(slot, None)
                state.slots["request_text"] = turn.text
            else:
                state.slots["request_text"] = f"{state.slots.get('request_text', '')} {turn.text}".strip()
            state.pending_action = None
            state.pending_intent = intent.value
        state.slots.update(turn.slots.as_updates())

        identity = self._identify(turn)
        if isinstance(identity, Draft):
            return identity
        user, greeting = identity
        draft = self._serve(turn, intent, user)
        if greeting:
            draft.reply = f"{greeting} {draft.reply}"
        return draft

    def _identify_only(self, turn: Turn) -> Draft:
        """A message that only says who the customer is: verify it (or refuse another account's)."""
        turn.state.slots.update(turn.slots.as_updates())
        if not (turn.slots.email or turn.slots.first_name):
            return Draft(render("nothing_pending", turn.language))
        identity = self._identify(turn)
        if isinstance(identity, Draft):
            return identity
        greeting = identity[1]
        return Draft(f"{greeting} {render('how_can_i_help', turn.language)}".strip())

    # --- identity ------------------------------------------------------------------------------------------------
    def _identify(self, turn: Turn) -> Draft | tuple[User, str]:
        state, said, lang = turn.state, turn.slots, turn.language
        if state.verified_user_id:
            user = self.store.get_user_details(state.verified_user_id, acting_user=state.verified_user_id)
            if state.email_only and said.first_name and said.last_name and said.zip:
                return self._step_up(turn, user)
            if _claims_other(said, user):
                message = render("one_user_only", lang, name=user.name.full)
                draft = Draft(message)
                draft.actions.append(
                    Action(
                        name="verify_identity",
                        arguments={},
                        status="refused",
                        result={"code": "not_your_account", "reason": message},
                    )
                )
                return draft
            return user, ""
        caller = self._caller(turn)
        claims = self._claims(turn)
        for method, named, found in claims:
            attempt = self._attempt(turn, caller, named)
            wait = self.identity.locked_for(attempt, method)
            if wait:
                return self._locked(turn, wait)
            if found and caller in (None, found):
                self.identity.verified(attempt, method, found)
                state.verified_user_id = found
                state.failed_identity = 0
                state.email_only = method == "email" and caller is None
                user = self.store.get_user_details(found, acting_user=found)
                return user, render("identity_ok", lang, name=user.name.first_name)
            self.identity.failed(attempt, method)
        if claims:
            state.failed_identity += 1
            _forget_identity(state.slots)
            # Signed in: details of another account and unknown details get the same answer, so neither is revealed.
            return Draft(render("identity_not_caller" if caller else "identity_not_found", lang))
        return Draft(render("ask_identity", lang))

    def _step_up(self, turn: Turn, user: User) -> Draft | tuple[User, str]:
        """Name and zip code after an email: the second factor that lets changes through."""
        attempt = self._attempt(turn, self._caller(turn), (user.user_id,))
        wait = self.identity.locked_for(attempt, "name_zip")
        if wait:
            return self._locked(turn, wait)
        if _claims_other(turn.slots, user):
            self.identity.failed(attempt, "name_zip")
            _forget_identity(turn.state.slots)
            return Draft(render("step_up_failed", turn.language))
        self.identity.verified(attempt, "name_zip", user.user_id)
        turn.state.email_only = False
        return user, ""

    def _needs_step_up(self, turn: Turn) -> bool:
        return turn.state.email_only and not self.identity.policy.email_allows_changes

    def _locked(self, turn: Turn, wait_s: float) -> Draft:
        _forget_identity(turn.state.slots)
        return Draft(render("identity_locked", turn.language, minutes=max(1, math.ceil(wait_s / 60))))

    def _attempt(self, turn: Turn, caller: str | None, named: tuple[str, ...]) -> IdentityAttempt:
        return IdentityAttempt(session_id=turn.session.id, client=turn.client, caller=caller, accounts=named)

    def _caller(self, turn: Turn) -> str | None:
        """The signed-in caller's user id when it is one of the store's customers (the account to be verified)."""
        caller = turn.caller_user_id
        return caller if caller and self.store.db.user(caller) is not None else None

    def _claims(self, turn: Turn) -> list[tuple[Method, tuple[str, ...], str | None]]:
        """Each identity the customer gave: its method, the accounts it names (charged when it fails) and the
        account it proves (None when the details are wrong)."""
        slots, db = turn.state.slots, self.store.db
        claims: list[tuple[Method, tuple[str, ...], str | None]] = []
        if slots.get("email"):
            found = db.user_id_by_email(slots["email"])
            claims.append(("email", (found,) if found else (), found))
        if slots.get("first_name") and slots.get("last_name") and slots.get("zip"):
            named = tuple(db.user_ids_by_name(slots["first_name"], slots["last_name"]))
            claims.append(
                ("name_zip", named, db.user_id_by_name_zip(slots["first_name"], slots["last_name"], slots["zip"]))
            )
        return claims

    # --- the request ---------------------------------------------------------------------------------------------
    def _serve(self, turn: Turn, intent: Intent, user: User) -> Draft:
        lang = turn.language
        if intent is Intent.ADDRESS_CHANGE and (
            _DEFAULT_ADDRESS.search(turn.text) or not turn.state.slots.get("order_id")
        ):
            return self._change_user_address(turn, user)
        order_id = turn.state.slots.get("order_id")
        if not order_id:
            if len(user.orders) == 1:
                order_id = user.orders[0]
            else:
                return self._list_orders(turn, user)
        try:
            order = self.store.get_order_details(order_id, acting_user=user.user_id)
        except PolicyError as exc:
            turn.state.slots.pop("order_id", None)
            turn.state.pending_intent = None
            return _refusal("get_order_details", {"order_id": order_id}, exc, lang)
        facts = Facts(orders={order.order_id: order.status}, amounts={i.price for i in order.items} | {order.total})
        if intent is Intent.ORDER_STATUS:
            turn.state.pending_intent = None
            draft = Draft(_status_text(order, lang), facts=facts)
            draft.actions.append(
                Action(
                    name="get_order_details",
                    arguments={"order_id": order.order_id},
                    status="done",
                    result={"status": order.status},
                )
            )
            return draft
        if intent is Intent.CANCEL:
            reason = turn.state.slots.get("reason") or ""
            return self._propose(
                turn,
                intent,
                "cancel_pending_order",
                {"order_id": order.order_id, "reason": reason},
                ask_on=(
                    "invalid_reason",
                    render("ask_reason", lang, order_id=order.order_id, status=status_text(order.status, lang)),
                ),
            )
        if intent is Intent.ADDRESS_CHANGE:
            return self._change_order_address(turn, order)
        if intent is Intent.RETURN:
            return self._return(turn, user, order)
        if (
            intent is Intent.MODIFY
            and _PAYMENT_CHANGE.search(turn.text)
            and not any(names_item(i.name, turn.text) for i in order.items)
        ):
            payment = self._payment(turn, user, None)
            if payment and payment != order.original_payment_method_id:
                return self._propose(
                    turn,
                    intent,
                    "modify_pending_order_payment",
                    {"order_id": order.order_id, "payment_method_id": payment},
                )
        return self._swap(turn, intent, user, order)

    def _list_orders(self, turn: Turn, user: User) -> Draft:
        lang = turn.language
        if not user.orders:
            turn.state.pending_intent = None
            return Draft(render("no_orders", lang))
        orders = [self.store.get_order_details(o, acting_user=user.user_id) for o in user.orders]
        listed = ", ".join(f"{o.order_id} ({status_text(o.status, lang)})" for o in orders)
        facts = Facts(orders={o.order_id: o.status for o in orders})
        return Draft(render("which_order", lang, orders=listed), facts=facts)

    def _return(self, turn: Turn, user: User, order: Order) -> Draft:
        lang = turn.language
        items = match_items(_request(turn), order) or _remembered_items(turn, order)
        payment = self._payment(turn, user, order) or order.original_payment_method_id or ""
        args = {"order_id": order.order_id, "item_ids": [i.item_id for i in items], "payment_method_id": payment}
        if items:
            turn.state.slots["item_ids"] = args["item_ids"]
        ask = render("ask_items", lang, order_id=order.order_id, items="; ".join(describe_item(i) for i in order.items))
        return self._propose(
            turn, Intent.RETURN, "return_delivered_order_items", args, ask_on=("invalid_arguments", ask)
        )

    def _swap(self, turn: Turn, intent: Intent, user: User, order: Order) -> Draft:
        lang = turn.language
        action = "exchange_delivered_order_items" if intent is Intent.EXCHANGE else "modify_pending_order_items"
        items = match_items(_request(turn), order) or _remembered_items(turn, order)
        payment = self._payment(turn, user, order) or order.original_payment_method_id or ""
        base = {"order_id": order.order_id, "payment_method_id": payment}
        ask_items = render(
            "ask_items", lang, order_id=order.order_id, items="; ".join(describe_item(i) for i in order.items)
        )
        if not items:
            return self._propose(
                turn,
                intent,
                action,
                {**base, "item_ids": [], "new_item_ids": []},
                ask_on=("invalid_arguments", ask_items),
            )
        turn.state.slots["item_ids"] = [i.item_id for i in items]
        chosen: dict[str, str] = dict(turn.state.slots.get("swaps") or {})
        for item in items:
            product = self.store.get_product_details(item.product_id)
            variants = match_variant(_request(turn), item, product, items)
            if len(variants) == 1:
                chosen[item.item_id] = variants[0].item_id
            elif item.item_id not in chosen:
                turn.state.slots["swaps"] = chosen
                options = option_choices(item, product)
                # The order's status decides first: a wrong status is refused before asking for options.
                refused = self._status_refusal(turn, intent, action, base, item.item_id)
                return refused or Draft(render("ask_new_options", lang, item=describe_item(item), options=options))
        turn.state.slots["swaps"] = chosen
        old = [i.item_id for i in items if i.item_id in chosen]
        return self._propose(turn, intent, action, {**base, "item_ids": old, "new_item_ids": [chosen[i] for i in old]})

    def _status_refusal(
        self, turn: Turn, intent: Intent, action: str, base: dict[str, Any], item_id: str
    ) -> Draft | None:
        try:
            self.store.propose(
                action, {**base, "item_ids": [item_id], "new_item_ids": [item_id]}, turn.state.verified_user_id
            )
        except PolicyError as exc:
            if exc.code == "invalid_status":
                turn.state.pending_intent = None
                return _refusal(action, base, exc, turn.language)
        return None

    def _change_order_address(self, turn: Turn, order: Order) -> Draft:
        address = turn.state.slots.get("address")
        if not address:
            return Draft(render("ask_address", turn.language))
        return self._propose(
            turn,
            Intent.ADDRESS_CHANGE,
            "modify_pending_order_address",
            {"order_id": order.order_id, **_address_fields(address)},
        )

    def _change_user_address(self, turn: Turn, user: User) -> Draft:
        address = turn.state.slots.get("address")
        if not address:
            return Draft(render("ask_address", turn.language))
        return self._propose(
            turn, Intent.ADDRESS_CHANGE, "modify_user_address", {"user_id": user.user_id, **_address_fields(address)}
        )

    def _payment(self, turn: Turn, user: User, order: Order | None) -> str | None:
        slots = turn.state.slots
        return resolve_payment(
            user,
            order,
            method_id=slots.get("payment_method_id"),
            kind=slots.get("payment_kind"),
            last_four=slots.get("payment_last_four"),
            original=bool(slots.get("original_payment")),
        )

    # --- propose, confirm, execute -------------------------------------------------------------------------------
    def _propose(
        self,
        turn: Turn,
        intent: Intent,
        action: str,
        args: dict[str, Any],
        ask_on: tuple[str, str] | None = None,
    ) -> Draft:
        lang = turn.language
        if self._needs_step_up(turn):
            return Draft(render("ask_step_up", lang))
        try:
            proposal = self.store.propose(action, args, turn.state.verified_user_id)
        except PolicyError as exc:
            if ask_on and exc.code == ask_on[0]:
                return Draft(ask_on[1])
            turn.state.pending_intent = None
            return _refusal(action, args, exc, lang)
        summary = proposal.summary_zh if lang == "zh" else proposal.summary
        turn.state.pending_action = PendingAction(
            name=action, arguments=proposal.arguments, summary=summary, intent=intent.value
        )
        draft = Draft(render("propose", lang, summary=summary))
        draft.actions.append(
            Action(name=action, arguments=proposal.arguments, status="proposed", result={"summary": summary})
        )
        return draft

    def _answer_pending(self, turn: Turn) -> Draft:
        state, lang = turn.state, turn.language
        pending = state.pending_action
        assert pending is not None
        answer = turn.slots.confirmation
        if answer is None:
            updates = turn.slots.as_updates()
            if updates.keys() - {"order_id"}:
                # New details for the same request ("refund it to my gift card instead"): plan it again.
                state.pending_action = None
                state.slots.update(updates)
                state.pending_intent = pending.intent
                user = self.store.get_user_details(state.verified_user_id or "", acting_user=state.verified_user_id)
                return self._serve(turn, Intent(pending.intent), user)
            return Draft(render("reconfirm", lang, summary=pending.summary))
        state.pending_action = None
        state.pending_intent = None
        for slot in (*_REQUEST_SLOTS, "item_ids", "swaps", "request_text"):
            state.slots.pop(slot, None)
        if answer is False:
            return Draft(render("declined", lang))
        try:
            proposal = self.store.propose(pending.name, pending.arguments, state.verified_user_id)
            result = self.store.execute(proposal)
        except PolicyError as exc:
            return _refusal(pending.name, pending.arguments, exc, lang)
        after = ""
        facts = Facts()
        if result.order is not None:
            after = " " + (
                f"订单状态：{status_text(result.order.status, lang)}。"
                if lang == "zh"
                else f"Order {result.order.order_id} is now {result.order.status}."
            )
            facts.orders[result.order.order_id] = result.order.status
        draft = Draft(render("done", lang, summary=pending.summary, after=after), facts=facts)
        draft.actions.append(
            Action(
                name=pending.name,
                arguments=pending.arguments,
                status="done",
                result={
                    "target": result.target,
                    "message": result.message,
                    "order_status": result.order.status if result.order else None,
                },
            )
        )
        return draft


def _forget_identity(slots: dict[str, Any]) -> None:
    for slot in ("email", "first_name", "last_name", "zip"):
        slots.pop(slot, None)


def _claims_other(said: Any, user: User) -> bool:
    if said.email and said.email != user.email.lower():
        return True
    if said.first_name and said.last_name and said.zip:
        mine = (user.name.first_name.lower(), user.name.last_name.lower(), user.address.zip)
        return (said.first_name.lower(), said.last_name.lower(), said.zip) != mine
    return False


def _request(turn: Turn) -> str:
    """Everything the customer said about the current request (items and options may come before identity)."""
    return str(turn.state.slots.get("request_text") or turn.text)


def _remembered_items(turn: Turn, order: Order) -> list:
    ids = set(turn.state.slots.get("item_ids") or [])
    return [i for i in order.items if i.item_id in ids]


def _address_fields(address: dict[str, str]) -> dict[str, str]:
    keys = ("address1", "address2", "city", "state", "country", "zip")
    return {k: address.get(k, "") or ("USA" if k == "country" else "") for k in keys}


def _status_text(order: Order, lang: str) -> str:
    items = "; ".join(describe_item(i) for i in order.items)
    ids = [t for f in order.fulfillments for t in f.tracking_id]
    tracking = render("tracking", lang, ids=", ".join(ids)) if ids else ""
    return render(
        "order_status",
        lang,
        order_id=order.order_id,
        status=status_text(order.status, lang),
        items=items,
        total=money(order.total),
        tracking=tracking,
    )


def _refusal(action: str, args: dict[str, Any], exc: PolicyError, lang: str) -> Draft:
    """The policy's reason, in the customer's language, in the reply and in the refused action's result."""
    reason = exc.text(lang)
    draft = Draft(render("refused", lang, reason=reason))
    draft.actions.append(
        Action(name=action, arguments=args, status="refused", result={"code": exc.code, "reason": reason})
    )
    return draft
