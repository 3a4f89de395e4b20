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
from retrieval.chroma import make_chroma_client


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
    def store(self) -> StoreTools:
        """The store's customer-service tools (and, as `.db`, its records) under the store's policy."""
        return StoreTools(StoreDB(self.db))

    @cached_property
    def llm(self) -> LLM | None:
        """The configured LLM (`--llm`); None means replies from templates. Loaded on first use."""
        return make_llm(self.settings.llm, self.settings)
