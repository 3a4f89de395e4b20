"""Slot values read from one message (English and Chinese), merged into the session's slots across turns.

Extraction runs on the user's raw text inside the process (the store needs the real e-mail); what the model and the
logs see is the moderator's redacted text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Bounded by letters and digits, not by \b: in "取消#W1234567和..." the Chinese character is a word character.
# W: the retail store's order ids; S: the sample store's (the demo that `serve` starts with nothing loaded).
ORDER_ID = re.compile(r"#?\s?(?<![A-Za-z0-9])([WS]\d{7})(?!\d)", re.IGNORECASE)
# "order number 1234567", "order #1234567", "订单号1234567": the store's ids are W and seven digits.
_BARE_ORDER_ID = re.compile(
    r"(?:\border\s*(?:number|no\.?|num|id|#)?|订单号?码?)\s*[:#]?\s*(?<![\dW])(\d{7})(?!\d)", re.I
)
# ASCII only: in "邮箱olivia@example.com" the Chinese characters are word characters, not part of the address.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
ZIP = re.compile(r"(?<![\dA-Za-z#_])(\d{5})(?![\dA-Za-z_])")
_NAME = re.compile(
    r"(?i:my name is|name'?s|i am|i'm|this is|it'?s)\s+([A-Z][a-z]+)\s+([A-Z][a-z]+)|"
    r"^\s*([A-Z][a-z]+)\s+([A-Z][a-z]+)\s*[,;]?\s*(?:zip|\d{5}|$)|"
    # Typed in lowercase: only where the name is clearly a name ("my name is john smith", "john smith 12345").
    r"(?i:my name is|name'?s)\s+([a-z]+)\s+([a-z]+)\b|"
    r"^\s*([a-z]+)\s+([a-z]+)\s*[,;]?\s*(?:(?i:zip)|\d{5}\b)|"
    # After a lead-in ("sure, anya lee, zip 78227", "Of course! Anya Kovacs, 95132"): a clause of two words and a zip.
    r"[,.!:;]\s*([A-Za-z][a-z]+)\s+([A-Za-z][a-z]+)\s*[,;]?\s*(?:(?i:zip)|\d{5}\b)",
)
_NAME_ZH = re.compile(r"(?:我叫|名字是|我是)\s*([A-Za-z]+)\s+([A-Za-z]+)")

_YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok(ay)?|confirm(ed)?|go ahead|do it|please do|please proceed|proceed|correct|"
    r"that'?s (right|correct)|absolutely|definitely|y)\b|"
    r"^\s*(是的?|好的?|对的?|确认|可以|行|没问题|嗯|同意)",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"[.!;。！；\n]+")
_NO = re.compile(
    r"^\s*(no|nope|nah|don'?t|do not|stop|never ?mind|cancel that|wait|not now|n)\b|^\s*(不|不要|不用|算了|先不|等等)",
    re.IGNORECASE,
)

_REASON_MISTAKE = re.compile(r"mistake|accident|wrong(ly)?|didn'?t mean|by error|买错|错了|误", re.IGNORECASE)
_REASON_NOT_NEEDED = re.compile(
    r"no longer need|don'?t need|do not need|not need(ed)?|changed my mind|travel|found (it )?cheaper|"
    r"won'?t be (able|home)|不需要|不要了|不想要|用不上",
    re.IGNORECASE,
)

_PAYMENT_ID = re.compile(r"\b((?:credit_card|gift_card|paypal)_\d+)\b")
_PAYMENT_KIND = (
    ("gift_card", re.compile(r"gift ?card|礼品卡", re.IGNORECASE)),
    ("paypal", re.compile(r"pay ?pal|贝宝", re.IGNORECASE)),
    ("credit_card", re.compile(r"credit ?card|\bcard\b|visa|mastercard|amex|信用卡", re.IGNORECASE)),
)
_LAST_FOUR = re.compile(r"(?:ending|ends|last four|尾号)\D{0,12}(\d{4})\b", re.IGNORECASE)
_ORIGINAL_PAYMENT = re.compile(r"original (payment|method|card)|same (card|payment|method)|原(支付|付款)", re.I)

# Commas are optional and case is free: "101 main st apt 2 springfield il 62701" is an address as written.
_ADDRESS = re.compile(
    r"(?P<address1>\b\d+\s+[A-Za-z0-9 .'-]+?\b(?i:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|"
    r"Way|Court|Ct|Place|Pl|Terrace|Circle|Parkway|Highway|Hwy))\b\.?\s*,?\s*"
    r"(?:(?P<address2>(?i:Suite|Ste|Apt|Apartment|Unit|#)\.?\s*[\w-]+)\s*,?\s*)?"
    r"(?P<city>[A-Za-z][A-Za-z .'-]*?)\s*,?\s+(?P<state>[A-Za-z]{2})\s*,?\s*(?P<zip>\d{5})(?!\d)"
    r"(?:\s*,\s*(?P<country>[A-Za-z ]+))?",
)


@dataclass
class SlotValues:
    """What one message contributed; `None` means "not said"."""

    order_ids: list[str] = field(default_factory=list)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    confirmation: bool | None = None
    reason: str | None = None
    payment_method_id: str | None = None
    payment_kind: str | None = None
    payment_last_four: str | None = None
    original_payment: bool = False
    address: dict[str, str] | None = None

    def as_updates(self) -> dict[str, Any]:
        """The non-empty values, as session slot updates (the confirmation is per turn, never kept)."""
        updates: dict[str, Any] = {}
        if self.order_ids:
            updates["order_id"] = self.order_ids[-1]
        for name in (
            "email",
            "first_name",
            "last_name",
            "zip",
            "reason",
            "payment_method_id",
            "payment_kind",
            "payment_last_four",
            "address",
        ):
            value = getattr(self, name)
            if value:
                updates[name] = value
        if self.original_payment:
            updates["original_payment"] = True
        return updates


def extract(text: str) -> SlotValues:
    values = SlotValues()
    values.order_ids = [f"#{m.upper()}" for m in ORDER_ID.findall(text)]
    values.order_ids += [f"#W{m}" for m in _BARE_ORDER_ID.findall(text) if f"#W{m}" not in values.order_ids]
    if email := EMAIL.search(text):
        values.email = email.group(0).lower().rstrip(".")
    address = _ADDRESS.search(text)
    if address:
        values.address = {k: (v or "").strip() for k, v in address.groupdict().items()}
        values.address["state"] = values.address["state"].upper()
        values.address["country"] = values.address.get("country") or "USA"
    text_wo_email = EMAIL.sub(" ", text)
    # A zip inside a new address is the address's, not the customer's identity.
    zips = ZIP.findall(_ADDRESS.sub(" ", text_wo_email) if address else text_wo_email)
    if zips:
        values.zip = zips[-1]
    name = _NAME.search(text_wo_email) or _NAME_ZH.search(text_wo_email)
    if name:
        parts = [g for g in name.groups() if g]
        if len(parts) >= 2 and parts[0].lower() not in _NOT_NAMES and parts[1].lower() not in _NOT_NAMES:
            values.first_name, values.last_name = parts[0].title(), parts[1].title()
    values.confirmation = confirmation(text)
    values.reason = cancel_reason(text)
    if pid := _PAYMENT_ID.search(text):
        values.payment_method_id = pid.group(1)
    for kind, pattern in _PAYMENT_KIND:
        if pattern.search(text):
            values.payment_kind = kind
            break
    if last_four := _LAST_FOUR.search(text):
        values.payment_last_four = last_four.group(1)
    values.original_payment = bool(_ORIGINAL_PAYMENT.search(text))
    return values


# "that email", "the email I gave you", "同一个邮箱": the customer points back at an email said earlier.
_EARLIER_EMAIL = re.compile(
    r"\b(that|the same|same|my (old|previous|earlier)|the (previous|earlier|first|one))\s+e-?mail\b|"
    r"\be-?mail (address )?i (gave|sent|mentioned|used|wrote|typed|said)|"
    r"(那个|刚才的?|之前的?|上面的?|前面的?|同一个|同样的)(邮箱|电子邮件|邮件地址)",
    re.IGNORECASE,
)


def earlier_email(text: str, known: dict[str, str]) -> str | None:
    """The email the customer refers back to ("use that email"): the latest one in the conversation's PII map."""
    if not _EARLIER_EMAIL.search(text):
        return None
    emails = [value for placeholder, value in known.items() if placeholder.startswith("[EMAIL_")]
    return emails[-1].lower() if emails else None


# Words that start sentences ("I am Looking for...") or come before a zip ("my zip 12345") and are not names.
_NOT_NAMES = {
    *("looking", "trying", "going", "not", "here", "sorry", "just", "the", "a", "an", "very", "so", "fine"),
    *("my", "zip", "code", "is", "order", "number", "postal", "and", "with", "at", "in", "id", "ok", "yes", "no"),
}


def confirmation(text: str) -> bool | None:
    """An explicit yes (True) or no (False); anything else is None — a change never runs on an unclear answer.

    A question is never a yes ("so the visa is credit_card_1?" asks, it does not agree); a short yes after a
    statement is ("gift card is what i want. yes")."""
    if _NO.search(text):
        return False
    if "?" in text or "？" in text:
        return None
    if _YES.search(text) or any(
        _YES.search(sentence) and len(sentence.split()) <= 3 for sentence in _SENTENCES.split(text)[1:]
    ):
        return True
    return None


def cancel_reason(text: str) -> str | None:
    """One of the two cancellation reasons the policy accepts, when the message states one."""
    if _REASON_MISTAKE.search(text):
        return "ordered by mistake"
    if _REASON_NOT_NEEDED.search(text):
        return "no longer needed"
    return None
