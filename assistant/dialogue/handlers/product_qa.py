"""Questions about a product already shown ("does it have Bluetooth?", "第二个多少钱"), answered from its data:
price, stock, attributes, options and description. When the data does not say, the answer is "I don't know"."""

from __future__ import annotations

import re
from typing import Any

from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.handlers.shopping import card, grounded
from assistant.dialogue.references import resolve
from assistant.dialogue.retrieved import RetrievedText
from assistant.dialogue.templates import money, render, stock
from retrieval.catalog_store import CatalogStore
from retrieval.models import Product
from retrieval.zh_glossary import ZH_EN

_PRICE_Q = re.compile(r"\b(how much|price|cost|costs|pricing)\b|多少钱|价格|价钱|几块", re.I)
_OVERVIEW = re.compile(r"\b(tell me (more )?about|details|describe|what is it|more info\w*)\b|介绍|详细", re.I)
_STOCK_Q = re.compile(r"\b(in stock|available|availability|stock|sold out)\b|有货|库存|现货|缺货", re.I)
_STOP = set(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "be",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "does",
        "do",
        "did",
        "has",
        "have",
        "can",
        "could",
        "will",
        "would",
        "should",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "and",
        "or",
        "what",
        "which",
        "how",
        "much",
        "many",
        "any",
        "there",
        "one",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "last",
        "me",
        "my",
        "you",
        "your",
        "about",
        "tell",
        "please",
        "does",
        "it's",
        "i",
        "we",
        "they",
        "them",
        "their",
    ]
)
_ZH_EXTRA = {
    "蓝牙": "bluetooth", "防水": "waterproof water resistant", "无线": "wireless", "重量": "weight", "多重": "weight",
    "电池": "battery", "续航": "battery life", "颜色": "colour color", "尺寸": "size dimensions", "多大": "size",
    "保修": "warranty", "内存": "memory ram", "存储": "storage", "屏幕": "screen display", "材质": "material",
    "容量": "capacity", "降噪": "noise cancelling", "分辨率": "resolution",
}  # fmt: skip


# What is left of a Chinese question without its reference and question words is the thing asked about
# ("第一个有手电筒功能吗" -> 手电筒): when the glossary cannot read it, the data cannot be said to answer it.
_ZH_ASKED = re.compile(
    r"[^\u3400-\u9fff]|第.[个款件台]|这个|那个|这款|那款|它|有没有|是不是|吗|呢|吧|么|什么|多少|怎么样|如何|哪|"
    r"有|是|的|能|可以|支持|带|功能|请问|一下|告诉我|介绍"
)


def _terms(question: str) -> list[str]:
    words = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if w not in _STOP and len(w) > 1]
    for zh, en in {**ZH_EN, **_ZH_EXTRA}.items():
        if zh in question:
            words += en.split()
    return list(dict.fromkeys(words))


def attribute_facts(product: Product) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    for key, value in product.attributes.items():
        name = re.sub(r"^[tnb]_", "", key).replace("_", " ")
        facts.append((name, _value_text(value)))
    options: dict[str, set[str]] = {}
    for variant in product.variants:
        for key, value in variant.options.items():
            options.setdefault(key, set()).add(value)
    facts += [(key, ", ".join(sorted(values))) for key, values in options.items()]
    return facts


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _overview(product: Product) -> list[str]:
    """Price, stock and the options on offer: the answer to "tell me about the second one"."""
    facts = [f"price {money(product.price, product.currency)}", stock(product.in_stock, "en")]
    if product.brand:
        facts.append(f"brand {product.brand}")
    facts += [f"{name}: {value}" for name, value in attribute_facts(product)[:4]]
    return facts


def answer_facts(product: Product, question: str) -> list[str]:
    """The product facts that answer the question, as "name: value" strings; empty when the data is silent."""
    if _PRICE_Q.search(question):
        prices = sorted({v.price for v in product.variants if v.price is not None})
        if len(prices) > 1:
            return [f"price {money(prices[0], product.currency)} to {money(prices[-1], product.currency)}"]
        return [f"price {money(product.price, product.currency)}"]
    if _STOCK_Q.search(question):
        return [stock(product.in_stock, "en")]
    terms = _terms(question)
    if _OVERVIEW.search(question) or not (terms or _ZH_ASKED.sub("", question).strip()):
        return _overview(product)
    found: list[str] = []
    for name, value in attribute_facts(product):
        name_words = set(re.findall(r"[a-z0-9]+", name.lower()))
        if any(t in name_words or t.rstrip("s") in name_words for t in terms):
            found.append(f"{name}: {value}")
    if not found:
        for sentence in re.split(r"(?<=[.!?])\s+", product.description):
            if any(re.search(rf"\b{re.escape(t)}\b", sentence.lower()) for t in terms):
                found.append(sentence.strip())
    return found[:4]


class ProductQAHandler:
    def __init__(self, catalog: CatalogStore, retrieved: RetrievedText | None = None) -> None:
        self.catalog = catalog
        self.retrieved = retrieved or RetrievedText(None)

    def handle(self, turn: Turn) -> Draft:
        state, lang = turn.state, turn.language
        targets = resolve(turn.text, state.shown, state.focus_id)
        if not targets and state.focus_id:
            targets = [p for p in state.shown if p.id == state.focus_id]
        if not targets:
            return Draft(render("which_product", lang))
        product = self.catalog.get(targets[0].id)
        if product is None:
            return Draft(render("which_product", lang))
        product = self.retrieved.product(product)
        state.focus_id = product.id
        facts = answer_facts(product, turn.text)
        grounding = grounded([product], language=lang)
        grounding.numbers_text = " ".join(facts)
        if not facts:
            return Draft(render("qa_unknown", lang, title=product.title), products=[card(product, [])], facts=grounding)
        facts_text = "; ".join(facts)
        summary = [product.title, money(product.price, product.currency), stock(product.in_stock, "en"), *facts]
        return Draft(
            reply=render("qa_answer", lang, title=product.title, facts=facts_text),
            products=[card(product, ["answer from the product data"])],
            facts=grounding,
            prompt="product_answer",
            prompt_vars={
                "language": "Chinese" if lang == "zh" else "English",
                "facts": "\n".join(summary),
                "question": turn.redacted,
            },
        )
