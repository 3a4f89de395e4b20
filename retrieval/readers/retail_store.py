"""The retail-store folder (tau-bench retail): `products.json` maps product_id -> product type with variants.

One `Product` per product type (id = `product_id`), its purchasable options as `variants` (id = `item_id`);
price is the lowest variant price and the product is in stock when any variant is available.
Row numbers are 1-based positions in `products.json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.models import Product, RejectedRow, Variant
from retrieval.readers.mapping import describe_error


def retail_product(record: dict[str, Any]) -> Product:
    if not isinstance(record, dict):
        raise ValueError(f"expected an object, got {type(record).__name__}")
    raw = record.get("variants") or {}
    items = raw.values() if isinstance(raw, dict) else raw
    variants = [
        Variant(
            id=str(v.get("item_id")),
            options={str(k): str(o) for k, o in (v.get("options") or {}).items()},
            price=v.get("price"),
            in_stock=bool(v.get("available", True)),
        )
        for v in items
    ]
    prices = [v.price for v in variants if v.price is not None]
    options: dict[str, set[str]] = {}
    for v in variants:
        for key, value in v.options.items():
            options.setdefault(key, set()).add(value)
    name = str(record.get("name") or "")
    description = "; ".join(f"{k}: {', '.join(sorted(vals))}" for k, vals in sorted(options.items()))
    return Product(
        id=record.get("product_id"),
        title=name,
        description=description,
        category=name,
        price=min(prices) if prices else None,
        currency="USD",
        in_stock=any(v.in_stock for v in variants),
        variants=variants,
    )


def read_retail_store(path: Path) -> Iterator[Product | RejectedRow]:
    file = path / "products.json" if path.is_dir() else path
    data = json.loads(file.read_text(encoding="utf-8"))
    records = list(data.values()) if isinstance(data, dict) else data
    for row, record in enumerate(records, start=1):
        try:
            yield retail_product(record)
        except (ValidationError, ValueError, TypeError, AttributeError) as exc:
            yield RejectedRow(row=row, error=describe_error(exc))
