"""DummyJSON products: `{"products": [...]}` or a bare list; row numbers are 1-based list positions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.models import Product, RejectedRow
from retrieval.readers.mapping import describe_error, parse_bool_stock

_ATTR_KEYS = ("sku", "rating", "discountPercentage", "weight", "warrantyInformation", "shippingInformation",
              "returnPolicy", "minimumOrderQuantity", "availabilityStatus")


def dummyjson_product(record: dict[str, Any]) -> Product:
    if not isinstance(record, dict):
        raise ValueError(f"expected an object, got {type(record).__name__}")
    attrs: dict[str, Any] = {k: record[k] for k in _ATTR_KEYS if record.get(k) not in (None, "")}
    if record.get("tags"):
        attrs["tags"] = ", ".join(str(t) for t in record["tags"])
    dims = record.get("dimensions")
    if isinstance(dims, dict):
        attrs.update({f"dimension_{k}": v for k, v in dims.items()})
    if "stock" in record:
        in_stock = parse_bool_stock(record["stock"])
    else:
        in_stock = parse_bool_stock(record.get("availabilityStatus", True))
    images = record.get("images") or []
    return Product(
        id=record.get("id"),
        title=str(record.get("title") or ""),
        description=str(record.get("description") or ""),
        brand=str(record.get("brand") or ""),
        category=str(record.get("category") or "").replace("-", " "),
        price=record.get("price"),
        currency="USD",
        in_stock=in_stock,
        attributes=attrs,
        image_url=record.get("thumbnail") or (images[0] if images else None),
    )


def read_dummyjson(path: Path) -> Iterator[Product | RejectedRow]:
    data = json.loads(path.read_text(encoding="utf-8"))
    records = data.get("products") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise ValueError(f"{path.name}: expected a 'products' list")
    for row, record in enumerate(records, start=1):
        try:
            yield dummyjson_product(record)
        except (ValidationError, ValueError, TypeError) as exc:
            yield RejectedRow(row=row, error=describe_error(exc))
