"""Product categories for catalogs that do not list them, read from the catalog's own titles, and the category a
shopping request asks for.

Icecat titles name the product's category between its name and its specifications, in lower case:
"HP ProBook 450 G7 notebook Silver 35.6 cm …", "Lexmark 08A0476 toner cartridge Original Black",
"Targus CN313 notebook case 34 cm …". The phrases found that way in enough titles are the catalog's category
vocabulary; every product then gets the longest vocabulary phrase its title holds (older titles capitalise it:
"Philips Webcam SPC1300NC/00"), or the head word of one ("HP LP2475w LCD Monitor" -> "monitor"). A request
("a laptop", "笔记本电脑") asks for the category it names: "notebook", not "notebook case" or "notebook spare part",
so the main product can rank above its accessories.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cached_property

from retrieval.models import Product
from retrieval.zh_glossary import ZH_EN

MIN_TITLES = 3  # a phrase is a category when at least this many titles use it in the category position
# What shoppers call a category the catalog names otherwise, used only where the catalog has that category.
SHOPPER_WORDS = {
    "laptop": "notebook", "laptops": "notebook", "ups": "uninterruptible power supply", "cpu": "processor",
    "headphones": "headphones/headset", "headset": "headphones/headset", "earphones": "headphones/headset",
    "toner": "toner cartridge", "ink": "ink cartridge", "ethernet": "networking cable", "display": "monitor",
    "bag": "case", "sleeve": "case", "monitor": "computer monitor",
}  # fmt: skip
# What may follow the head of a request: nothing, or what qualifies it.
_QUALIFIER = re.compile(
    r"\s*$|\s+(?:for|with|to|that|which|under|below|over|from|in|on|of|by|and|or|please|like|without|around|about)\b"
)
_CJK = re.compile(r"[\u3400-\u9fff]+")
# Where a title's description of the product ends: a measurement ("35.6 cm", '14"', "16 GB", "1920 x 1080") or
# what it is for.
_SPEC_OR_FOR = re.compile(
    r"\s\d+(?:[.,]\d+)?\s?(?:cm|mm|m|\"|in|inch|gb|tb|mb|ghz|mhz|w|v|kg|g|ppm|dpi|x|pixels|mp|ft|ml|pages)\b|\s(?:for|with)\s"
)
_FOR = re.compile(r"\s(?:for|with)\s")
_CATEGORY_WORD = re.compile(r"[a-z][a-z/&-]*")
_WORDS = re.compile(r"[a-z0-9]+(?:[/&-][a-z0-9]+)*")


def _title_category(product: Product) -> str:
    """The lower-case words right after brand and name in the title: the category position."""
    rest = product.title
    if product.brand and rest.lower().startswith(product.brand.lower()):
        rest = rest[len(product.brand) :].strip()
    name = str(product.attributes.get("name") or "")
    if not name or not rest.startswith(name):
        return ""
    words: list[str] = []
    for word in rest[len(name) :].split():
        if not _CATEGORY_WORD.fullmatch(word):
            break
        words.append(word)
    return " ".join(words)


def _alternatives(phrase: str) -> list[str]:
    """'headphones/headset' -> ['headphones/headset', 'headphones', 'headset'] (only for one-word phrases)."""
    return [phrase, *phrase.split("/")] if " " not in phrase and "/" in phrase else [phrase]


@dataclass(frozen=True)
class CategoryVocabulary:
    phrases: tuple[str, ...]  # longest first
    heads: frozenset[str]  # last words of the phrases: "monitor" of "computer monitor"

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        """Every phrase (and each alternative of "a/b"), singular or plural, as one alternation, longest first."""
        alts = sorted({_stem(alt) for p in self.phrases for alt in _alternatives(p)}, key=len, reverse=True)
        body = "|".join(re.escape(a) for a in alts) or r"(?!)"
        return re.compile(rf"(?<![a-z0-9])(?:{body})(?:e?s)?(?![a-z0-9])")

    @cached_property
    def _phrase_of(self) -> dict[str, str]:
        """Each alternative, and its singular, -> its phrase."""
        return {form: p for p in self.phrases for alt in _alternatives(p) for form in (alt, _stem(alt))}

    @classmethod
    def build(cls, products: Iterable[Product]) -> CategoryVocabulary:
        """The catalog's categories: its own where products list one, else the phrases its titles use."""
        listed: Counter[str] = Counter()
        read: Counter[str] = Counter()
        for product in products:
            if product.category:
                listed[product.category.lower()] += 1
            elif phrase := _title_category(product):
                read[phrase] += 1
        names = set(listed) | {c for c, n in read.items() if n >= MIN_TITLES}
        phrases = sorted(names, key=lambda c: (-len(c), c))
        heads = frozenset(p.split()[-1] for p in phrases if " " in p and "/" not in p.split()[-1])
        return cls(tuple(phrases), heads)

    def category(self, product: Product) -> str:
        """The product's category: the catalog's own when it has one, else read from the title."""
        if product.category:
            return product.category.lower()
        strict = _title_category(product)
        if strict in self.phrases:
            return strict
        # What the product is comes before its specifications ("… 35.6 cm (14") …") and before what it is for
        # ("Privacy Cover for Laptop/Notebook" is a cover); there, the last category word is its head.
        lowered = product.title.lower()
        described = _SPEC_OR_FOR.split(lowered, maxsplit=1)[0]
        return self._head(described) or self._head(_FOR.split(lowered, maxsplit=1)[0])

    def _head(self, text: str) -> str:
        title = " ".join(_WORDS.findall(text))
        found = [
            (m.end(), len(m.group()), self._phrase_of[_singular(m.group(), self._phrase_of)])
            for m in self._pattern.finditer(title)
        ]
        found += [
            (m.end(), len(m.group()), _singular(m.group(), self.heads))
            for m in _WORDS.finditer(title)
            if _singular(m.group(), self.heads) in self.heads
        ]
        return max(found)[2] if found else ""

    def asked(self, request: str) -> str | None:
        """The category a request names, or None. In English words the phrase must be the request's head: at its
        end or before what qualifies it ("a laptop", "a notebook with a big screen", "a UPS to protect my
        computer"), so "computer desk" or "nintendo switch" name no category; a shopper's word counts for the
        catalog's ("laptop" -> "notebook"). Chinese terms go through the shopping glossary, the last one being the
        head (电脑显示器 is a monitor)."""
        latin = _WORDS.findall(_CJK.sub(" ", request.lower()))
        for words in (latin, [SHOPPER_WORDS.get(w, w) for w in latin]):
            text = " ".join(words)
            heads = [(m.start(), phrase) for phrase, m in self._matches(text) if _QUALIFIER.match(text, m.end())]
            if heads:
                return min(heads)[1]
        glossary = " ".join(
            SHOPPER_WORDS.get(w, w) for w in _WORDS.findall(" ".join(map(self._english, _glossary_terms(request))))
        )
        found = [(m.end(), len(phrase), phrase) for phrase, m in self._matches(glossary)]
        return max(found)[2] if found else None

    def _matches(self, text: str) -> list[tuple[str, re.Match[str]]]:
        return [(phrase, m) for phrase in self.phrases for alt in _alternatives(phrase) for m in _find_all(text, alt)]

    def _english(self, expansion: str) -> str:
        """A glossary entry's English as a category: the whole entry when it is one ("toner cartridge"), else its
        first word that is one (the glossary lists the usual word first: 笔记本电脑 -> "laptop notebook")."""
        alternatives = set(self._phrase_of)
        if expansion in alternatives:
            return expansion
        return next((w for w in expansion.split() if w in alternatives), expansion)


def same_kind(asked: str, category: str) -> bool:
    """A product of CATEGORY is what was asked for: the same phrase, or one is the other's head word
    ("monitor" / "computer monitor"); "notebook case" is not a "notebook"."""
    return bool(category and asked) and (
        category == asked or category.split()[-1] == asked or asked.split()[-1] == category
    )


def _stem(phrase: str) -> str:
    """The phrase with its last word singular ("headphones" -> "headphone")."""
    if re.search(r"(?:ss|x|ch|sh)es$", phrase):
        return phrase[:-2]
    return phrase[:-1] if re.search(r"[a-z]{3}[^s]s$", phrase) else phrase


def _singular(written: str, known: Collection[str]) -> str:
    """WRITTEN as it is known: as written, or without a plural ending."""
    for form in (written, re.sub(r"s$", "", written), re.sub(r"es$", "", written), _stem(written)):
        if form in known:
            return form
    return written


def _glossary_terms(request: str) -> list[str]:
    """The glossary's English for the Chinese terms in REQUEST, in their order there (a Chinese noun phrase ends in
    its head too: 电脑显示器 is a monitor), the longest term at each place."""
    terms: list[str] = []
    i = 0
    while i < len(request):
        term = max((t for t in ZH_EN if request.startswith(t, i)), key=len, default="")
        if term:
            terms.append(ZH_EN[term])
        i += len(term) or 1
    return terms


def _find_all(text: str, phrase: str) -> list[re.Match[str]]:
    return list(re.finditer(rf"(?<![a-z0-9]){re.escape(phrase)}(?:e?s)?(?![a-z0-9])", text))
