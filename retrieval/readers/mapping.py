"""Turns a loosely-shaped source record (jsonl / csv row) into a `Product`, accepting common field aliases."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from retrieval.models import Product, RejectedRow

_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "product_id", "sku", "item_id"),
    "title": ("title", "name", "product_name"),
    "description": ("description", "short_description", "desc"),
    "brand": ("brand", "supplier", "manufacturer"),
    "category": ("category", "product_type", "type"),
    "price": ("price",),
    "currency": ("currency",),
    "image_url": ("image_url", "image", "thumbnail", "img_high"),
}
_STOCK_KEYS = ("in_stock", "available", "stock", "availability", "availabilityStatus")
_FALSE_WORDS = {"false", "0", "no", "n", "out of stock", "out_of_stock", "unavailable", "sold out"}


def parse_bool_stock(value: Any) -> bool:
    """Stock given as a flag, a count or a status word."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return str(value).strip().lower() not in _FALSE_WORDS


def parse_price(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace(",", "").lstrip("$€£¥").strip()
    try:
        return float(text)
    except ValueError as exc:
        raise ValueError(f"price is not a number: {value!r}") from exc


def record_to_product(record: dict[str, Any]) -> Product:
    """Maps a flat record to a Product; unknown keys become attributes. Raises ValueError on bad data."""
    if not isinstance(record, dict):
        raise ValueError(f"expected an object, got {type(record).__name__}")
    fields: dict[str, Any] = {}
    used: set[str] = set()
    for field, aliases in _ALIASES.items():
        for key in aliases:
            if key in record and record[key] not in (None, ""):
                fields[field] = record[key]
                used.add(key)
                break
    for key in _STOCK_KEYS:
        if key in record and record[key] not in (None, ""):
            fields["in_stock"] = parse_bool_stock(record[key])
            used.add(key)
            break
    if "price" in fields:
        fields["price"] = parse_price(fields["price"])
    for key in ("title", "description", "brand", "category", "currency"):
        if key in fields:
            fields[key] = str(fields[key])
    attributes = record.get("attributes")
    attrs: dict[str, Any] = dict(attributes) if isinstance(attributes, dict) else {}
    used.add("attributes")
    for key, value in record.items():
        if key not in used and value not in (None, "") and isinstance(value, str | int | float | bool):
            attrs[key] = value
    fields["attributes"] = attrs
    return Product(**fields)


def to_row(row: int, record: Any) -> Product | RejectedRow:
    try:
        return record_to_product(record)
    except (ValidationError, ValueError, TypeError) as exc:
        return RejectedRow(row=row, error=describe_error(exc))


def describe_error(exc: Exception) -> str:
    """One readable line from a pydantic or value error."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "row"
        return f"{where}: {first.get('msg', 'invalid')}".replace("Value error, ", "")
    return str(exc)
