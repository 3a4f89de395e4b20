"""Shopping: search, refinement of the last results, and recommendations. Ranking and filters come from retrieval;
the model only phrases a short reply around the product cards."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from assistant.dialogue.grounding import Facts, GroundedProduct, amounts_in
from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.intents import Intent
from assistant.dialogue.references import descriptive_words, resolve
from assistant.dialogue.response import ProductCard
from assistant.dialogue.retrieved import RetrievedText
from assistant.dialogue.templates import money, render, stock
from assistant.sessions import ShownProduct
from retrieval.categories import same_kind
from retrieval.models import Product
from retrieval.query_parser import SearchFilters
from retrieval.search import ProductSearcher, SearchHit

# A personalised search for a user (from personalization): (user_id, query, k) -> hits re-ranked for the user.
PersonalSearch = Callable[[str, str, int], list[SearchHit]]
# Recommendations for a user with no query ("something for me"): (user_id, k) -> hits with the reasons.
Recommend = Callable[[str, int], list[SearchHit]]

PROMPT_PRODUCTS = 3
_WEIGHT = re.compile(r"\s*\(\+?[\d.]+%?\)")  # a signal's share, "(45%)": for the cards, not the sentence
_CHEAPER = re.compile(r"\b(cheaper|less expensive|lower price|budget)\b|便宜", re.I)
_PRICIER = re.compile(r"\b(more expensive|pricier|higher[- ]end|premium|better)\b|贵一点|高端", re.I)
_IN_STOCK = re.compile(r"\b(in stock|available)\b|有货|现货", re.I)
_FILLER = re.compile(
    r"\b(something|anything|any|one|ones|show me|what about|how about|do you have|please|only|just|but|and|"
    r"cheaper|less expensive|more expensive|pricier|in stock|available|the|a|an|me|i want|i need|"
    r"recommend\w*|suggest\w*|for me|something for me)\b|"
    r"有没有|便宜(一)?点|更便宜|贵一点|有货的|推荐|适合我的?|给我|点|的",
    re.I,
)


# A relative is not a brand: "for my brother" must not rank Brother printers (nor 兄弟 the brand).
_RELATIVE = re.compile(
    r"\b(?:for\s+)?(?:my|our|his|her)\s+(?:little\s+|big\s+|older\s+|younger\s+|best\s+)?(?:brother|sister|mom|mum|"
    r"mother|dad|father|son|daughter|wife|husband|boyfriend|girlfriend|friend|kids?|nephew|niece|grandma|grandpa|"
    r"uncle|aunt|cousin|boss|colleague|partner)s?\b|(?:给|送给?)?我?的?(?:兄弟|哥哥|弟弟|姐姐|妹妹|妈妈|母亲|爸爸|父亲|"
    r"儿子|女儿|老婆|老公|男朋友|女朋友|朋友|同事|老板)",
    re.I,
)
_GIFT = re.compile(r"\b(?:gifts?(?!\s*cards?)|presents?|birthday|christmas|xmas)\b|礼物|送礼|生日", re.I)
_GIFT_FILLER = re.compile(
    r"\b(?:a|an|the|some|gifts?|presents?|ideas?|for|who|that|likes?|loves?|enjoys?|into|is|are|something|anything|"
    r"birthday|christmas|xmas|i|need|want|looking|buy|get|him|her|them|what|should|any|good|recommend\w*)\b"
    r"|礼物|送礼|生日|想|买|一个|一份|什么|喜欢|爱|推荐|给|送|的|他|她|好",
    re.I,
)
# "toner for HP LaserJet P1102", "适用于 P1102 的硒鼓": a model the products must name in their data.
_FOR_MODEL = re.compile(
    r"\b(?:for|compatible with|fits?|that fits|works? with|to fit)\s+(?:an?\s+|the\s+|my\s+)?([^,.;?!]{2,60})"
    r"|(?:适用于|兼容|适配|配)\s*([^，。,.;；？?！!的]{2,40})|([A-Za-z][\w-]*\d[\w-]*)\s*(?:用的|专用|能用的)",
    re.I,
)
_MODEL_TOKEN = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[a-z])[a-z0-9][\w-]{1,}|(?<![\w.])\d{3,}(?![\w.])", re.I)
_POLITE_END = re.compile(r"\s+(?:please|pls|thanks|thank you)\s*$", re.I)
_NOT_A_MODEL = re.compile(
    r"[$€£¥￥]|\b(?:dollars?|bucks|usd|eur|inch(?:es)?|gb|tb|mah|years?|months?)\b|元|块|岁", re.I
)
COMPATIBLE_POOL = 200  # search results looked through for products that name the model
GIFT_CHOICES = 4


def _language_name(language: str) -> str:
    return "Chinese" if language == "zh" else "English"


def card(hit_product: Product, why: list[str]) -> ProductCard:
    return ProductCard(
        id=hit_product.id,
        title=hit_product.title,
        price=hit_product.price,
        currency=hit_product.currency,
        in_stock=hit_product.in_stock,
        why=why,
    )


def shown_product(product: Product) -> ShownProduct:
    """What references resolve on later: title, brand, colours and other option values."""
    words = [product.title, product.brand, product.category]
    words += [v for variant in product.variants for v in variant.options.values()]
    words += [str(v) for k, v in product.attributes.items() if "colo" in k and isinstance(v, str)]
    return ShownProduct(
        id=product.id,
        title=product.title,
        price=product.price,
        currency=product.currency,
        in_stock=product.in_stock,
        brand=product.brand,
        text=" ".join(w for w in words if w).lower(),
    )


def product_data(product: Product) -> str:
    """Everything the catalog says about the product, one fact a line ("internal memory: 8"): what a reply may
    cite. A feature the data marks absent (a false flag) is left out, so "it has Bluetooth" finds no support."""
    lines = [product.title, product.brand, product.category, product.description]
    for key, value in product.attributes.items():
        if value is False:
            continue
        name = re.sub(r"^[tnb]_", "", key).replace("_", " ").strip()
        shown = (
            "yes"
            if value is True
            else str(int(value))
            if isinstance(value, float) and value.is_integer()
            else str(value)
        )
        lines.append(f"{name}: {shown}")
    lines += [f"{key}: {value}" for variant in product.variants for key, value in variant.options.items()]
    return "\n".join(line for line in lines if line)


def grounded(products: list[Product], customer_text: str = "", language: str = "en", listing: bool = False) -> Facts:
    return Facts(
        products=[
            GroundedProduct(p.id, p.title, p.price, p.in_stock, p.brand, p.currency, product_data(p)) for p in products
        ],
        amounts={v.price for p in products for v in p.variants if v.price is not None} | amounts_in(customer_text),
        language=language,
        listing=listing,
    )


def product_lines(products: list[Product], language: str) -> str:
    return "\n".join(
        render(
            "product_line",
            language,
            i=i,
            title=p.title,
            price=money(p.price, p.currency),
            stock=stock(p.in_stock, language),
        )
        for i, p in enumerate(products, start=1)
    )


def compatibility_model(text: str) -> str | None:
    """The model a request wants products for ("HP LaserJet P1102" in "toner for HP LaserJet P1102"), when it names
    one by a model number; None for "toner for my printer"."""
    for match in _FOR_MODEL.finditer(text):
        phrase = _POLITE_END.sub("", next(g for g in match.groups() if g).strip())
        if _MODEL_TOKEN.search(phrase) and not _NOT_A_MODEL.search(phrase):
            return phrase
    return None


def names_all(product: Product, tokens: list[str]) -> bool:
    """The product's data names every model token ("p1102" in "LaserJet Pro P1102, P1102w")."""
    data = product_data(product).lower()
    return all(re.search(rf"(?<![a-z0-9]){re.escape(t)}(?:[a-z]{{0,2}})(?![a-z0-9])", data) for t in tokens)


class ShoppingHandler:
    def __init__(
        self,
        searcher: ProductSearcher,
        k: int = 5,
        personal_search: PersonalSearch | None = None,
        recommend: Recommend | None = None,
        retrieved: RetrievedText | None = None,
    ) -> None:
        self.searcher = searcher
        self.retrieved = retrieved or RetrievedText(None)
        self.k = k
        self.personal_search = personal_search
        self.recommend = recommend

    def handle(self, turn: Turn) -> Draft:
        intent = turn.routed.intent
        if intent is Intent.REFINE and turn.state.last_query is not None:
            return self._refine(turn)
        if _GIFT.search(turn.redacted) and self.searcher.asked_category(_RELATIVE.sub(" ", turn.redacted)) is None:
            return self._clarify_gift(turn)
        if intent is Intent.RECOMMENDATION:
            return self._recommend(turn)
        if model := compatibility_model(turn.redacted):
            return self._compatible(turn, model)
        return self._search(turn)

    def _search(self, turn: Turn) -> Draft:
        text = _RELATIVE.sub(" ", turn.redacted)
        parsed = self.searcher.parse(text)
        turn.state.last_query = parsed.text
        turn.state.last_filters = {k: v for k, v in asdict(parsed.filters).items() if v is not None and k != "brand"}
        hits = self._run(turn, text, None)
        return self._draft(turn, hits, parsed.text)

    def _compatible(self, turn: Turn, model: str) -> Draft:
        """Only products whose own data names the model; none found is said, not papered over with others."""
        lang = turn.language
        tokens = [t.lower() for t in _MODEL_TOKEN.findall(model)]
        query = _RELATIVE.sub(" ", turn.redacted)
        asked = self.searcher.asked_category(query.replace(model, " "))
        hits = [h for h in self.searcher.search(query, k=COMPATIBLE_POOL) if names_all(h.product, tokens)]
        seen = {h.product.id for h in hits}
        hits += [
            SearchHit(p, 0.0, [f"names {model}"])
            for p in self.searcher.naming(tokens)
            if p.id not in seen and (asked is None or same_kind(asked, self.searcher.category_of(p)))
        ]
        if asked is not None:  # the toner for the printer, not the printer itself
            hits = sorted(hits, key=lambda h: not same_kind(asked, self.searcher.category_of(h.product)))
        hits = hits[: self.k]
        turn.state.last_query = self.searcher.parse(query).text
        turn.state.last_filters = {}
        if not hits:
            turn.state.shown, turn.state.focus_id = [], None
            return Draft(render("compatible_none", lang, model=model))
        return self._draft(turn, hits, query, intro="compatible_results", model=model)

    def _clarify_gift(self, turn: Turn) -> Draft:
        """A gift with no kind of product named: one question, with the kinds the catalog has for their interest."""
        lang = turn.language
        interest = " ".join(
            re.sub(r"[\s,，.。!！?？;；]+", " ", _GIFT_FILLER.sub(" ", _RELATIVE.sub(" ", turn.redacted))).split()
        )
        choices: list[str] = []
        if len(interest) > 1:
            for hit in self.searcher.search(interest, k=20):
                kind = self.searcher.category_of(hit.product)
                if kind and kind not in choices:
                    choices.append(kind)
        turn.state.last_query = interest or None
        if not choices:
            return Draft(render("gift_clarify_open", lang))
        return Draft(render("gift_clarify", lang, choices=", ".join(choices[:GIFT_CHOICES])))

    def _refine(self, turn: Turn) -> Draft:
        state = turn.state
        parsed = self.searcher.parse(turn.redacted)
        filters: dict[str, Any] = dict(state.last_filters)
        filters.update({k: v for k, v in asdict(parsed.filters).items() if v is not None})
        anchor = resolve(turn.text, state.shown, state.focus_id)
        prices = [p.price for p in (anchor or state.shown) if p.price is not None]
        if prices and _CHEAPER.search(turn.text) and parsed.filters.max_price is None:
            filters["max_price"] = round(min(prices) - 0.01, 2)
        if prices and _PRICIER.search(turn.text) and parsed.filters.min_price is None:
            filters["min_price"] = round(max(prices) + 0.01, 2)
        if _IN_STOCK.search(turn.text):
            filters["in_stock"] = True
        extra = " ".join([*descriptive_words(turn.text), _FILLER.sub(" ", parsed.text)]).strip()
        query = " ".join(f"{state.last_query or ''} {extra}".split())
        state.last_filters = filters
        hits = self._run(turn, query, SearchFilters(**filters))
        return self._draft(turn, hits, query)

    def _recommend(self, turn: Turn) -> Draft:
        topic = _FILLER.sub(" ", turn.redacted).strip(" ?？!.。,，")
        query = topic if len(topic) > 2 else (turn.state.last_query or "")
        user = turn.session.user_id or turn.caller_user_id
        if self.recommend is not None and user and len(topic) <= 2:
            hits = self.recommend(user, self.k)  # "something for me": the user's profile, not a query
        elif self.personal_search is not None and user and query:
            hits = self.personal_search(user, query, self.k)
        elif query:
            hits = self.searcher.search(query, k=self.k)
        else:
            hits = []
        if query:
            turn.state.last_query = query
        return self._draft(turn, hits, query or turn.redacted, intro="recommend_intro")

    def _run(self, turn: Turn, query: str, filters: SearchFilters | None) -> list[SearchHit]:
        user = turn.session.user_id or turn.caller_user_id
        if self.personal_search is not None and user and filters is None:
            return self.personal_search(user, query, self.k)
        return self.searcher.search(query, k=self.k, filters=filters)

    def _draft(
        self, turn: Turn, hits: list[SearchHit], query: str, intro: str = "search_results", model: str = ""
    ) -> Draft:
        lang = turn.language
        products = [self.retrieved.product(h.product) for h in hits]
        turn.state.shown = [shown_product(p) for p in products]
        turn.state.focus_id = products[0].id if products else None
        if not products:
            return Draft(render("search_none", lang, query=query.strip() or turn.redacted))
        head = render(intro, lang, n=len(products), query=query, model=model)
        lines = product_lines(products, lang)
        if intro == "recommend_intro":
            # Why each one was picked for this shopper ("you added it to your cart today"), as the cards say.
            lines = "\n".join(
                f"{line} ({_WEIGHT.sub('', h.why[0])})" if h.why else line
                for line, h in zip(lines.split("\n"), hits, strict=True)
            )
        return Draft(
            reply=f"{head}\n{lines}",
            products=[card(p, h.why) for p, h in zip(products, hits, strict=True)],
            facts=grounded(products, customer_text=turn.redacted, language=lang, listing=True),
            prompt="shopping_reply",
            # The model sees the top three only: a shorter prompt is a sooner first token; the cards show all.
            prompt_vars={
                "language": _language_name(lang),
                "products": "\n".join(lines.split("\n")[:PROMPT_PRODUCTS]),
                "question": turn.redacted,
            },
        )
