"""Personalized search: the ordinary search's hits, re-ranked toward the user's taste, with the reasons added.

The tilt is bounded (at most `PersonalizeWeights.total()` added to a fused score that is about 0..1.3), so a
user's history reorders close hits but never buries the product a query names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from retrieval.privacy import Pseudonymizer
from retrieval.product_lookup import ProductLookup
from retrieval.profiles import ProfileStore, UserProfile
from retrieval.recommend import engagement_phrase
from retrieval.search import ProductSearcher, SearchFilters, SearchHit


@dataclass(frozen=True)
class PersonalizeWeights:
    engaged: float = 0.12  # the user viewed / carted / bought this very product lately
    similar: float = 0.10  # cosine between the product and the user's interest vector
    brand: float = 0.06
    category: float = 0.04
    price_band: float = 0.03
    pool: int = 3  # re-rank the best pool × k hits of the ordinary search

    def total(self) -> float:
        return self.engaged + self.similar + self.brand + self.category + self.price_band


class PersonalizedSearcher:
    """`ProductSearcher.search` with an optional `user_id`; without one (or for an unknown user) it is the same."""

    def __init__(
        self,
        searcher: ProductSearcher,
        profiles: ProfileStore,
        lookup: ProductLookup,
        pseudonymizer: Pseudonymizer,
        weights: PersonalizeWeights | None = None,
    ) -> None:
        self.searcher = searcher
        self.profiles = profiles
        self.lookup = lookup
        self.pseudonymizer = pseudonymizer
        self.weights = weights or PersonalizeWeights()

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, user_id: str | None = None
    ) -> list[SearchHit]:
        if not user_id:
            return self.searcher.search(query, k, filters)
        profile = self.profiles.get(self.pseudonymizer.user_key(user_id))
        if profile is None:
            return self.searcher.search(query, k, filters)
        hits = self.searcher.search(query, max(k * self.weights.pool, k), filters)
        return sorted(self.rerank(hits, profile), key=lambda h: -h.score)[:k]

    def rerank(self, hits: list[SearchHit], profile: UserProfile, now: float | None = None) -> list[SearchHit]:
        """New hits with the personal boost added to `score` and its reasons appended to `why`."""
        w = self.weights
        now = time.time() if now is None else now
        direction = profile.interest_vector()
        vectors = self.lookup.vectors([h.product.id for h in hits]) if direction is not None else {}
        engaged = profile.interest_scores()
        brands = profile.brand_affinity()
        categories = profile.category_affinity()
        band = profile.price_band()
        out: list[SearchHit] = []
        for hit in hits:
            product = hit.product
            parts: list[tuple[float, str]] = []
            if product.id in engaged:
                parts.append((w.engaged * engaged[product.id], f"you {engagement_phrase(profile, product.id, now)}"))
            if product.id in vectors and direction is not None:
                similarity = max(0.0, float(vectors[product.id] @ direction))
                parts.append((w.similar * similarity, "close to what you have been looking at"))
            if product.brand in brands:
                parts.append((w.brand * brands[product.brand], f"you often choose brand {product.brand}"))
            if product.category in categories:
                parts.append((w.category * categories[product.category], f"you often look at {product.category}"))
            if band and product.price is not None and band[0] <= product.price <= band[1]:
                parts.append((w.price_band, "in your usual price range"))
            boost = sum(value for value, _ in parts)
            reasons = [f"for you: {text} (+{v:.2f})" for v, text in sorted(parts, reverse=True) if v >= 0.01]
            out.append(SearchHit(product=product, score=round(hit.score + boost, 4), why=[*hit.why, *reasons]))
        return out
