"""Which items of an order a message talks about, which variant it wants instead, and which payment method it names.

Matching is plain and explainable: product names and option values are looked up word by word in the message;
when a choice stays ambiguous the handler asks instead of guessing.
"""

from __future__ import annotations

import re
from typing import TypeVar

from assistant.dialogue.references import COLOURS_ZH
from assistant.store.models import Order, OrderItem, StoreProduct, User, Variant

T = TypeVar("T")
_ALL = re.compile(r"\b(all|everything|every item|whole order|both|all of them|entire order)\b|全部|所有|都", re.I)
_CHEAP = re.compile(r"\bcheap(er|est)?\b|便宜", re.I)
_ITEM_ID = re.compile(r"\b(\d{10})\b")
_CLAUSE = re.compile(r"\s*(?:[,;.!?，；。！？]|\band\b|\balso\b|\bplus\b|还有|以及|和)\s*", re.I)


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower())}


def names_item(name: str, text: str) -> bool:
    wanted = _words(name)
    return bool(wanted) and wanted <= _words(text)


def match_items(text: str, order: Order) -> list[OrderItem]:
    """The order's items named in the message (by product name or item id); all of them for "all"/"both"."""
    ids = set(_ITEM_ID.findall(text))
    by_id = [item for item in order.items if item.item_id in ids]
    if by_id:
        return by_id
    named = [item for item in order.items if names_item(item.name, text)]
    if named:
        return named
    if _ALL.search(text) or len(order.items) == 1:
        return list(order.items)
    return []


def _translated(text: str) -> str:
    """Chinese colour words appended in English, so "黑色" matches the option value "black"."""
    extra = [en for zh, en in COLOURS_ZH.items() if zh in text]
    return f"{text} {' '.join(extra)}" if extra else text


def _clause_for(item: OrderItem, text: str, others: list[OrderItem]) -> str:
    """The part of the message about `item`: from its name to the next item's name."""
    clauses = [c for c in _CLAUSE.split(text) if c]
    start = next((i for i, c in enumerate(clauses) if names_item(item.name, c)), None)
    if start is None:
        return text
    end = start + 1
    while end < len(clauses) and not any(names_item(o.name, clauses[end]) for o in others if o is not item):
        end += 1
    return " ".join(clauses[start:end])


def match_variant(text: str, item: OrderItem, product: StoreProduct, others: list[OrderItem]) -> list[Variant]:
    """Available variants of the item's product that fit the option values the message asks for, best first.

    A variant must differ from the current item in at least one option the message names; options the message
    does not mention prefer the current item's values. One result means the choice is clear.
    """
    clause = _translated(_clause_for(item, text, others)).lower()
    scored: list[tuple[float, Variant]] = []
    for variant in product.variants.values():
        if not variant.available or variant.item_id == item.item_id:
            continue
        asked = [v for v in variant.options.values() if re.search(rf"\b{re.escape(v.lower())}\b", clause)]
        asked_new = [k for k, v in variant.options.items() if v in asked and item.options.get(k) != v]
        if not asked_new:
            continue
        kept = sum(1 for k, v in variant.options.items() if v not in asked and item.options.get(k) == v)
        scored.append((len(asked) * 10 + kept, variant))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    top = [v for score, v in scored if score == best]
    if len(top) > 1 and _CHEAP.search(clause):
        return [min(top, key=lambda v: v.price)]
    return sorted(top, key=lambda v: v.price)


def option_choices(item: OrderItem, product: StoreProduct) -> str:
    """The option values available for the item's product, grouped by option name."""
    values: dict[str, set[str]] = {}
    for variant in product.variants.values():
        if variant.available:
            for key, value in variant.options.items():
                values.setdefault(key, set()).add(value)
    return "; ".join(f"{key}: {', '.join(sorted(vals))}" for key, vals in values.items())


def describe_item(item: OrderItem) -> str:
    return f"{item.name} ({', '.join(item.options.values())}, ${item.price:,.2f})"


def resolve_payment(
    user: User,
    order: Order | None,
    *,
    method_id: str | None,
    kind: str | None,
    last_four: str | None,
    original: bool,
) -> str | None:
    """The payment method the customer named, among their own; None when they named none that exists."""
    methods = user.payment_methods
    if method_id and method_id in methods:
        return method_id
    if last_four:
        found = [m.id for m in methods.values() if m.last_four == last_four]
        if found:
            return found[0]
    if kind:
        found = [m.id for m in methods.values() if m.source == kind]
        if len(found) == 1 or (found and kind != "credit_card"):
            return found[0]
    if original and order is not None:
        return order.original_payment_method_id
    return None


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_PICK = re.compile(r"(?<![\d$.])\b([1-9])\b(?![\d.])|\b(first|second|third|fourth|fifth)\b|第([一二三四五1-5])", re.I)


def numbered(items: list[OrderItem]) -> str:
    """The items as a numbered list, the choices a customer may answer with a number."""
    return "; ".join(f"{n}) {describe_item(item)}" for n, item in enumerate(items, start=1))


def pick_numbered(text: str, items: list[T]) -> list[T]:
    """The choices a short answer picks by number ("1 and 3", "the second one", "第二个")."""
    if len(text) > 40:
        return []
    picked: list[T] = []
    for digit, word, zh in _PICK.findall(text):
        key = (word or zh).lower()
        n = int(digit) if digit else _ORDINALS.get(key) or (int(key) if key.isdigit() else 0)
        if 1 <= n <= len(items) and items[n - 1] not in picked:
            picked.append(items[n - 1])
    return picked


def variant_examples(item: OrderItem, product: StoreProduct, limit: int = 4) -> str:
    """A few available variants of the item's product, each spelled out with its price: concrete choices."""
    others = [v for v in product.variants.values() if v.available and v.item_id != item.item_id]
    others.sort(key=lambda v: v.price)
    return "; ".join(f"{', '.join(v.options.values())} (${v.price:,.2f})" for v in others[:limit])
