"""Comparison of the products the customer names ("the HP and the Dell", "the first and the third", "P1102 vs
M15w"), found among the cards shown or else in the catalog: price, stock, brand and the attributes they share,
side by side. A named product that cannot be found is said, never replaced by another."""

from __future__ import annotations

import re

from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.handlers.product_qa import attribute_facts
from assistant.dialogue.handlers.shopping import card, grounded, shown_product
from assistant.dialogue.references import resolve
from assistant.dialogue.retrieved import RetrievedText
from assistant.dialogue.templates import money, render, stock
from assistant.sessions import ShownProduct
from retrieval.catalog_store import CatalogStore
from retrieval.models import Product
from retrieval.search import ProductSearcher

_SKIP = {"ean", "name", "date released"}
_ASK = re.compile(
    r"\b(?:please|can you|could you|compare|comparison of|what(?:'s| is) the difference between|difference between|"
    r"which (?:one )?is (?:better|cheaper|best)|how do|stack up|side by side)\b|比较一下|比较|对比一下|对比|有什么区别|"
    r"的区别|区别|哪个(?:更)?(?:好|便宜|划算)|[?？]",
    re.I,
)
_SEPARATOR = re.compile(r"\s+(?:and|vs\.?|versus|or|with|against|to)\s+|\s*[,，、]\s*|和|与|跟|还是", re.I)
_PLAIN = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "one", "ones", "it", "them", "both", "two", "which", "is",
    "are", "of", "me", "please", "product", "products", "item", "items", "better", "best", "cheaper", "cheapest"
})  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*|[\u3400-\u9fff]+", re.I)


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


def named_parts(text: str) -> list[str]:
    """The products a comparison names, one phrase each ("the HP ProBook", "the second one"); fewer than two when
    it names none by itself ("compare them", "compare the first two")."""
    parts = [p.strip() for p in _SEPARATOR.split(_ASK.sub(" ", text))]
    return [p for p in parts if any(w.lower() not in _PLAIN for w in _WORD.findall(p))]


def _shown_named(part: str, shown: list[ShownProduct]) -> ShownProduct | None:
    """The one shown product the phrase points at: by position or price ("the second one"), else the only one whose
    title, brand and options hold all of its words ("wireless" alone does not make headphones the earbuds)."""
    pointed = resolve(part, shown)
    if len(pointed) == 1:
        return pointed[0]
    words = [w.lower() for w in _WORD.findall(part) if w.lower() not in _PLAIN]
    if not words:
        return None
    scored = sorted(((sum(w in p.text for w in words) / len(words), i) for i, p in enumerate(shown)), reverse=True)
    best = scored[0] if scored else (0.0, -1)
    if best[0] < 1.0 or (len(scored) > 1 and scored[1][0] == best[0]):
        return None
    return shown[best[1]]


class CompareHandler:
    def __init__(
        self, catalog: CatalogStore, retrieved: RetrievedText | None = None, searcher: ProductSearcher | None = None
    ) -> None:
        self.catalog = catalog
        self.retrieved = retrieved or RetrievedText(None)
        self.searcher = searcher  # finds a named product that is not on screen

    def handle(self, turn: Turn) -> Draft:
        state, lang = turn.state, turn.language
        parts = named_parts(turn.text)
        if len(parts) >= 2:
            targets: list[ShownProduct] = []
            missing: list[str] = []
            for part in parts:
                found = _shown_named(part, state.shown) or self._from_catalog(part)
                if found is None:
                    missing.append(part)
                elif all(found.id != t.id for t in targets):
                    targets.append(found)
            if missing:
                return Draft(
                    render(
                        "compare_not_found",
                        lang,
                        names="、".join(missing) if lang == "zh" else " / ".join(f'"{m}"' for m in missing),
                    )
                )
        else:
            targets = resolve(turn.text, state.shown, state.focus_id)
            if len(targets) < 2 and not parts:  # "compare them": the two on top
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
        state.shown = [shown_product(p) for p in products]  # "the first one" now means the first compared
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

    def _from_catalog(self, part: str) -> ShownProduct | None:
        """The catalog's best match for a named product that is not on screen, when its title holds the name's
        words (a model number must match)."""
        if self.searcher is None:
            return None
        words = [w.lower() for w in _WORD.findall(part) if w.lower() not in _PLAIN]
        for hit in self.searcher.search(part, k=3):
            title = hit.product.title.lower()
            if words and all(re.search(rf"(?<![a-z0-9]){re.escape(w)}", title) for w in words):
                return shown_product(hit.product)
        return None
