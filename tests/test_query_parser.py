"""Filters read from English and Chinese queries."""

from __future__ import annotations

import pytest

from retrieval.query_parser import SearchFilters, parse_query

BRANDS = ["sony", "samsung", "brother", "hp"]
CATEGORIES = ["laptops", "mouse", "smartphones"]


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("headphones under $50", "headphones", SearchFilters(max_price=50)),
        ("laptop between 100 and 200 dollars", "laptop", SearchFilters(min_price=100, max_price=200)),
        ("50元以下的蓝牙耳机", "蓝牙耳机", SearchFilters(max_price=50)),
        ("蓝牙耳机 100到200元", "蓝牙耳机", SearchFilters(min_price=100, max_price=200)),
        ("低于100元的键盘", "键盘", SearchFilters(max_price=100)),
        ("speakers over 300 dollars", "speakers", SearchFilters(min_price=300)),
        ("keyboard $20-$50", "keyboard", SearchFilters(min_price=20, max_price=50)),
        ("500元以上的耳机", "耳机", SearchFilters(min_price=500)),
        ("tablet in stock", "tablet", SearchFilters(in_stock=True)),
    ],
)
def test_price_and_stock(query: str, text: str, expected: SearchFilters) -> None:
    parsed = parse_query(query)
    assert parsed.text == text
    assert parsed.filters == expected


def test_sizes_and_model_numbers_are_not_prices() -> None:
    for query in ("hdmi cable 2m", "usb stick 64gb", "brother tn-2110 toner", "usb 3.0 hub", "27 inch monitor"):
        assert parse_query(query).filters.min_price is None
        assert parse_query(query).filters.max_price is None


def test_brand_and_category_from_the_catalog_lists() -> None:
    parsed = parse_query("Sony headphones under 80", BRANDS, CATEGORIES)
    assert parsed.filters == SearchFilters(max_price=80, brand="sony")
    assert parsed.text == "Sony headphones"  # brand words stay: they help ranking
    assert parse_query("wireless mice for laptops", BRANDS, CATEGORIES).filters.category == "laptops"
    assert parse_query("三星 smartphones 3000元以下", BRANDS, CATEGORIES).filters == SearchFilters(
        max_price=3000, category="smartphones"
    )
    # whole words only: "hp" is not found inside "php" or "headphones"
    assert parse_query("php book", BRANDS).filters.brand is None


def test_explicit_filters_win() -> None:
    parsed = parse_query("headphones under $50 sony", BRANDS)
    merged = SearchFilters(max_price=80, category="audio").merged_over(parsed.filters)
    assert merged == SearchFilters(max_price=80, brand="sony", category="audio")
