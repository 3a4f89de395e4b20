"""The grounding guard: prices (and their currency), stock states, order statuses, policy numbers and product
specifications in a generated reply are checked against the data the turn used. A wrong price, stock state or status
is corrected where the sentence names exactly one product or order, and the sentence is removed otherwise. A number
with a unit ("16 GB", "10 hours", "27英寸") or a feature claim ("supports USB-C", "compatible with HP LaserJet
P1102", "快充") must be found in the data of the products the reply is about; the first such sentence that is not
becomes "the product data does not say", later ones are removed. Above a list of product cards, a sentence saying
the store has none of what the cards show is removed. Works sentence by sentence, so streamed text is checked before
it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.dialogue.templates import money, render
from retrieval.zh_glossary import ZH_EN

_MONEY = re.compile(
    r"(US\$|\$|USD\s?|RMB\s?|¥|￥|€|£)\s?(\d[\d,]*(?:\.\d+)?)"
    r"|(\d[\d,]*(?:\.\d+)?)\s?(dollars?|USD|美元|人民币|元|块|RMB|euros?|欧元)",
    re.IGNORECASE,
)
# What a written currency is: a dollar price said in 元 is a wrong price.
_CURRENCY_OF = {
    "us$": "USD", "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "美元": "USD",
    "rmb": "CNY", "¥": "CNY", "￥": "CNY", "元": "CNY", "块": "CNY", "人民币": "CNY",
    "€": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR", "£": "GBP",
}  # fmt: skip
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
_FINAL = (".", "!", "?", "。", "！", "？", "…", ")", "）", '"', "”")
# "return" and "exchange" are ordinary words until "requested" makes them an order status: hold the word back
# until the next one shows which.
_STATUS_START = re.compile(r"\b(?:return|exchange)\s*$", re.I)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？;；])\s+|(?<=[。！？；])|\n+")

# A number with a unit is a specification: it must be a number in the product's data.
_UNITS = (
    r"[GTMK]B|mAh|Wh|kW|W|V|[kMG]?Hz|ms|h|hrs?|hours?|mins?|minutes?|inch(?:es)?|\"|”|″|英寸|寸|kg|g|grams?|lbs?|"
    r"pounds?|mm|cm|m|meters?|metres?|ppm|dpi|MP|megapixels?|fps|nits?|dB|[MG]bps|[MG]bit/s|pages?|cores?|%|"
    r"小时|毫安时?|克|公斤|千克|毫米|厘米|米|瓦|像素|万像素|核|页"
)
_SPEC = re.compile(rf"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?-?\s?({_UNITS})(?![A-Za-z0-9])", re.I)
# Spellings of one unit, so "15.6 inch" is found as '15.6"' in a title and "10小时" as "10 hours".
_UNIT_KEY = {
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "小时": "h", "inch": "in", "inches": "in", '"': "in", "”": "in",
    "″": "in", "英寸": "in", "寸": "in", "公斤": "kg", "千克": "kg", "gram": "g", "grams": "g", "克": "g", "lb": "lbs",
    "pound": "lbs", "pounds": "lbs", "毫米": "mm", "厘米": "cm", "meter": "m", "meters": "m", "metre": "m",
    "metres": "m", "米": "m", "瓦": "w", "毫安": "mah", "毫安时": "mah", "megapixel": "mp", "megapixels": "mp",
    "page": "pages", "页": "pages", "core": "cores", "核": "cores", "min": "mins", "minute": "mins", "minutes": "mins",
    "nit": "nits",
}  # fmt: skip
# A bare number in the data ("internal memory: 8") stands for a unit only under a name that measures it.
_MEASURES = {
    "gb": "memory storage capacity ram ssd hdd flash", "tb": "storage capacity hdd ssd", "mb": "memory cache capacity",
    "mah": "battery capacity", "wh": "battery capacity", "h": "battery life time runtime autonomy duration",
    "in": "display diagonal screen", "w": "power output consumption", "hz": "refresh frequency rate",
    "ghz": "frequency processor", "mhz": "frequency memory clock", "kg": "weight", "g": "weight", "mm": "width "
    "height depth thickness length diameter", "cm": "width height depth length", "m": "length cable distance range",
    "ppm": "speed print", "dpi": "resolution", "mp": "megapixel resolution camera", "pages": "yield pages",
    "cores": "cores", "%": "%", "fps": "frame", "db": "noise sound", "mins": "time duration",
}  # fmt: skip
_BARE_VALUE = re.compile(r"(?:^|;\s*)([^:;]+):\s*(\d[\d,]*(?:\.\d+)?)\s*(?=;|$)", re.M)
# A claim that a product does something or goes with something: what it names must be in the product's data.
_CLAIM_EN = re.compile(
    r"(?:\b(?:it|they|both|can|does|do|will|also|to|that|which|and)\s+support|\bsupports|\bsupporting|"
    r"\bcompatible with|\bworks? with|\bdesigned for|\bfits|\bincludes?|\bincluding|\bcomes? with|\bequipped with|"
    r"\bbundled with|\bships with)\s+(.+?)(?=[,.;:!?()]|\s(?:and|or|so|which|that|but|while|for)\s|$)",
    re.I,
)
_CLAIM_ZH = re.compile(
    r"(?:支持|兼容|适用于|适配|配有|附带|自带|包含|内置|带有)(.+?)(?=[，。,.；;！!？?、（(]|和|以及|$)"
)
# Features a reply may name without a verb ("fast charging", "USB-C"): each with the words that mean it in the data.
_FEATURES: dict[str, tuple[str, ...]] = {
    r"\busb[- ]?c\b|\btype[- ]?c\b": ("usb-c", "usb type-c", "type-c", "usb c"),
    r"\bfast[- ]charg\w*|\bquick[- ]charg\w*|快充|快速充电": ("fast charg", "quick charg"),
    r"\bwireless charg\w*|无线充电": ("wireless charg", "qi"),
    r"\bbluetooth\b|蓝牙": ("bluetooth",),
    r"\bwi-?fi\b|\bwlan\b|无线网络": ("wi-fi", "wifi", "wlan", "802.11"),
    r"\bnfc\b": ("nfc",),
    r"\bwaterproof\b|\bwater[- ]resistant\b|防水": ("waterproof", "water resistant", "water-resistant", "ip6", "ipx"),
    r"\bnoise[- ]cancel+(?:ing|ation)\b|\banc\b|降噪": ("noise cancel", "anc"),
    r"\btouch ?screen\b|触摸屏|触屏": ("touch",),
    r"\bbacklit\b|\bbacklight\w*|背光": ("backlit", "backlight"),
    r"\b4k\b": ("4k", "3840"),
    r"\bhdr\b": ("hdr",),
    r"\bgps\b": ("gps",),
    r"\bthunderbolt\b|雷电": ("thunderbolt",),
    r"\bduplex\b|双面打印": ("duplex",),
    r"\bwireless\b|无线": ("wireless", "bluetooth", "wi-fi", "wifi", "wlan", "802.11"),
}  # fmt: skip
_FEATURE = {re.compile(pattern, re.I): words for pattern, words in _FEATURES.items()}
# Saying the data is silent is not a claim.
_SILENT = re.compile(
    r"\b(?:does(?:n't| not) (?:say|mention|list|specify|state)|(?:is|are) not (?:listed|mentioned|specified|stated)|"
    r"no information|not sure|don't know|do not know)\b"
    r"|没有(?:提到|说明|列出|注明|这方面)|未(?:注明|说明|提及|列出)|不确定",
    re.I,
)
# "We don't have any 27-inch monitors" above a list of them: the cards are the truth.
_NEGATIVE_AVAILABILITY = re.compile(
    r"\b(?:do(?:n't| not)|does(?:n't| not)|did(?:n't| not)) (?:currently )?(?:have|carry|sell|stock|offer)\b|"
    r"\b(?:couldn't|could not|can't|cannot|unable to|did not|didn't) find\b|\bthere (?:are|is) no\b|"
    r"\bno (?:[\w\"-]+\s){0,4}?(?:available|in stock|found|products?|items?|options?|results?|matches|models?)\b|"
    r"\bnone (?:of (?:them|these|our)|are|is)\b|没有找到|找不到|暂无|没有(?:这|相关|合适|符合|任何)|"
    r"没有.{0,10}(?:商品|产品|款|型号)|不(?:提供|销售|出售)",
    re.I,
)
# Words that may announce a claim or a spec: a sentence is held from them on until it can be checked whole.
_CLAIMY = re.compile(
    r"\b(?:support|compatib|works? with|designed for|fits|includ|comes? with|equipped|bundled|ships with|usb|type-?c|"
    r"fast|quick|charg|wireless|bluetooth|wi-?fi|wlan|nfc|water|noise|anc|touch|backl|4k|hdr|gps|thunderbolt|duplex|"
    r"don't|do not|doesn't|does not|didn't|did not|couldn't|could not|can't|cannot|unable|no|none)\b"
    r"|[\"”″]|支持|兼容|适用|适配|配有|附带|自带|包含|内置|带有|快充|快速|无线|蓝牙|防水|降噪|触|背光|雷电|双面|没有|找不到|暂无|不",
    re.I,
)
_WORD = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*", re.I)
_CLAIM_STOP = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "it", "its", "up", "to", "most", "many", "all", "any",
    "some", "other", "your", "you", "our", "their", "of", "with", "and", "or", "in", "on", "for", "by", "as", "is",
    "are", "be", "standard", "various", "select", "certain", "budget", "needs", "need", "requirements", "request",
    "criteria", "search", "price", "range", "what", "looking"
})  # fmt: skip  # words a claim is made of that name nothing in the data


@dataclass
class GroundedProduct:
    id: str
    title: str
    price: float | None
    in_stock: bool
    brand: str = ""
    currency: str = "USD"
    data: str = ""  # everything the catalog says about it (title, description, attributes): what specs may cite


@dataclass
class Facts:
    """What the turn read from the data; anything else the model states about these kinds of facts is suspect."""

    products: list[GroundedProduct] = field(default_factory=list)
    amounts: set[float] = field(default_factory=set)
    orders: dict[str, str] = field(default_factory=dict)  # order id -> status
    policy_text: str = ""
    numbers_text: str = ""  # any other source text whose numbers may be quoted (product attributes, the template)
    language: str = "en"  # of the reply: the note that replaces an unfounded claim is in it
    listing: bool = False  # the reply sits above these products' cards: it may not say the store has none

    def allowed_amounts(self) -> set[float]:
        return self.amounts | {p.price for p in self.products if p.price is not None}

    @property
    def currency(self) -> str:
        """The catalog's currency: every price is stated in it."""
        return self.products[0].currency if self.products else "USD"


def amounts_in(text: str) -> set[float]:
    """Every number in TEXT as an amount: what the customer wrote ("under 100 dollars") may be said back."""
    return {float(raw.replace(",", "")) for raw in _NUMBER.findall(text)}


@dataclass
class GuardReport:
    corrected: int = 0
    removed: int = 0
    notes: list[str] = field(default_factory=list)
    said_unknown: bool = False  # the "data does not say" note was given once already


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
    fixed = _check_policy_numbers(fixed, facts, report)
    if fixed is None:
        return None
    if facts.listing and facts.products and _NEGATIVE_AVAILABILITY.search(fixed):
        report.removed += 1
        report.notes.append(f"removed a claim the cards contradict: {fixed.strip()[:80]}")
        return None
    unfounded = _unfounded_spec(fixed, facts)
    if unfounded is None:
        return fixed
    report.removed += 1
    report.notes.append(f"removed an unfounded {unfounded}: {fixed.strip()[:80]}")
    if report.said_unknown:
        return None
    report.said_unknown = True
    return render("spec_unknown", facts.language)


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
        self.hold = False  # set near the token limit: from then on only whole sentences are shown
        names = {w for p in facts.products for w in (p.brand, *p.title.split()[:1]) if len(w) > 1}
        self._names = re.compile("|".join(re.escape(n) for n in sorted(names)), re.I) if names else None
        self._buffer = ""  # the unfinished sentence
        self._released = 0  # how much of it has been shown already

    def at_sentence_end(self) -> bool:
        """Nothing unfinished is pending: a stop here cuts no sentence."""
        return not self._buffer.strip() or self._buffer.rstrip().endswith(_FINAL)

    def feed(self, token: str) -> str:
        self._buffer += token
        out: list[str] = []
        while match := _BOUNDARY.search(self._buffer):
            sentence, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            out.append(self._finish(sentence))
        if not (self.hold or _RISKY.search(self._buffer) or _CLAIMY.search(self._buffer)):
            cut = len(self._buffer) if _CJK.search(self._buffer) else self._buffer.rfind(" ") + 1
            if forming := _STATUS_START.search(self._buffer[:cut]):
                cut = forming.start()
            if self._names and (named := self._names.search(self._buffer)):
                cut = min(cut, named.start())  # a sentence about a product is checked whole from its name on
            if cut > self._released:
                out.append(self._buffer[self._released : cut])
                self._released = cut
        return "".join(out)

    def flush(self, cut: bool = False) -> str:
        """The rest of the reply. `cut`: the model was stopped by the token limit, so an unfinished last sentence
        is dropped rather than shown ("because it is within the budg")."""
        rest, self._buffer = self._buffer, ""
        if cut and rest.strip() and not rest.rstrip().endswith(_FINAL):
            shown, self._released = rest[: self._released], 0
            self.report.removed += 1
            self.report.notes.append(f"removed an unfinished sentence: {rest.strip()[:80]}")
            return "…" if shown.strip() else ""
        return self._finish(rest) if rest.strip() else rest[self._released :]

    def _finish(self, sentence: str) -> str:
        shown, self._released = sentence[: self._released], 0
        body = sentence.strip()
        if not body:
            return sentence[len(shown) :]
        checked = check_sentence(body, self.facts, self.report)
        lead = sentence[: len(sentence) - len(sentence.lstrip())]
        tail = sentence[len(sentence.rstrip()) :]
        full = "" if checked is None else lead + checked.strip() + tail
        if full.startswith(shown):
            return full[len(shown) :]
        if shown.strip():
            # Fact-free words of it were shown already: they are closed off instead of left hanging.
            return render("unconfirmed", self.facts.language) + (tail or ("" if self.facts.language == "zh" else " "))
        return full


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
    raw = (match.group(2) or match.group(3) or "").replace(",", "")
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
        if amount is None:
            continue
        if any(abs(amount - a) < 0.006 for a in allowed):
            written = (match.group(1) or match.group(4) or "").strip().lower()
            if _CURRENCY_OF.get(written, facts.currency) != facts.currency:
                result = result[: match.start()] + money(amount, facts.currency) + result[match.end() :]
                report.corrected += 1
                report.notes.append(f"currency {written} -> {facts.currency} for {amount}")
            continue
        products = _mentioned_products(sentence, facts)
        priced = [p for p in products if p.price is not None]
        if len(priced) == 1:
            price = priced[0].price or 0.0
            result = result[: match.start()] + money(price, facts.currency) + result[match.end() :]
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
    source = " ".join([facts.policy_text, facts.numbers_text, *(p.data for p in facts.products)]).lower()
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


def _unfounded_spec(sentence: str, facts: Facts) -> str | None:
    """What the sentence claims about the products that their data does not say, or None. Questions and "the data
    does not say" are no claims; a number with a unit must be one of the data's numbers."""
    if not facts.products or sentence.rstrip().endswith(("?", "？")):
        return None
    about = _mentioned_products(sentence, facts) or facts.products
    data = "\n".join([*(p.data or p.title for p in about), facts.numbers_text]).lower()
    specs = _specs_in(data)
    for match in _SPEC.finditer(sentence):
        value, unit = float(match.group(1).replace(",", "")), _unit(match.group(2))
        if not any(abs(value - v) < 1e-6 and unit == u for v, u in specs):
            return f"specification {match.group(0).strip()!r}"
    if _SILENT.search(sentence):
        return None
    for pattern, words in _FEATURE.items():
        if (found := pattern.search(sentence)) and not any(w in data for w in words):
            return f"feature {found.group(0)!r}"
    claims = [m.group(1) for m in _CLAIM_EN.finditer(sentence)] + [m.group(1) for m in _CLAIM_ZH.finditer(sentence)]
    for claimed in claims:
        if not _claim_in_data(claimed, data):
            return f"claim {claimed!r}"
    return None


def _unit(written: str) -> str:
    key = written.lower()
    return _UNIT_KEY.get(key, key)


def _specs_in(data: str) -> set[tuple[float, str]]:
    """(value, unit) pairs the data states: numbers written with a unit, and bare attribute values under a name
    that measures a unit (every unit the name fits)."""
    found = {(float(m.group(1).replace(",", "")), _unit(m.group(2))) for m in _SPEC.finditer(data)}
    for match in _BARE_VALUE.finditer(data):
        name, value = match.group(1), float(match.group(2).replace(",", ""))
        found |= {(value, unit) for unit, names in _MEASURES.items() if any(n in name for n in names.split())}
    return found


def _claim_in_data(claimed: str, data: str) -> bool:
    """Every word the claim names is in the data: English words (model numbers too) as written, Chinese terms
    through the shopping glossary; a Chinese claim the glossary cannot read is not supported."""
    words = [
        w
        for w in _WORD.findall(claimed.lower())
        if w not in _CLAIM_STOP and not w.replace(".", "").isdigit() and not any(p.fullmatch(w) for p in _FEATURE)
    ]
    if any(not re.search(rf"(?<![a-z0-9]){re.escape(w.rstrip('s') or w)}", data) for w in words):
        return False
    chinese = "".join(_CJK.findall(claimed))
    if not chinese:
        return True
    terms = [en for zh, en in ZH_EN.items() if zh in chinese]
    if not terms:  # a feature ("USB-C 充电") was checked on its own above
        return bool(words) or any(p.search(claimed) for p in _FEATURE)
    return all(any(re.search(rf"(?<![a-z0-9]){re.escape(e)}", data) for e in en.split()) for en in terms)
