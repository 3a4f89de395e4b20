"""A cached, read-through view of the catalog for per-event work (validation, profile updates, ranking).

A Chroma round trip per event would cost milliseconds; products change only when the catalog is re-ingested, and
the catalog's `revision` token changes on every write (in any process), so the cache is dropped when it moves.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from retrieval.models import Product


class ProductCatalog(Protocol):
    """What personalization needs from `retrieval.catalog_store.CatalogStore`."""

    collection: Any  # the Chroma collection of product vectors (cosine space)

    def get_many(self, ids: Sequence[str]) -> list[Product]: ...

    def embeddings(self, ids: Sequence[str]) -> np.ndarray: ...

    def revision(self) -> str: ...


class ProductLookup:
    def __init__(self, catalog: ProductCatalog, max_items: int = 100_000, revision_check_s: float = 2.0) -> None:
        self.catalog = catalog
        self._max = max_items
        self._check_s = revision_check_s
        self._products: OrderedDict[str, Product] = OrderedDict()
        self._vectors: dict[str, np.ndarray] = {}
        self._revision: str | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def _validate(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._check_s:
            return
        self._checked_at = now
        revision = self.catalog.revision()
        if revision != self._revision:
            self._products.clear()
            self._vectors.clear()
            self._revision = revision

    def products(self, ids: Sequence[str]) -> dict[str, Product]:
        """The known products among `ids` (unknown ids are simply absent)."""
        with self._lock:
            self._validate()
            missing = [i for i in dict.fromkeys(ids) if i not in self._products]
            if missing:
                for start in range(0, len(missing), 5000):
                    for product in self.catalog.get_many(missing[start : start + 5000]):
                        self._products[product.id] = product
                while len(self._products) > self._max:
                    evicted, _ = self._products.popitem(last=False)
                    self._vectors.pop(evicted, None)
            return {i: self._products[i] for i in ids if i in self._products}

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored product vectors (L2-normalised) for the known ids among `ids`."""
        known = list(self.products(ids))
        with self._lock:
            missing = [i for i in known if i not in self._vectors]
            for start in range(0, len(missing), 5000):
                chunk = missing[start : start + 5000]
                for pid, vector in zip(chunk, self.catalog.embeddings(chunk), strict=True):
                    self._vectors[pid] = vector
            return {i: self._vectors[i] for i in known if i in self._vectors}

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` products most similar (cosine) to `vector`, best first."""
        if k <= 0:
            return []
        got = self.catalog.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, include=["distances"]
        )
        ids = got["ids"][0] if got["ids"] else []
        distances = got["distances"][0] if got.get("distances") else [1.0] * len(ids)
        return [(pid, 1.0 - float(d)) for pid, d in zip(ids, distances, strict=True)]
