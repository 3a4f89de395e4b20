"""PII detection and masking with typed placeholders (`[EMAIL_1]`, `[PHONE_2]`, ...), reversible through a `PiiMap`.

The LLM, the logs and the review queue see the masked text; store tools get `pii_map.restore(args)` so they
receive the real values (e.g. the email used to verify identity), and the reply may be restored for the user.
Payment data (card numbers, CVV, expiry dates) is never needed by a tool: `PiiMap.storable()` keeps only a
harmless stand-in for it, so what a conversation stores cannot give it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
# Digit groups joined by single spaces or dashes, not glued to letters: a card number is some consecutive groups
# of such a run (one run may hold an order number, then a card).
_DIGIT_RUN = re.compile(r"(?<![\dA-Za-z-])\d+(?:[ -]\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
_CN_MOBILE = re.compile(r"(?<![\dA-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\dA-Za-z])")
# International numbers need a leading +/00 country code; national ones need the usual separators so that order
# numbers, SKUs and prices are never mistaken for phones.
_INTL_PHONE_RUN = re.compile(r"(?<![\w+])(?:\+|00)[1-9](?:[ .-]?\(?\d+\)?)*")
_NATIONAL_PHONE = re.compile(r"(?<![\dA-Za-z])(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\dA-Za-z])")
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy"
    r"|Square|Sq|Highway|Hwy|Circle|Cir|Trail|Alley"
)
_EN_ADDRESS = re.compile(
    rf"\b\d{{1,6}}\s+(?:[A-Z][A-Za-z'-]*\s+){{1,4}}(?:{_STREET_SUFFIX})\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Unit|#)\.?\s*[\w-]+)?"
)
# Anchored on "<road> <number>号", with at most 30 Chinese characters of place names before it: bounded, so a
# long text without an address costs linear time (an open-ended prefix backtracks catastrophically).
_ZH_ADDRESS = re.compile(
    r"[\u4e00-\u9fa5]{1,30}?(?:路|街|大道|巷|胡同|弄)\s*\d{1,5}\s*[号弄]"
    r"(?:\s*\d{1,4}\s*(?:栋|幢|号楼|单元))*(?:\s*\d{1,5}\s*(?:室|房))?"
)


# A security code or an expiry date is only recognisable by its label ("cvv 123", "exp 04/27") or by following a
# card number; the value (group 1) is masked, the label kept. Never the start of a longer number.
_NOT_CONTINUED = r"(?!\d|[ -]\d)"
_CVV = re.compile(
    r"(?<![A-Za-z])(?:cvv2?|cvc2?|cvn|csc|security\s+code|card\s+(?:code|verification(?:\s+(?:code|value))?)|安全码)"
    rf"(?![A-Za-z])\W{{0,3}}(?:is\s+)?(\d{{3,4}}){_NOT_CONTINUED}",
    re.IGNORECASE,
)
_EXPIRY_DATE = r"(?:0?[1-9]|1[0-2])\s?[/-]\s?(?:20\d{2}|\d{2})(?![\d/])"
_EXPIRY = re.compile(
    r"(?<![A-Za-z])(?:exp(?:iry|ires|iration)?(?:\s+date)?|valid\s+(?:thru|through|until)|good\s+thru|有效期)"
    rf"(?![A-Za-z])\.?\W{{0,3}}(?:is\s+|on\s+)?({_EXPIRY_DATE})",
    re.IGNORECASE,
)
# Right after a card number: "4111 1111 1111 1111 04/27 123" (expiry, then security code, each optional).
_CARD_EXTRAS = re.compile(
    rf"[\s,;:]*(?P<EXPIRY>{_EXPIRY_DATE})?[\s,;:]*(?:(?P<CVV>\d{{3,4}}){_NOT_CONTINUED})?"
)
PAYMENT_KINDS = frozenset({"CARD", "CVV", "EXPIRY"})
_CARD_CONTEXT_KINDS = frozenset({"CVV", "EXPIRY"})  # recognised only by a label or a card before them


@dataclass(frozen=True)
class PiiSpan:
    kind: str
    start: int
    end: int
    value: str


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def cn_id_valid(value: str) -> bool:
    """GB 11643 checksum of an 18-character resident ID number."""
    body, check = value[:17], value[17].upper()
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11] == check


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _card_ok(digits: str) -> bool:
    # Issuer numbers start with 2-6 (Mastercard, Amex/JCB/Diners, Visa, Discover/UnionPay).
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1 and luhn_valid(digits)


def _card_spans(text: str) -> Iterator[tuple[int, int]]:
    """Card numbers: the longest Luhn-valid window of whole digit groups, leftmost first, in every digit run.

    Windows rather than whole runs, so a card beside other numbers ("order 2000000000 4111 1111 1111 1111") is
    still found; whole groups, so a card is never cut out of the middle of a longer number."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(text, run.start(), run.end())]
        i = 0
        while i < len(groups):
            digits, best = "", None
            for j in range(i, len(groups)):
                digits += text[groups[j][0] : groups[j][1]]
                if len(digits) > 19:
                    break
                if _card_ok(digits):
                    best = j
            if best is None:
                i += 1
                continue
            yield groups[i][0], groups[best][1]
            i = best + 1


# A Chinese address match may start with the words that introduce it ("地址是", "寄到"): keep only the address.
_ZH_LEAD_IN = re.compile(r"^.*(?:地址|住址|是|在|到|为|寄|送)")


def _trim_zh_address(span: PiiSpan) -> PiiSpan:
    lead = _ZH_LEAD_IN.match(span.value[: max(0, len(span.value) - 4)])
    if not lead:
        return span
    cut = lead.end()
    return PiiSpan(span.kind, span.start + cut, span.end, span.value[cut:])


def _intl_phone_spans(text: str) -> Iterator[tuple[int, int]]:
    """International numbers: the longest run of whole digit groups after the +/00 that holds 8-15 digits (E.164),
    so a number followed by another ("+44 20 7946 0958 12345678") is still found."""
    for run in _INTL_PHONE_RUN.finditer(text):
        best = None
        for end in range(run.start() + 1, run.end() + 1):
            if end < run.end() and text[end].isdigit():
                continue  # a number ends where a group ends
            if 8 <= len(_digits(text[run.start() : end])) <= 15:
                best = end
        if best is not None:
            yield run.start(), best


_SpanFinder = Callable[[str], Iterator[tuple[int, int]]]


def _matches(pattern: re.Pattern[str], accept: Callable[[str], bool] = lambda _value: True) -> _SpanFinder:
    def find(text: str) -> Iterator[tuple[int, int]]:
        for m in pattern.finditer(text):
            if m.group(0).strip() and accept(m.group(0).strip()):
                yield m.span()

    return find


def _labelled(pattern: re.Pattern[str]) -> _SpanFinder:
    def find(text: str) -> Iterator[tuple[int, int]]:
        for m in pattern.finditer(text):
            yield m.span(1)

    return find


def _card_extras(text: str, cards: list[PiiSpan]) -> Iterator[PiiSpan]:
    """The expiry date and security code written right after each card number."""
    for card in cards:
        m = _CARD_EXTRAS.match(text, card.end)
        for kind in ("EXPIRY", "CVV"):
            if m and m.group(kind):
                yield PiiSpan(kind, m.start(kind), m.end(kind), m.group(kind))


@dataclass(frozen=True)
class _Detector:
    kind: str
    find: _SpanFinder
    trim: Callable[[PiiSpan], PiiSpan] = lambda span: span


# Order matters: earlier detectors claim their spans first (an ID number is not also a card or a phone).
_DETECTORS: tuple[_Detector, ...] = (
    _Detector("EMAIL", _matches(_EMAIL)),
    _Detector("ID_NUMBER", _matches(_CN_ID, cn_id_valid)),
    _Detector("CARD", _card_spans),
    _Detector("CVV", _labelled(_CVV)),
    _Detector("EXPIRY", _labelled(_EXPIRY)),
    _Detector("PHONE", _matches(_CN_MOBILE)),
    _Detector("PHONE", _intl_phone_spans),
    _Detector("PHONE", _matches(_NATIONAL_PHONE)),
    _Detector("ADDRESS", _matches(_EN_ADDRESS)),
    _Detector("ADDRESS", _matches(_ZH_ADDRESS), _trim_zh_address),
)

_PLACEHOLDER = re.compile(r"\[(EMAIL|ID_NUMBER|CARD|CVV|EXPIRY|PHONE|ADDRESS)_(\d+)\]")


@dataclass
class PiiMap:
    """Placeholder -> original value. Reused across the turns of a conversation, so a value keeps its placeholder."""

    values: dict[str, str] = field(default_factory=dict)

    def placeholder_for(self, kind: str, value: str) -> str:
        for placeholder, original in self.values.items():
            if original == value and placeholder.startswith(f"[{kind}_"):
                return placeholder
        n = 1 + sum(1 for p in self.values if p.startswith(f"[{kind}_"))
        placeholder = f"[{kind}_{n}]"
        self.values[placeholder] = value
        return placeholder

    def restore(self, text: str) -> str:
        """Puts the original values back in place of the placeholders this map knows; others stay as they are."""
        return _PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)

    def storable(self) -> dict[str, str]:
        """The map as a conversation may keep it: payment values replaced by a stand-in ("•••• 1111")."""
        return {p: _stand_in(p, v) for p, v in self.values.items()}

    def kinds(self) -> set[str]:
        return {p[1:].rsplit("_", 1)[0] for p in self.values}

    def __bool__(self) -> bool:
        return bool(self.values)


def _stand_in(placeholder: str, value: str) -> str:
    kind = placeholder[1:].rsplit("_", 1)[0]
    if kind not in PAYMENT_KINDS:
        return value
    return "•••• " + _digits(value)[-4:] if kind == "CARD" else "•••"


def find_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping PII spans in text order."""
    taken: list[PiiSpan] = []
    # Later detectors see the spans already claimed blanked out, so their windows stop where a claimed span begins
    # ("+1 0000 0000 4111 1111 1111 1111": the card, then the phone before it) instead of being dropped whole.
    unclaimed = text
    for det in _DETECTORS:
        found = [det.trim(PiiSpan(det.kind, start, end, text[start:end])) for start, end in det.find(unclaimed)]
        for span in found:
            unclaimed = _blank(unclaimed, span)
        taken += found
    for span in list(_card_extras(unclaimed, [s for s in taken if s.kind == "CARD"])):
        unclaimed = _blank(unclaimed, span)
        taken.append(span)
    # A value found once is masked wherever else it appears, even glued into a longer number or word where no
    # detector would take it on its own. Not a security code or an expiry date: three or four digits would be cut
    # out of order numbers and prices ("cvv 734 for order #W7345").
    for span in [s for s in taken if s.kind not in _CARD_CONTEXT_KINDS]:
        start = unclaimed.find(span.value)
        while start != -1:
            again = PiiSpan(span.kind, start, start + len(span.value), span.value)
            taken.append(again)
            unclaimed = _blank(unclaimed, again)
            start = unclaimed.find(span.value, again.end)
    return sorted(taken, key=lambda s: s.start)


def _blank(text: str, span: PiiSpan) -> str:
    return text[: span.start] + "\0" * (span.end - span.start) + text[span.end :]


def mask_pii(text: str, pii_map: PiiMap | None = None) -> tuple[str, PiiMap]:
    """Returns the masked text and the map that restores it (the given map, extended, when one is passed)."""
    pii_map = pii_map if pii_map is not None else PiiMap()
    out: list[str] = []
    pos = 0
    for span in find_pii(text):
        out.append(text[pos : span.start])
        out.append(pii_map.placeholder_for(span.kind, span.value))
        pos = span.end
    out.append(text[pos:])
    return "".join(out), pii_map
