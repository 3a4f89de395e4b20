"""Loading a whole store: its records into the store database and its products into the searchable catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.store.importer import import_store

if TYPE_CHECKING:
    from assistant.runtime import Runtime

SAMPLE_STORE_DIR = Path(__file__).resolve().parent.parent / "sample_store"


def import_store_with_catalog(runtime: Runtime, folder: Path, *, progress: bool = True) -> dict[str, Any]:
    """`store import`: users, orders, product types and policy into the store DB, products into the catalog.

    Returns the store counts, the rejected records and, under `catalog`, the ingest result.
    """
    from retrieval.ingest import ingest
    from retrieval.readers.retail_store import read_retail_store

    result = import_store(runtime.store.db, folder)
    catalog = ingest(runtime.catalog, read_retail_store(folder), progress=progress)
    return {**result.model_dump(), "catalog": catalog.as_dict()}


def ensure_sample_store(runtime: Runtime, *, progress: bool = True) -> bool:
    """Loads the bundled demo store when neither a store nor a catalog is loaded yet; True when it did."""
    if runtime.store.db.counts()["products"] or runtime.catalog.count():
        return False
    import_store_with_catalog(runtime, SAMPLE_STORE_DIR, progress=progress)
    return True
