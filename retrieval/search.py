"""Hybrid product search: field-weighted BM25 + dense vectors from the catalog store, fused by weighted scores.

`ProductSearcher(store, index_dir).search("bluetooth headphones under $50", k=10)` returns `SearchHit`s.
Filters come from explicit `SearchFilters` and from the query text ("under $50", "50元以下", a catalog brand or
category); explicit ones win. Each hit carries a `score` (higher is better) and `why`: a list of short,
human-readable reasons (matched terms, filters satisfied, similarity). A wrapper (e.g. personalization) may
re-rank hits by changing `score` and appending to `why`.

The searcher keeps an in-memory copy of the catalog (products, vectors mirrored from Chroma, the lexical index)
and checks the store's revision token on every query, so an ingest in another process is seen at the next query.
The vectors and lexical index are saved under `index_dir` with the revision they were built from, so a new
process loads them instead of rebuilding.
Dense scores are exact (one matrix-vector product over the mirrored vectors), which at catalog sizes up to a few
hundred thousand products is both faster and more accurate than an approximate HNSW query.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from retrieval.catalog_store import CatalogStore, embedding_text
from retrieval.categories import CategoryVocabulary, same_kind
from retrieval.lexical import LexicalIndex, query_groups
from retrieval.models import Product
from retrieval.query_parser import ParsedQuery, SearchFilters, parse_query

__all__ = ["FusionWeights", "ProductSearcher", "SearchFilters", "SearchHit"]

log = logging.getLogger(__name__)


@dataclass
class SearchHit:
    product: Product
    score: float
    why: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FusionWeights:
    """How lexical and dense evidence are combined (chosen on the dev judgements, see bench/search.py)."""

    lexical: float = 0.6
    dense: float = 0.4
    dense_floor_rank: int = 3000
    """Dense scores are rescaled so the best product is 1 and the product at this rank is 0."""
    feedback: float = 0.5
    """Pseudo-relevance feedback: the query vector moves this far towards the mean vector of the best lexical
    matches, so the dense side learns what the catalog calls the thing the shopper typed."""
    feedback_docs: int = 5
    brand_boost: float = 0.3
    """Added when the product's brand is one named in the query (a soft preference, not a filter)."""
    category_boost: float = 1.0
    """Added when the product is of the category the query asks for ("a laptop" -> notebooks, not notebook cases
    or batteries): as large as the fused score itself, so the main product comes first and accessories follow."""


@dataclass
class _SearchIndex:
    """What is saved under the index dir: vectors and lexical index of one catalog revision, rows in `ids` order."""

    revision: str
    ids: list[str]
    hashes: list[str]
    vectors: np.ndarray
    lexical: LexicalIndex

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)  # atomic: readers in other processes never see half a file

    @classmethod
    def load(cls, path: Path) -> _SearchIndex | None:
        """The saved index, or None when absent or unreadable (then it is rebuilt)."""
        try:
            with path.open("rb") as fh:
                index = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return index if isinstance(index, cls) else None


@dataclass
class _Catalog:
    revision: str
    products: list[Product]
    vectors: np.ndarray
    lexical: LexicalIndex
    prices: np.ndarray
    brands: np.ndarray
    categories: np.ndarray
    in_stock: np.ndarray
    brand_names: list[str]
    category_names: list[str]
    vocabulary: CategoryVocabulary
    kinds: np.ndarray  # each product's category, the catalog's own or read from its title
    _texts: list[str] | None = None

    def texts(self) -> list[str]:
        """Each product's title, description and attribute texts, lower case (built on first use)."""
        if self._texts is None:
            self._texts = [
                " ".join([p.title, p.description, *(v for v in p.attributes.values() if isinstance(v, str))]).lower()
                for p in self.products
            ]
        return self._texts


class ProductSearcher:
    """Hybrid search over a `CatalogStore`. Thread-safe; one instance per process is enough."""

    def __init__(
        self, store: CatalogStore, index_dir: Path | None = None, weights: FusionWeights | None = None
    ) -> None:
        self.store = store
        self.index_dir = index_dir
        self.weights = weights or FusionWeights()
        self._catalog: _Catalog | None = None
        self._lock = threading.Lock()

    # --- public ----------------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        """The k best products for QUERY that satisfy the filters (explicit ones override parsed ones)."""
        catalog = self.refresh()
        if not catalog.products or k <= 0:
            return []
        parsed = parse_query(query, catalog.brand_names, catalog.category_names)
        explicit = filters or SearchFilters()
        active = explicit.merged_over(_hard_filters(parsed.filters))
        mask = self._mask(catalog, active)
        if not mask.any():
            return []
        groups = query_groups(parsed.text)
        tokens = [t for g in groups for t in g]
        lexical = catalog.lexical.scores(groups)
        with _one_blas_thread():
            dense = catalog.vectors @ self._query_vector(catalog, parsed.text, lexical, mask)
        score = self._fuse(lexical, dense, mask)
        boost_brand = explicit.brand is None and parsed.filters.brand
        if boost_brand:
            score = score + self.weights.brand_boost * (catalog.brands == parsed.filters.brand.lower())
        asked = catalog.vocabulary.asked(parsed.text) if explicit.category is None else None
        of_kind = _of_kind(catalog, asked) if asked else None
        if of_kind is not None:
            score = score + self.weights.category_boost * of_kind
        score = np.where(mask, score, -np.inf)
        top = _top_k(score, k)
        return [
            SearchHit(
                product=catalog.products[i],
                score=round(float(score[i]), 4),
                why=self._why(catalog, i, tokens, float(dense[i]), active, parsed, bool(boost_brand))
                + ([f"a {catalog.kinds[i]}, as asked"] if of_kind is not None and of_kind[i] else []),
            )
            for i in top
            if np.isfinite(score[i])
        ]

    def category_of(self, product: Product) -> str:
        """The product's category in this catalog (its own, or read from its title)."""
        return self.refresh().vocabulary.category(product)

    def asked_category(self, query: str) -> str | None:
        """The category a request names ("a laptop" -> "notebook"), or None."""
        return self.refresh().vocabulary.asked(query)

    def naming(self, words: list[str]) -> list[Product]:
        """Products whose title, description or attribute texts name every word, as whole words (a model number
        such as "p1102" also matches "P1102w"): the ones a compatibility request may show."""
        catalog = self.refresh()
        if not words:
            return []
        patterns = [re.compile(rf"(?<![a-z0-9]){re.escape(w.lower())}[a-z]{{0,2}}(?![a-z0-9])") for w in words]
        return [
            p
            for p, text in zip(catalog.products, catalog.texts(), strict=True)
            if all(x.search(text) for x in patterns)
        ]

    def parse(self, query: str) -> ParsedQuery:
        """The filters and free text read from QUERY against this catalog's brands and categories."""
        catalog = self.refresh()
        return parse_query(query, catalog.brand_names, catalog.category_names)

    def refresh(self) -> _Catalog:
        """The in-memory catalog, reloaded when the store's revision changed (in this or another process)."""
        revision = self.store.revision()
        if self._catalog is not None and self._catalog.revision == revision:
            return self._catalog
        with self._lock:
            if self._catalog is None or self._catalog.revision != revision:
                self._catalog = self._load()
            return self._catalog

    # --- internals -----------------------------------------------------------------------------------------
    def _load(self) -> _Catalog:
        for _ in range(5):
            revision = self.store.revision()
            products, vectors = self.store.snapshot()
            if self.store.revision() == revision:
                break
        index = self._index(products, vectors, revision)
        row_of = {pid: row for row, pid in enumerate(index.ids)}
        products = sorted(products, key=lambda p: row_of[p.id])
        categories = np.array([p.category.lower() for p in products], dtype=object)
        vocabulary = CategoryVocabulary.build(products)
        return _Catalog(
            revision=revision,
            products=products,
            vectors=index.vectors,
            lexical=index.lexical,
            prices=np.array([np.nan if p.price is None else p.price for p in products], dtype=np.float64),
            brands=np.array([p.brand.lower() for p in products], dtype=object),
            categories=categories,
            in_stock=np.array([p.in_stock for p in products], dtype=bool),
            brand_names=_recognisable_brands(products),
            category_names=sorted({c for c in categories if c}),
            vocabulary=vocabulary,
            kinds=np.array([vocabulary.category(p) for p in products], dtype=object),
        )

    def _index(self, products: list[Product], vectors: np.ndarray | None, revision: str) -> _SearchIndex:
        """The saved index when it matches the store's revision, else a new one (saved for the next process)."""
        path = self.index_dir / f"{self.store.name}.index.pkl" if self.index_dir else None
        saved = _SearchIndex.load(path) if path else None
        if saved is not None and saved.revision == revision and sorted(saved.ids) == sorted(p.id for p in products):
            return saved
        log.info("indexing %d products for search", len(products))
        hashes = [p.content_hash() for p in products]
        if vectors is None:
            vectors = self._recover_vectors(products, hashes, saved)
        index = _SearchIndex(
            revision=revision,
            ids=[p.id for p in products],
            hashes=hashes,
            vectors=np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(products), self.store.embedder.dim),
            lexical=LexicalIndex.build(products),
        )
        if path is not None:
            index.save(path)
        return index

    def _recover_vectors(self, products: list[Product], hashes: list[str], saved: _SearchIndex | None) -> np.ndarray:
        """Vectors this process cannot read from an embedded Chroma written by another process: reused from the
        saved index for unchanged products, recomputed (same model, same text) for the others."""
        pairs = zip(saved.ids, saved.hashes, strict=True) if saved else ()
        known = {(pid, digest): row for row, (pid, digest) in enumerate(pairs)}
        vectors = np.zeros((len(products), self.store.embedder.dim), dtype=np.float32)
        missing: list[int] = []
        for row, (product, digest) in enumerate(zip(products, hashes, strict=True)):
            hit = known.get((product.id, digest))
            if hit is None:
                missing.append(row)
            else:
                vectors[row] = saved.vectors[hit]  # type: ignore[union-attr]
        if missing:
            vectors[missing] = self.store.embedder.encode([embedding_text(products[i]) for i in missing])
        return vectors

    def _query_vector(self, catalog: _Catalog, text: str, lexical: np.ndarray, mask: np.ndarray) -> np.ndarray:
        vector = self.store.embedder.encode_query([text])[0]
        w = self.weights
        if w.feedback <= 0:
            return vector
        matched = np.where(mask & (lexical > 0))[0]
        if len(matched) == 0:
            return vector
        best = matched[_top_k(lexical[matched], w.feedback_docs)]
        moved = vector + w.feedback * catalog.vectors[best].mean(axis=0)
        return moved / max(float(np.linalg.norm(moved)), 1e-12)

    @staticmethod
    def _mask(catalog: _Catalog, filters: SearchFilters) -> np.ndarray:
        mask = np.ones(len(catalog.products), dtype=bool)
        with np.errstate(invalid="ignore"):
            if filters.min_price is not None:
                mask &= catalog.prices >= filters.min_price
            if filters.max_price is not None:
                mask &= catalog.prices <= filters.max_price
        if filters.brand:
            mask &= catalog.brands == filters.brand.lower()
        if filters.category:
            mask &= catalog.categories == filters.category.lower()
        if filters.in_stock:
            mask &= catalog.in_stock
        return mask

    def _fuse(self, lexical: np.ndarray, dense: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        lex_max = float(lexical[mask].max()) if mask.any() else 0.0
        lex = lexical / lex_max if lex_max > 0 else lexical
        allowed = dense[mask]
        rank = min(w.dense_floor_rank, len(allowed)) - 1
        hi = float(allowed.max())
        lo = float(np.partition(allowed, len(allowed) - 1 - rank)[len(allowed) - 1 - rank]) if rank > 0 else 0.0
        den = np.clip((dense - lo) / (hi - lo), 0.0, None) if hi > lo else np.zeros_like(dense)
        return w.lexical * lex + w.dense * den

    @staticmethod
    def _why(
        catalog: _Catalog,
        row: int,
        tokens: list[str],
        similarity: float,
        filters: SearchFilters,
        parsed: ParsedQuery,
        brand_boosted: bool,
    ) -> list[str]:
        product = catalog.products[row]
        reasons: list[str] = []
        terms = catalog.lexical.matched_terms(row, tokens)
        if terms:
            reasons.append("matches " + ", ".join(terms))
        reasons.append(f"similarity {similarity:.2f}")
        if filters.min_price is not None or filters.max_price is not None:
            lo = "" if filters.min_price is None else f"{filters.min_price:g} ≤ "
            hi = "" if filters.max_price is None else f" ≤ {filters.max_price:g}"
            reasons.append(f"price {lo}{product.price:g} {product.currency}{hi}")
        if filters.brand:
            reasons.append(f"brand {product.brand}")
        elif brand_boosted and product.brand.lower() == (parsed.filters.brand or "").lower():
            reasons.append(f"brand {product.brand} named in the query")
        if filters.category:
            reasons.append(f"category {product.category}")
        if filters.in_stock:
            reasons.append("in stock")
        return reasons


def _of_kind(catalog: _Catalog, asked: str) -> np.ndarray:
    """1.0 where the product is of the asked category, else 0.0."""
    kinds = [k for k in set(catalog.kinds.tolist()) if same_kind(asked, k)]
    return np.isin(catalog.kinds, kinds).astype(np.float64)


def _hard_filters(parsed: SearchFilters) -> SearchFilters:
    """Parsed filters that constrain results. A brand named in the query is a ranking boost instead: shoppers
    write "nintendo switch" or "iphone case" and still want accessories from other brands."""
    return SearchFilters(
        min_price=parsed.min_price, max_price=parsed.max_price, category=parsed.category, in_stock=parsed.in_stock
    )


@cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread():  # type: ignore[no-untyped-def]
    """A matrix-vector product is memory-bound: extra BLAS threads only contend with other work (2x slower)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _top_k(score: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(score))
    part = np.argpartition(-score, k - 1)[:k]
    return part[np.argsort(-score[part], kind="stable")]


def _recognisable_brands(products: list[Product]) -> list[str]:
    """Brands that can be read from a query: a brand whose name is mostly used for that brand's own products
    (so a brand called e.g. "Case" is not detected in "laptop case")."""
    brand_counts = Counter(p.brand.lower() for p in products if p.brand)
    names = [b for b, n in brand_counts.items() if len(b) >= 2]
    title_mentions: Counter[str] = Counter()
    single_word = {b for b in names if " " not in b}
    for p in products:
        for word in set(p.title.lower().split()) & single_word:
            title_mentions[word] += 1
    return sorted(b for b in names if b not in single_word or title_mentions[b] <= 2 * brand_counts[b])
