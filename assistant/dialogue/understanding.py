"""The rules' reading of one message: every command it gives, in order, plus the first errand's view the handlers use.

Built on `route()` (the intent) and `extract()` (the slot values). The rules are the fast path where they are sure and
the fallback without a model; `Reading.sure` says when a model should be asked instead (`UNDERSTANDING=auto`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from assistant.dialogue.commands import (
    AskInfo,
    CancelErrand,
    ChitChat,
    Clarify,
    Command,
    Confirm,
    Deny,
    Errand,
    Handoff,
    InfoTopic,
    OutOfScope,
    SetSlot,
    Shop,
    StartErrand,
    Understanding,
)
from assistant.dialogue.intents import SERVICE_INTENTS, SHOPPING_INTENTS, EmbeddingIntentClassifier, Intent, Routed
from assistant.dialogue.intents import route as route_intent
from assistant.dialogue.slots import ORDER_ID, SlotValues, earlier_email, extract
from assistant.sessions import DialogueState

UnderstandingMode = Literal["auto", "rules", "model"]

# Intents a message that also gives an identity is treated as an identification instead.
_PASSING = frozenset({Intent.SMALL_TALK, Intent.OUT_OF_SCOPE, Intent.PRODUCT_SEARCH, Intent.RECOMMENDATION})


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


_CANCEL_ERRAND = _rx(
    r"(^|[.!;]\s*)\W*(oh,? )?(never ?mind|nevermind|forget (it|that|about (it|that))|start (over|again)|scratch that|"
    r"let'?s start (over|again)|cancel that|stop (this|that)|i changed my mind)\b",
    r"^\W*(算了|重新开始|从头(开始|再来)|不用了|忘了吧|不办了)",
)
# "sorry, I meant the puzzle, not the phone"; "不是手机，是拼图".
_CORRECTION = (
    re.compile(
        r"\b(?:i\s+meant?|i\s+wanted|(?:it'?s|it\s+was|should\s+(?:be|have\s+been))(?=\s+(?:the|my)\b))\s+"
        r"(?P<new>[^,.;!?]+?)\s*(?:,\s*|\s+)(?:not|rather\s+than|instead\s+of)\s+(?P<old>[^,.;!?]+)",
        re.I,
    ),
    re.compile(r"\b(?:sorry|oops|actually|wait|no)\b[,\s]+i\s+meant?\s+(?P<new>[^,.;!?]+)", re.I),
    re.compile(r"\bnot\s+(?:the|my)\s+(?P<old>[^,.;!?]+?),\s*(?:i\s+meant?\s+)?(?P<new>(?:the|my)\s+[^,.;!?]+)", re.I),
    re.compile(r"不是(?P<old>[^，,。！？]+)[，,]\s*(?:我说的)?是(?!不)(?P<new>[^，,。！？]+)"),
    re.compile(r"我(?:是说|说的是|指的是)(?P<new>[^，,。！？]+?)(?:[，,]\s*不是(?P<old>[^，,。！？]+))?$"),
)
_INFO: tuple[tuple[InfoTopic, re.Pattern[str]], ...] = (
    (
        "refund_destination",
        _rx(
            r"\b(which|what)\s+(card|account|payment( method)?|method)\b.{0,40}\b(refund|money|difference)\b",
            r"\bwhere\s+(will|does|would|is)\s+(the |my )?(refund|money)\b",
            r"\brefund\b.{0,20}\b(go|goes|going|be sent|be paid|land)\s+(to|back to)\b.{0,30}\?",
            r"\b(refund|money)\b.{0,20}\b(to which|which card)\b",
            r"退款.{0,8}(退到|到哪|哪张|哪个|什么)|退到哪|钱.{0,4}退到",
        ),
    ),
    (
        "order_address",
        _rx(
            r"\b(what|which)\s+address\b.{0,30}\b(order|on (it|that|this|file))\b",
            r"\baddress\b.{0,10}\bon (that|the|this|my) order\b",
            r"\bwhere (is|was|will) (it|that order|the order|my order) (being )?(shipped|sent|going)\b",
            r"订单.{0,8}(地址是|寄到哪|送到哪)|(寄|送)到哪(个|里)",
        ),
    ),
    (
        "order_payment",
        _rx(
            r"\b(which|what)\s+(card|payment( method)?)\b.{0,20}\b(did i (use|pay)|paid with|on (that|the|this) order)",
            r"\bhow did i pay\b",
            r"(用|付).{0,4}(哪张卡|什么方式)(付|支付)",
        ),
    ),
    (
        "payment_methods",
        _rx(
            r"\b(what|which)\s+(payment (methods?|options)|cards?)\b.{0,20}\b(do i have|on file|saved|have i got)\b",
            r"\b(list|show)( me)? my (payment methods|cards)\b",
            r"我有(哪些|什么)(支付方式|卡|付款方式)|(支付|付款)方式有哪些",
        ),
    ),
    (
        "default_address",
        _rx(
            r"\bwhat('?s| is)\s+my\s+(default |home |current )?address\b",
            r"\b(default|home) address\b.{0,15}\?",
            r"默认地址是|我的地址是(什么|哪)",
        ),
    ),
    (
        "policy_limit",
        _rx(
            r"\bhow many (times|exchanges|returns|changes)\b",
            r"\bcan i (exchange|modify|change|return) (it |them |this |that )?(again|twice|more than once)\b",
            r"(能|可以)(换|改|退)几次",
        ),
    ),
    (
        "variants",
        _rx(
            r"\b(does|do|is|are|can i get)\s+(it|this|that|they|these|those|the \w+)\b.{0,15}\b(come|available|"
            r"made)\s+in\b",
            r"\bin (a )?(different|other|another) (colou?r|size|style)s?\b",
            r"\b(a )?size (larger|smaller|bigger|up|down)\b|\bone size (up|down|larger|smaller|bigger)\b",
            r"\b(what|which|any) other (colou?rs|sizes|options|versions|variants)\b",
            r"有(没有)?(别的|其他)(颜色|尺码|尺寸|款式)|大一号|小一号|有.{1,4}色的吗",
        ),
    ),
    (
        "order_details",
        _rx(
            r"\bwhat('?s| is| was) in (my |that |the |this )?order\b",
            r"\bwhat did i (order|buy)\b",
            r"订单里(有|是)什么|我买了什么",
        ),
    ),
    (
        "list_orders",
        _rx(
            r"\b(which|what) orders? (do i have|have i (got|placed|made))\b",
            r"\b(list|show)( me)? (all )?my orders\b|\ball (of )?my orders\b",
            r"我有哪些订单|我的订单有哪些|列出.{0,4}订单",
        ),
    ),
)
# "the one with the lamp", "the order that has the headphones", "有台灯的那个订单".
_BY_CONTENT = (
    re.compile(
        r"\bthe (?:one|order)\s+(?:with|that has|that had|containing|where i (?:bought|ordered))\s+"
        r"(?:the |a |an |my |some )?(?P<about>[\w -]+?)(?:\s+in it)?\s*[?.!]*$",
        re.I,
    ),
    re.compile(r"(?:有|买了?)(?P<about>[^，,。！？的]{1,12})的(?:那个|那笔)?订单"),
)
# The option asked about: "blue" in "does it come in blue?", "a size larger", "大一号", "蓝色".
_VARIANT_ABOUT = re.compile(
    r"\b(?:come|available|made)\s+in\s+(?:a\s+|an\s+)?([\w -]+?)\s*[?.!]*$|"
    r"((?:a |one )?size (?:larger|smaller|bigger|up|down)|大一号|小一号|[^\s，,有没]{1,3}色)",
    re.I,
)
# Where one clause ends and the next begins: "cancel #W1 and #W2", "return X, and exchange Y", "退掉A，再换B".
_CLAUSES = re.compile(
    r"\s*(?:,?\s+(?:and(?: also)?|also|then|plus|as well as)\s+|;\s*|，(?:然后|再|还有)?|然后|还有|并且|以及|和)\s*"
)
_ERRANDS: dict[Intent, Errand] = {
    Intent.ORDER_STATUS: "order_status",
    Intent.CANCEL: "cancel",
    Intent.MODIFY: "modify",
    Intent.RETURN: "return",
    Intent.EXCHANGE: "exchange",
    Intent.ADDRESS_CHANGE: "address_change",
}
_SHOP_ACTS = {
    Intent.PRODUCT_SEARCH: "product_search",
    Intent.REFINE: "refine",
    Intent.COMPARE: "compare",
    Intent.PRODUCT_QUESTION: "product_question",
    Intent.RECOMMENDATION: "recommendation",
    Intent.POLICY_QUESTION: "policy_question",
}
# The words that name the errand, not the items: what is left after them describes the items.
_ERRAND_WORDS = re.compile(
    r"\b(i('d| would)? (like|want|need) to|i'?d like to|please|can you|could you|help me|i want|"
    r"(?<!noise )(?<!noise-)cancel\w*|return\w*|exchang\w*|swap|modify|change|track|refund|send back|"
    r"get a refund for|also|my|the|order|orders|items?|both|it|them|this|that|for me|where('?s)?|what|when|is|"
    r"are|has|have|status|of)\b|取消|退货|退掉|退|换货|换|我想|我要|帮我|订单|一下",
    re.I,
)
_ITEM_TAIL = re.compile(
    r"\s*(\bfor\b|\bbecause\b|\bsince\b|\bas\b|\bto (a|an|the)\b|\bfrom\b|\binto\b|换成|因为).*$", re.I
)
# What a short noun phrase does not hold: an order id, a question word, a pronoun.
_NOT_A_PRODUCT = _rx(
    r"\bW\d{7}\b|\b(what|which|how|why|when|where|who|again|it|that|this)\b|\?", r"什么|怎么|为什么|吗"
)
_THANKS = _rx(r"\b(thanks?|thank you|thx|cheers)\b", r"谢")
_BYE = _rx(
    r"\b(bye|goodbye|see you|have a (nice|good|great) (day|one|evening)|that'?s (all|it|everything))\b",
    r"再见|拜拜|没有了|就这些|没别的",
)
_GREETING = _rx(r"^\W*(hi|hello|hey|good (morning|afternoon|evening))\b", r"你好|您好|嗨|哈喽")


@dataclass
class Reading:
    """One message as the rules read it: its commands, the first errand's view (`routed`, `slots`) the handlers
    take, and whether the rules are sure (otherwise a model may read it instead)."""

    understanding: Understanding
    routed: Routed
    slots: SlotValues
    sure: bool


def read(
    text: str,
    state: DialogueState | None = None,
    classifier: EmbeddingIntentClassifier | None = None,
) -> Reading:
    state = state or DialogueState()
    slots = extract(text)
    if slots.email is None:
        slots.email = earlier_email(text, state.pii)
    updates = slots.as_updates()
    routed = route_intent(text, state, classifier, fills_slot=bool(updates) or slots.confirmation is not None)
    if (slots.email or (slots.first_name and slots.zip)) and routed.intent in _PASSING:
        # Who the customer says they are is checked at once: verified now, or refused if it is another account.
        routed = Routed(Intent.CONTINUE, routed.confidence, ("identity",))

    if state.pending_action is not None and ("?" in text or "？" in text):
        # "that's the mastercard ending 7287, right?" checks the proposal on the table; it changes nothing in it.
        slots = replace(slots, payment_method_id=None, payment_kind=None, payment_last_four=None, address=None)
        slots = replace(slots, reason=None, original_payment=False)
    commands = _commands(text, state, routed, slots, classifier)
    routed, slots = _first_errand_view(commands, routed, slots, state)
    # Not sure: nothing read, or only a guess (no rule matched, or a weak nearest example).
    guessed = routed.matched in ((), ("embedding",)) and routed.confidence < 0.6
    if guessed and routed.intent is Intent.PRODUCT_SEARCH and not _NOT_A_PRODUCT.search(text):
        guessed = False  # a short noun phrase ("wireless earbuds") is a search
    sure = bool(commands) and not isinstance(commands[0], Clarify) and not guessed and routed.confidence > 0.45
    return Reading(Understanding(commands=commands, source="rules"), routed, slots, sure)


def understand(
    text: str, state: DialogueState | None = None, classifier: EmbeddingIntentClassifier | None = None
) -> Understanding:
    """The commands of one message, read by the rules."""
    return read(text, state, classifier).understanding


def _commands(
    text: str,
    state: DialogueState,
    routed: Routed,
    slots: SlotValues,
    classifier: EmbeddingIntentClassifier | None,
) -> list[Command]:
    commands: list[Command] = []
    rest = text
    if match := _CANCEL_ERRAND.search(text):
        commands.append(CancelErrand())
        rest = text[match.end() :].strip(" ,.!;，。！")
        if not rest:
            return commands
        # "never mind, I want to return it instead": what follows is read on its own.
        routed = route_intent(rest, DialogueState(language=state.language, shown=state.shown), classifier)

    waiting = state.pending_action is not None or state.pending_intent is not None
    answer = None if slots.confirmation is None or not waiting else Confirm() if slots.confirmation else Deny()
    correction = _correction(rest)
    info = _info(rest, by_content=routed.intent not in SERVICE_INTENTS)
    if correction is not None:
        # "no, I meant the puzzle" says no to the proposal on the table; "不是手机，是拼图" alone corrects.
        commands += [answer, correction] if isinstance(answer, Deny) and state.pending_action else [correction]
    elif info is not None:
        # "I want to return the earbuds. Where would the refund go?": the errand stands beside the question.
        statement = _QUESTIONS.sub(" ", rest).strip()
        beside = statement and statement != rest.strip()  # a statement and a question, not the question alone
        errand = route_intent(statement, DialogueState(language=state.language), classifier) if beside else None
        if errand is not None and errand.intent in SERVICE_INTENTS and errand.intent.value != state.pending_intent:
            commands += _errands(statement, state, classifier, _ERRANDS[errand.intent])
        commands.append(info)
    elif routed.intent is Intent.HANDOFF:
        commands.append(Handoff(reason=rest))
    elif routed.intent in SERVICE_INTENTS:
        commands += _errands(rest, state, classifier, _ERRANDS[routed.intent])
    elif routed.intent in SHOPPING_INTENTS or routed.intent is Intent.POLICY_QUESTION:
        commands.append(Shop(act=_SHOP_ACTS[routed.intent], query=rest))
    elif routed.intent is Intent.SMALL_TALK:
        commands.append(ChitChat(act=_chit_chat_act(rest)))
    elif routed.intent is Intent.OUT_OF_SCOPE and not (slots.as_updates() or slots.confirmation is not None):
        commands.append(OutOfScope())
    elif answer is not None:
        commands.append(answer)
    elif not slots.as_updates() and route_intent(rest).intent is Intent.SMALL_TALK:
        # "thanks!" while a question is open: small talk, not an answer to it.
        commands.append(ChitChat(act=_chit_chat_act(rest)))
    # A question names things ("which card...?"): only who the customer is and which order count as values there.
    commands += _slot_commands(slots, commands, values=not isinstance(info, AskInfo))
    if not commands:
        commands.append(Clarify())
    return commands


def _errands(
    text: str, state: DialogueState, classifier: EmbeddingIntentClassifier | None, whole: Errand
) -> list[Command]:
    """One StartErrand per errand and order: "cancel #W1 and #W2" is two, "return the lamp and the vase" one.
    `whole` is the errand of the whole message, for when no clause names one on its own."""
    errands: list[StartErrand] = []
    for clause in (c for c in _CLAUSES.split(text) if c and c.strip()):
        kind = _ERRANDS.get(route_intent(clause, DialogueState(language=state.language), classifier).intent)
        order_ids: list[str | None] = list(extract(clause).order_ids)
        items = _items(clause)
        if kind is None and errands:
            # No errand named: the clause adds an order ("and #W2") or items ("and the vase") to the last one.
            kind = errands[-1].errand
            if not order_ids:
                errands[-1].items += items
                continue
        if kind is not None:
            errands += [StartErrand(errand=kind, order_id=order_id, items=items) for order_id in order_ids or [None]]
    if not errands:
        ids = extract(text).order_ids
        errands = [StartErrand(errand=whole, order_id=ids[0] if ids else None, items=_items(text))]
    # One order named once is every errand's ("return the lamp and the vase from #W1"); the same errand on the same
    # order is one errand with all its items.
    named = {e.order_id for e in errands if e.order_id}
    merged: dict[tuple[str, str | None], StartErrand] = {}
    for errand in errands:
        order_id = errand.order_id or (next(iter(named)) if len(named) == 1 else None)
        key = (errand.errand, order_id)
        if key in merged:
            merged[key].items += [i for i in errand.items if i not in merged[key].items]
        else:
            merged[key] = errand.model_copy(update={"order_id": order_id})
    return list(merged.values())


def _items(clause: str) -> list[str]:
    words = ORDER_ID.sub(" ", clause)
    words = _ITEM_TAIL.sub("", words)
    words = _ERRAND_WORDS.sub(" ", words)
    item = re.sub(r"[\s#,.!?;:，。！？]+", " ", words).strip()
    item = re.sub(r"^((a|an|and|of|to|i|in|on|with|all)\b\s*)+", "", item, flags=re.I).strip()
    # What is left of a long sentence is not an item's description ("make go away i can't afford month").
    if not item or re.fullmatch(r"[\W\d]*", item) or len(item.split()) > 4 or len(item) > 30:
        return []
    return [item]


def _correction(text: str) -> SetSlot | None:
    for pattern in _CORRECTION:
        if match := pattern.search(text):
            new = match.group("new").strip()
            new = re.sub(r"^(the|my|a|an)\s+", "", new, flags=re.I)
            if order := ORDER_ID.search(new):
                return SetSlot(slot="order_id", value=f"#{order.group(1).upper()}", correction=True)
            return SetSlot(slot="item", value=new, correction=True)
    return None


def _info(text: str, by_content: bool) -> AskInfo | None:
    """A side question; `by_content` also reads "the one with the lamp" as one (not where it names an errand's
    order: "cancel the order with the lamp")."""
    order = ORDER_ID.search(text)
    order_id = f"#{order.group(1).upper()}" if order else None
    for topic, pattern in _INFO:
        if pattern.search(text):
            option = _VARIANT_ABOUT.search(text) if topic == "variants" else None
            about = next((g.strip() for g in option.groups() if g), None) if option else None
            return AskInfo(topic=topic, order_id=order_id, about=about)
    for pattern in _BY_CONTENT if by_content else ():
        if match := pattern.search(text):
            return AskInfo(topic="list_orders", about=match.group("about").strip())
    return None


def _chit_chat_act(text: str) -> str:
    if _THANKS.search(text):
        return "thanks"
    if _BYE.search(text):
        return "goodbye"
    if _GREETING.search(text):
        return "greeting"
    return "other"


def _slot_commands(slots: SlotValues, commands: list[Command], values: bool = True) -> list[Command]:
    """The values the message gives, less those a command already carries (an errand's order id); `values` False
    keeps only identity and order ids."""
    carried = {c.order_id for c in commands if isinstance(c, (StartErrand, AskInfo)) and c.order_id}
    carried |= {c.value for c in commands if isinstance(c, SetSlot)}
    found: list[SetSlot] = []
    for order_id in slots.order_ids:
        if order_id not in carried:
            found.append(SetSlot(slot="order_id", value=order_id))
    for name in ("email", "first_name", "last_name", "zip"):
        if value := getattr(slots, name):
            found.append(SetSlot(slot=name, value=value))  # type: ignore[arg-type]
    if not values:
        return found
    if slots.reason:
        found.append(SetSlot(slot="reason", value=slots.reason))
    if payment := _payment(slots):
        found.append(SetSlot(slot="payment", value=payment))
    if slots.address:
        parts = (slots.address.get(k) for k in ("address1", "address2", "city", "state", "zip", "country"))
        found.append(SetSlot(slot="address", value=", ".join(p for p in parts if p)))
    return found


def _payment(slots: SlotValues) -> str | None:
    if slots.payment_method_id:
        return slots.payment_method_id
    if slots.original_payment:
        return "original"
    if slots.payment_kind:
        return (
            f"{slots.payment_kind} ending {slots.payment_last_four}" if slots.payment_last_four else slots.payment_kind
        )
    return None


_QUESTIONS = re.compile(r"[^.!?。！？]*[?？]")


def _first_errand_view(
    commands: list[Command], routed: Routed, slots: SlotValues, state: DialogueState
) -> tuple[Routed, SlotValues]:
    """What the handlers see: the intent of the first thing asked, and only the first errand's order."""
    waiting = state.pending_action is not None or state.pending_intent is not None
    first = commands[0]
    if isinstance(first, CancelErrand) and len(commands) == 1:
        # "start over" alone: the errand ends (or there is none); never a search for the words.
        return Routed(Intent.CONTINUE, 0.9, ("cancel_errand",)), slots
    if isinstance(first, CancelErrand):
        first = commands[1]
    if isinstance(first, StartErrand):
        errands = [c for c in commands if isinstance(c, StartErrand)]
        if len({e.order_id for e in errands}) > 1 and first.order_id:
            slots = replace(slots, order_ids=[first.order_id])
        intent = next(i for i, e in _ERRANDS.items() if e == first.errand)
        if intent is not routed.intent and routed.intent is not Intent.CONTINUE:
            routed = Routed(intent, routed.confidence, routed.matched)
    elif isinstance(first, AskInfo) and routed.intent is not Intent.CONTINUE:
        # A side question never starts an errand of its own ("which card will the refund go to?" is no return).
        routed = Routed(_ask_info_intent(first, waiting), 0.9, ("ask_info",))
    elif isinstance(first, SetSlot) and first.correction and waiting:
        routed = Routed(Intent.CONTINUE, 0.9, ("correction",))
    return routed, slots


def _ask_info_intent(question: AskInfo, waiting: bool) -> Intent:
    """The handler a side question goes to until the dialogue manager answers it: the errand under way, else the
    nearest one that shows the data."""
    if waiting:
        return Intent.CONTINUE
    if question.topic == "variants":
        return Intent.PRODUCT_QUESTION
    if question.topic in ("policy_limit", "refund_destination"):
        return Intent.POLICY_QUESTION
    return Intent.ORDER_STATUS


_SHOP_INTENTS = {act: intent for intent, act in _SHOP_ACTS.items()}
_ERRAND_INTENTS = {errand: intent for intent, errand in _ERRANDS.items()}


def model_reading(understanding: Understanding, rules: Reading, state: DialogueState) -> Reading:
    """A model's commands as the handlers take them: the first command's intent, and the rules' slot values with the
    model's added where the rules found none (the rules' reading of a value is exact, the model's may not be)."""
    commands = understanding.commands
    waiting = state.pending_action is not None or state.pending_intent is not None
    first = next((c for c in commands if not isinstance(c, CancelErrand)), commands[0])
    slots = replace(rules.slots, order_ids=list(rules.slots.order_ids))
    for command in commands:
        if isinstance(command, SetSlot):
            if command.slot == "order_id" and command.value not in slots.order_ids:
                slots.order_ids.append(command.value)
            elif command.slot in ("email", "first_name", "last_name", "zip", "reason") and (
                getattr(slots, command.slot) is None
            ):
                setattr(slots, command.slot, command.value)
        elif isinstance(command, StartErrand) and command.order_id and command.order_id not in slots.order_ids:
            slots.order_ids.append(command.order_id)
        elif isinstance(command, (Confirm, Deny, CancelErrand)) and slots.confirmation is None:
            slots.confirmation = isinstance(command, Confirm)
    if isinstance(first, StartErrand):
        intent = _ERRAND_INTENTS[first.errand]
    elif isinstance(first, AskInfo):
        intent = _ask_info_intent(first, waiting)
    elif isinstance(first, Shop):
        intent = _SHOP_INTENTS[first.act]
    elif isinstance(first, (SetSlot, Confirm, Deny)) or (isinstance(first, CancelErrand) and waiting):
        intent = Intent.CONTINUE
    elif isinstance(first, (ChitChat, CancelErrand)):
        intent = Intent.SMALL_TALK
    elif isinstance(first, Handoff):
        intent = Intent.HANDOFF
    elif isinstance(first, OutOfScope):
        intent = Intent.OUT_OF_SCOPE
    else:  # Clarify: the model could not read it either
        intent = rules.routed.intent
    if (slots.email or (slots.first_name and slots.zip)) and intent in _PASSING:
        intent = Intent.CONTINUE
    routed, slots = _first_errand_view(commands, Routed(intent, 0.9, ("model",)), slots, state)
    return Reading(understanding, routed, slots, sure=True)
