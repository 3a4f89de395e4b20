"""The composition root: builds each component once, lazily, from the settings.

The CLI, the web app and the tests get their components here, so one process shares one engine, one Chroma
client and one copy of each model.
"""

from __future__ import annotations

import logging
from functools import cached_property

import chromadb
from sqlalchemy import Engine

from assistant.config import Settings
from assistant.db import make_engine
from assistant.dialogue.engine import DialogueEngine, GenerationSettings
from assistant.llm import LLM, make_llm
from assistant.llm.metered import MeteredLLM, TokenMeter
from assistant.sessions import SessionStore
from assistant.store import StoreDB, StoreTools
from assistant.store.identity import IdentityGuard, IdentityPolicy
from moderation.moderator import Moderator
from moderation.policy import refusal_message
from retrieval.catalog_store import CatalogStore
from retrieval.chroma import make_chroma_client
from retrieval.crypto import Cipher, generated_key, load_keys, use_cipher
from retrieval.embeddings import Embedder, get_embedder
from retrieval.events import EventIngestor
from retrieval.personalization import Personalization
from retrieval.personalize import PersonalizedSearcher
from retrieval.privacy import UserErasure
from retrieval.profiles import ProfileStore
from retrieval.recommend import Recommender
from retrieval.search import ProductSearcher, SearchHit

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = (settings or Settings()).ensure_dirs()

    @cached_property
    def cipher(self) -> Cipher:
        """The at-rest cipher from the configured keys, or from the key generated into the data dir."""
        keys = load_keys(self.settings.encryption_keys, self.settings.encryption_key_file)
        if not keys and self.settings.database_url:
            # Each worker's data dir would get its own key, and no worker could read what another wrote.
            log.warning(
                "no encryption key configured for the shared database: generated one in %s; with several workers "
                "set COMMERCE_ASSISTANT_ENCRYPTION_KEYS (or _ENCRYPTION_KEY_FILE) to one key for all of them",
                self.settings.generated_key_file,
            )
        return Cipher(keys or [generated_key(self.settings.generated_key_file)])

    @cached_property
    def db(self) -> Engine:
        use_cipher(self.cipher)  # the encrypted columns of every table read and write through it
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
        """The configured LLM (`--llm`); None means replies from templates. Loaded on first use; counted by
        `token_meter` (the web app exports the counts)."""
        model = make_llm(self.settings.llm, self.settings)
        return MeteredLLM(model, self.token_meter) if model is not None else None

    @cached_property
    def token_meter(self) -> TokenMeter:
        return TokenMeter()

    @cached_property
    def personalization(self) -> Personalization:
        """Behaviour events, live user profiles, recommendations, personalized search, erasure."""
        return Personalization(self.db, self.chroma, self.catalog, self.settings.data_dir)

    @cached_property
    def events(self) -> EventIngestor:
        """`events.ingest(list_of_event_dicts)`: the one path for `POST /v1/events` and `commerce-assistant events`."""
        return self.personalization.events

    @cached_property
    def profiles(self) -> ProfileStore:
        return self.personalization.profiles

    @cached_property
    def recommender(self) -> Recommender:
        """`recommender.recommend(user_id, k)` -> `Recommendation`s with `why`."""
        return self.personalization.recommender

    @cached_property
    def personalized_searcher(self) -> PersonalizedSearcher:
        """`search(query, k, filters, user_id=...)`: ordinary search, re-ranked for the user when one is given."""
        return self.personalization.searcher(self.searcher)

    @cached_property
    def user_erasure(self) -> UserErasure:
        """`user_erasure.erase(user_id)` deletes everything kept about a user (`DELETE /v1/users/{id}`)."""
        erasure = UserErasure()
        erasure.register("personalization", lambda user_id: self.personalization.erase_user(user_id))
        erasure.register("sessions", lambda user_id: self.sessions.erase_user(user_id))
        return erasure

    @cached_property
    def sessions(self) -> SessionStore:
        """Chat sessions (state and messages) in the SQL database; they survive a restart."""
        return SessionStore(self.db)

    @cached_property
    def dialogue(self) -> DialogueEngine:
        """The conversation engine. The model and the intent encoder load on first use, not here."""
        return DialogueEngine(
            self.sessions,
            self.store,
            self.searcher,
            self.catalog,
            moderator=self.moderator,
            refusal=refusal_message,
            llm=lambda: self.llm,
            encoder=lambda texts: self.embedder.encode_query(texts),
            personal_search=lambda user_id, query, k: self.personalized_searcher.search(query, k, user_id=user_id),
            recommend=lambda user_id, k: [
                SearchHit(product=r.product, score=r.score, why=r.why) for r in self.recommender.recommend(user_id, k)
            ],
            generation=GenerationSettings(timeout_s=self.settings.llm_timeout_s),
            identity=self.identity_guard,
            understanding=self.settings.understanding,
        )

    @cached_property
    def identity_guard(self) -> IdentityGuard:
        """The limits on identity attempts in chat, and what an email alone unlocks (the settings `identity_*`)."""
        settings = self.settings
        policy = IdentityPolicy(
            max_failures_per_session=settings.identity_max_failures_per_session,
            max_failures_per_client=settings.identity_max_failures_per_client,
            max_failures_per_account=settings.identity_max_failures_per_account,
            cooldown_s=settings.identity_cooldown_s,
            email_allows_changes=settings.email_allows_changes,
        )
        return IdentityGuard(self.store.db, policy)

    @cached_property
    def moderator(self) -> Moderator:
        """Input/output moderation and the review queue; an operator's `moderation_policy.json` in the data dir
        replaces the bundled thresholds. Models load on first use."""
        policy = self.settings.data_dir / "moderation_policy.json"
        return Moderator(self.db, policy_path=policy if policy.is_file() else None)
