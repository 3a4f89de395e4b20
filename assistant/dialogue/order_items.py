"""Which items of an order a message talks about, which variant it wants instead, and which payment method it names.

Matching is plain and explainable: product names and option values are looked up word by word in the message;
when a choice stays ambiguous the handler asks instead of guessing.
"""

from __future__ import annotations

import re
from typing import TypeVar

from assistant.dialogue.references import COLOURS_ZH
from assistant.dialogue.templates import render
from assistant.store.models import Order, OrderItem, StoreProduct, User, Variant

T = TypeVar("T")
_ALL = re.compile(r"\b(all|everything|every item|whole order|both|all of them|entire order)\b|全部|所有|都", re.I)
# Saying every item outright: wins over a list of names that may be incomplete ("all of them. vacuum, speaker").
_EVERY = re.compile(
    r"\b(all of them|all (?:of )?(?:the |my |these |those )?(?:\w+ )?items|(?<!that's )(?<!that is )(?<!thats )"
    r"everything(?! else)(?! is)|every item|all \w+ of them|"
    r"whole order|entire order)\b|全部|所有",
    re.I,
)
_EXCEPT = re.compile(r"\b(except|but not|other than|apart from|besides)\b|除了|以外|之外", re.I)
_CHEAP = re.compile(r"\bcheap(er|est)?\b|便宜", re.I)
_ITEM_ID = re.compile(r"\b(\d{10})\b")
# A full stop between digits is a decimal point ("6.5-inch"), not the end of a clause.
_CLAUSE = re.compile(r"\s*(?:[,;!?，；。！？]|\.(?!\d)|\band\b|\balso\b|\bplus\b|还有|以及|和)\s*", re.I)
# A new unit of the very item the customer has (the store accepts exchanging an item for the same one).
_SAME = re.compile(
    r"\b(?:the )?(?:exact )?same(?: one| item| model| thing| product| kind| variant|$)|\bexact same\b|\bidentical\b|"
    r"\ba replacement\b|\bnew one of the same\b|\breplace it with (?:a new )?(?:one|the same)\b|"
    r"一样的|一模一样|同款|同样的|相同的",
    re.I,
)
# Words that name no product: said around a list of items without being one.
_FILLER = frozenset((
    "thank", "thanks", "please", "ok", "okay", "yes", "no", "yeah", "sure", "hi", "hello", "them", "all", "both",
    "everything", "item", "items", "one", "ones", "thing", "things", "return", "exchange", "change", "modify",
    "cancel", "want", "like", "would", "just", "those", "these", "that", "this", "it", "the", "a", "an", "my", "of",
    "i", "to", "too", "as", "well", "order", "in", "from", "for", "with", "and", "also", "plus", "is", "are", "me",
    "you", "can", "could", "do", "that's", "thats", "whole", "entire", "every", "only", "same", "new", "back",
))  # fmt: skip


def _stem(word: str) -> str:
    """A word without its plural ending, the same for "shelves"/"shelf", "watches"/"watch", "speakers"/"speaker"."""
    if word.endswith("ves") and len(word) > 4:
        return word[:-3] + "f"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if re.search(r"(ss|x|ch|sh|z)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        return word[:-1]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", _english(text).lower())}


def _english(text: str) -> str:
    """Chinese product words with the store's English ones appended ("吸尘器" -> vacuum)."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    from assistant.dialogue.store_answers import english_words  # it imports this module

    return english_words(text)


def names_item(name: str, text: str) -> bool:
    wanted = _words(name)
    return bool(wanted) and wanted <= _words(text)


def _distinctive(item: OrderItem, items: list[OrderItem]) -> set[str]:
    """Words of the item's product name that no differently named item of the order shares: "vacuum" and
    "cleaner" for the Vacuum Cleaner, "speaker" for the Bluetooth Speaker."""
    shared = {w for other in items if other.name != item.name for w in _words(other.name)}
    return {w for w in _words(item.name) - shared if w not in _FILLER and not w.isdigit() and len(w) > 2}


def _named(item: OrderItem, text: str, items: list[OrderItem]) -> bool:
    return names_item(item.name, text) or bool(_distinctive(item, items) & _words(text))


def match_items(text: str, order: Order) -> list[OrderItem]:
    """The order's items named in the message (by item id, product name or a distinctive word of it, plural or
    not); all of them for "all of them" / "everything" / "全部", or for "all"/"both" when nothing is named."""
    ids = set(_ITEM_ID.findall(text))
    by_id = [item for item in order.items if item.item_id in ids]
    if by_id:
        return by_id
    if _EVERY.search(text) and not _EXCEPT.search(text):
        return list(order.items)
    named = [item for item in order.items if _named(item, text, order.items)]
    if named:
        return named
    if _ALL.search(text) or len(order.items) == 1:
        return list(order.items)
    return []


def unmatched_mentions(text: str, order: Order) -> list[str]:
    """Parts of a list of items that name none of the order's items ("vacuum, speaker, lamp": "lamp" when the
    order has no lamp), for asking about them instead of dropping them silently. Only short list parts count:
    a sentence around the list is not an item."""
    parts = [p.strip() for p in _CLAUSE.split(text) if p and p.strip()]
    if len(parts) < 2 or not any(_named(i, p, order.items) for p in parts for i in order.items):
        return []
    values = {v.lower() for item in order.items for v in item.options.values()}
    missing = []
    for part in parts:
        said = [w for w in re.findall(r"[a-z0-9']+", part.lower()) if w not in _FILLER]
        if not said and re.search(r"[\u4e00-\u9fff]", part) and _english(part) != part:
            said = [part]  # a Chinese product word the store knows ("台灯")
        if not said or len(said) > 3 or _ITEM_ID.search(part) or _EVERY.search(part) or part.lower() in values:
            continue
        if any(_named(i, part, order.items) for i in order.items):
            continue
        missing.append(part)
    return missing


def _translated(text: str) -> str:
    """Chinese colour words appended in English, so "黑色" matches the option value "black"."""
    extra = [en for zh, en in COLOURS_ZH.items() if zh in text]
    return f"{text} {' '.join(extra)}" if extra else text


def _clause_for(item: OrderItem, text: str, others: list[OrderItem]) -> str:
    """The part of the message about `item`: from its name to the next item's name."""
    group = [item, *(o for o in others if o is not item)]
    clauses = [c for c in _CLAUSE.split(text) if c]
    start = next((i for i, c in enumerate(clauses) if _named(item, c, group)), None)
    if start is None:
        return text
    end = start + 1
    while end < len(clauses) and not any(
        _named(o, clauses[end], group) and not _named(item, clauses[end], group) for o in group[1:]
    ):
        end += 1
    return " ".join(clauses[start:end])


# Values that mean "without": "no backlight", "without a backlight", "backlight: none".
_ABSENT = frozenset(("none", "no"))
_NEGATION = r"(?:no|without(?: an?)?|not|non)"
_UNITS = r"gb|tb|mb|ml|l|mm|ft|mah|mp|k|p|w|x|lbs?|inch(?:es)?|in|hours?|bar|cups?|liters?|litres?|degrees|piece"


def _tokens(text: str) -> list[str]:
    """Words and numbers with their unit joined ("128 GB" -> "128gb", "31-inch" -> "31inch"), plural-free."""
    lowered = re.sub(rf"(\d)[\s-]+({_UNITS})\b", r"\1\2", text.lower())
    lowered = lowered.replace('"', "inch")
    return [_stem(w.strip(".")) for w in re.findall(r"[a-z0-9%.]+", lowered) if w.strip(".")]


def _value_named(key: str, value: str, clause: str, siblings: set[str]) -> bool:
    """Whether the clause names `value` of option `key`: whole ("6.5-inch"), by what tells it from the option's
    other values ("80%" for "80% size", "31 inch" for "31-inch", "4GB RAM"), or, for "none"/"no", by the option's
    name negated ("no backlight", "not water resistant")."""
    lowered = value.lower()
    key_words = [w for w in re.findall(r"[a-z]+", key.lower()) if len(w) > 2]
    if lowered in _ABSENT:
        names = [re.escape(key.lower())] + [re.escape(w) for w in key_words]
        return any(re.search(rf"\b{_NEGATION}[\s-]+{n}", clause) for n in names) or bool(
            re.search(rf"\b{re.escape(key.lower())}\s*(?::|=|is)?\s*{re.escape(lowered)}\b", clause)
        )
    if lowered == "yes":
        return bool(
            re.search(rf"\b{re.escape(key.lower())}\s*(?::|=|is)?\s*yes\b", clause)
            or (
                re.search(rf"\b{re.escape(key.lower())}\b", clause)
                and not re.search(_NEGATION + r"[\s-]+" + re.escape(key_words[0] if key_words else key.lower()), clause)
            )
        )
    if re.search(rf"(?<![\w.]){re.escape(lowered)}(?![\w%])", clause):
        return True
    said = set(_tokens(clause))
    own = _tokens(value)
    common = set.intersection(*(set(_tokens(v)) for v in siblings)) if len(siblings) > 1 else set()
    # Only telling words that say something: "a" does not name "Brand A", nor "s" the size S.
    telling = [t for t in own if t not in common]
    if not telling or any(t in _FILLER or (len(t) == 1 and t.isalpha()) for t in telling):
        return False
    return all(t in said for t in telling)


def asks_same_item(text: str) -> bool:
    """Whether the message asks for a new unit of the very item ("the same one", "identical", "同款")."""
    return bool(_SAME.search(text))


def same_variant(item: OrderItem, product: StoreProduct) -> Variant | None:
    """The item's own variant, when a new unit of it can be had; None when it is not available."""
    variant = product.variants.get(item.item_id)
    return variant if variant is not None and variant.available else None


def match_variant(text: str, item: OrderItem, product: StoreProduct, others: list[OrderItem]) -> list[Variant]:
    """Available variants of the item's product that fit the option values the message asks for, best first.

    Values may be written bare, in any order and in part ("clicky, no backlight, 80%"). A variant must differ from
    the current item in at least one option the message names; options the message does not mention prefer the
    current item's values. One result means the choice is clear. Asking for "the same one" gives the item's own
    variant when it is available (see `same_variant`; nothing when it is not).
    """
    clause = _translated(_clause_for(item, text, others)).lower()
    values: dict[str, set[str]] = {}
    for variant in product.variants.values():
        for key, value in variant.options.items():
            values.setdefault(key, set()).add(value)
    named = {(key, value) for key, vals in values.items() for value in vals if _value_named(key, value, clause, vals)}
    # "rose gold" names rose gold, not also gold.
    named -= {(k, v) for k, v in named for k2, v2 in named if k2 == k and v != v2 and v.lower() in v2.lower()}
    scored: list[tuple[float, Variant]] = []
    for variant in product.variants.values():
        if not variant.available or variant.item_id == item.item_id:
            continue
        asked = [k for k, v in variant.options.items() if (k, v) in named]
        asked_new = [k for k in asked if item.options.get(k) != variant.options[k]]
        if not asked_new:
            continue
        kept = sum(1 for k, v in variant.options.items() if k not in asked and item.options.get(k) == v)
        scored.append((len(asked) * 10 + kept, variant))
    if not scored:
        if asks_same_item(clause) or asks_same_item(text):
            own = same_variant(item, product)
            return [own] if own is not None else []
        return []
    best = max(score for score, _ in scored)
    top = [v for score, v in scored if score == best]
    if len(top) > 1 and _CHEAP.search(clause):
        return [min(top, key=lambda v: v.price)]
    return sorted(top, key=lambda v: v.price)


def same_item_unavailable(text: str, item: OrderItem, product: StoreProduct, language: str) -> str | None:
    """What to say when the customer asks for a new unit of the very item but it is sold out (None otherwise, or
    when the message also names options to change): so "the same one" is never met by unrelated examples."""
    if not asks_same_item(text) or same_variant(item, product) is not None:
        return None
    if match_variant(text, item, product, [item]):
        return None
    return render("same_item_unavailable", language, item=item.name, options=option_choices(item, product))


def items_not_in_order(text: str, order: Order, language: str) -> str | None:
    """What to ask when a list of items names something the order does not hold (None when every part of the
    list names one of its items): the caller asks instead of proposing without it."""
    missing = unmatched_mentions(text, order)
    if not missing:
        return None
    return render(
        "items_not_in_order",
        language,
        names=", ".join(f"'{m}'" for m in missing),
        order_id=order.order_id,
        items="; ".join(describe_item(i) for i in order.items),
    )


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


def variant_examples(item: OrderItem, product: StoreProduct, limit: int = 4, among: list[Variant] | None = None) -> str:
    """A few available variants of the item's product, each spelled out with its price: concrete choices. `among`
    (the variants that tied for what the customer asked) narrows them to those."""
    pool = among if among else product.variants.values()
    others = [v for v in pool if v.available and v.item_id != item.item_id]
    others.sort(key=lambda v: v.price)
    return "; ".join(f"{', '.join(v.options.values())} (${v.price:,.2f})" for v in others[:limit])
