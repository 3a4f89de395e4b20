"""The Chroma `products` collection: one record per product with its vector, the Product JSON and a content hash.

Products round-trip exactly: the full `Product` JSON is stored in the `product` metadata field (Chroma metadata
values must be scalars); `brand`, `category`, `price` and `in_stock` are stored alongside for Chroma `where` filters.
The collection's metadata holds the embedder name (vectors from different models never mix) and a `revision`
token that changes on every write, so search indexes in any process can tell when they are stale. Reading that
token is a Chroma round trip, a quarter of a chat turn's CPU when done on every search, so it is re-read at most
once per `REVISION_TTL_S`: another process's ingest is seen within that time, this process's own writes at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import chromadb
import numpy as np
from chromadb.errors import ChromaError

from retrieval.embeddings import Embedder
from retrieval.models import Product

COLLECTION = "products"
REVISION_TTL_S = 1.0


class EmbedderMismatchError(RuntimeError):
    """The collection was built with another embedding model."""


class CatalogStore:
    """Products in Chroma. Vectors are computed by `embedder` (never by Chroma's default model)."""

    def __init__(self, client: chromadb.ClientAPI, embedder: Embedder, collection: str = COLLECTION) -> None:
        self.client = client
        self.embedder = embedder
        self.name = collection
        self._revision: tuple[str, float] | None = None  # (token, monotonic time read)
        self._revision_lock = threading.Lock()
        self.collection = client.get_or_create_collection(
            collection,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": embedder.name, "dim": embedder.dim, "revision": _new_revision()},
            embedding_function=None,
        )
        stored = (self.collection.metadata or {}).get("embedder")
        if stored and stored != embedder.name:
            raise EmbedderMismatchError(
                f"the '{collection}' collection holds {stored} vectors but the embedder is {embedder.name}; "
                "use the same embedding model or a fresh data dir"
            )

    # --- reading -------------------------------------------------------------------------------------------
    def count(self) -> int:
        return self.collection.count()

    def all_ids(self) -> list[str]:
        return list(self.collection.get(include=[])["ids"])

    def get(self, product_id: str) -> Product | None:
        found = self.get_many([product_id])
        return found[0] if found else None

    def get_many(self, ids: Sequence[str]) -> list[Product]:
        """Products for the ids that exist, in the order asked."""
        if not ids:
            return []
        got = self.collection.get(ids=list(dict.fromkeys(ids)), include=["metadatas"])
        by_id = {i: _product(m) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)}
        return [by_id[i] for i in ids if i in by_id]

    def embeddings(self, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors (float32, L2-normalised) in the order asked; unknown ids raise KeyError.

        An embedded Chroma cannot read vectors another process wrote after this one opened the store; then the
        vectors are recomputed from the stored products (the same model gives the same vectors)."""
        if not ids:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        try:
            got = self.collection.get(ids=list(dict.fromkeys(ids)), include=["embeddings"])
            by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
        except ChromaError:
            products = self.get_many(ids)
            by_id = dict(zip([p.id for p in products], self.embedder.encode([embedding_text(p) for p in products]),
                             strict=True))
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise KeyError(f"unknown product ids: {missing[:5]}")
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def content_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        """Stored content hash per existing id (ingest skips products whose hash is unchanged)."""
        out: dict[str, str] = {}
        ids = list(ids)
        for start in range(0, len(ids), 5000):
            got = self.collection.get(ids=ids[start : start + 5000], include=["metadatas"])
            for pid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                out[pid] = str((meta or {}).get("content_hash", ""))
        return out

    def snapshot(self) -> tuple[list[Product], np.ndarray | None]:
        """Every product and its vector in one read (to build an in-memory search index). The vectors are None
        when this process cannot read them (an embedded store written by another process since it was opened)."""
        try:
            got = self.collection.get(include=["metadatas", "embeddings"])
        except ChromaError:
            got = self.collection.get(include=["metadatas"])
            return [_product(m) for m in got["metadatas"] or []], None
        products = [_product(m) for m in got["metadatas"] or []]
        vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(products), self.embedder.dim)
        return products, vectors

    def revision(self) -> str:
        """A token that changes whenever the collection is written (by any process; see REVISION_TTL_S)."""
        cached = self._revision
        if cached is not None and time.monotonic() - cached[1] < REVISION_TTL_S:
            return cached[0]
        with self._revision_lock:
            meta = self.client.get_collection(self.name, embedding_function=None).metadata or {}
            self._revision = (str(meta.get("revision", "")), time.monotonic())
            return self._revision[0]

    # --- writing -------------------------------------------------------------------------------------------
    def upsert(self, products: Sequence[Product], vectors: np.ndarray | None = None) -> None:
        """Adds or replaces products (by id). Vectors are computed with the embedder unless given."""
        if not products:
            return
        if vectors is None:
            vectors = self.embedder.encode([embedding_text(p) for p in products])
        self.collection.upsert(
            ids=[p.id for p in products],
            embeddings=np.asarray(vectors, dtype=np.float32),
            metadatas=[_metadata(p) for p in products],
        )
        self._bump_revision()

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            self.collection.delete(ids=ids)
            self._bump_revision()

    def _bump_revision(self) -> None:
        meta = dict(self.collection.metadata or {})
        meta["revision"] = _new_revision()
        self.collection.modify(metadata=meta)
        self._revision = (meta["revision"], time.monotonic())


EMBED_DESCRIPTION_WORDS = 8


def embedding_text(product: Product) -> str:
    """The text a product's vector is computed from: title, brand, category and the first words of the
    description. Measured on the Icecat judgements (hybrid / dense alone, NDCG@10): whole description
    0.788 / 0.625, 16 words 0.790 / 0.633, 8 words 0.790 / 0.646, none 0.792 / 0.586; the encoder's cost grows
    with the text, so 8 words keep the semantic side strong at about half the encoding time of whole texts."""
    parts = [product.title]
    if product.brand and product.brand.lower() not in product.title.lower():
        parts.append(product.brand)
    if product.category:
        parts.append(product.category)
    if product.description:
        parts.append(" ".join(product.description.split()[:EMBED_DESCRIPTION_WORDS]))
    return ". ".join(parts)


def _new_revision() -> str:
    return uuid.uuid4().hex


def _metadata(product: Product) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "product": product.model_dump_json(),
        "content_hash": product.content_hash(),
        "brand": product.brand.lower(),
        "category": product.category.lower(),
        "in_stock": product.in_stock,
    }
    if product.price is not None:
        meta["price"] = float(product.price)
    return meta


def _product(meta: dict[str, Any] | None) -> Product:
    return Product.model_validate_json(str((meta or {})["product"]))
