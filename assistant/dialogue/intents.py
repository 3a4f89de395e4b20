"""Intent routing, English and Chinese: weighted keyword rules first, with the conversation state as context.

Rules are transparent and fast (well under a millisecond); `eval dialogue --intents` measures them on the Bitext
support-intents set. Context matters: "the second one?" after a product list is a product question, "cheaper" a
refinement, an e-mail address while an order request waits for identity continues that request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from assistant.dialogue.language import detect_language
from assistant.sessions import DialogueState

Encoder = Callable[[list[str]], np.ndarray]


class Intent(StrEnum):
    PRODUCT_SEARCH = "product_search"
    REFINE = "refine"
    COMPARE = "compare"
    PRODUCT_QUESTION = "product_question"
    RECOMMENDATION = "recommendation"
    ORDER_STATUS = "order_status"
    CANCEL = "cancel"
    MODIFY = "modify"
    RETURN = "return"
    EXCHANGE = "exchange"
    ADDRESS_CHANGE = "address_change"
    POLICY_QUESTION = "policy_question"
    HANDOFF = "handoff"
    SMALL_TALK = "small_talk"
    OUT_OF_SCOPE = "out_of_scope"
    CONTINUE = "continue"  # slot values or a yes/no for the request already under way


SERVICE_INTENTS = frozenset(
    {Intent.ORDER_STATUS, Intent.CANCEL, Intent.MODIFY, Intent.RETURN, Intent.EXCHANGE, Intent.ADDRESS_CHANGE}
)
SHOPPING_INTENTS = frozenset(
    {Intent.PRODUCT_SEARCH, Intent.REFINE, Intent.COMPARE, Intent.PRODUCT_QUESTION, Intent.RECOMMENDATION}
)


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


# (intent, weight, pattern). Weights break ties where a message matches several intents: "cancel my return" is a
# cancel, "return policy" a policy question, "exchange address" rarely happens.
_RULES: list[tuple[Intent, float, re.Pattern[str]]] = [
    (
        Intent.HANDOFF,
        3.0,
        _rx(
            r"\b(human|real person|live (agent|person|chat)|representative|operator|supervisor|manager)\b",
            r"\b(talk|speak|chat|connect|transfer)\b.{0,30}\b(agent|someone|person|support|customer service)\b",
            r"\bcustomer (service|support|care)\b",
            r"\bcomplain(t)?\b",
            r"人工|真人|转接|客服|投诉",
        ),
    ),
    (
        Intent.CANCEL,
        2.6,
        _rx(
            # "noise cancelling headphones" is a product, not a cancellation.
            r"(?<!noise )(?<!noise-)(?<!noise)\bcancel+(ing|ed|ation)?\b(?!\s*(headphones?|earbuds?|headsets?|mic))",
            r"\b(don'?t|do not|no longer) (want|need) (the |my |this )?(order|purchase|it)\b",
            r"\bcall off\b",
            r"取消|不要了|撤销订单",
        ),
    ),
    (
        Intent.EXCHANGE,
        2.5,
        _rx(r"\bexchang\w*\b", r"\bswap\b", r"\btrade (it|this)\b", r"换货|换成|换一(个|下|双|件)|换掉|调换|更换"),
    ),
    (
        Intent.RETURN,
        2.4,
        _rx(
            r"\breturn(ing|ed)?\b(?! policy)",
            r"\b(get|want|need|request|claim|obtain)\b.{0,25}\b(refund|money back|reimburse\w*)",
            r"\brefund\b",
            r"\bsend (it|them|this) back\b",
            r"退货|退款|退回|退钱|退掉|退了|(要|想|帮我)退(?!订阅)",
        ),
    ),
    (
        Intent.ADDRESS_CHANGE,
        2.3,
        _rx(
            r"\b(shipping|delivery|default|home|my)? ?address\b",
            r"\bship (it )?to (a |another |my )?(different|new|other)\b",
            r"\b(moved|moving) (house|to)\b",
            r"地址|收货地|搬家",
        ),
    ),
    (
        Intent.MODIFY,
        2.2,
        _rx(
            r"\b(modify|modif\w+|edit|amend|update|alter|adjust)\b.{0,30}\b(order|purchase|item|payment)\b",
            r"\bchange\b.{0,30}\b(order|purchase|item|size|colou?r|option|payment|card)\b",
            r"\b(order|purchase)\b.{0,20}\b(change|modification)\b",
            r"修改|改(一下)?订单|改成|改为|换支付|更改",
        ),
    ),
    (
        Intent.ORDER_STATUS,
        2.0,
        _rx(
            r"\b(track|tracking|trace|locate)\b",
            r"\bwhere('?s| is| are)\b.{0,20}\b(order|package|parcel|purchase|delivery|stuff|items?)\b",
            r"\b(order|package|delivery|shipment|purchase)\b.{0,15}\b(status|state|arrive|arriving|shipped|come)\b",
            r"\bstatus of\b",
            r"\b(has|have|did) (my|the) (order|package|items?)\b",
            r"\bmy (orders?|purchases?)\b",
            r"\b(check|see|look up|show)\b.{0,15}\border",
            r"物流|快递|订单状态|到哪|发货了|我的订单|查(一下|询)?订单|什么时候到",
        ),
    ),
    (
        Intent.POLICY_QUESTION,
        2.7,
        _rx(
            r"\bpolic(y|ies)\b",
            r"\b(rules?|terms)\b.{0,20}\b(return|refund|cancel|exchange)",
            r"\b(can|could) (i|you|we)\b.{0,25}\b(return|cancel|exchange|refund|modify)\b.{0,40}"
            r"\b(after|if|when|once)\b",
            r"\bhow (long|many days)\b.{0,40}\b(refund|return|exchange|cancel)",
            r"\b(cancellation|restocking) fees?\b",
            r"\bhow (do|does|can) (i|you|a|the)\b.{0,20}\b(refund|return|exchange)s? (work|process)",
            r"政策|规定|规则|多久.{0,6}(退|到账)|能不能退|可以退吗",
        ),
    ),
    (
        Intent.COMPARE,
        2.8,
        _rx(
            r"\bcompar\w*\b",
            r"\bvs\.?\b|\bversus\b",
            r"\bdifferences?\b",
            r"\bwhich (one )?(is|would be|should i)\b.{0,20}\b(better|best|cheaper|lighter|faster|buy|get|choose)\b",
            r"\bwhich (of (these|those|them|the \w+)|one|ones?)\b.{0,25}\b(\w+est|better|cheaper|lighter|faster)\b",
            r"\b(better|cheaper) than\b",
            r"比较|对比|区别|哪个(更|最)?好|哪个(最)?便宜|哪一个|哪(个|款)最",
        ),
    ),
    (
        Intent.RECOMMENDATION,
        1.9,
        _rx(
            r"\brecommend\w*\b",
            r"\bsuggest\w*\b",
            r"\b(for|suit|fit)s? me\b",
            r"\bsomething (nice|good|i'?d like|for me)\b",
            r"\bwhat should i (buy|get)\b",
            r"推荐|适合我|给我挑|帮我选",
        ),
    ),
    (
        Intent.SMALL_TALK,
        1.0,
        _rx(
            r"^\s*(hi|hello|hey|yo|good (morning|afternoon|evening)|thanks?( you)?|thank you( very much| so much)?|"
            r"thx|bye|goodbye|see you|how are you|ok(ay)?|cool|great|nice)\b[\s!.?,]*"
            r"(there|so much|a lot|very much|again)?[\s!.?]*$",
            r"^\s*(who|what) are you\b",
            r"^\s*(你好|您好|嗨|哈喽|谢谢|多谢|再见|拜拜|你是谁)[\s！!。.？?]*$",
        ),
    ),
    # Thanks and goodbyes with more words ("thanks for your help, that's all"): still not a search.
    # A thanks outweighs the words after it ("thanks, that went better than I expected" compares nothing).
    (
        Intent.SMALL_TALK,
        2.9,
        _rx(
            r"^\s*((ok(ay)?|great|perfect|awesome|cool|alright|no),?\s+)?(thanks?|thank you|thx|cheers|bye|goodbye|"
            r"have a (nice|good|great) (day|one|evening)|that'?s (all|it|everything))\b"
            r"(?!.*\b(but|can you|could you|please|want|need|find|show|looking|where|why|how|what|which)\b)"
            r"[^?]{0,60}$",
            r"^\s*(谢谢|多谢|感谢|好的?，?谢谢|再见|拜拜|没有了|没别的了|就这些)[^？?吗]{0,20}$",
            # A closing word or two ("ugh, fine.", "ok whatever", "done."): the customer is finishing, not searching.
            r"^\s*((ok(ay)?|fine|done|finally|ugh|alright|great|perfect|cool|good)\b[\s,.!…]*){1,3}$",
        ),
    ),
    (
        Intent.OUT_OF_SCOPE,
        1.6,
        _rx(
            r"\b(weather|forecast|news|politic\w*|election|president|joke|poem|story|song|lyrics|recipe)\b",
            r"\b(write|solve|calculate|translate)\b.{0,30}\b(code|program|essay|equation|homework|script)\b",
            r"\b(stock market|bitcoin|crypto|lottery|horoscope|meaning of life)\b",
            r"天气|新闻|笑话|写诗|写一首|股票|彩票|政治|作业",
        ),
    ),
    (
        Intent.PRODUCT_SEARCH,
        2.0,
        _rx(
            r"\b(looking for|look for|search(ing)? for|show me|want to buy|do you (have|sell|carry)|shopping for|"
            r"in the market for)\b",
            r"我想买|想买|帮我找|有没有|有卖",
        ),
    ),
    # Weak cues: "I need help with my order" is not a search.
    (
        Intent.PRODUCT_SEARCH,
        1.2,
        _rx(r"\b(find( me)?|i need|i want|any|buy)\b", r"找|要一(个|台|双|件|款)|买"),
    ),
]

# A product question about something already shown: "does it have bluetooth?", "is the second one waterproof?"
_PRODUCT_QUESTION = _rx(
    r"\b(does|do|is|are|can|will|has|have)\b.{0,25}\b(it|this|that|they|them|one|first|second|third|last)\b",
    r"\b(how (big|heavy|long|much|many|large|fast)|what('?s| is| are) (the|its)|which (colou?rs?|sizes?))\b",
    r"\b(battery|weight|warranty|material|dimension|size|colou?r|capacity|resolution|bluetooth|waterproof|"
    r"wireless|memory|storage|screen)\b.*\?",
    r"它|这个|那个|第[一二三四五1-5](个|款)?.*(吗|多少|什么|几|支持|有没有)",
    r"(支持|有没有|是不是|多重|多大|什么颜色).*[吗？?]?$",
)
# A refinement of the last list: price direction, a filter, a colour, stock.
_REFINE = _rx(
    r"^\s*(something |any(thing)? |one )?(cheaper|less expensive|more expensive|pricier|bigger|smaller|lighter|"
    r"newer|better)\b",
    r"\b(under|below|less than|cheaper than|over|above|more than|between|at most|max(imum)?|within)\s*\$?\s*\d",
    r"^\s*(only |just )?(in stock|available)( ones| only)?\s*[.!?]*$",
    r"^\s*(in|the) (black|white|red|blue|green|grey|gray|silver|gold|pink|purple|brown)\b",
    r"^\s*(what about|how about|and|only|just|but|prefer(ably)?)\b",
    r"便宜(一)?点|更便宜|贵一点|\d+\s*(元|块)?\s*(以下|以内|以上)|有货的|只要|黑色的|白色的|红色的|蓝色的",
)
# A shopping question that needs no product shown to be a shopping question ("is it in stock?"): never out of scope.
_SHOP_QUESTION = _rx(
    r"\b(in stock|out of stock|availab\w+|sold out|how much (is|are|does|do)|price|cost|cheapest|most expensive)\b",
    r"有货|库存|现货|多少钱|价格|最便宜|最贵",
)
_NO_PERSON = _rx(
    r"\b(no|not|don'?t|do not|without)\b.{0,20}\b(human|person|agent|representative|transfer)",
    r"(不要|不用|别|不需要).{0,4}(人工|转接|真人|客服)",
)
_BECOME = _rx(r"\b(become|be changed to|be switched to)\b", r"(换成|改成|变成)")
_YES_NO_OR_SLOT = _rx(
    r"^\s*(yes|yeah|yep|yup|sure|ok(ay)?|confirm(ed)?|go ahead|do it|please do|correct|right|that'?s right|"
    r"no|nope|nah|don'?t|stop|never ?mind)\b",
    r"^\s*(是的?|好的?|对|确认|可以|行|没问题|不|不要|不用|算了|取消吧)",
    r"#?W\d{7}\b",
    # Answers to "what should X become?": "none of those, the same one", "an identical replacement".
    r"^\s*none of (those|these|them)\b|\b(identical|replacement|the (exact )?same (one|item|model|options?))\b",
    r"[\w.+-]+@[\w-]+\.[\w.]+",
    r"\b\d{5}\b",
)
_SEARCH_VERB = _rx(r"\b(show me|looking for|look for|search|find|do you (have|sell))\b", r"有没有|我想买|帮我找")
_ORDINAL_REF = _rx(
    r"\b(first|second|third|fourth|fifth|last|cheaper|cheapest|pricier|[1-5](st|nd|rd|th)) (one|option|item)\b",
    r"\b(the|that|this) (one|black|white|red|blue)\b",
    r"第[一二三四五1-5]个|那个|这个|它",
)


@dataclass(frozen=True)
class Routed:
    intent: Intent
    confidence: float
    matched: tuple[str, ...]


class EmbeddingIntentClassifier:
    """Nearest examples in a sentence-embedding space (cross-lingual with a multilingual encoder).

    Used where the rules are silent or unsure: it recognises paraphrases no keyword list anticipates ("I can no
    longer pay for purchase 123" is a cancellation).
    """

    def __init__(self, encode: Encoder, min_similarity: float = 0.45) -> None:
        from assistant.dialogue.intent_examples import EXAMPLES

        self.encode = encode
        self.min_similarity = min_similarity
        self.labels = [intent for intent, texts in EXAMPLES.items() for _ in texts]
        self._texts = [text for texts in EXAMPLES.values() for text in texts]
        self._matrix: np.ndarray | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> np.ndarray:
        """The examples' vectors, encoded once: concurrent first turns wait for one encoding instead of each
        encoding all examples (that cost about a second per turn under load)."""
        with self._lock:
            if self._matrix is None:
                self._matrix = self.encode(self._texts)
            return self._matrix

    def classify(self, text: str) -> tuple[Intent, float] | None:
        sims = self.warm_up() @ self.encode([text])[0]
        best = int(np.argmax(sims))
        if float(sims[best]) < self.min_similarity:
            return None
        return self.labels[best], float(sims[best])


def route(
    text: str,
    state: DialogueState | None = None,
    classifier: EmbeddingIntentClassifier | None = None,
    fills_slot: bool = False,
) -> Routed:
    """The intent of one message in the context of the conversation so far.

    `fills_slot` says the message carries a slot value (an e-mail, an order id, a reason...): while a request
    waits for details, such a message continues it.
    """
    state = state or DialogueState()
    scores: dict[Intent, float] = {}
    for intent, weight, pattern in _RULES:
        if pattern.search(text):
            scores[intent] = max(scores.get(intent, 0.0), weight)

    if Intent.HANDOFF in scores and _NO_PERSON.search(text):
        # "no human please", "不要转人工" turns a person down: an answer, never a hand-off or a search.
        del scores[Intent.HANDOFF]
        if not scores.keys() & SERVICE_INTENTS:
            return Routed(Intent.CONTINUE, 0.8, ("no_person",))
    has_shown = bool(state.shown)
    if has_shown and _PRODUCT_QUESTION.search(text):
        scores[Intent.PRODUCT_QUESTION] = max(scores.get(Intent.PRODUCT_QUESTION, 0.0), 2.1)
    if (has_shown or state.last_query) and _REFINE.search(text):
        scores[Intent.REFINE] = max(scores.get(Intent.REFINE, 0.0), 1.8)
    if _SHOP_QUESTION.search(text) and Intent.REFINE not in scores:  # "only in stock ones" narrows the list
        scores[Intent.PRODUCT_QUESTION] = max(scores.get(Intent.PRODUCT_QUESTION, 0.0), 2.1 if has_shown else 1.5)
    if has_shown and _ORDINAL_REF.search(text) and not scores.keys() & SERVICE_INTENTS:
        scores[Intent.PRODUCT_QUESTION] = max(scores.get(Intent.PRODUCT_QUESTION, 0.0), 1.5)

    waiting = state.pending_action is not None or state.pending_intent is not None
    if not waiting and _BECOME.search(text):  # "could the phone become black, 128GB?" asks to change an item
        scores[Intent.MODIFY] = max(scores.get(Intent.MODIFY, 0.0), 2.2)
    if waiting and (fills_slot or _YES_NO_OR_SLOT.search(text)):
        # A new explicit request still wins over continuing ("no, I want to return it instead").
        best_new = max((s for i, s in scores.items() if i in SERVICE_INTENTS | {Intent.HANDOFF}), default=0.0)
        if best_new < 2.0 or (state.pending_action is not None and _is_bare_answer(text)):
            return Routed(Intent.CONTINUE, 0.9, ("pending",))
    if waiting and scores and max(scores.values()) < 2.0 and _is_bare_answer(text) and not _SEARCH_VERB.search(text):
        # A short answer to the question just asked ("the art theme please", "买错了").
        return Routed(Intent.CONTINUE, 0.6, ("pending",))

    if not scores and waiting:
        return Routed(Intent.CONTINUE, 0.5, ("pending",))
    strong = [i for i, score in scores.items() if score >= 2.0]
    # Greetings are matched on the whole message: no need to ask the classifier.
    settled = len(strong) == 1 or set(scores) == {Intent.SMALL_TALK}
    if classifier is not None and not settled:
        guess = classifier.classify(text)
        # Where rules fired strongly the guess only chooses among them: "exchange an item from my order" is no
        # modification however close its nearest example is.
        if guess is not None and (guess[0] in scores or (not strong and (not scores or guess[1] >= 0.6))):
            return Routed(guess[0], round(guess[1], 3), ("embedding",))
    if not scores:
        # Short noun phrases ("wireless earbuds", "蓝牙耳机") are searches; questions without a product are not.
        if _looks_like_product_phrase(text):
            return Routed(Intent.PRODUCT_SEARCH, 0.5, ())
        return Routed(Intent.OUT_OF_SCOPE, 0.4, ())
    intent = max(scores, key=lambda i: scores[i])
    total = sum(scores.values())
    return Routed(intent, round(scores[intent] / total, 3), tuple(sorted(i.value for i in scores)))


def _is_bare_answer(text: str) -> bool:
    return len(text.split()) <= 6 or len(text) <= 12


_QUESTION_WORDS = _rx(r"^\s*(what|why|who|when|how|where|is|are|can|could|would|should|tell me)\b", r"[吗呢？?]$")


def _looks_like_product_phrase(text: str) -> bool:
    words = text.strip().split()
    if not words:
        return False
    if _QUESTION_WORDS.search(text):
        return False
    return len(words) <= 8 or (len(text) <= 20 and detect_language(text) == "zh")
