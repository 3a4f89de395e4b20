"""Icecat open catalog (Chorus export): a JSON list of products, plain or zipped; a folder of such files.

`price` is in integer cents, `supplier` is the brand, `attr_t_*` / `attr_n_*` / `attr_b_*` are sparse attributes.
Row numbers are 1-based positions in the combined stream of files (sorted by name).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.models import Product, RejectedRow
from retrieval.readers.mapping import describe_error

_ATTR_PREFIXES = ("attr_t_", "attr_n_", "attr_b_")


def icecat_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.name.endswith((".json.zip", ".json")) and "product" in p.name)
    return [path]


def _load_lists(path: Path) -> Iterator[Any]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            for name in sorted(n for n in zf.namelist() if n.endswith(".json")):
                yield json.loads(zf.read(name))
    else:
        yield json.loads(path.read_text(encoding="utf-8"))


def icecat_product(record: dict[str, Any]) -> Product:
    if not isinstance(record, dict):
        raise ValueError(f"expected an object, got {type(record).__name__}")
    attrs: dict[str, Any] = {
        key[len("attr_") :]: value
        for key, value in record.items()
        if key.startswith(_ATTR_PREFIXES) and value not in (None, "")
    }
    for key in ("name", "date_released"):
        if record.get(key):
            attrs[key] = record[key]
    if record.get("ean"):
        attrs["ean"] = ",".join(str(e) for e in record["ean"]) if isinstance(record["ean"], list) else record["ean"]
    cents = record.get("price")
    if cents is not None and (isinstance(cents, bool) or not isinstance(cents, int | float)):
        raise ValueError(f"price is not a number of cents: {cents!r}")
    return Product(
        id=record.get("id"),
        title=str(record.get("title") or record.get("name") or ""),
        description=str(record.get("short_description") or ""),
        brand=str(record.get("supplier") or ""),
        price=None if cents is None else round(cents / 100.0, 2),
        currency="USD",
        attributes=attrs,
        image_url=record.get("img_500x500") or record.get("img_high"),
    )


def read_icecat(path: Path) -> Iterator[Product | RejectedRow]:
    row = 0
    for file in icecat_files(path):
        for records in _load_lists(file):
            if not isinstance(records, list):
                raise ValueError(f"{file.name}: expected a JSON list of products")
            for record in records:
                row += 1
                try:
                    yield icecat_product(record)
                except (ValidationError, ValueError, TypeError) as exc:
                    yield RejectedRow(row=row, error=f"{file.name}: {describe_error(exc)}")
