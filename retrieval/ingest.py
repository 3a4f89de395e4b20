"""Catalog ingestion: read -> skip unchanged (content hash) -> embed in batches -> upsert into the store.

Idempotent by product id: a product whose content hash is already stored is neither re-embedded nor rewritten.
Each batch is written in one upsert, so a process killed mid-ingest leaves whole batches behind and re-running
the same ingest finishes the job without duplicates. Encoding of the next batch overlaps the write of the last.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from retrieval.catalog_store import CatalogStore, embedding_text
from retrieval.models import Product, RejectedRow

BATCH_SIZE = 256


@dataclass
class IngestResult:
    ingested: int = 0
    """New products added."""
    updated: int = 0
    """Existing products whose content changed (re-embedded, replaced in place)."""
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "ingested": self.ingested,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [r.model_dump() for r in self.rejected],
        }

    @property
    def changed(self) -> bool:
        return bool(self.ingested or self.updated)


def ingest(
    store: CatalogStore,
    rows: Iterable[Product | RejectedRow],
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> IngestResult:
    """Adds or updates the products in ROWS; rejected rows are collected, the rest go in."""
    result = IngestResult()
    latest: dict[str, Product] = {}
    for row in rows:
        if isinstance(row, RejectedRow):
            result.rejected.append(row)
        else:
            latest[row.id] = row  # a product listed twice: the last listing wins
    products = list(latest.values())
    stored = store.content_hashes([p.id for p in products])
    pending: list[Product] = []
    for product in products:
        old = stored.get(product.id)
        if old is None:
            result.ingested += 1
            pending.append(product)
        elif old != product.content_hash():
            result.updated += 1
            pending.append(product)
        else:
            result.unchanged += 1
    bar = tqdm(
        total=len(products), initial=result.unchanged, desc="ingest", unit="product", file=sys.stderr,
        disable=not progress, dynamic_ncols=True,
    )
    with ThreadPoolExecutor(max_workers=1) as writer:
        write: Future[None] | None = None
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            vectors = store.embedder.encode([embedding_text(p) for p in batch])
            if write is not None:
                write.result()
            write = writer.submit(store.upsert, batch, vectors)
            write.add_done_callback(lambda _f, n=len(batch): bar.update(n))
        if write is not None:
            write.result()
    bar.close()
    return result
