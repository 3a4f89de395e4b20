"""Comparison of products already shown: price, stock, brand and the attributes they share, side by side."""

from __future__ import annotations

from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.handlers.product_qa import attribute_facts
from assistant.dialogue.handlers.shopping import card, grounded
from assistant.dialogue.references import resolve
from assistant.dialogue.retrieved import RetrievedText
from assistant.dialogue.templates import money, render, stock
from retrieval.catalog_store import CatalogStore
from retrieval.models import Product

_SKIP = {"ean", "name", "date released"}


def comparison_lines(products: list[Product], language: str, max_attributes: int = 4) -> list[str]:
    facts = [dict(attribute_facts(p)) for p in products]
    shared = [k for k in facts[0] if k not in _SKIP and all(k in f for f in facts[1:])]
    differing = [k for k in shared if len({f[k] for f in facts}) > 1][:max_attributes]
    lines = []
    for i, (product, attrs) in enumerate(zip(products, facts, strict=True), start=1):
        parts = [money(product.price, product.currency), stock(product.in_stock, language)]
        if product.brand:
            parts.append(product.brand)
        parts += [f"{k}: {attrs[k]}" for k in differing]
        lines.append(f"{i}. {product.title} — " + ("，" if language == "zh" else ", ").join(parts))
    return lines


class CompareHandler:
    def __init__(self, catalog: CatalogStore, retrieved: RetrievedText | None = None) -> None:
        self.catalog = catalog
        self.retrieved = retrieved or RetrievedText(None)

    def handle(self, turn: Turn) -> Draft:
        state, lang = turn.state, turn.language
        targets = resolve(turn.text, state.shown, state.focus_id)
        if len(targets) < 2:
            targets = state.shown[:2] if len(state.shown) >= 2 else []
        if len(targets) < 2:
            return Draft(render("compare_need_two", lang))
        products = [self.retrieved.product(p) for p in self.catalog.get_many([t.id for t in targets]) if p is not None]
        if len(products) < 2:
            return Draft(render("compare_need_two", lang))
        lines = comparison_lines(products, lang)
        priced = [p for p in products if p.price is not None]
        reply = "\n".join([render("compare_intro", lang), *lines])
        if priced:
            cheapest = min(priced, key=lambda p: p.price or 0.0)
            reply += "\n" + render("compare_cheapest", lang, title=cheapest.title, price=money(cheapest.price))
        facts = grounded(products, language=lang, listing=True)
        facts.numbers_text = "\n".join(lines)
        return Draft(
            reply=reply,
            products=[card(p, ["compared"]) for p in products],
            facts=facts,
            prompt="shopping_reply",
            prompt_vars={
                "language": "Chinese" if lang == "zh" else "English",
                "products": "\n".join(lines),
                "question": turn.redacted,
            },
        )
