"""The composition root: builds each component once, lazily, from the settings.

The CLI, the web app and the tests get their components here, so one process shares one engine, one Chroma
client and one copy of each model.
"""

from __future__ import annotations

from functools import cached_property

import chromadb
from sqlalchemy import Engine

from assistant.config import Settings
from assistant.db import make_engine
from assistant.llm import LLM, make_llm
from assistant.store import StoreDB, StoreTools
from retrieval.catalog_store import CatalogStore
from retrieval.chroma import make_chroma_client
from retrieval.embeddings import Embedder, get_embedder
from retrieval.search import ProductSearcher


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = (settings or Settings()).ensure_dirs()

    @cached_property
    def db(self) -> Engine:
        return make_engine(self.settings.sqlalchemy_url)

    @cached_property
    def chroma(self) -> chromadb.ClientAPI:
        return make_chroma_client(self.settings.chroma_path, self.settings.chroma_url)

    @cached_property
    def embedder(self) -> Embedder:
        """The sentence embedder (`COMMERCE_ASSISTANT_EMBEDDING_MODEL`, "auto" = the measured default)."""
        return get_embedder(self.settings.embedding_model, self.settings.models_dir)

    @cached_property
    def catalog(self) -> CatalogStore:
        """The products in Chroma (the `products` collection)."""
        return CatalogStore(self.chroma, self.embedder)

    @cached_property
    def searcher(self) -> ProductSearcher:
        """Hybrid product search; its lexical index is kept under the data dir."""
        return ProductSearcher(self.catalog, self.settings.data_dir / "search")

    @cached_property
    def store(self) -> StoreTools:
        """The store's customer-service tools (and, as `.db`, its records) under the store's policy."""
        return StoreTools(StoreDB(self.db))

    @cached_property
    def llm(self) -> LLM | None:
        """The configured LLM (`--llm`); None means replies from templates. Loaded on first use."""
        return make_llm(self.settings.llm, self.settings)
