"""Customer service: identity check → order → proposal with its details → explicit yes → execute.

Decisions live here and in the store's policy code, never in the model: the reply is built from the store's own
proposal summaries and records. The store policy asks for the email, or the name and zip code, at the start of every
conversation "even when the user already provides the user id": so the caller's `user_id` (a logged-in shopper of
the web UI or widget) is never enough on its own. It binds the conversation instead: the details given must locate
that same customer. Verification happens once per session; a customer who names another account's email, name or
order is refused without learning whether it exists.

The conversation never locks on a question (`asking`): "no" leaves the errand open for a correction, "never mind"
ends it, a correction re-proposes, a side question is answered and the errand resumes, and errands asked for
together wait on the agenda (`agenda`).
"""

from __future__ import annotations

import math
import re
from typing import Any, TypeVar

from assistant.dialogue import agenda
from assistant.dialogue.asking import PERSON, REFUSED, Question, ask, forget_errand, remind
from assistant.dialogue.commands import AskInfo, CancelErrand, Command, Confirm, Deny, SetSlot, StartErrand
from assistant.dialogue.grounding import Facts
from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.handlers.conversation import HandoffHandler
from assistant.dialogue.intents import Intent
from assistant.dialogue.order_items import (
    describe_item,
    match_items,
    match_variant,
    names_item,
    numbered,
    option_choices,
    pick_numbered,
    resolve_payment,
    variant_examples,
)
from assistant.dialogue.response import Action
from assistant.dialogue.slots import extract
from assistant.dialogue.store_answers import ERRAND_ACTIONS, StoreAnswers
from assistant.dialogue.templates import money, render, status_text
from assistant.sessions import PendingAction, QueuedErrand
from assistant.store import PolicyError, StoreTools
from assistant.store.identity import IdentityAttempt, IdentityGuard, Method
from assistant.store.knowledge import StoreKnowledge, words
from assistant.store.models import CANCEL_REASONS, Address, Order, OrderItem, User
from assistant.store.policy import ACTION_STATUS

# Slots that belong to one errand; the next errand starts without them.
_REQUEST_SLOTS = (
    "reason",
    "payment_method_id",
    "payment_kind",
    "payment_last_four",
    "original_payment",
    "address",
    "address_for",
    "item_ids",
    "swaps",
    "request_text",
    "limit_told",
)
_DEFAULT_ADDRESS = re.compile(r"\b(default|profile|account|home)\b|默认|账户|个人", re.I)
_PAYMENT_CHANGE = re.compile(r"\b(pay(ment)?|card|paypal|gift ?card)\b|支付|付款", re.I)
# "the same address as order #W…", "和 #W… 的地址一样": the address of another of the customer's orders.
_SAME_AS = re.compile(r"\bsame\b|\bas (on|in|for)? ?(order|#)|\bfrom (order|#)|一样|相同|同一个", re.I)
T = TypeVar("T")
# A question, not new details: it asks ("is", "will", "what", "吗") rather than tells ("can you refund it to ...").
_QUESTION = re.compile(
    r"^\s*(is|are|will|what|what's|whats|how|when|which|does|do i|would)\b.*\?|吗[？?]?\s*$|什么|多久|哪", re.I | re.S
)
# What a question while a proposal waits is about, in the store's topics.
_INFO_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("order_details", re.compile(r"what'?s in it|\bwhich items\b|\bcontains?\b|包含|有什么商品", re.I)),
    (
        "refund_destination",
        re.compile(r"money back|\brefund|original payment|how long|how soon|退款|退回|多久", re.I),
    ),
    ("payment_methods", re.compile(r"\b(credit_card|gift_card|paypal)_\d+|\bending\b|尾号", re.I)),
)
# The errand with the same aim for an order of the other status (pending ↔ delivered).
_OTHER_ERRAND = {
    Intent.MODIFY: Intent.EXCHANGE,
    Intent.EXCHANGE: Intent.MODIFY,
    Intent.RETURN: Intent.CANCEL,
    Intent.CANCEL: Intent.RETURN,
}


class ServiceHandler:
    def __init__(self, store: StoreTools, identity: IdentityGuard) -> None:
        self.store = store
        self.identity = identity
        self.knowledge = StoreKnowledge(store.db)
        self.answers = StoreAnswers(self.knowledge)
        self.handoff = HandoffHandler(store)

    def handle(self, turn: Turn) -> Draft:
        state = turn.state
        commands = list(turn.understanding.commands)
        starts = [c for c in commands if isinstance(c, StartErrand)]
        if _has(commands, Confirm) and _asking(state, PERSON):
            return self._transfer(turn)  # "yes" to "shall I connect you with a person?"
        if _has(commands, CancelErrand) and _errand_open(state):
            if not starts:
                return self._drop_errand(turn)
            # "Never mind, I want to return it instead": everything asked before goes, the new errand starts.
            state.agenda.clear()
            self._drop_errand(turn)
        side = next((c for c in commands if isinstance(c, AskInfo)), None)
        if side is None and starts and _errand_open(state) and {s.errand for s in starts} == {"order_status"}:
            # "What's the status of my other order?" in the middle of a return: a side question, the return stays.
            side = AskInfo(topic="order_details", order_id=starts[0].order_id)
        if side is not None and side.topic == "list_orders" and side.about and _asking(state, "order:"):
            # "The one with the lamp" answers "which order?": the errand goes on with the order it describes.
            state.slots["request_text"] = f"{state.slots.get('request_text', '')} {side.about}".strip()
            return self._verified_serve(turn, Intent(state.pending_intent or Intent.ORDER_STATUS))
        if side is not None and state.verified_user_id:
            identity = self._identify(turn)  # another account's details in the question are refused first
            return identity if isinstance(identity, Draft) else self._side_question(turn, side)
        asked = self._questions_while_waiting(turn, commands)
        if asked is not None:
            return asked
        intent = turn.routed.intent
        if self._same_aim(turn, intent, starts):
            intent = Intent.CONTINUE  # "when will I get the refund?" during a cancellation is not a return
        if _has(commands, Deny) and _asking(state, PERSON) and _errand_open(state):
            return self._back_from_offer(turn)
        if intent is Intent.CONTINUE:
            if state.pending_action is not None:
                return self._answer_pending(turn, commands)
            if state.pending_intent is None:
                return self._identify_only(turn)
            intent = Intent(state.pending_intent)
            if _has(commands, Deny) and _asking(state, "change:"):
                # "No" to "what should be different?": the customer wants nothing changed after all.
                return self._finish(turn, Draft(render("declined", turn.language)))
            self._continue_request(turn, commands)
        else:
            if not _errand_open(state):
                state.agenda.clear()  # left from a conversation handed to a person: a fresh start
            first = agenda.plan(state, starts, turn.text)
            if first is not None:
                intent = Intent(first.errand)
            if state.pending_intent != intent.value or state.pending_action is not None:
                _clear_request(state)
                forget_errand(state)
                # Among several errands each has its own items; a single one has the whole message.
                alone = first is None or not state.agenda or not first.items
                state.slots["request_text"] = turn.text if alone else " ".join(first.items)
            else:
                self._continue_request(turn, commands)
            state.pending_action = None
            state.pending_intent = intent.value
            state.slots.update(turn.slots.as_updates())
            if first is not None and first.order_id:
                state.slots["order_id"] = first.order_id
            return self._verified_serve(turn, intent)
        state.slots.update(turn.slots.as_updates())
        return self._verified_serve(turn, intent)

    def _questions_while_waiting(self, turn: Turn, commands: list[Command]) -> Draft | None:
        """A question while a proposal waits ("what's in it, and will I get all my money back?", "is
        credit_card_1 the Visa?"): answered from the store for the errand in progress, then the proposal once
        more, briefly. A yes, a no, or new details for the errand are not questions."""
        state = turn.state
        if state.pending_action is None or not state.verified_user_id or not _QUESTION.search(turn.text):
            return None
        if _has(commands, Confirm) or _has(commands, Deny) or _has(commands, CancelErrand):
            return None
        topics = [topic for topic, words_ in _INFO_WORDS if words_.search(turn.text)]
        if not topics:
            return None
        pending = state.pending_action
        errand = pending.intent if pending.intent in ERRAND_ACTIONS else None
        order_id = pending.arguments.get("order_id") or state.slots.get("order_id")
        parts = [
            self.answers.answer(
                AskInfo(topic=topic, order_id=order_id),  # type: ignore[arg-type]  # a topic of InfoTopic
                user_id=state.verified_user_id,
                language=turn.language,
                errand=errand,  # type: ignore[arg-type]  # a key of ERRAND_ACTIONS is an Errand
                order_id=order_id,
            )
            for topic in topics
        ]
        draft = parts[0]
        for part in parts[1:]:
            draft = _joined(draft, part, part.reply)
        return remind(state, draft, turn.language)

    def _same_aim(self, turn: Turn, intent: Intent, starts: list[StartErrand]) -> bool:
        """Whether a message read as the other-status twin of the errand under way (a return during a cancellation
        of a pending order) is really about that errand: same order, and the errand under way fits its status."""
        state = turn.state
        if state.pending_intent is None or state.pending_action is not None or intent not in _OTHER_ERRAND:
            return False
        if _OTHER_ERRAND.get(Intent(state.pending_intent)) is not intent:
            return False
        if any(s.order_id and s.order_id != state.slots.get("order_id") for s in starts):
            return False
        order = self._current_order(turn)
        return order is not None and _status_fits(Intent(state.pending_intent), order.status)

    def _back_from_offer(self, turn: Turn) -> Draft:
        """ "No" to "shall I connect you with a person?": never a hand-off; the errand goes on and its question
        starts afresh."""
        state = turn.state
        assert state.open_question is not None
        state.asked.pop(state.open_question.key.removeprefix(PERSON), None)
        state.open_question = None
        if state.pending_action is not None:
            pending = state.pending_action
            return self._ask(
                turn,
                f"confirm:{pending.name}:{sorted(pending.arguments.items())}",
                render("propose", turn.language, summary=pending.summary),
                render("reconfirm", turn.language, summary=pending.summary),
                render("brief_confirm", turn.language, summary=pending.summary),
            )
        return self._verified_serve(turn, Intent(state.pending_intent))

    def _verified_serve(self, turn: Turn, intent: Intent) -> Draft:
        identity = self._identify(turn)
        if isinstance(identity, Draft):
            return identity
        user, greeting = identity
        draft = self._serve(turn, intent, user)
        if greeting:
            draft.reply = f"{greeting} {draft.reply}"
        return draft

    def _continue_request(self, turn: Turn, commands: list[Command]) -> None:
        """The message adds to the errand's details; a correction replaces the items named before."""
        slots = turn.state.slots
        corrected = next((c for c in commands if isinstance(c, SetSlot) and c.correction and c.slot == "item"), None)
        # After "no", the answer to "what should be different?" replaces the items too ("the coffee maker then").
        value = corrected.value if corrected is not None else turn.text if _asking(turn.state, "change:") else ""
        order = self._current_order(turn)
        named = self._named_items(order, value) if value and order is not None else []
        if named:
            slots["request_text"] = value
            slots["item_ids"] = [i.item_id for i in named]
            slots.pop("swaps", None)
            return
        slots["request_text"] = f"{slots.get('request_text', '')} {turn.text}".strip()

    def _current_order(self, turn: Turn) -> Order | None:
        order_id = turn.state.slots.get("order_id")
        user_id = turn.state.verified_user_id
        if not order_id or not user_id:
            return None
        try:
            return self.store.get_order_details(order_id, acting_user=user_id)
        except PolicyError:
            return None

    def _named_items(self, order: Order, text: str) -> list[OrderItem]:
        """The order's items a description names by (part of) their product name: "the puzzle", "the blue lamp"."""
        said = words(text)
        found = self.knowledge.find_items(order.order_id, acting_user=order.user_id, about=text)
        return [i for i in found if words(i.name) & said] if said else []

    def _identify_only(self, turn: Turn) -> Draft:
        """A message that only says who the customer is: verify it (or refuse another account's)."""
        turn.state.slots.update(turn.slots.as_updates())
        if not (turn.slots.email or turn.slots.first_name):
            lang = turn.language
            return self._ask(
                turn,
                "nothing_pending",
                render("nothing_pending", lang),
                render("small_talk", lang),
                render("how_can_i_help", lang),
            )
        identity = self._identify(turn)
        if isinstance(identity, Draft):
            return identity
        greeting = identity[1]
        return Draft(f"{greeting} {render('how_can_i_help', turn.language)}".strip())

    # --- repair, side questions, the agenda ----------------------------------------------------------------------
    def _drop_errand(self, turn: Turn) -> Draft:
        """ "Never mind", "start over", "算了": the errand ends with nothing changed; the next one, if any, starts."""
        state = turn.state
        state.pending_action = None
        state.pending_intent = None
        _clear_request(state)
        forget_errand(state)
        following = agenda.next_errand(state)
        if following is None or not state.verified_user_id:
            state.agenda.clear()
            return Draft(render("errand_dropped", turn.language))
        started = self._start_queued(turn, following)
        started.reply = render("errand_dropped_next", turn.language, next=started.reply)
        return started

    def _side_question(self, turn: Turn, question: AskInfo) -> Draft:
        """A question about the customer's own data or the policy, answered from the store; in the middle of an
        errand, the errand's open question follows once more, briefly."""
        state = turn.state
        errand = state.pending_intent if state.pending_intent in ERRAND_ACTIONS else None
        draft = self.answers.answer(
            question,
            user_id=state.verified_user_id,
            language=turn.language,
            errand=errand,  # type: ignore[arg-type]  # a key of ERRAND_ACTIONS is an Errand
            order_id=state.slots.get("order_id"),
        )
        if self._fills_open_question(turn):
            # The question also gave what the errand was waiting for ("it's #W1, what's in it?", "ordered by
            # mistake — when is the refund?"): the errand goes on instead of asking for it again.
            user = self.store.get_user_details(state.verified_user_id or "", acting_user=state.verified_user_id)
            following = self._serve(turn, Intent(state.pending_intent), user)
            return _joined(draft, following, following.reply)
        return remind(state, draft, turn.language)

    def _fills_open_question(self, turn: Turn) -> bool:
        """Whether the message answers the errand's open question "which order?" or "which reason?" (one order of
        the customer's own, or a reason the policy accepts); the slot is then set."""
        state, said = turn.state, turn.slots
        if state.pending_action is not None or state.pending_intent is None:
            return False
        if _asking(state, "order:") and len(set(said.order_ids)) == 1:
            user = self.store.get_user_details(state.verified_user_id or "", acting_user=state.verified_user_id)
            if said.order_ids[0] in user.orders:
                state.slots["order_id"] = said.order_ids[0]
                return True
        if _asking(state, "reason:") and said.reason:
            state.slots["reason"] = said.reason
            return True
        return False

    def _finish(self, turn: Turn, draft: Draft) -> Draft:
        """The errand is over (done, declined or refused): its details go, and the next errand on the agenda starts
        in the same reply."""
        state = turn.state
        state.pending_action = None
        state.pending_intent = None
        _clear_request(state)
        forget_errand(state)
        following = agenda.next_errand(state)
        if following is None:
            return draft
        started = self._start_queued(turn, following)
        return _joined(draft, started, render("next_errand", turn.language, next=started.reply))

    def _start_queued(self, turn: Turn, queued: QueuedErrand) -> Draft:
        state = turn.state
        said = extract(queued.text)
        state.slots.update({k: v for k, v in said.as_updates().items() if k != "order_id"})
        if queued.order_id:
            state.slots["order_id"] = queued.order_id
        # The order (its own, or the finished errand's) is kept only when its status, after the errand just done,
        # still allows this one ("return it and exchange something" leaves it return requested); otherwise "which
        # order?" is asked, with the orders that fit.
        order = self._current_order(turn)
        if order is None or not _status_fits(Intent(queued.errand), order.status):
            state.slots.pop("order_id", None)
        state.slots["request_text"] = " ".join(queued.items) if queued.items else queued.text
        state.pending_intent = queued.errand
        user_id = state.verified_user_id or ""
        user = self.store.get_user_details(user_id, acting_user=user_id)
        return self._serve(turn, Intent(queued.errand), user)

    def _ask(self, turn: Turn, key: str, first: str, choices: str, brief: str) -> Draft:
        question = Question(key=key, first=first, choices=choices, brief=brief)
        return ask(turn.state, question, turn.language, lambda: self._transfer(turn))

    def _refused(self, turn: Turn, action: str, args: dict[str, Any], exc: PolicyError) -> Draft:
        """The policy's refusal; asked for the same thing again, said differently with what else there is, then
        with a person offered (a refusal is never repeated word for word)."""
        lang = turn.language
        refusal = _refusal(action, args, exc, lang)
        target = args.get("order_id") or args.get("user_id") or ""
        question = Question(
            key=f"{REFUSED}{action}:{exc.code}:{target}",
            first=refusal.reply,
            choices=render("refused_again", lang, reason=exc.text(lang)),
            brief="",
            offer="refused_offer_person",
        )
        draft = ask(turn.state, question, lang, lambda: self._transfer(turn))
        draft.actions = refusal.actions + draft.actions
        return draft

    def _transfer(self, turn: Turn) -> Draft:
        """Asked four times without an answer: a person takes over, and the errand and its agenda end here."""
        state = turn.state
        state.agenda.clear()
        _clear_request(state)
        forget_errand(state)
        return self.handoff.handle(turn)

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
        return self._ask(
            turn,
            "identity",
            render("ask_identity", lang),
            render("ask_identity_choices", lang),
            render("brief_identity", lang),
        )

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
        lang, slots = turn.language, turn.state.slots
        if intent is Intent.ADDRESS_CHANGE:
            if "address_for" not in slots:
                # "change my default address" (or no order named) is the account's address; otherwise an order's.
                to_user = _DEFAULT_ADDRESS.search(turn.text) or not slots.get("order_id")
                slots["address_for"] = "user" if to_user else slots["order_id"]
            if slots["address_for"] == "user":
                return self._change_user_address(turn, user)
            slots["order_id"] = slots["address_for"]
        order_id = slots.get("order_id")
        if not order_id:
            found = self._order_by_contents(turn, intent, user)
            if found is None:
                return self._list_orders(turn, intent, user)
            order_id = slots["order_id"] = found
        try:
            order = self.store.get_order_details(order_id, acting_user=user.user_id)
        except PolicyError as exc:
            slots.pop("order_id", None)
            return self._finish(turn, self._refused(turn, "get_order_details", {"order_id": order_id}, exc))
        switched = self._switched(turn, intent, order)
        if switched is not None:
            draft = self._serve(turn, switched, user)
            notice = render(
                "switched_errand",
                lang,
                order_id=order.order_id,
                status=status_text(order.status, lang),
                errand=render(f"errand_{switched.value}", lang, order_id=order.order_id),
            )
            draft.reply = f"{notice} {draft.reply}"
            return draft
        facts = Facts(orders={order.order_id: order.status}, amounts={i.price for i in order.items} | {order.total})
        if intent is Intent.ORDER_STATUS:
            draft = Draft(_status_text(order, lang), facts=facts)
            draft.actions.append(
                Action(
                    name="get_order_details",
                    arguments={"order_id": order.order_id},
                    status="done",
                    result={"status": order.status},
                )
            )
            return self._finish(turn, draft)
        if intent is Intent.CANCEL:
            key = f"reason:{order.order_id}"
            for picked in self._picked(turn, key, list(CANCEL_REASONS))[:1]:
                slots["reason"] = picked  # "2" to the numbered reasons
            reason = slots.get("reason") or ""
            return self._propose(
                turn,
                intent,
                "cancel_pending_order",
                {"order_id": order.order_id, "reason": reason},
                ask_on=(
                    "invalid_reason",
                    Question(
                        key=key,
                        first=render(
                            "ask_reason", lang, order_id=order.order_id, status=status_text(order.status, lang)
                        ),
                        choices=render("ask_reason_choices", lang, order_id=order.order_id),
                        brief=render("brief_reason", lang, order_id=order.order_id),
                    ),
                ),
            )
        if intent is Intent.ADDRESS_CHANGE:
            return self._change_order_address(turn, user, order)
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
        return self._with_limit(turn, intent, self._swap(turn, intent, user, order))

    def _switched(self, turn: Turn, intent: Intent, order: Order) -> Intent | None:
        """The errand that fits the order's status when the one asked for does not: changing a delivered order's
        items is an exchange, a pending order's a modification; a pending order is cancelled rather than returned,
        a delivered one returned rather than cancelled. The customer still confirms the proposal explicitly."""
        if _status_fits(intent, order.status):
            return None
        if intent is Intent.MODIFY and _PAYMENT_CHANGE.search(turn.text):
            return None  # a payment change has no delivered-order counterpart: the refusal says why
        other = _OTHER_ERRAND.get(intent)
        if other is None or not _status_fits(other, order.status):
            return None
        turn.state.pending_intent = other.value
        return other

    def _order_by_contents(self, turn: Turn, intent: Intent, user: User) -> str | None:
        """The customer's only order, or the one holding the item they name ("the one with the lamp"); among
        several, the one whose status suits the errand."""
        if len(user.orders) == 1:
            return user.orders[0]
        about = str(turn.state.slots.get("request_text") or turn.text)
        named = words(about)
        found = [
            match.order
            for match in self.knowledge.find_orders(user.user_id, acting_user=user.user_id, about=about)
            if any(words(item.name) & named for item in match.items)  # by what is in it, not a stray word
        ]
        fitting = [o for o in found if _status_fits(intent, o.status)]
        # An errand is never given an order whose status it can't apply to (a returned order is not exchanged).
        chosen = fitting if len(fitting) == 1 or intent in ERRAND_ACTIONS else found
        return chosen[0].order_id if len(chosen) == 1 else None

    def _list_orders(self, turn: Turn, intent: Intent, user: User) -> Draft:
        lang = turn.language
        if not user.orders:
            return self._finish(turn, Draft(render("no_orders", lang)))
        orders = [self.store.get_order_details(o, acting_user=user.user_id) for o in user.orders]
        listed = ", ".join(f"{o.order_id} ({status_text(o.status, lang)})" for o in orders)
        fitting = [o for o in orders if _status_fits(intent, o.status)] or orders
        choices = "; ".join(_order_choice(o, lang) for o in fitting)
        draft = self._ask(
            turn,
            f"order:{intent.value}",
            render("which_order", lang, orders=listed),
            render("which_order_choices", lang, choices=choices),
            render("brief_order", lang),
        )
        draft.facts = Facts(orders={o.order_id: o.status for o in orders})
        return draft

    def _with_limit(self, turn: Turn, intent: Intent, draft: Draft) -> Draft:
        """Exchanging or changing an order's items can be done once: said when the errand starts, before the
        customer has chosen the items."""
        slots = turn.state.slots
        if slots.get("limit_told") or draft.handoff or not slots.get("order_id") or intent not in ERRAND_ACTIONS:
            return draft
        limits = self.knowledge.errand_limits(
            slots["order_id"], ERRAND_ACTIONS[intent], acting_user=turn.state.verified_user_id
        )
        if not (limits.allowed and limits.once_per_order):
            return draft
        slots["limit_told"] = True
        key = "limit_exchange" if intent is Intent.EXCHANGE else "limit_modify"
        draft.reply = f"{render(key, turn.language)} {draft.reply}"
        return draft

    def _items(self, turn: Turn, order: Order) -> list[OrderItem]:
        """The items the errand is about: named in its words, picked by number from the list just shown, or
        remembered from before."""
        picked = self._picked(turn, f"items:{order.order_id}", list(order.items))
        request = _request(turn)
        return (
            picked or match_items(request, order) or _remembered_items(turn, order) or self._named_items(order, request)
        )

    @staticmethod
    def _picked(turn: Turn, key: str, choices: list[T]) -> list[T]:
        """The choices a short answer picks by number, when the question just asked (`key`) listed them so."""
        open_question = turn.state.open_question
        if open_question is None or open_question.key != key or turn.state.asked.get(key, 0) < 2:
            return []
        return pick_numbered(turn.text, choices)

    def _ask_items(self, turn: Turn, order: Order) -> Question:
        lang = turn.language
        return Question(
            key=f"items:{order.order_id}",
            first=render(
                "ask_items", lang, order_id=order.order_id, items="; ".join(describe_item(i) for i in order.items)
            ),
            choices=render("ask_items_choices", lang, choices=numbered(list(order.items))),
            brief=render("brief_items", lang, order_id=order.order_id),
        )

    def _return(self, turn: Turn, user: User, order: Order) -> Draft:
        items = self._items(turn, order)
        payment = self._payment(turn, user, order) or order.original_payment_method_id or ""
        args = {"order_id": order.order_id, "item_ids": [i.item_id for i in items], "payment_method_id": payment}
        if items:
            turn.state.slots["item_ids"] = args["item_ids"]
        return self._propose(
            turn,
            Intent.RETURN,
            "return_delivered_order_items",
            args,
            ask_on=("invalid_arguments", self._ask_items(turn, order)),
        )

    def _swap(self, turn: Turn, intent: Intent, user: User, order: Order) -> Draft:
        lang = turn.language
        action = "exchange_delivered_order_items" if intent is Intent.EXCHANGE else "modify_pending_order_items"
        items = self._items(turn, order)
        payment = self._payment(turn, user, order) or order.original_payment_method_id or ""
        base = {"order_id": order.order_id, "payment_method_id": payment}
        if not items:
            return self._propose(
                turn,
                intent,
                action,
                {**base, "item_ids": [], "new_item_ids": []},
                ask_on=("invalid_arguments", self._ask_items(turn, order)),
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
                # The order's status decides first: a wrong status is refused before asking for options.
                refused = self._status_refusal(turn, intent, action, base, item.item_id)
                if refused is not None:
                    return self._finish(turn, refused)
                return self._ask(
                    turn,
                    f"options:{item.item_id}",
                    render("ask_new_options", lang, item=describe_item(item), options=option_choices(item, product)),
                    render("ask_new_options_choices", lang, item=item.name, choices=variant_examples(item, product)),
                    render("brief_options", lang, item=item.name),
                )
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
                return self._refused(turn, action, base, exc)
        return None

    def _ask_address(self, turn: Turn, user: User, target: str) -> Draft:
        lang = turn.language
        return self._ask(
            turn,
            f"address:{target}",
            render("ask_address", lang),
            render("ask_address_choices", lang, default=user.address.one_line()),
            render("brief_address", lang),
        )

    def _change_order_address(self, turn: Turn, user: User, order: Order) -> Draft:
        address = self._address_given(turn, user, order)
        if not address:
            return self._ask_address(turn, user, order.order_id)
        return self._propose(
            turn,
            Intent.ADDRESS_CHANGE,
            "modify_pending_order_address",
            {"order_id": order.order_id, **_address_fields(address)},
        )

    def _address_given(self, turn: Turn, user: User, order: Order) -> dict[str, str] | None:
        """The new address as written, the customer's default address ("use my default address"), or the address
        of another of their orders ("the same address as order #W…")."""
        slots = turn.state.slots
        if slots.get("address"):
            return slots["address"]
        other = [o for o in turn.slots.order_ids if o != order.order_id]
        if other and _SAME_AS.search(turn.text):
            try:
                return _address_dict(self.knowledge.order_address(other[-1], acting_user=user.user_id))
            except PolicyError:
                return None
        if _DEFAULT_ADDRESS.search(turn.text):
            return _address_dict(self.knowledge.default_address(user.user_id, acting_user=user.user_id))
        return None

    def _change_user_address(self, turn: Turn, user: User) -> Draft:
        address = turn.state.slots.get("address")
        if not address:
            return self._ask_address(turn, user, "user")
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
        ask_on: tuple[str, Question] | None = None,
    ) -> Draft:
        lang, state = turn.language, turn.state
        if self._needs_step_up(turn):
            return self._ask(
                turn,
                "step_up",
                render("ask_step_up", lang),
                render("ask_step_up_choices", lang),
                render("brief_step_up", lang),
            )
        try:
            proposal = self.store.propose(action, args, state.verified_user_id)
        except PolicyError as exc:
            if ask_on and exc.code == ask_on[0]:
                question = ask_on[1]
                return self._ask(turn, question.key, question.first, question.choices, question.brief)
            return self._finish(turn, self._refused(turn, action, args, exc))
        summary = proposal.summary_zh if lang == "zh" else proposal.summary
        state.pending_action = PendingAction(
            name=action, arguments=proposal.arguments, summary=summary, intent=intent.value
        )
        upcoming = agenda.upcoming(state, lang)
        key = f"confirm:{action}:{sorted(proposal.arguments.items())}"
        draft = self._ask(
            turn,
            key,
            f"{render('propose', lang, summary=summary)} {upcoming}".strip(),
            render("reconfirm", lang, summary=summary),
            render("brief_confirm", lang, summary=summary),
        )
        # The proposal itself; asked again, it is the same proposal. Asked a fourth time, `ask` handed off and forgot
        # the errand's questions, so the key may be gone.
        if state.asked.get(key) == 1:
            draft.actions.append(
                Action(name=action, arguments=proposal.arguments, status="proposed", result={"summary": summary})
            )
        return draft

    def _answer_pending(self, turn: Turn, commands: list[Command]) -> Draft:
        state, lang = turn.state, turn.language
        pending = state.pending_action
        assert pending is not None
        confirmed, denied = _has(commands, Confirm), _has(commands, Deny)
        updates = turn.slots.as_updates()
        corrected = any(isinstance(c, SetSlot) and c.correction for c in commands)
        if not confirmed and (updates.keys() - {"order_id"} or corrected):
            # New details for the same errand ("refund it to my gift card instead", "I meant the puzzle"): plan it
            # again and propose the new plan.
            state.pending_action = None
            self._continue_request(turn, commands)
            state.slots.update(updates)
            state.pending_intent = pending.intent
            user = self.store.get_user_details(state.verified_user_id or "", acting_user=state.verified_user_id)
            return self._serve(turn, Intent(pending.intent), user)
        if denied:
            # "No": nothing changes and the errand stays open for what should be different.
            state.pending_action = None
            state.pending_intent = pending.intent
            choices = render("change_choices", lang)
            return self._ask(
                turn,
                f"change:{pending.name}",
                render("ask_what_to_change", lang, choices=choices),
                render("ask_what_to_change_choices", lang, choices=choices),
                render("brief_change", lang),
            )
        if not confirmed:
            return self._ask(
                turn,
                f"confirm:{pending.name}:{sorted(pending.arguments.items())}",
                render("propose", lang, summary=pending.summary),
                render("reconfirm", lang, summary=pending.summary),
                render("brief_confirm", lang, summary=pending.summary),
            )
        try:
            proposal = self.store.propose(pending.name, pending.arguments, state.verified_user_id)
            result = self.store.execute(proposal)
        except PolicyError as exc:
            return self._finish(turn, self._refused(turn, pending.name, pending.arguments, exc))
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
        return self._finish(turn, draft)


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


def _errand_open(state: Any) -> bool:
    return state.pending_intent is not None or state.pending_action is not None


def _asking(state: Any, kind: str) -> bool:
    """Whether the open question is of this kind ("change:", "items:", ...)."""
    return state.open_question is not None and state.open_question.key.startswith(kind)


def _has(commands: list[Command], kind: type) -> bool:
    return any(isinstance(c, kind) for c in commands)


def _clear_request(state: Any) -> None:
    for slot in _REQUEST_SLOTS:
        state.slots.pop(slot, None)


def _status_fits(intent: Intent, status: str) -> bool:
    return intent not in ERRAND_ACTIONS or ACTION_STATUS[ERRAND_ACTIONS[intent]][0] == status


def _order_choice(order: Order, lang: str) -> str:
    """An order as a choice: its id, status and what is in it."""
    names = ", ".join(dict.fromkeys(i.name for i in order.items))
    return f"{order.order_id} ({status_text(order.status, lang)}: {names})"


def _joined(first: Draft, second: Draft, second_text: str) -> Draft:
    """Two steps in one reply (an errand done, the next one proposed)."""
    first.reply = f"{first.reply}\n{second_text}"
    first.actions += second.actions
    first.facts.orders.update(second.facts.orders)
    first.facts.amounts |= second.facts.amounts
    first.handoff = first.handoff or second.handoff
    return first


def _address_dict(address: Address) -> dict[str, str]:
    return address.model_dump(mode="json")


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
