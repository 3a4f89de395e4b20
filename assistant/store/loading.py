"""Loading a whole store: its records into the store database and its products into the searchable catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.store.archive import store_folder
from assistant.store.importer import import_store
from retrieval.models import Product, RejectedRow

if TYPE_CHECKING:
    from assistant.runtime import Runtime

SAMPLE_STORE_DIR = Path(__file__).resolve().parent.parent / "sample_store"


def import_store_with_catalog(runtime: Runtime, path: Path, *, progress: bool = True) -> dict[str, Any]:
    """`store import`: users, orders, product types and policy into the store DB, products into the catalog.

    `path` is a retail-store folder or a zip of one. Returns the store counts, the rejected records and, under
    `catalog`, the ingest result.
    """
    from retrieval.ingest import ingest

    with store_folder(path, runtime.settings.data_dir) as folder:
        result = import_store(runtime.store.db, folder)
        catalog = ingest(runtime.catalog, catalog_rows(folder), progress=progress)
    return {**result.model_dump(), "catalog": catalog.as_dict()}


def catalog_rows(folder: Path) -> Iterator[Product | RejectedRow]:
    """The folder's products as catalog rows, with the optional `brand`, `category`, `description` and
    `attributes` of a product record carried over (the plain retail-store reader knows only names and options)."""
    from retrieval.readers.retail_store import read_retail_store

    records = json.loads((folder / "products.json").read_text(encoding="utf-8"))
    for row in read_retail_store(folder):
        record = records.get(row.id) if isinstance(row, Product) and isinstance(records, dict) else None
        if not isinstance(record, dict):
            yield row
            continue
        extra: dict[str, Any] = {}
        if record.get("brand"):
            extra["brand"] = str(record["brand"])
        if record.get("category"):
            extra["category"] = str(record["category"])
        if record.get("description"):
            extra["description"] = f"{record['description']} Options: {row.description}".strip()
        if isinstance(record.get("attributes"), dict):
            extra["attributes"] = {**row.attributes, **record["attributes"]}
        yield row.model_copy(update=extra)


def ensure_sample_store(runtime: Runtime, *, progress: bool = True) -> bool:
    """Loads the bundled demo store when neither a store nor a catalog is loaded yet; True when it did."""
    if runtime.store.db.counts()["products"] or runtime.catalog.count():
        return False
    import_store_with_catalog(runtime, SAMPLE_STORE_DIR, progress=progress)
    return True
