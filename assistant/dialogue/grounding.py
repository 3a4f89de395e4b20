"""The grounding guard: prices, stock states, order statuses and policy numbers in a generated reply are checked
against the data the turn used. A wrong value is corrected where the sentence names exactly one product or order,
and the sentence is removed otherwise. Works sentence by sentence, so streamed text is checked before it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MONEY = re.compile(
    r"(?:US\$|\$|USD\s?|¥|￥|€|£)\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:dollars?|USD|美元|元|块)",
    re.IGNORECASE,
)
_ORDER_ID = re.compile(r"#?\b(W\d{7})\b", re.IGNORECASE)
_STATUSES = (
    "pending (item modified)", "return requested", "exchange requested", "pending", "processed", "delivered",
    "cancelled", "canceled", "shipped",
)  # fmt: skip
_STATUS = re.compile(r"\b(" + "|".join(re.escape(s).replace(r"\ ", r"\s") for s in _STATUSES) + r")\b", re.I)
_OUT = re.compile(r"\b(out of stock|sold out|unavailable|not available|not in stock)\b|缺货|无货|售罄", re.I)
_IN = re.compile(r"\b(in stock|available now|available)\b|有货|现货", re.I)
_DAYS = re.compile(r"\b(\d+)(?:\s*(?:-|to)\s*(\d+))?\s*(?:business\s+|working\s+)?(days?|weeks?|months?)\b|(\d+)\s*天")
_PERCENT = re.compile(r"\b(\d+(?:\.\d+)?)\s?%")
_BOUNDARY = re.compile(r"[.!?;](?=\s)\s*|[。！？；]\s*|\n+")
_RISKY = re.compile(
    r"\d|[$¥￥€£%]|元|天|\b(pending|processed|delivered|cancell?ed|shipped|stock|available|unavailable|sold)\w*"
    r"|\b(return|exchange)\s+request|有货|缺货|现货|售罄|退|发货",
    re.I,
)
_CJK = re.compile(r"[\u3400-\u9fff]")
# "return" and "exchange" are ordinary words until "requested" makes them an order status: hold the word back
# until the next one shows which.
_STATUS_START = re.compile(r"\b(?:return|exchange)\s*$", re.I)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？;；])\s+|(?<=[。！？；])|\n+")


@dataclass
class GroundedProduct:
    id: str
    title: str
    price: float | None
    in_stock: bool
    brand: str = ""


@dataclass
class Facts:
    """What the turn read from the data; anything else the model states about these kinds of facts is suspect."""

    products: list[GroundedProduct] = field(default_factory=list)
    amounts: set[float] = field(default_factory=set)
    orders: dict[str, str] = field(default_factory=dict)  # order id -> status
    policy_text: str = ""
    numbers_text: str = ""  # any other source text whose numbers may be quoted (product attributes, the template)

    def allowed_amounts(self) -> set[float]:
        return self.amounts | {p.price for p in self.products if p.price is not None}


def amounts_in(text: str) -> set[float]:
    """Every number in TEXT as an amount: what the customer wrote ("under 100 dollars") may be said back."""
    return {float(raw.replace(",", "")) for raw in _NUMBER.findall(text)}


@dataclass
class GuardReport:
    corrected: int = 0
    removed: int = 0
    notes: list[str] = field(default_factory=list)


def split_sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text) if part and part.strip()]


def check_sentence(sentence: str, facts: Facts, report: GuardReport) -> str | None:
    """The sentence as it may be shown (possibly corrected), or None when it must be removed."""
    fixed = _check_money(sentence, facts, report)
    if fixed is None:
        return None
    fixed = _check_orders(fixed, facts, report)
    if fixed is None:
        return None
    fixed = _check_stock(fixed, facts, report)
    if fixed is None:
        return None
    return _check_policy_numbers(fixed, facts, report)


def guard_text(text: str, facts: Facts) -> tuple[str, GuardReport]:
    report = GuardReport()
    kept = [s for s in (check_sentence(s, facts, report) for s in split_sentences(text)) if s]
    return " ".join(s.strip() for s in kept), report


class SentenceGuard:
    """Feed streamed tokens; get back text that is safe to show, as early as possible.

    Words that cannot carry a checkable fact are released as they arrive (so the first token reaches the user at
    once); from the first digit, currency, status or stock word on, the sentence is held until it ends and then
    checked whole. The pieces returned concatenate to the guarded reply.
    """

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.report = GuardReport()
        self._buffer = ""  # the unfinished sentence
        self._released = 0  # how much of it has been shown already

    def feed(self, token: str) -> str:
        self._buffer += token
        out: list[str] = []
        while match := _BOUNDARY.search(self._buffer):
            sentence, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            out.append(self._finish(sentence))
        if not _RISKY.search(self._buffer):
            cut = len(self._buffer) if _CJK.search(self._buffer) else self._buffer.rfind(" ") + 1
            if forming := _STATUS_START.search(self._buffer[:cut]):
                cut = forming.start()
            if cut > self._released:
                out.append(self._buffer[self._released : cut])
                self._released = cut
        return "".join(out)

    def flush(self) -> str:
        rest, self._buffer = self._buffer, ""
        return self._finish(rest) if rest.strip() else rest[self._released :]

    def _finish(self, sentence: str) -> str:
        shown, self._released = sentence[: self._released], 0
        body = sentence.strip()
        if not body:
            return sentence[len(shown) :]
        checked = check_sentence(body, self.facts, self.report)
        lead = sentence[: len(sentence) - len(sentence.lstrip())]
        tail = sentence[len(sentence.rstrip()) :]
        if checked is None:
            # Only fact-free words were shown; the sentence ends there.
            return tail if shown.strip() else ""
        full = lead + checked.strip() + tail
        return full[len(shown) :] if full.startswith(shown) else full[len(shown) :].lstrip()


def _mentioned_products(sentence: str, facts: Facts) -> list[GroundedProduct]:
    lowered = sentence.lower()
    found = []
    for product in facts.products:
        head = " ".join(product.title.lower().split()[:3])
        if (head and head in lowered) or product.title.lower() in lowered:
            found.append(product)
    if not found:
        found = [p for p in facts.products if p.brand and re.search(rf"\b{re.escape(p.brand.lower())}\b", lowered)]
    return found


def _parse_amount(match: re.Match[str]) -> float | None:
    raw = (match.group(1) or match.group(2) or "").replace(",", "")
    try:
        return float(raw)
    except ValueError:
        return None


def _check_money(sentence: str, facts: Facts, report: GuardReport) -> str | None:
    allowed = facts.allowed_amounts()
    matches = list(_MONEY.finditer(sentence))
    if not matches:
        return sentence
    result = sentence
    for match in reversed(matches):
        amount = _parse_amount(match)
        if amount is None or any(abs(amount - a) < 0.006 for a in allowed):
            continue
        products = _mentioned_products(sentence, facts)
        priced = [p for p in products if p.price is not None]
        if len(priced) == 1:
            price = priced[0].price or 0.0
            result = result[: match.start()] + f"${price:,.2f}" + result[match.end() :]
            report.corrected += 1
            report.notes.append(f"price {amount} -> {price} for {priced[0].id}")
        else:
            report.removed += 1
            report.notes.append(f"removed unsupported amount {amount}: {sentence.strip()[:80]}")
            return None
    return result


def _check_orders(sentence: str, facts: Facts, report: GuardReport) -> str | None:
    ids = [f"#{m.upper()}" for m in _ORDER_ID.findall(sentence)]
    for order_id in ids:
        if order_id not in facts.orders:
            report.removed += 1
            report.notes.append(f"removed unknown order {order_id}")
            return None
    statuses = list(_STATUS.finditer(sentence))
    if not statuses:
        return sentence
    targets = ids or (list(facts.orders) if len(facts.orders) == 1 else [])
    if len(targets) != 1:
        if statuses and facts.orders and not ids:
            report.removed += 1
            report.notes.append("removed a status not tied to one order")
            return None
        return sentence
    actual = facts.orders[targets[0]]
    result = sentence
    for match in reversed(statuses):
        said = re.sub(r"\s+", " ", match.group(1).lower()).replace("canceled", "cancelled")
        if said == actual or said in actual.split(" ("):
            continue
        result = result[: match.start()] + actual + result[match.end() :]
        report.corrected += 1
        report.notes.append(f"status {said} -> {actual} for {targets[0]}")
    return result


def _check_stock(sentence: str, facts: Facts, report: GuardReport) -> str | None:
    says_out = _OUT.search(sentence)
    says_in = None if says_out else _IN.search(sentence)
    if not (says_out or says_in) or not facts.products:
        return sentence
    claim_in = says_in is not None
    products = _mentioned_products(sentence, facts)
    if len(products) == 1:
        if products[0].in_stock == claim_in:
            return sentence
        match = says_out or says_in
        assert match is not None
        replacement = "in stock" if products[0].in_stock else "out of stock"
        report.corrected += 1
        report.notes.append(f"stock for {products[0].id} -> {replacement}")
        return sentence[: match.start()] + replacement + sentence[match.end() :]
    candidates = products or facts.products
    if all(p.in_stock == claim_in for p in candidates):
        return sentence
    report.removed += 1
    report.notes.append(f"removed an unverifiable stock claim: {sentence.strip()[:80]}")
    return None


def _check_policy_numbers(sentence: str, facts: Facts, report: GuardReport) -> str | None:
    source = f"{facts.policy_text} {facts.numbers_text}".lower()
    for match in _DAYS.finditer(sentence):
        numbers = [g for g in (match.group(1), match.group(2), match.group(4)) if g]
        if any(not re.search(rf"\b{n}\b", source) for n in numbers):
            report.removed += 1
            report.notes.append(f"removed an unsupported time frame: {match.group(0)}")
            return None
    for match in _PERCENT.finditer(sentence):
        if match.group(1) not in source:
            report.removed += 1
            report.notes.append(f"removed an unsupported percentage: {match.group(0)}")
            return None
    return sentence
