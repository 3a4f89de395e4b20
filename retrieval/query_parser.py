"""Reads structured filters out of a shopping query: price bounds (English and Chinese), a brand, a category.

`parse_query("sony headphones under $50", brands=..., categories=...)` gives the remaining free text
("sony headphones") and `SearchFilters(max_price=50, brand="sony")`. Brands and categories are recognised only
from the lists given (the catalog's own), as whole words.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, fields, replace

_NUM = r"(\d+(?:[.,]\d+)?)"
_CUR_PRE = r"(?:\$|usd\s*|us\$|€|£|¥|￥|rmb\s*)?"
_CUR_POST = r"(?:\s*(?:dollars?|bucks|usd|euros?|eur|yuan|rmb|元|块钱?|美元|欧元))"
# A number that is not a size or a unit ("2m", "64gb", "500ml") unless a currency follows it.
_AMOUNT = rf"{_CUR_PRE}{_NUM}(?:{_CUR_POST}|(?![\w.,]))"
_AMOUNT_CUR = rf"(?:[$€£¥￥]\s*{_NUM}(?:{_CUR_POST})?|{_NUM}{_CUR_POST})"

_EN_MAX = re.compile(
    rf"\b(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?|no more than|within|<=?)\s*{_AMOUNT}", re.I
)
_EN_MIN = re.compile(rf"\b(?:over|above|more than|at least|min(?:imum)?|>=?)\s*{_AMOUNT}", re.I)
_EN_RANGE = re.compile(rf"\bbetween\s+{_AMOUNT}\s+(?:and|to|-)\s+{_AMOUNT}", re.I)
_EN_RANGE_DASH = re.compile(
    rf"(?:\bfrom\s+)?{_CUR_PRE}{_NUM}\s*(?:-|–|to)\s*{_CUR_PRE}{_NUM}{_CUR_POST}|"
    rf"(?:\bfrom\s+)?[$€£¥￥]\s*{_NUM}\s*(?:-|–|to)\s*[$€£¥￥]?\s*{_NUM}",
    re.I,
)
_ZH_MAX = re.compile(
    rf"(?:(?:低于|少于|不超过|不到|小于|最多|便宜于)\s*{_CUR_PRE}{_NUM}\s*(?:元|块钱?|美元|刀)?|"
    rf"{_CUR_PRE}{_NUM}\s*(?:元|块钱?|美元|刀)?\s*(?:以下|以内|之内|内))"
)
_ZH_MIN = re.compile(
    rf"(?:(?:高于|多于|超过|大于|至少)\s*{_CUR_PRE}{_NUM}\s*(?:元|块钱?|美元|刀)?|"
    rf"{_CUR_PRE}{_NUM}\s*(?:元|块钱?|美元|刀)?\s*以上)"
)
_ZH_RANGE = re.compile(
    rf"{_CUR_PRE}{_NUM}\s*(?:元|块|美元)?\s*(?:到|至|-|~|～)\s*{_CUR_PRE}{_NUM}\s*(?:元|块钱?|美元|刀)"
)
_IN_STOCK = re.compile(r"\b(?:in stock|available now)\b|有货|现货", re.I)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchFilters:
    """Hard constraints on results. None means "no constraint"; brand and category match case-insensitively."""

    min_price: float | None = None
    max_price: float | None = None
    brand: str | None = None
    category: str | None = None
    in_stock: bool | None = None

    def merged_over(self, parsed: SearchFilters) -> SearchFilters:
        """These (explicit) filters, with gaps filled from `parsed` (explicit parameters win)."""
        return replace(
            parsed, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        )

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass
class ParsedQuery:
    text: str
    """The query with the recognised filter phrases (prices, stock words) removed."""
    filters: SearchFilters = field(default_factory=SearchFilters)
    matched: list[str] = field(default_factory=list)
    """The phrases that were read as filters, as written."""


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _first(groups: tuple[str | None, ...]) -> list[float]:
    return [_num(g) for g in groups if g is not None]


def _find_phrase(query: str, names: Collection[str]) -> tuple[str, str] | None:
    """The longest name that occurs in the query as whole words (any case, plural 's' allowed): the name and the
    words as the query writes them."""
    best: tuple[str, str] | None = None
    for name in names:
        if not name or (best is not None and len(name) <= len(best[0])):
            continue
        found = re.search(rf"(?<![\w])({re.escape(name)})(?:e?s)?(?![\w])", query, re.IGNORECASE)
        if found:
            best = (name, found.group(1))
    return best


def parse_query(
    query: str, brands: Collection[str] = (), categories: Collection[str] = ()
) -> ParsedQuery:
    """Splits QUERY into free text and filters. Price phrases are removed from the text; brand and category
    words stay in it (they still help ranking)."""
    text = query
    values: dict[str, object] = {}
    matched: list[str] = []

    def take(pattern: re.Pattern[str]) -> list[float] | None:
        nonlocal text
        match = pattern.search(text)
        if not match:
            return None
        matched.append(match.group().strip())
        text = text[: match.start()] + " " + text[match.end() :]
        return _first(match.groups())

    for pattern in (_EN_RANGE, _ZH_RANGE, _EN_RANGE_DASH):
        bounds = take(pattern)
        if bounds and len(bounds) >= 2:
            values["min_price"], values["max_price"] = min(bounds[:2]), max(bounds[:2])
            break
    if "max_price" not in values:
        for pattern in (_EN_MAX, _ZH_MAX):
            bounds = take(pattern)
            if bounds:
                values["max_price"] = bounds[0]
                break
    if "min_price" not in values:
        for pattern in (_EN_MIN, _ZH_MIN):
            bounds = take(pattern)
            if bounds:
                values["min_price"] = bounds[0]
                break
    if _IN_STOCK.search(text):
        matched.append(_IN_STOCK.search(text).group())  # type: ignore[union-attr]
        text = _IN_STOCK.sub(" ", text)
        values["in_stock"] = True
    for key, names in (("brand", brands), ("category", categories)):
        found = _find_phrase(text, names)
        if found:
            values[key], written = found
            matched.append(written)
    text = _SPACES.sub(" ", re.sub(r"\s+(?:and|的)\s*$", "", text)).strip(" ,.;的")
    return ParsedQuery(text=text or query.strip(), filters=SearchFilters(**values), matched=matched)  # type: ignore[arg-type]
