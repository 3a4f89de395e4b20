"""Personalization assembled from its parts: one object per process, built from the engine, the Chroma client,
the catalog and the data dir (the composition root passes them in)."""

from __future__ import annotations

from pathlib import Path

import chromadb
from sqlalchemy import Engine

from retrieval.events import EventIngestor, EventLog
from retrieval.personalize import PersonalizedSearcher
from retrieval.privacy import Pseudonymizer, load_or_create_key
from retrieval.product_lookup import ProductCatalog, ProductLookup
from retrieval.profiles import ProfileConfig, ProfileStore, ProfileVectors
from retrieval.recommend import RankWeights, Recommender
from retrieval.search import ProductSearcher
from retrieval.signals import BehaviourStats, SignalConfig


class Personalization:
    def __init__(
        self,
        engine: Engine,
        chroma: chromadb.ClientAPI,
        catalog: ProductCatalog,
        data_dir: Path,
        profile_config: ProfileConfig | None = None,
        signal_config: SignalConfig | None = None,
        weights: RankWeights | None = None,
        vector_flush_interval_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.pseudonymizer = Pseudonymizer(load_or_create_key(data_dir))
        self.lookup = ProductLookup(catalog)
        self.log = EventLog(engine)
        self.vectors = ProfileVectors(chroma, vector_flush_interval_s)
        self.profiles = ProfileStore(engine, self.lookup, self.vectors, profile_config)
        self.events = EventIngestor(self.log, self.lookup, self.pseudonymizer, [self.profiles])
        self.stats = BehaviourStats(self.log, signal_config)
        self.recommender = Recommender(self.profiles, self.stats, self.lookup, self.pseudonymizer, weights)

    def searcher(self, searcher: ProductSearcher) -> PersonalizedSearcher:
        return PersonalizedSearcher(searcher, self.profiles, self.lookup, self.pseudonymizer)

    def user_key(self, user_id: str) -> str:
        """The pseudonym the user's records are kept under."""
        return self.pseudonymizer.user_key(user_id)

    def erase_user(self, user_id: str) -> int:
        """Deletes the user's events, profile row and profile vector; returns the records removed.

        Chat sessions belong to the dialogue engine: register its eraser beside this one (see `UserErasure`).
        """
        key = self.user_key(user_id)
        with self.engine.begin() as conn:
            removed = self.log.delete_user(key, conn) + self.profiles.delete(key, conn)
            BehaviourStats.invalidate(conn)  # every process rebuilds the store-wide aggregates without them
        removed += self.vectors.delete(key)
        self.stats.reset()
        return removed

    def close(self) -> None:
        """Writes staged profile vectors to Chroma and saves the store-wide behaviour model, so the next process
        starts from it (bulk loads and shutdown call this)."""
        self.vectors.close()
        self.stats.refresh()
        self.stats.save()
